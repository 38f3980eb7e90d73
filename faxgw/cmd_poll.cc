// faxgw poll: take fax mails from IMAP mailboxes.
// Its manual is poll_manual below: `--help` shows it, and so does faxgw(8).
#include <pthread.h>
#include <sysexits.h>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <stop_token>
#include <thread>

#include "commands.h"
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
    Stops on SIGTERM or SIGINT.
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

// SIGTERM and SIGINT are taken by a thread of their own with sigwait: a
// stop request wakes waiting threads (locks), which no signal handler may do.
void watch_until_signal(const std::vector<imap::Account>& accounts, imap::Services& services) {
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
    imap::watch_all(accounts, services, stop.get_token());
    // watch_all() returns only once stopped, so the waiter has its signal.
}

int poll(const PollOptions& o) {
    auto config = o.common.load();
    report_warnings(config);
    if (config.imap_accounts.empty()) {
        std::cerr << "faxgw poll: no [[imap.accounts]] configured\n";
        return EX_CONFIG;
    }
    auto services = imap_services(config);
    if (o.once) {
        int failed = 0;
        for (const auto& account : config.imap_accounts) {
            try {
                auto counts = imap::poll_once(account, services);
                std::cerr << "faxgw poll: " << imap::account_key(account) << ": "
                          << counts.processed << " processed, " << counts.rejected << " rejected, "
                          << counts.retried << " left for later" << std::endl;
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
    const LiveConfig live(config);
    const Logger log(config.logging, "faxgw-poll");
    services.log = log;
    services.decide = mailbox_workers(o.common, config, log);
    std::jthread mailer([&](std::stop_token stop) { deliver_mail_until(stop, live, log); });
    watch_until_signal(config.imap_accounts, services);
    return 0;
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
