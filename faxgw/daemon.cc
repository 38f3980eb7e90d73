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

void MailboxWatch::start(const std::shared_ptr<const Config>& config) {
    thread_ = {};    // stops and joins the watch of the old settings
    services_ = {};  // and ends its workers
    if (config->imap_accounts.empty()) return;
    services_ = imap_services(*config);
    services_.log = log_;
    thread_ = std::jthread([config, this](std::stop_token stop) {
        // Started here, not on the caller's thread: a reload runs on the
        // scheduler's, which must not wait for workers to warm up.
        services_.decide = mailbox_workers(
            options_, *config, [this](const std::string& line) { log_(prefix_ + line); });
        imap::watch_all(config->imap_accounts, services_, stop);
    });
}

}  // namespace faxgw
