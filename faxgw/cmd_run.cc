// NAME
//     faxgw run - the gateway daemon: send queued faxes, receive, mail results
// SYNOPSIS
//     faxgw run [--config FILE] [--var DIR]
// DESCRIPTION
//     Puts queued jobs on free lines (lines.count), retries busy, unanswered
//     and failed calls with a backoff per failure class (retry.*), answers
//     calls to the gateway's DIDs, writes notification mails to paths.outbox
//     and delivers received faxes to the Maildirs of inbound.routes. Jobs a
//     killed predecessor left mid-call are sent again from their first
//     unconfirmed page. Stops after the calls in flight on SIGTERM or SIGINT.
//     Only one `faxgw run` works on a state folder at a time.
// EXIT STATUS
//     0 stopped by a signal; 75 another faxgw run holds the state folder;
//     78 configuration error.
#include <fcntl.h>
#include <sys/file.h>
#include <sysexits.h>
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <thread>

#include "commands.h"

namespace faxgw {
namespace {

// An flock on VAR/run.lock: released by the kernel whatever way we die.
bool lock_state_folder(const std::filesystem::path& var) {
    std::filesystem::create_directories(var);
    int fd = ::open((var / "run.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    return fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0;  // fd stays open for our lifetime
}

int run_daemon(const CommonOptions& o) {
    auto config = o.load();
    report_warnings(config);
    if (!lock_state_folder(config.var)) {
        std::cerr << "faxgw run: another faxgw run works on " << config.var << "\n";
        return EX_TEMPFAIL;
    }
    // Signals are taken by one thread with sigwait, so no handler runs in the
    // middle of a spandsp call or an SQLite transaction.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::stop_source stop;
    std::jthread waiter([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        stop.request_stop();
    });

    auto queue = faxcore::Queue::open(config.var);
    faxcore::Gateway gateway(*queue, config.gateway, config.var,
                             [](const std::string& line) { std::cerr << line << std::endl; });
    std::cerr << "faxgw run: " << config.gateway.lines << " line(s), state in " << config.var
              << std::endl;
    gateway.run(stop.get_token(), [&] { hand_results_to_mail(*queue, config); });
    if (!stop.stop_requested()) pthread_kill(waiter.native_handle(), SIGTERM);
    return 0;
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
