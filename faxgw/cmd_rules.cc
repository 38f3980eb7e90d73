// faxgw rules test: explain what the sender rules decide for a fax.
// Its manual is rules_manual below: `--help` shows it, and so does faxgw(8).
#include <sysexits.h>

#include <iostream>

#include "commands.h"

namespace faxgw {
namespace {

// The manual: DESCRIPTION, EXIT STATUS and the like (faxgw/manual.h).
constexpr const char* rules_manual = R"(DESCRIPTION
    Normalises NUMBER by the dial rules, checks it with libphonenumber
    (its region and type), runs the sender rules (rules.list, first match
    wins) as `faxgw submit` would, and prints for each rule why it matched
    or not, then the decision and the reason a sender would read.
EXIT STATUS
    0 allowed; 1 held for an administrator; 77 denied; 67 bad or invalid number.
)";

struct RulesTestOptions {
    CommonOptions common;
    mailgw::RuleInput input;
    std::string number;
};

int test_rules(const RulesTestOptions& o) {
    auto config = o.common.load();
    auto input = o.input;
    try {
        input.number = mailgw::normalise_number(o.number, config.mail.dial).number;
    } catch (const mailgw::RecipientError& e) {
        std::cerr << "faxgw rules test: " << e.what() << "\n";
        return EX_NOUSER;
    }
    auto decision = mailgw::decide(input, config.mail);
    auto number = mailgw::describe_number(input.number, config.mail.dial);
    std::cout << "sender <" << input.sender << "> to " << input.number << " (region "
              << number.region << (number.home ? ", home" : ", abroad") << ", type "
              << mailgw::to_string(number.type) << "):\n";
    for (const auto& line : decision.trace) std::cout << "  " << line << "\n";
    std::cout << "decision: " << mailgw::to_string(decision.action);
    if (!decision.reason.empty()) std::cout << " (" << decision.reason << ")";
    std::cout << "\n";
    switch (decision.action) {
        case mailgw::RuleAction::allow:
            return 0;
        case mailgw::RuleAction::hold:
            return 1;
        case mailgw::RuleAction::deny:
            return EX_NOPERM;
    }
    return 0;
}

}  // namespace

CLI::App* add_rules_command(CLI::App& app, int& exit_code) {
    auto* rules = app.add_subcommand("rules", "Work with the sender rules");
    rules->require_subcommand(1);
    auto* cmd = rules->add_subcommand("test", "Explain which sender rule decides a fax, and why");
    cmd->footer(rules_manual);
    auto o = std::make_shared<RulesTestOptions>();
    o->common.add_to(*cmd);
    cmd->add_option("--sender", o->input.sender, "Envelope sender (\"\" = the null sender)")
        ->required();
    cmd->add_option("--number", o->number, "Fax number as the sender writes it")->required();
    cmd->add_option("--from", o->input.from, "Address in the From: header");
    cmd->add_option("--auth", o->input.sasl_user, "SMTP AUTH user name (none when absent)");
    cmd->add_option("--client", o->input.client_address,
                    "SMTP client IP address (local when absent)");
    cmd->add_option("--spf", o->input.spf, "SPF verdict from Authentication-Results");
    cmd->add_option("--dkim", o->input.dkim, "DKIM verdict from Authentication-Results");
    cmd->add_option("--dmarc", o->input.dmarc, "DMARC verdict from Authentication-Results");
    cmd->callback([o, &exit_code] { exit_code = test_rules(*o); });
    return rules;
}

}  // namespace faxgw
