// faxgw run: the gateway daemon: send queued faxes, receive, mail results.
// Its manual is run_manual below: `--help` shows it, and so does faxgw(8).
#include <sysexits.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <stop_token>
#include <thread>

#include "commands.h"
#include "daemon.h"
#include "lines.h"
#include "logging.h"
#include "metrics.h"
#include "service.h"
#include "service_program.h"
#include "submit_service.h"

namespace faxgw {
namespace {

// The manual: DESCRIPTION, EXIT STATUS and the like (faxgw/manual.h).
constexpr const char* run_manual = R"(DESCRIPTION
    Puts queued jobs on free lines (lines.count), retries busy, unanswered
    and failed calls with a backoff per failure class (retry.*), answers
    calls to the gateway's DIDs, and mails notifications and received
    faxes (inbound.routes) through the outbox: to the relay smtp.url,
    retried while it is down, or without one into the Maildirs below
    paths.var. Watches the IMAP mailboxes of [[imap.accounts]] as
    `faxgw poll` does. Keeps submit.workers worker processes warm for
    `faxgw submit` (the socket submit.socket in paths.var): a mail handed
    to them skips the start-up of the libraries. A worker finds its
    configuration file changed and is replaced, so SIGHUP is not needed
    for them. Jobs a
    killed predecessor left mid-call are sent again from their first
    unconfirmed page. Purges what [retention] lets go (see `faxgw purge`)
    at start-up and every retention.interval_seconds. Stops after the
    calls in flight on SIGTERM or SIGINT.
    SIGHUP reads the configuration file again: retry, refused callers,
    the station ID, mail (routes, templates, relay), rules and limits of
    the IMAP mailboxes apply to new work, and calls in flight finish as
    they began; a file with an error is refused with the error logged, and
    the old settings stay. paths.*, lines.*, metrics.*, [sip],
    [audiosocket], [ami] and submit.workers take effect at the next
    start.
    With metrics.listen set, serves /metrics (Prometheus text format:
    jobs by state, attempts by outcome, pages, line seconds, lines busy,
    jobs due and the oldest one's wait, outbox mails, render times as a
    histogram) and /health (503
    when the scheduler has not gone round for two minutes) over HTTP.
    Started by systemd (Type=notify), it says when it is ready, reloading
    and stopping, pets the watchdog (WatchdogSec) from the scheduler's
    own loop, so a stalled scheduler gets restarted, and logs to the
    journal with priorities and the fields FAX_JOB_ID, FAX_NUMBER,
    FAX_OUTCOME, FAX_JOB_STATE, FAX_DID, FAX_CALLER (logging.*).
    Only one `faxgw run` works on a state folder at a time.
    A queue another process holds locked (a backup) is waited for; a
    queue that cannot be used (corrupt, wrong schema) ends the daemon
    with the reason on stderr.
EXIT STATUS
    0 stopped by a signal; 70 the queue cannot be used; 75 another
    faxgw process runs the gateway on the state folder; 71 metrics.listen
    cannot be bound (in use); 78 configuration error.
)";

// Opens the queue (or the outbox in its database) with `open`, waiting out
// a lock another process holds (a backup, an sqlite3 shell): that passes.
// Nothing when stopped while waiting.
template <typename Open>
auto open_waiting(const std::stop_token& stop, const Logger& log, Open open) -> decltype(open()) {
    for (bool told = false; !stop.stop_requested(); told = true) {
        try {
            return open();
        } catch (const faxcore::TemporaryError& e) {
            if (!told)
                log(std::string("faxgw run: warning: queue unavailable, retrying: ") + e.what());
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
    }
    return nullptr;
}

// The scheduler's settings for `config`. A submit renders a mail's parts
// one after another, each under the renderer's limits: its scratch files
// live for several of them.
faxcore::GatewaySettings gateway_settings(const Config& config) {
    auto settings = config.gateway;
    const auto& render = config.mail.render;
    settings.sweep.scratch_age = std::max<std::int64_t>(
        settings.sweep.scratch_age, 10 * std::max(render.wall_seconds, render.cpu_seconds));
    return settings;
}

// The figures of one scrape, read afresh on the endpoint's thread with
// read-only connections of its own (SQLite connections are not shared
// across threads).
MetricsFigures figures_of(const Config& config, const faxcore::Gateway& gateway) {
    auto queue = faxcore::Queue::open(config.var, faxcore::Access::read_only);
    mailgw::Outbox outbox(config.var, faxcore::Access::read_only);
    return {mailgw::take_snapshot(*queue, outbox, std::time(nullptr)), config.gateway.lines,
            gateway.lines_busy()};
}

// Healthy while the scheduler's rounds come: it goes round at least every
// minute, and every heartbeat when one is asked for.
class RoundClock {
public:
    void round() { last_ = std::chrono::steady_clock::now().time_since_epoch().count(); }
    Health health() const {
        const auto since = std::chrono::steady_clock::now() -
                           std::chrono::steady_clock::time_point(
                               std::chrono::steady_clock::duration(last_.load()));
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since).count();
        if (seconds > 120)
            return {false, "stalled: no scheduler round for " + std::to_string(seconds) + " s"};
        return {true, "ok: last scheduler round " + std::to_string(seconds) + " s ago"};
    }

private:
    std::atomic<std::chrono::steady_clock::rep> last_{
        std::chrono::steady_clock::now().time_since_epoch().count()};
};

std::string ready_status(const Config& config) {
    return std::to_string(config.gateway.lines) + " " + config.line_backend +
           " line(s), state in " + config.var.string();
}

int run_daemon(const CommonOptions& o) {
    LiveConfig live(o.load());
    auto config = live.get();
    report_warnings(*config);
    const Logger log(config->logging, "faxgw");
    const ServiceNotifier service;
    try {
        faxcore::RunLock run_lock(config->var);  // before anything touches the jobs
        DaemonSignals signals;
        auto queue =
            open_waiting(signals.token(), log, [&] { return faxcore::Queue::open(config->var); });
        auto outbox = open_waiting(signals.token(), log,
                                   [&] { return std::make_unique<mailgw::Outbox>(config->var); });
        if (!queue || !outbox) return 0;
        faxcore::Gateway gateway(*queue, gateway_settings(*config), config->var, log,
                                 make_line_backend(*config));
        signals.wake_on_sighup([&gateway] { gateway.wake(); });
        // However this block ends, no signal reaches the gateway once gone.
        struct Unhook {
            DaemonSignals& signals;
            ~Unhook() { signals.wake_on_sighup({}); }
        } unhook{signals};
        // Mail leaves on a thread of its own: a relay that is slow or down
        // must not hold up the lines.
        std::jthread mailer([&](std::stop_token stop) { deliver_mail_until(stop, live, log); });
        // And the IMAP mailboxes are watched, when there are any.
        MailboxWatch mailboxes(o, log, "faxgw run: ");
        mailboxes.start(config);
        RoundClock rounds;
        std::unique_ptr<MetricsEndpoint> metrics;
        if (!config->metrics.host.empty()) try {
                metrics = std::make_unique<MetricsEndpoint>(
                    config->metrics.host, config->metrics.port,
                    [&] { return figures_of(*live.get(), gateway); },
                    [&] { return rounds.health(); });
            } catch (const std::runtime_error& e) {
                log({std::string("faxgw run: ") + e.what(), faxcore::LogEvent::Priority::error});
                return EX_OSERR;
            }
        // Warm before the gateway says it is ready.
        std::unique_ptr<SubmitService> submissions;
        if (config->submit.workers > 0) try {
                submissions = std::make_unique<SubmitService>(
                    o, *config, [&log](const std::string& line) { log("faxgw run: " + line); });
            } catch (const std::runtime_error& e) {
                // `faxgw submit` then does all the work itself.
                log({std::string("faxgw run: warning: ") + e.what(),
                     faxcore::LogEvent::Priority::warning});
            }
        log("faxgw run: " + ready_status(*config));
        service.ready(ready_status(*config));

        auto reload = [&] {
            service.reloading();
            try {
                live.set(o.load());
            } catch (const std::exception& e) {
                log({std::string("faxgw run: reload refused, the old settings stay: ") + e.what(),
                     faxcore::LogEvent::Priority::error});
                service.ready(ready_status(*live.get()));
                return;
            }
            auto fresh = live.get();
            report_warnings(*fresh);
            gateway.reload(gateway_settings(*fresh));
            mailboxes.start(fresh);
            log(
                {"faxgw run: configuration reloaded (paths, lines, metrics, [sip], [audiosocket] "
                 "and [ami] "
                 "take effect at the next start)",
                 faxcore::LogEvent::Priority::notice});
            service.ready(ready_status(*fresh));
        };
        // Every 10 s for /health, more often when systemd's watchdog asks.
        faxcore::Heartbeat heartbeat{std::chrono::seconds(10), [&] {
                                         rounds.round();
                                         service.alive();
                                     }};
        if (auto every = service.alive_every()) heartbeat.every = std::min(heartbeat.every, *every);
        std::int64_t next_purge = 0;  // retention: at start-up, then every interval
        gateway.run(
            signals.token(),
            [&] {
                if (signals.take_reload_request()) reload();
                const auto current = live.get();
                hand_results_to_mail(*queue, *outbox, *current);
                purge_when_due(next_purge, *queue, *outbox, *current, log);
            },
            heartbeat);
        service.stopping();
        return 0;
    } catch (const faxcore::StateFolderBusy& e) {
        std::cerr << "faxgw run: " << e.what() << "\n";
        return EX_TEMPFAIL;
    } catch (const std::exception& e) {
        // A daemon that cannot work says why and ends, so that its
        // supervisor (systemd) sees it and restarts it.
        log({std::string("faxgw run: cannot go on: ") + e.what(),
             faxcore::LogEvent::Priority::error});
        return EX_SOFTWARE;
    }
}

}  // namespace

CLI::App* add_run_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("run", service_command_summary("run"));
    cmd->footer(run_manual);
    auto o = std::make_shared<CommonOptions>();
    o->add_to(*cmd);
    cmd->callback([o, &exit_code] { exit_code = run_daemon(*o); });
    return cmd;
}

}  // namespace faxgw
