// NAME
//     faxgw run - the gateway daemon: send queued faxes, receive, mail results
// SYNOPSIS
//     faxgw run [--config FILE] [--var DIR]
// DESCRIPTION
//     Puts queued jobs on free lines (lines.count), retries busy, unanswered
//     and failed calls with a backoff per failure class (retry.*), answers
//     calls to the gateway's DIDs, and mails notifications and received
//     faxes (inbound.routes) through the outbox: to the relay smtp.url,
//     retried while it is down, or without one into the Maildirs below
//     paths.var. Watches the IMAP mailboxes of [[imap.accounts]] as
//     `faxgw poll` does. Jobs a
//     killed predecessor left mid-call are sent again from their first
//     unconfirmed page. Purges what [retention] lets go (see `faxgw purge`)
//     at start-up and every retention.interval_seconds. Stops after the
//     calls in flight on SIGTERM or SIGINT.
//     Only one `faxgw run` works on a state folder at a time.
//     A queue another process holds locked (a backup) is waited for; a
//     queue that cannot be used (corrupt, wrong schema) ends the daemon
//     with the reason on stderr.
// EXIT STATUS
//     0 stopped by a signal; 70 the queue cannot be used; 75 another
//     faxgw process runs the gateway on the state folder; 78 configuration
//     error.
#include <pthread.h>
#include <sysexits.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <iostream>
#include <stop_token>
#include <thread>

#include "commands.h"
#include "lines.h"

namespace faxgw {
namespace {

// SIGTERM and SIGINT are taken by a thread of their own with sigwait, so
// that no handler runs in the middle of a spandsp call or an SQLite
// transaction. However run_daemon() ends (an exception included), the
// destructor wakes that thread, so that joining it never hangs.
class StopOnSignal {
public:
    StopOnSignal() {
        sigemptyset(&signals_);
        sigaddset(&signals_, SIGTERM);
        sigaddset(&signals_, SIGINT);
        pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
        waiter_ = std::jthread([this] {
            int sig = 0;
            sigwait(&signals_, &sig);
            stop_.request_stop();
        });
    }
    ~StopOnSignal() {
        if (!stop_.stop_requested()) pthread_kill(waiter_.native_handle(), SIGTERM);
    }
    StopOnSignal(const StopOnSignal&) = delete;
    StopOnSignal& operator=(const StopOnSignal&) = delete;
    std::stop_token token() const { return stop_.get_token(); }

private:
    sigset_t signals_{};
    std::stop_source stop_;
    std::jthread waiter_;  // last: started when the rest is ready
};

void log_line(const std::string& line) { std::cerr << line << std::endl; }

// Opens the queue (or the outbox in its database) with `open`, waiting out
// a lock another process holds (a backup, an sqlite3 shell): that passes.
// Nothing when stopped while waiting.
template <typename Open>
auto open_waiting(const std::stop_token& stop, Open open) -> decltype(open()) {
    for (bool told = false; !stop.stop_requested(); told = true) {
        try {
            return open();
        } catch (const faxcore::TemporaryError& e) {
            if (!told) log_line(std::string("faxgw run: queue unavailable, retrying: ") + e.what());
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
    }
    return nullptr;
}

int run_daemon(const CommonOptions& o) {
    auto config = o.load();
    report_warnings(config);
    try {
        faxcore::RunLock run_lock(config.var);  // before anything touches the jobs
        StopOnSignal signals;
        auto queue =
            open_waiting(signals.token(), [&] { return faxcore::Queue::open(config.var); });
        auto outbox = open_waiting(signals.token(),
                                   [&] { return std::make_unique<mailgw::Outbox>(config.var); });
        if (!queue || !outbox) return 0;
        // A submit renders a mail's parts one after another, each under the
        // renderer's limits: its scratch files live for several of them.
        auto settings = config.gateway;
        const auto& render = config.mail.render;
        settings.sweep.scratch_age = std::max<std::int64_t>(
            settings.sweep.scratch_age, 10 * std::max(render.wall_seconds, render.cpu_seconds));
        faxcore::Gateway gateway(*queue, settings, config.var, log_line, make_line_backend(config));
        // Mail leaves on a thread of its own: a relay that is slow or down
        // must not hold up the lines.
        std::jthread mailer(
            [&](std::stop_token stop) { deliver_mail_until(stop, config, log_line); });
        // And the IMAP mailboxes are watched, when there are any.
        auto imap = imap_services(config);
        imap.log = log_line;
        std::jthread poller;
        if (!config.imap_accounts.empty())
            poller = std::jthread(
                [&](std::stop_token stop) { imap::watch_all(config.imap_accounts, imap, stop); });
        log_line("faxgw run: " + std::to_string(config.gateway.lines) + " " + config.line_backend +
                 " line(s), state in " + config.var.string());
        std::int64_t next_purge = 0;  // retention: at start-up, then every interval
        gateway.run(signals.token(), [&] {
            hand_results_to_mail(*queue, *outbox, config);
            purge_when_due(next_purge, *queue, *outbox, config, log_line);
        });
        return 0;
    } catch (const faxcore::StateFolderBusy& e) {
        std::cerr << "faxgw run: " << e.what() << "\n";
        return EX_TEMPFAIL;
    } catch (const std::exception& e) {
        // A daemon that cannot work says why and ends, so that its
        // supervisor (systemd) sees it and restarts it.
        std::cerr << "faxgw run: cannot go on: " << e.what() << std::endl;
        return EX_SOFTWARE;
    }
}

}  // namespace

CLI::App* add_run_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "run", "Run the gateway: send queued faxes, receive faxes, mail the results");
    auto o = std::make_shared<CommonOptions>();
    o->add_to(*cmd);
    cmd->callback([o, &exit_code] { exit_code = run_daemon(*o); });
    return cmd;
}

}  // namespace faxgw
