// faxgw submit: queue the fax jobs of one mail, as an MTA pipe transport.
// Its manual is submit_manual below: `--help` shows it, and so does faxgw(8).
#include <sysexits.h>

#include <iostream>
#include <iterator>

#include "commands.h"
#include "submit_service.h"

namespace faxgw {
namespace {

// The manual: DESCRIPTION, EXIT STATUS and the like (faxgw/manual.h).
constexpr const char* submit_manual = R"(DESCRIPTION
    Reads one RFC 5322 message on standard input, as Postfix's pipe(8) hands
    it (argv=... ${sender} ${client_address} ${sasl_username} ${recipient}),
    takes the recipients in the fax domains (mail.fax_domains) as numbers,
    applies the sender rules, renders the mail into fax pages and queues one
    job per number. The jobs are durable when it exits 0. Submitting the
    same Message-ID to the same number again queues nothing new.
    When `faxgw run` serves the same state folder with the same
    configuration file, the mail is handed to its warm workers
    (submit.workers, the socket submit.socket in the state folder), which
    saves the start-up of the libraries; the answer is the same. Without
    them (no `faxgw run`, submit.workers = 0, every worker busy, another
    configuration file, a worker that failed) `faxgw submit` does the work
    itself.
    With Postfix set <transport>_destination_recipient_limit = 1 (e.g.
    fax_destination_recipient_limit = 1) so each recipient gets its own
    exit status.
EXIT STATUS (sysexits(3), which Postfix and Sendmail act on)
    0 queued; 65 the message cannot be faxed; 67 bad fax number or no fax
    recipient; 77 the sender rules or limits refuse; 75 try again later:
    a fault of the gateway (disk full, queue busy, renderer timed out or
    missing) or of its configuration or command line (text 4.3.5), never
    a bounce. One line on standard output says why, always beginning with
    the enhanced status code of the result (2.0.0, 5.6.0, 4.3.0 ...):
    Postfix's pipe(8) lets a leading 4.X.X or 5.X.X override the exit
    status, so nothing from the mail may come first. Postfix puts the line
    into the bounce. Put `--` before the recipients, so that an address
    beginning with '-' is never taken for an option.
SEE ALSO
    faxgw run; faxgw.toml(5); the Postfix lines in
    /usr/share/doc/faxgw/examples/postfix/ (conf/postfix/ in the source tree).
)";

struct SubmitOptions {
    CommonOptions common;
    mailgw::Envelope envelope;
};

void print_reply(mailgw::Verdict verdict, const std::string& message) {
    std::cout << mailgw::mta_reply(verdict, message) << std::endl;
}

int run_submit(const SubmitOptions& o) {
    // Anything unexpected is a temporary failure: an exit code outside
    // sysexits would make Postfix bounce the mail for good.
    using mailgw::Verdict;
    try {
        mailgw::WorkerRequest request{
            o.envelope, {std::istreambuf_iterator<char>(std::cin), {}}, config_digest(o.common)};
        const auto route = load_submit_service_route(o.common.config_file, o.common.var);
        if (route.submit.workers > 0) {
            if (auto reply = submit_to_service(route.var, request)) {
                print_reply(reply->verdict, reply->message);
                return static_cast<int>(mailgw::describe(reply->verdict).exit);
            }
        }
        auto config = o.common.load();
        report_warnings(config);
        auto queue = faxcore::Queue::open(config.var);
        auto result = mailgw::submit(request.message, o.envelope, config.mail, *queue);
        print_reply(result.verdict, result.message);
        return static_cast<int>(result.code);
    } catch (const ConfigError& e) {
        return submit_usage_error(e.what());
    } catch (const std::exception& e) {
        print_reply(Verdict::try_later, std::string("fax gateway temporary failure: ") + e.what());
    } catch (...) {
        print_reply(Verdict::try_later, "fax gateway temporary failure");
    }
    return static_cast<int>(mailgw::describe(Verdict::try_later).exit);
}

}  // namespace

int submit_usage_error(const std::string& what) {
    print_reply(mailgw::Verdict::configuration, "fax gateway configuration error: " + what);
    return static_cast<int>(mailgw::describe(mailgw::Verdict::configuration).exit);
}

CLI::App* add_submit_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "submit", "Queue the fax jobs of one mail read on stdin (MTA pipe transport)");
    cmd->footer(submit_manual);
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
