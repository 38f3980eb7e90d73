// faxgw milter: decide fax mails inside the MTA, during the SMTP dialogue.
// Its manual is milter_manual below: `--help` shows it, and so does faxgw(8).
#include <sysexits.h>
#include <unistd.h>

#include <iostream>

#include "commands.h"
#include "logging.h"
#include "service_program.h"
#include "submit_service.h"

namespace faxgw {
namespace {

// The manual: DESCRIPTION, EXIT STATUS and the like (faxgw/manual.h).
constexpr const char* milter_manual = R"(DESCRIPTION
    A mail filter (milter) for Postfix (smtpd_milters) and Sendmail
    (INPUT_MAIL_FILTER), listening on milter.socket or SPEC:
    inet:PORT@HOST, inet6:PORT@HOST or unix:PATH. For each recipient in
    mail.fax_domains it answers at RCPT TO: 550 5.1.1 for a number that
    is malformed or not allowed (dial rules), 550 5.7.1 with the rule's
    reason when the sender rules refuse this sender, SMTP AUTH user and
    client, 450 4.7.1 when a sender's limit is reached for now (550 5.7.1
    when the mail alone is over it). Other recipients pass untouched, and
    a mail without fax recipients is let through at DATA unread.
    At the end of DATA the mail goes the way of `faxgw submit`: parsed,
    checked, rendered and queued, durably, before the MTA answers 250.
    An attachment that cannot be faxed is 554 5.6.1 naming it and its
    type; a mail over the size or page limits 552 5.3.4; a fault of the
    gateway (queue locked, disk full, renderer timed out) 451 4.3.0.
    Accepted fax recipients are removed from the mail's delivery; when
    no other recipient is left, the mail is accepted and delivered
    nowhere, else the copy still delivered carries X-Fax-Jobs: with the
    job ids. A client that sends the same mail again (its 250 was lost)
    queues no second job.
    Mails are rendered in milter.renderers worker processes, kept warm;
    the MTA is kept waiting (milter progress) while a mail waits for one.
    Shares the queue of --var with `faxgw run`, which sends the faxes.
    Stops on SIGTERM, SIGHUP or SIGINT: mails being decided get their
    answer first; other sessions are closed, and the MTA applies
    milter_default_action (conf/postfix/main.cf recommends tempfail).
CONFIGURATION KEYS
    milter.*, mail.*, rules.*, limits.*, render.*, dial.*.
EXIT STATUS
    0 stopped by a signal; 71 the socket cannot be opened (in use, no
    permission); 78 configuration error or a bad socket spec.
SEE ALSO
    faxgw submit; faxgw.toml(5); main.cf.milter and faxgw-milter.mc in
    /usr/share/doc/faxgw/examples/ (conf/ in the source tree).
)";

struct MilterOptions {
    CommonOptions common;
    std::optional<std::string> socket;
};

int run_milter(const MilterOptions& o) {
    auto config = o.common.load();
    report_warnings(config);
    if (o.socket) {
        try {
            milter::check_socket_spec(*o.socket);
        } catch (const std::invalid_argument& e) {
            throw ConfigError(std::string("--socket: ") + e.what());
        }
        config.milter.socket = milter_socket_below(config.var, *o.socket);
    }
    milter::Services services;
    services.mail = &config.mail;
    services.var = config.var;
    services.worker_command = submit_worker_command(o.common, config);
    // Priorities and masked numbers as `faxgw run` logs (logging.*).
    services.log = [log = Logger(config.logging, "faxgw-milter")](const std::string& line) {
        log("faxgw milter: " + line);
    };
    return milter::serve(config.milter, services);
}

}  // namespace

CLI::App* add_milter_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("milter", service_command_summary("milter"));
    cmd->footer(milter_manual);
    auto o = std::make_shared<MilterOptions>();
    o->common.add_to(*cmd);
    cmd->add_option("--socket", o->socket,
                    "Where the MTA connects: inet:PORT@HOST, inet6:PORT@HOST or unix:PATH "
                    "(default: milter.socket)");
    cmd->callback([o, &exit_code] { exit_code = run_milter(*o); });
    return cmd;
}

}  // namespace faxgw
