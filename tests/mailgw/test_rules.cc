#define BOOST_TEST_MODULE mailgw rules
#include <boost/test/unit_test.hpp>

#include "mime.h"
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
    const std::string costly =
        "premium-rate, shared-cost, personal and universal access numbers are not allowed";
    BOOST_TEST(reason(input("a@b.example", "+19005551234")) == costly);
    BOOST_TEST(reason(input("a@b.example", "+15005550123")) == costly);  // personal (500)
    BOOST_TEST(decide(input("a@b.example", "+19765551234"), s).action == RuleAction::deny);
    BOOST_TEST(reason(input("a@b.example", "+4930123456")) ==
               "international fax numbers are not allowed");
    BOOST_TEST(decide(input("a@b.example", "+15551001"), s).action == RuleAction::allow);
    BOOST_TEST(decide(input("a@b.example", "+12125550123"), s).action == RuleAction::allow);
    BOOST_TEST(decide(input("a@b.example", "+18005550123"), s).action == RuleAction::allow);
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

// Jamaica, the Dominican Republic, the British Virgin Islands... share
// country code 1 but are abroad: the classic toll-fraud route.
BOOST_AUTO_TEST_CASE(caribbean_nanp_numbers_are_international) {
    Settings s;
    for (const char* number : {"+18765550123", "+18095550123", "+12844941234", "+12644971234",
                               "+12684601234", "+14412951234", "+17582341234"}) {
        auto d = decide(input("a@b.example", number), s);
        BOOST_TEST_INFO("number " << number);
        BOOST_TEST(d.action == RuleAction::deny);
        BOOST_TEST(d.reason == "international fax numbers are not allowed");
    }
    // Satellite and other non-geographic numbers, and numbers no plan has,
    // are not home either.
    BOOST_TEST(decide(input("a@b.example", "+80012345678"), s).action == RuleAction::deny);
    BOOST_TEST(decide(input("a@b.example", "+15551234"), s).action == RuleAction::deny);
}

BOOST_AUTO_TEST_CASE(region_and_type_conditions) {
    SenderRule canada;
    canada.region = "ca, JM";
    canada.action = RuleAction::hold;
    SenderRule mobiles;
    mobiles.type = "mobile";
    mobiles.action = RuleAction::deny;
    SenderRule national;
    national.number = "national";
    auto s = with_rules({canada, mobiles, national}, false);
    BOOST_TEST(decide(input("a@b.example", "+14165550123"), s).rule == 1);
    BOOST_TEST(decide(input("a@b.example", "+18765550123"), s).rule == 1);
    // NANP numbers may be mobiles: "mobile" matches fixed_line_or_mobile.
    BOOST_TEST(decide(input("a@b.example", "+12125550123"), s).rule == 2);
    BOOST_TEST(decide(input("a@b.example", "+15551001"), s).rule == 3);
    auto d = decide(input("a@b.example", "+49301234567"), s);
    BOOST_TEST(d.rule == 0);
    BOOST_TEST(d.trace[0] == "rule 1: no match: region DE of +49301234567 does not match 'ca, JM'");
    BOOST_TEST(d.trace[1] ==
               "rule 2: no match: type fixed_line of +49301234567 does not match 'mobile'");
    BOOST_TEST(d.trace[2] ==
               "rule 3: no match: number +49301234567 (region DE) does not match 'national'");
}

// A hostile From or sender of 40,000 characters (and more) against regex
// and glob rules: std::regex crashed (it recursed per character).
BOOST_AUTO_TEST_CASE(long_addresses_against_regex_and_glob_rules) {
    SenderRule by_regex;
    by_regex.from = "/^(a+)+b$/";
    by_regex.action = RuleAction::deny;
    SenderRule by_glob;
    by_glob.sender = "*a*a*a*a*a*a*b";
    by_glob.action = RuleAction::deny;
    auto s = with_rules({by_regex, by_glob}, true);
    for (std::size_t size : {40'000u, 1'000'000u}) {
        RuleInput in = input(std::string(size, 'a') + "@x", "+15551001");
        in.from = std::string(size, 'a') + "@x";
        BOOST_TEST(decide(in, s).action == RuleAction::allow);
        in.from = std::string(size, 'a') + "b";
        BOOST_TEST(decide(in, s).rule == 1);
        in.from = "x";
        in.sender = std::string(size, 'a') + "b";
        BOOST_TEST(decide(in, s).rule == 2);
    }
}

// Patterns are compiled once, when the configuration loads, and a bad one
// is an error there naming the field.
BOOST_AUTO_TEST_CASE(bad_patterns_fail_to_compile_naming_the_field) {
    auto field_of_error = [](auto set) -> std::string {
        SenderRule r;
        set(r);
        try {
            compile_rule(r);
        } catch (const RuleError& e) {
            return e.field();
        }
        return "(compiled)";
    };
    BOOST_TEST(field_of_error([](SenderRule& r) { r.from = "/(unclosed/"; }) == "from");
    BOOST_TEST(field_of_error([](SenderRule& r) { r.sender = "/a{1,100000}/"; }) == "sender");
    BOOST_TEST(field_of_error([](SenderRule& r) { r.number = "/+1900/"; }) == "number");
    BOOST_TEST(field_of_error([](SenderRule& r) { r.client = "10.0.0.0/33"; }) == "client");
    BOOST_TEST(field_of_error([](SenderRule& r) { r.client = "10.0.0.0/8, bogus"; }) == "client");
    BOOST_TEST(field_of_error([](SenderRule& r) { r.client = " , "; }) == "client");
    BOOST_TEST(field_of_error([](SenderRule& r) { r.region = "JM, Narnia"; }) == "region");
    BOOST_TEST(field_of_error([](SenderRule& r) { r.type = "premium"; }) == "type");
    BOOST_TEST(field_of_error([](SenderRule& r) { r.dmarc = "passed"; }) == "dmarc");
    BOOST_TEST(field_of_error([](SenderRule& r) {
                   r.sender = "/^(ann|bob)@example\\.org$/";
                   r.client = "10.0.0.0/8, 2001:db8::/32, 192.0.2.1";
                   r.region = "home";
                   r.type = "fixed_line, toll_free";
                   r.spf = "Pass";
               }) == "(compiled)");
    BOOST_CHECK_THROW(check_networks({"127.0.0.0/8", "::1/129"}), std::invalid_argument);
    BOOST_CHECK_NO_THROW(check_networks({"127.0.0.0/8", "::1/128", "192.0.2.7"}));
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

// The MTA prepends its own field; a forged one with the same authserv-id
// that came with the mail sits below it and must not count.
BOOST_AUTO_TEST_CASE(only_the_topmost_header_of_our_server_counts) {
    std::vector<std::string> headers = {
        "other.example; dkim=pass",
        "mx.example.org; spf=fail smtp.mailfrom=a@b.example; dkim=fail header.d=b.example; "
        "dmarc=fail header.from=b.example",
        "mx.example.org; spf=pass; dkim=pass header.d=b.example; dmarc=pass",
    };
    auto v = read_authentication_results(headers, "MX.example.org");
    BOOST_TEST(v.spf == "fail");
    BOOST_TEST(v.dkim == "fail");
    BOOST_TEST(v.dmarc == "fail");
}

// parse_message keeps the fields in message order, top first, which the
// rule above relies on.
BOOST_AUTO_TEST_CASE(parsed_messages_keep_authentication_results_in_order) {
    auto m = parse_message(
        "Authentication-Results: mx.example.org; dkim=fail\r\n"
        "Received: from somewhere\r\n"
        "Authentication-Results: mx.example.org; dkim=pass\r\n"
        "From: a@b.example\r\n"
        "Subject: x\r\n\r\nbody\r\n");
    BOOST_REQUIRE(m.authentication_results.size() == 2u);
    BOOST_TEST(read_authentication_results(m.authentication_results, "mx.example.org").dkim ==
               "fail");
}

// Only the method and result at the start of each resinfo are verdicts:
// text the sender wrote (the MAIL FROM address, comments, reasons) is not.
BOOST_AUTO_TEST_CASE(verdicts_in_sender_text_are_not_verdicts) {
    auto dmarc = [](std::string h) { return read_authentication_results({h}, "mx").dmarc; };
    BOOST_TEST(dmarc("mx; spf=pass smtp.mailfrom=dmarc=pass@evil.example; dmarc=fail") == "fail");
    BOOST_TEST(dmarc("mx; spf=pass smtp.mailfrom=dmarc=pass@evil.example") == "");
    BOOST_TEST(dmarc("mx; spf=pass (dmarc=pass) smtp.mailfrom=a@b.example; dmarc=fail") == "fail");
    BOOST_TEST(dmarc("mx; spf=pass (nested (dmarc=pass; dmarc=pass)) x; dmarc=fail") == "fail");
    BOOST_TEST(dmarc("mx; spf=pass reason=\"x; dmarc=pass\"; dmarc=fail") == "fail");
    BOOST_TEST(dmarc("mx; spf=pass reason=\"a \\\" ; dmarc=pass\"; dmarc=none") == "none");
    BOOST_TEST(dmarc("mx (comment; dmarc=pass); dmarc = (c) FAIL (x) header.from=b") == "fail");
    BOOST_TEST(dmarc("mx 1; dmarc/1=pass") == "pass");  // version numbers
    BOOST_TEST(dmarc("mx; none") == "");
    BOOST_TEST(dmarc("mx; (unterminated dmarc=pass") == "");
    BOOST_TEST(dmarc("\"mx\"; dmarc=pass") == "pass");  // a quoted authserv-id
    BOOST_TEST(dmarc("mx.evil; dmarc=pass") == "");
    BOOST_TEST(dmarc("mx;dmarc=pass@x") == "");  // no keyword: no result
}

BOOST_AUTO_TEST_CASE(null_sender_forms) {
    BOOST_TEST(rule_sender("<>") == "");
    BOOST_TEST(rule_sender("") == "");
    BOOST_TEST(rule_sender("<a@b.example>") == "a@b.example");
    BOOST_TEST(rule_sender(" a@b.example ") == "a@b.example");
}
