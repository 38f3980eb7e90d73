#define BOOST_TEST_MODULE mailgw rules
#include <boost/test/unit_test.hpp>

#include "rules.h"

using namespace faxgw::mailgw;

BOOST_AUTO_TEST_CASE(first_match_wins) {
    std::vector<SenderRule> rules = {
        {"boss@example.org", "*", true, ""},
        {"*@example.org", "+1555*", false, "no local faxes"},
        {"*@example.org", "*", true, ""},
    };
    BOOST_TEST(!refusal("boss@example.org", "+15551001", rules, false));
    BOOST_TEST(refusal("BOB@Example.ORG", "+15551001", rules, true).value_or("") == "no local faxes");
    BOOST_TEST(!refusal("bob@example.org", "+4930123", rules, false));
}

BOOST_AUTO_TEST_CASE(no_match_uses_default) {
    std::vector<SenderRule> rules = {{"*@example.org", "*", true, ""}};
    BOOST_TEST(!refusal("eve@example.net", "+15551001", rules, true));
    auto r = refusal("eve@example.net", "+15551001", rules, false);
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->find("eve@example.net") != std::string::npos);
    BOOST_TEST(!refusal("eve@example.net", "+15551001", {}, true));
}

BOOST_AUTO_TEST_CASE(built_in_defaults) {
    auto rules = default_rules();
    BOOST_TEST(refusal("", "+15551001", rules, true).value_or("") ==
               "bounces and auto-replies cannot send faxes");
    BOOST_TEST(refusal("offers@spammer.invalid", "+15551001", rules, true).value_or("") ==
               "sender domain .invalid cannot receive a fax report");
    BOOST_TEST(refusal("a@b.example", "+19005551234", rules, true).value_or("") ==
               "premium-rate numbers are not allowed");
    BOOST_TEST(refusal("a@b.example", "+19765551234", rules, true).has_value());
    BOOST_TEST(!refusal("a@b.example", "+15551001", rules, true));
    BOOST_TEST(!refusal("a@b.example", "+4919001234", rules, true));
}

BOOST_AUTO_TEST_CASE(null_sender_forms) {
    BOOST_TEST(rule_sender("<>") == "");
    BOOST_TEST(rule_sender("") == "");
    BOOST_TEST(rule_sender("<a@b.example>") == "a@b.example");
    BOOST_TEST(rule_sender(" a@b.example ") == "a@b.example");
}
