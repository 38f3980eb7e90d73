#include "daemon.h"

#include <pthread.h>

namespace faxgw {

DaemonSignals::DaemonSignals() {
    // A write to a connection the peer has closed (an IMAP server that
    // restarted, before the LOGOUT libetpan sends) is an error to handle,
    // not the end of the daemon. What it starts gets SIGPIPE back (its
    // spawns reset every signal).
    std::signal(SIGPIPE, SIG_IGN);
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGTERM);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    waiter_ = std::jthread([this] {
        for (;;) {
            int sig = 0;
            sigwait(&signals_, &sig);
            if (sig != SIGHUP || stop_.stop_requested()) break;
            reload_.store(true);
            std::lock_guard lock(wake_mutex_);
            if (wake_) wake_();
        }
        stop_.request_stop();
    });
}

DaemonSignals::~DaemonSignals() {
    if (!stop_.stop_requested()) pthread_kill(waiter_.native_handle(), SIGTERM);
}

void DaemonSignals::wake_on_sighup(std::function<void()> wake) {
    std::lock_guard lock(wake_mutex_);
    wake_ = std::move(wake);
}

MailboxWatch::MailboxWatch(const CommonOptions& options, const Logger& log, std::string prefix)
    : options_(options),
      log_(log),
      prefix_(std::move(prefix)),
      replacer_([this](std::stop_token stop) { replace_watches(stop); }) {}

void MailboxWatch::start(std::shared_ptr<const Config> config) {
    std::lock_guard lock(mutex_);
    next_ = std::move(config);
    settings_changed_.notify_all();
}

void MailboxWatch::replace_watches(const std::stop_token& stop) {
    std::unique_ptr<Watch> current;
    std::unique_lock lock(mutex_);
    while (settings_changed_.wait(lock, stop, [this] { return next_ != nullptr; })) {
        const auto config = std::exchange(next_, nullptr);
        lock.unlock();
        current.reset();  // stops and joins the watch of the old settings, ends its workers
        current = watch(config);
        lock.lock();
    }
    lock.unlock();
    current.reset();  // stopped: the daemon ends
}

std::unique_ptr<MailboxWatch::Watch> MailboxWatch::watch(
    const std::shared_ptr<const Config>& config) const {
    if (config->imap_accounts.empty()) return nullptr;
    auto w = std::make_unique<Watch>();
    w->services = imap_services(*config);
    w->services.log = log_;
    w->thread = std::jthread([config, services = &w->services, this](std::stop_token stop) {
        services->decide = mailbox_workers(
            options_, *config, [this](const std::string& line) { log_(prefix_ + line); });
        imap::watch_all(config->imap_accounts, *services, stop);
    });
    return w;
}

}  // namespace faxgw
