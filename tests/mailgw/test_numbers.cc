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
        {"5551234", "+15551234"},
        {"+1-555-123-4567", "+15551234567"},
        {"15551234567", "+15551234567"},
        {"+1(555)123-4567", "+15551234567"},
        {"+1 (555) 123.4567", "+15551234567"},
        {"5551234567", "+15551234567"},
        {"01149301234567", "+49301234567"},
        {"+49 30 1234567", "+49301234567"},
        {"15551001", "+115551001"},  // "1" then not 10 digits: not the national prefix
        {"123", "+1123"},
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
        {"5551234x22", "+15551234", "15551234,,22"},
        {"5551234X22", "+15551234", "15551234,,22"},
        {"555-1234 x 22", "+15551234", "15551234,,22"},
        {"5551234ext22", "+15551234", "15551234,,22"},
        {"5551234 ext. 22", "+15551234", "15551234,,22"},
        {"5551234;ext=22", "+15551234", "15551234,,22"},
        {"+1 (555) 123-4567;ext=9", "+15551234567", "15551234567,,9"},
        {"5551234,,22", "+15551234", "15551234,,22"},
        {"5551234,22", "+15551234", "15551234,,22"},
        {"01149301234567x12345678", "+49301234567", "49301234567,,12345678"},
    };
    DialRules rules;
    for (const Row& row : table) {
        BOOST_TEST_INFO("written " << row.written);
        auto d = normalise_number(row.written, rules);
        BOOST_TEST(d.number == row.e164);
        BOOST_TEST(d.dial == row.dial);
    }
    for (const char* bad : {"5551234x", "5551234x2a", "5551234;ext=", "x22", "5551234x123456789"}) {
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
    DialRules de{"49", "00", "0", 3, 15};
    BOOST_TEST(normalise_number("030 1234567", de).number == "+49301234567");
    BOOST_TEST(normalise_number("0049301234567", de).number == "+49301234567");
    BOOST_TEST(normalise_number("1234567", de).number == "+491234567");
}

BOOST_AUTO_TEST_CASE(bad_numbers_are_refused) {
    DialRules rules;
    for (const char* bad : {"", "+", "555abc", "12", "+1234567890123456", "--", "555#1"}) {
        BOOST_TEST_INFO("written '" << bad << "'");
        BOOST_CHECK_THROW(normalise_number(bad, rules), RecipientError);
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
