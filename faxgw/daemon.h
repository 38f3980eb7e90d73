// What the long-running commands that watch mailboxes share (`faxgw run`
// and `faxgw poll`): how they take their signals, and the watch of the IMAP
// mailboxes of the current settings.
#pragma once

#include <faxgw/imap.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "commands.h"
#include "logging.h"

namespace faxgw {

// SIGTERM, SIGINT and SIGHUP are taken by a thread of their own with
// sigwait, so that no handler runs in the middle of a spandsp call or an
// SQLite transaction. SIGHUP only raises a flag and calls the wake
// function; the command reloads when it gets to it. However the command
// ends (an exception included), the destructor wakes that thread, so that
// joining it never hangs. SIGPIPE is ignored.
//
// Construct it before any other thread starts: a thread inherits the
// signal mask of the one that starts it, and a signal the kernel gives to
// a thread that does not block it ends the process.
class DaemonSignals {
public:
    DaemonSignals();
    ~DaemonSignals();
    DaemonSignals(const DaemonSignals&) = delete;
    DaemonSignals& operator=(const DaemonSignals&) = delete;

    std::stop_token token() const { return stop_.get_token(); }
    // Until called again, a SIGHUP calls `wake` (on the signals' thread).
    void wake_on_sighup(std::function<void()> wake);
    // True once per SIGHUP (several before it is asked count as one).
    bool take_reload_request() { return reload_.exchange(false); }

private:
    sigset_t signals_{};
    std::stop_source stop_;
    std::atomic<bool> reload_{false};
    std::mutex wake_mutex_;
    std::function<void()> wake_;
    std::jthread waiter_;  // last: started when the rest is ready
};

// The IMAP mailboxes of the current settings, watched on a thread of their
// own, their mails decided by warm workers of their own; watched again with
// the new settings (and new workers) on reload. `prefix` begins the log
// lines of the workers ("faxgw run: ").
//
// A thread of the watch's own stops the old watch and starts the new one:
// stopping waits for the mail a worker is deciding (up to a renderer's time
// limit), and `faxgw run` reloads on its scheduler's thread, which must not
// wait for that (the lines, systemd's watchdog). One watch at a time, so
// that two never decide the same mail side by side.
class MailboxWatch {
public:
    MailboxWatch(const CommonOptions& options, const Logger& log, std::string prefix);
    // Watches config's mailboxes (none: nothing) from now on, in place of
    // those of the settings before; returns at once.
    void start(std::shared_ptr<const Config> config);

private:
    struct Watch {
        imap::Services services;
        std::jthread thread;  // last: stopped before the services (workers) go
    };
    std::unique_ptr<Watch> watch(const std::shared_ptr<const Config>& config) const;
    void replace_watches(const std::stop_token& stop);

    const CommonOptions& options_;
    const Logger& log_;
    const std::string prefix_;
    std::mutex mutex_;
    std::condition_variable_any settings_changed_;
    std::shared_ptr<const Config> next_;  // settings to watch next, if any
    std::jthread replacer_;               // last: started when the rest is ready
};

}  // namespace faxgw
