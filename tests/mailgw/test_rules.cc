#define BOOST_TEST_MODULE mailgw rules
#include <boost/test/unit_test.hpp>

#include "rules.h"

using namespace faxgw::mailgw;

namespace {

SenderRule rule(std::string sender, std::string number, RuleAction action,
                std::string reason = "") {
    SenderRule r;
    r.sender = std::move(sender);
    r.number = std::move(number);
    r.action = action;
    r.reason = std::move(reason);
    return r;
}

Settings with_rules(std::vector<SenderRule> rules, bool default_allow = true) {
    Settings s;
    s.rules = std::move(rules);
    s.default_allow = default_allow;
    return s;
}

RuleInput input(std::string sender, std::string number) {
    RuleInput in;
    in.sender = std::move(sender);
    in.number = std::move(number);
    return in;
}

}  // namespace

namespace faxgw::mailgw {
std::ostream& boost_test_print_type(std::ostream& os, RuleAction a) { return os << to_string(a); }
}  // namespace faxgw::mailgw

BOOST_AUTO_TEST_CASE(first_match_wins) {
    auto s = with_rules({rule("boss@example.org", "*", RuleAction::allow),
                         rule("@example.org", "+1555*", RuleAction::deny, "no local faxes"),
                         rule("*@example.org", "*", RuleAction::allow)},
                        false);
    BOOST_TEST(decide(input("boss@example.org", "+15551001"), s).action == RuleAction::allow);
    auto d = decide(input("BOB@Example.ORG", "+15551001"), s);
    BOOST_TEST(d.action == RuleAction::deny);
    BOOST_TEST(d.rule == 2);
    BOOST_TEST(d.reason == "no local faxes");
    BOOST_TEST(decide(input("bob@example.org", "+4930123"), s).rule == 3);
    // "@domain" covers subdomains too.
    BOOST_TEST(decide(input("x@mail.example.org", "+15551001"), s).rule == 2);
}

BOOST_AUTO_TEST_CASE(no_match_uses_the_default_and_the_trace_says_why) {
    auto s = with_rules({rule("*@example.org", "*", RuleAction::allow)}, false);
    auto d = decide(input("eve@example.net", "+15551001"), s);
    BOOST_TEST(d.action == RuleAction::deny);
    BOOST_TEST(d.rule == 0);
    BOOST_REQUIRE(d.trace.size() == 2u);
    BOOST_TEST(d.trace[0].find("sender <eve@example.net> does not match") != std::string::npos,
               d.trace[0]);
    BOOST_TEST(decide(input("eve@example.net", "+15551001"), with_rules({}, true)).action ==
               RuleAction::allow);
}

BOOST_AUTO_TEST_CASE(regex_auth_client_and_verdicts) {
    SenderRule r;
    r.sender = "/^(ann|bob)@example\\.org$/";
    r.auth = "any";
    r.client = "10.0.0.0/8, 2001:db8::/32";
    r.dkim = "pass";
    auto s = with_rules({r}, false);
    RuleInput in = input("ann@example.org", "+15551001");
    in.sasl_user = "ann";
    in.client_address = "10.1.2.3";
    in.dkim = "pass";
    BOOST_TEST(decide(in, s).action == RuleAction::allow);
    in.client_address = "2001:db8::7";
    BOOST_TEST(decide(in, s).action == RuleAction::allow);
    in.client_address = "192.0.2.1";
    BOOST_TEST(decide(in, s).action == RuleAction::deny);
    in.client_address = "10.1.2.3";
    in.dkim = "fail";
    BOOST_TEST(decide(in, s).action == RuleAction::deny);
    in.dkim = "pass";
    in.sasl_user = "";
    BOOST_TEST(decide(in, s).action == RuleAction::deny);
    in.sasl_user = "ann";
    in.sender = "carol@example.org";
    BOOST_TEST(decide(in, s).action == RuleAction::deny);
}

BOOST_AUTO_TEST_CASE(built_in_defaults_stop_toll_fraud) {
    Settings s;  // default_rules()
    auto reason = [&](RuleInput in) { return decide(in, s).reason; };
    BOOST_TEST(reason(input("", "+15551001")) == "bounces and auto-replies cannot send faxes");
    BOOST_TEST(reason(input("offers@spammer.invalid", "+15551001")) ==
               "sender domain .invalid cannot receive a fax report");
    BOOST_TEST(reason(input("a@b.example", "+19005551234")) ==
               "premium-rate numbers are not allowed");
    BOOST_TEST(decide(input("a@b.example", "+19765551234"), s).action == RuleAction::deny);
    BOOST_TEST(reason(input("a@b.example", "+4930123456")) ==
               "international fax numbers are not allowed");
    BOOST_TEST(decide(input("a@b.example", "+15551001"), s).action == RuleAction::allow);
    // From outside the trusted networks only with SMTP AUTH.
    RuleInput outsider = input("a@b.example", "+15551001");
    outsider.client_address = "198.51.100.7";
    BOOST_TEST(decide(outsider, s).action == RuleAction::deny);
    BOOST_TEST(decide(outsider, s).reason.find("SMTP AUTH") != std::string::npos);
    outsider.sasl_user = "alice";
    BOOST_TEST(decide(outsider, s).action == RuleAction::allow);
    outsider.client_address = "127.0.0.1";
    outsider.sasl_user = "";
    BOOST_TEST(decide(outsider, s).action == RuleAction::allow);
}

BOOST_AUTO_TEST_CASE(hold_is_a_decision_of_its_own) {
    auto s = with_rules({rule("*", "+1555*", RuleAction::hold)});
    auto d = decide(input("a@b.example", "+15551001"), s);
    BOOST_TEST(d.action == RuleAction::hold);
    BOOST_TEST(d.reason.find("held") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(authentication_results_of_other_servers_are_ignored) {
    std::vector<std::string> headers = {
        "mx.example.org; spf=pass smtp.mailfrom=a@b.example; dkim=fail header.d=b.example; "
        "dkim=pass header.d=b.example; dmarc=pass",
        "evil.example; spf=fail; dkim=fail; dmarc=fail",
    };
    auto v = read_authentication_results(headers, "mx.example.org");
    BOOST_TEST(v.spf == "pass");
    BOOST_TEST(v.dkim == "pass");  // one good signature is enough
    BOOST_TEST(v.dmarc == "pass");
    auto none = read_authentication_results(headers, "");
    BOOST_TEST(none.spf.empty());
    auto forged = read_authentication_results({headers[1]}, "mx.example.org");
    BOOST_TEST(forged.dkim.empty());
}

BOOST_AUTO_TEST_CASE(null_sender_forms) {
    BOOST_TEST(rule_sender("<>") == "");
    BOOST_TEST(rule_sender("") == "");
    BOOST_TEST(rule_sender("<a@b.example>") == "a@b.example");
    BOOST_TEST(rule_sender(" a@b.example ") == "a@b.example");
}
