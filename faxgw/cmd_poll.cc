// faxgw poll: take fax mails from IMAP mailboxes.
// Its manual is poll_manual below: `--help` shows it, and so does faxgw(8).
#include <sysexits.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include "commands.h"
#include "daemon.h"
#include "logging.h"
#include "service_program.h"
#include "submit_service.h"

namespace faxgw {
namespace {

// The manual: DESCRIPTION, EXIT STATUS and the like (faxgw/manual.h).
constexpr const char* poll_manual = R"(DESCRIPTION
    Watches the folder of every [[imap.accounts]] mailbox. Each message
    goes through the same path as `faxgw submit` (its fax recipients are
    the To and Cc addresses in mail.fax_domains, its sender From, the
    rules see the mailbox owner as its SMTP AUTH user unless
    sender_identity says otherwise) and is then moved: to
    processed_folder once its jobs are committed, to rejected_folder when
    it is refused (the sender gets a mail saying why), or left in place
    when the gateway cannot take it now. A message is recorded in the
    queue database before it moves, so it is queued once even when the
    poller dies in between or the connection drops. Uses IDLE where the
    server has it, else looks every poll_seconds; reconnects with
    backoff; a refused login is logged once. While it watches, warm
    worker processes decide the messages (one per account, at most one
    per core), as the milter's do; a worker that dies is replaced, and
    the message in its hands is left for the next look. A worker reads
    the configuration file when it starts: one that replaces another
    reads the file as it is then.
    --once looks at every account once and decides the messages itself,
    then exits (cron, tests).
    Refusal mails go through the outbox (smtp.url, or the paths.outbox
    Maildir); --once delivers them before it exits.
    Stops on SIGTERM or SIGINT. SIGHUP reads the configuration file
    again and watches the mailboxes of the new settings, with new workers
    (accounts, mail.*, rules.*, limits.*, render.*, smtp.*); a file with
    an error is refused with the error logged, and the old settings stay.
    paths.* and logging.* take effect at the next start.
CONFIGURATION KEYS
    imap.accounts (see faxgw.toml(5)), mail.*, rules.*, limits.*, render.*.
EXIT STATUS
    0 done (--once: every account was read) or stopped by a signal;
    75 --once: an account could not be read (connection, TLS, login);
    78 configuration error, or no account configured.
)";

void log_to_stderr(const std::string& line) { std::cerr << line << std::endl; }

struct PollOptions {
    CommonOptions common;
    bool once = false;
};

// Watches until SIGTERM or SIGINT, and reloads on SIGHUP. The signals are
// taken before any thread starts (daemon.h).
int watch(const CommonOptions& options, Config config) {
    DaemonSignals signals;
    LiveConfig live(std::move(config));
    const Logger log(live.get()->logging, "faxgw-poll");
    std::jthread mailer([&](std::stop_token stop) { deliver_mail_until(stop, live, log); });
    MailboxWatch mailboxes(options, log, "faxgw poll: ");
    mailboxes.start(live.get());
    std::mutex mutex;
    std::condition_variable_any reload_requested;
    signals.wake_on_sighup([&] {
        std::lock_guard lock(mutex);
        reload_requested.notify_all();
    });
    const auto stop = signals.token();
    for (;;) {
        {
            std::unique_lock lock(mutex);
            if (!reload_requested.wait(lock, stop, [&] { return signals.take_reload_request(); }))
                break;  // stopped
        }
        try {
            auto fresh = options.load();
            if (fresh.imap_accounts.empty())
                throw std::runtime_error("no [[imap.accounts]] configured");
            live.set(std::move(fresh));
        } catch (const std::exception& e) {
            log({std::string("faxgw poll: reload refused, the old settings stay: ") + e.what(),
                 faxcore::LogEvent::Priority::error});
            continue;
        }
        report_warnings(*live.get());
        mailboxes.start(live.get());
        log({"faxgw poll: configuration reloaded (paths.* and logging.* at the next start)",
             faxcore::LogEvent::Priority::notice});
    }
    signals.wake_on_sighup({});
    return 0;
}

// --once: every account once, its mails decided here, then the refusals
// delivered.
int poll_each_account_once(const Config& config) {
    std::signal(SIGPIPE, SIG_IGN);  // a server that hung up is an error, not our end
    auto services = imap_services(config);
    int failed = 0;
    for (const auto& account : config.imap_accounts) {
        try {
            auto counts = imap::poll_once(account, services);
            std::cerr << "faxgw poll: " << imap::account_key(account) << ": " << counts.processed
                      << " processed, " << counts.rejected << " rejected, " << counts.retried
                      << " left for later" << std::endl;
        } catch (const std::exception& e) {
            std::cerr << "faxgw poll: " << e.what() << std::endl;
            ++failed;
        }
    }
    // Refusals leave now, when no `faxgw run` is there to send them.
    try {
        mailgw::Outbox(config.var).deliver_due(config.mail.relay, log_to_stderr);
    } catch (const std::exception& e) {
        std::cerr << "faxgw poll: refusals not delivered yet: " << e.what() << std::endl;
    }
    return failed ? EX_TEMPFAIL : 0;
}

int poll(const PollOptions& o) {
    auto config = o.common.load();
    report_warnings(config);
    if (config.imap_accounts.empty()) {
        std::cerr << "faxgw poll: no [[imap.accounts]] configured\n";
        return EX_CONFIG;
    }
    return o.once ? poll_each_account_once(config) : watch(o.common, std::move(config));
}

}  // namespace

imap::Decide mailbox_workers(const CommonOptions& options, const Config& config,
                             const std::function<void(const std::string&)>& log) {
    // A mailbox's mails are decided one after another, and more workers
    // than cores would only wait for each other.
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int accounts = static_cast<int>(config.imap_accounts.size());
    return decide_in_workers(options, config, std::min(accounts, cores), log);
}

imap::Services imap_services(const Config& config) {
    imap::Services s;
    s.var = config.var;
    s.mail = config.mail;
    const auto var = config.var;
    const auto maildir = config.mail.outbox;
    s.send_refusal = [var, maildir](const imap::RefusalMail& refusal) {
        mailgw::OutgoingMail mail;
        // One refusal per refused message, however often it is polled.
        mail.key = "refusal:" + refusal.to + ":" + refusal.in_reply_to;
        mail.sender = "";  // an automatic answer: nothing may answer it back
        mail.recipients = {refusal.to};
        mail.message = refusal.text;
        mail.local_maildir = maildir;
        mailgw::Outbox(var).post(mail);
    };
    return s;
}

CLI::App* add_poll_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("poll", service_command_summary("poll"));
    cmd->footer(poll_manual);
    auto o = std::make_shared<PollOptions>();
    o->common.add_to(*cmd);
    cmd->add_flag("--once", o->once, "Look at every account once, then exit");
    cmd->callback([o, &exit_code] { exit_code = poll(*o); });
    return cmd;
}

}  // namespace faxgw
