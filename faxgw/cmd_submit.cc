// NAME
//     faxgw submit - queue the fax jobs of one mail, as an MTA pipe transport
// SYNOPSIS
//     faxgw submit [--sender ADDR] [--client-address IP] [--sasl-user NAME]
//                  [--config FILE] [--var DIR] RECIPIENT...
// DESCRIPTION
//     Reads one RFC 5322 message on standard input, as Postfix's pipe(8) hands
//     it (argv=... ${sender} ${client_address} ${sasl_username} ${recipient}),
//     takes the recipients in the fax domains (mail.fax_domains) as numbers,
//     applies the sender rules, renders the mail into fax pages and queues one
//     job per number. The jobs are durable when it exits 0. Submitting the
//     same Message-ID to the same number again queues nothing new.
//     With Postfix set <transport>_destination_recipient_limit = 1 (e.g.
//     fax_destination_recipient_limit = 1) so each recipient gets its own
//     exit status.
// EXIT STATUS (sysexits(3), which Postfix and Sendmail act on)
//     0 queued; 65 the message cannot be faxed; 67 bad fax number or no fax
//     recipient; 77 the sender rules refuse; 75 temporary failure (queue busy,
//     disk full, internal error): the MTA tries again later. One line on
//     standard output says why; Postfix puts it into the bounce.
// SEE ALSO
//     conf/postfix/, conf/faxgw.toml, faxgw run
#include <sysexits.h>

#include <iostream>
#include <iterator>

#include "commands.h"

namespace faxgw {
namespace {

struct SubmitOptions {
    CommonOptions common;
    mailgw::Envelope envelope;
};

int run_submit(const SubmitOptions& o) {
    // Anything unexpected is a temporary failure: an exit code outside
    // sysexits would make Postfix bounce the mail for good.
    try {
        auto config = o.common.load();
        report_warnings(config);
        std::string message{std::istreambuf_iterator<char>(std::cin), {}};
        auto queue = faxcore::Queue::open(config.var);
        auto result = mailgw::submit(message, o.envelope, config.mail, *queue);
        std::cout << result.message << std::endl;
        return static_cast<int>(result.code);
    } catch (const ConfigError& e) {
        std::cout << "4.3.5 fax gateway configuration error: " << e.what() << std::endl;
        return EX_CONFIG;
    } catch (const std::exception& e) {
        std::cout << "4.3.0 fax gateway temporary failure: " << e.what() << std::endl;
        return EX_TEMPFAIL;
    } catch (...) {
        std::cout << "4.3.0 fax gateway temporary failure" << std::endl;
        return EX_TEMPFAIL;
    }
}

}  // namespace

CLI::App* add_submit_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "submit", "Queue the fax jobs of one mail read on stdin (MTA pipe transport)");
    auto o = std::make_shared<SubmitOptions>();
    o->common.add_to(*cmd);
    cmd->add_option("--sender", o->envelope.sender, "Envelope sender (Postfix ${sender})");
    cmd->add_option("--client-address", o->envelope.client_address,
                    "SMTP client IP address (Postfix ${client_address})");
    cmd->add_option("--sasl-user", o->envelope.sasl_user,
                    "SMTP AUTH user (Postfix ${sasl_username})");
    cmd->add_option("recipients", o->envelope.recipients,
                    "Recipient addresses (Postfix ${recipient})")
        ->required();
    cmd->callback([o, &exit_code] { exit_code = run_submit(*o); });
    return cmd;
}

}  // namespace faxgw
