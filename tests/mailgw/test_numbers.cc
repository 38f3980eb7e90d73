#define BOOST_TEST_MODULE mailgw numbers
#include <boost/test/unit_test.hpp>

#include "recipients.h"

using namespace faxgw::mailgw;

BOOST_AUTO_TEST_CASE(normalisation_table) {
    struct Row {
        const char* written;
        const char* e164;
    };
    const Row table[] = {
        {"2125550123", "+12125550123"},
        {"+1-212-555-0123", "+12125550123"},
        {"12125550123", "+12125550123"},
        {"+1(212)555-0123", "+12125550123"},
        {"+1 (212) 555.0123", "+12125550123"},
        {"01149301234567", "+49301234567"},
        {"+49 30 1234567", "+49301234567"},
        {"5551001", "+15551001"},  // a number of the simulated network
    };
    DialRules rules;
    for (const Row& row : table) {
        auto d = normalise_number(row.written, rules);
        BOOST_TEST_INFO("written " << row.written);
        BOOST_TEST(d.number == row.e164);
        BOOST_TEST(d.dial == std::string(row.e164).substr(1));
    }
}

BOOST_AUTO_TEST_CASE(extensions) {
    struct Row {
        const char* written;
        const char* e164;
        const char* dial;
    };
    const Row table[] = {
        {"5551001x22", "+15551001", "15551001,,22"},
        {"5551001X22", "+15551001", "15551001,,22"},
        {"555-1001 x 22", "+15551001", "15551001,,22"},
        {"5551001ext22", "+15551001", "15551001,,22"},
        {"5551001 ext. 22", "+15551001", "15551001,,22"},
        {"5551001;ext=22", "+15551001", "15551001,,22"},
        {"+1 (212) 555-0123;ext=9", "+12125550123", "12125550123,,9"},
        {"5551001,,22", "+15551001", "15551001,,22"},
        {"5551001,22", "+15551001", "15551001,,22"},
        {"01149301234567x12345678", "+49301234567", "49301234567,,12345678"},
    };
    DialRules rules;
    for (const Row& row : table) {
        BOOST_TEST_INFO("written " << row.written);
        auto d = normalise_number(row.written, rules);
        BOOST_TEST(d.number == row.e164);
        BOOST_TEST(d.dial == row.dial);
    }
    for (const char* bad :
         {"5551001x", "5551001x2a", "5551001;ext=", "x22", "5551001x123456789", "5551234x22"}) {
        BOOST_TEST_INFO("written '" << bad << "'");
        BOOST_CHECK_THROW(normalise_number(bad, rules), RecipientError);
    }
}

BOOST_AUTO_TEST_CASE(extension_recipients) {
    Settings s;
    auto r = fax_recipients({"front.desk=5551004x22@fax.example.com",
                             "\"5551005;ext=23\"@fax.example.com", "5551004,,22@fax.example.com"},
                            s);
    BOOST_TEST_REQUIRE(r.size() == 2u);  // the third is the first again
    BOOST_TEST(r[0].name == "front.desk");
    BOOST_TEST(r[0].destination.dial == "15551004,,22");
    BOOST_TEST(r[1].name == "");
    BOOST_TEST(r[1].destination.number == "+15551005");
    BOOST_TEST(r[1].destination.dial == "15551005,,23");
    // One number, two extensions: one job per number cannot carry both.
    BOOST_CHECK_THROW(
        fax_recipients({"5551004x22@fax.example.com", "5551004x23@fax.example.com"}, s),
        RecipientError);
}

BOOST_AUTO_TEST_CASE(national_prefix_outside_nanp) {
    DialRules de;
    de.country_code = "49";
    de.international_prefix = "00";
    de.national_prefix = "0";
    BOOST_TEST(normalise_number("030 1234567", de).number == "+49301234567");
    BOOST_TEST(normalise_number("0049301234567", de).number == "+49301234567");
    BOOST_TEST(normalise_number("30 1234567", de).number == "+49301234567");
}

BOOST_AUTO_TEST_CASE(bad_numbers_are_refused) {
    DialRules rules;
    for (const char* bad : {"", "+", "555abc", "12", "+1234567890123456", "--", "555#1"}) {
        BOOST_TEST_INFO("written '" << bad << "'");
        BOOST_CHECK_THROW(normalise_number(bad, rules), RecipientError);
    }
}

// Numbers no telephone network has are refused when the mail comes, with
// what is wrong, instead of being queued to fail at dial time.
BOOST_AUTO_TEST_CASE(invalid_numbers_are_refused_saying_why) {
    DialRules rules;
    auto refusal = [&](const char* written) -> std::string {
        try {
            normalise_number(written, rules);
        } catch (const RecipientError& e) {
            return e.what();
        }
        return "(accepted)";
    };
    BOOST_TEST(refusal("5551234") == "the fax number +15551234 is no valid number for region US");
    BOOST_TEST(refusal("15551001") == "the fax number +115551001 has too few digits for region US");
    BOOST_TEST(refusal("123") == "the fax number +1123 has too few digits for region US");
    BOOST_TEST(refusal("+1 555 123 4567") ==
               "the fax number +15551234567 is no valid number for region US");
    BOOST_TEST(refusal("+999 1234567") == "the fax number +9991234567 has no valid country code");
    // An international prefix alone left "+" as the number (found by fuzzing).
    BOOST_TEST(refusal("011") == "the fax number has fewer than 3 digits after its prefix");
    BOOST_TEST(refusal("+49 900 12345678") ==
               "the fax number +4990012345678 is no valid number for region DE");
    // Numbers of the simulated network count only while it is the network.
    rules.known_numbers.clear();
    BOOST_TEST(refusal("5551001") == "the fax number +15551001 is no valid number for region US");
}

// Region and type come from libphonenumber's number plans, not prefixes:
// the Caribbean shares country code 1 with the US.
BOOST_AUTO_TEST_CASE(numbers_have_a_region_and_a_type) {
    DialRules rules;
    struct Row {
        const char* e164;
        const char* region;
        bool home;
        NumberType type;
    };
    const Row table[] = {
        {"+12125550123", "US", true, NumberType::fixed_line_or_mobile},
        {"+18765550123", "JM", false, NumberType::mobile},
        {"+18095550123", "DO", false, NumberType::fixed_line_or_mobile},
        {"+12844941234", "VG", false, NumberType::fixed_line},
        {"+14165550123", "CA", false, NumberType::fixed_line_or_mobile},
        {"+19005550123", "US", true, NumberType::premium_rate},
        {"+18005550123", "US", true, NumberType::toll_free},
        {"+15005550123", "US", true, NumberType::personal_number},
        {"+80012345678", "001", false, NumberType::toll_free},
        {"+49301234567", "DE", false, NumberType::fixed_line},
        {"+15551001", "US", true, NumberType::fixed_line},  // the simulated network
    };
    for (const Row& row : table) {
        BOOST_TEST_INFO("number " << row.e164);
        auto info = describe_number(row.e164, rules);
        BOOST_TEST(info.valid);
        BOOST_TEST(info.region == row.region);
        BOOST_TEST(info.home == row.home);
        BOOST_TEST(to_string(info.type) == to_string(row.type));
    }
    rules.region = "CA";
    BOOST_TEST(describe_number("+14165550123", rules).home);
    BOOST_TEST(!describe_number("+12125550123", rules).home);
}

BOOST_AUTO_TEST_CASE(dial_rules_name_a_known_country_and_region) {
    DialRules rules;
    BOOST_TEST(home_region(rules) == "US");
    rules.country_code = "44";
    BOOST_TEST(home_region(rules) == "GB");
    rules.region = "JE";  // Jersey shares +44
    BOOST_TEST(home_region(rules) == "JE");
    rules.region = "US";
    BOOST_CHECK_THROW(home_region(rules), std::invalid_argument);
    rules.region = "XX";
    BOOST_CHECK_THROW(home_region(rules), std::invalid_argument);
    rules.region = "";
    for (const char* bad : {"one", "", "1234", "+1", "999"}) {
        rules.country_code = bad;
        BOOST_TEST_INFO("country code '" << bad << "'");
        BOOST_CHECK_THROW(home_region(rules), std::invalid_argument);
    }
}

BOOST_AUTO_TEST_CASE(recipients_in_fax_domains_only) {
    Settings s;
    s.fax_domains = {"fax.example.com", "Fax.Example.NET"};
    auto r = fax_recipients({"alice@example.com", "5551001@FAX.example.com",
                             "jane.doe=5551002@fax.example.net", "<+1-555-100-3@fax.example.com>",
                             "\"+1 (555) 100-4\"@fax.example.com", "+1.555.1001@fax.example.com"},
                            s);
    BOOST_TEST_REQUIRE(r.size() == 4u);  // +1.555.1001 is +15551001 again
    BOOST_TEST(r[0].destination.number == "+15551001");
    BOOST_TEST(r[0].name == "");
    BOOST_TEST(r[0].address == "5551001@FAX.example.com");
    BOOST_TEST(r[1].destination.number == "+15551002");
    BOOST_TEST(r[1].name == "jane.doe");
    BOOST_TEST(r[2].destination.number == "+15551003");
    BOOST_TEST(r[3].destination.number == "+15551004");
}

BOOST_AUTO_TEST_CASE(same_number_twice_is_one_recipient) {
    Settings s;
    auto r = fax_recipients(
        {"5551001@fax.example.com", "+15551001@fax.example.com", "x=555-1001@fax.example.com"}, s);
    BOOST_TEST(r.size() == 1u);
}

BOOST_AUTO_TEST_CASE(no_fax_recipient) {
    Settings s;
    try {
        fax_recipients({"alice@example.com"}, s);
        BOOST_FAIL("no exception");
    } catch (const RecipientError& e) {
        BOOST_TEST(std::string(e.what()) == "no fax recipient in fax.example.com");
    }
}

BOOST_AUTO_TEST_CASE(bad_number_names_the_address) {
    Settings s;
    try {
        fax_recipients({"5551001@fax.example.com", "call-me@fax.example.com"}, s);
        BOOST_FAIL("no exception");
    } catch (const RecipientError& e) {
        std::string what = e.what();
        BOOST_TEST(what.find("call-me@fax.example.com") != std::string::npos);
        BOOST_TEST(what.find('\n') == std::string::npos);
    }
}
