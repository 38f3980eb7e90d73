// The sender rules and dial rules as a mail admin configures them and as
// `faxgw submit` meets hostile mail: bad patterns, networks and country
// codes fail `config --check` with their place; a huge From against a
// regex rule is answered, not crashed on; invalid numbers are refused.
#define BOOST_TEST_MODULE e2e sender rules configuration
#include <boost/test/unit_test.hpp>
#include <fstream>

#include "e2e.h"

using namespace faxgw;
namespace fs = std::filesystem;

namespace {

struct Rig : test::StateRig {
    fs::path config = dir.path / "faxgw.toml";
    test::Output check(const std::string& toml) {
        std::ofstream(config) << toml;
        return faxgw(
            {"config", "--check", "--config", config.string(), "--var", dir.path.string()});
    }
    test::Output submit(const fs::path& mail, const std::string& recipient) {
        return faxgw({"submit", "--config", config.string(), "--var", var.string(), "--sender",
                      "anna@example.org", recipient},
                     mail);
    }
};

// `config --check` refuses `toml` with exit 78 and "faxgw.toml:LINE:COL: ...".
void check_refused(const std::string& toml, int line, const std::string& what) {
    Rig rig;
    auto o = rig.check(toml);
    BOOST_TEST(o.code == 78, toml << "\n" << o.err);
    std::string place = "faxgw.toml:" + std::to_string(line) + ":";
    BOOST_TEST(o.err.find(place) != std::string::npos, o.err);
    BOOST_TEST(o.err.find(what) != std::string::npos, o.err);
}

}  // namespace

BOOST_AUTO_TEST_CASE(bad_rule_patterns_fail_config_check_with_their_place) {
    check_refused("[rules]\nlist = [\n  { from = \"/(unclosed/\", action = \"deny\" },\n]\n", 3,
                  "from: bad regular expression");
    check_refused("[[rules.list]]\naction = \"deny\"\nnumber = \"/+1900/\"\n", 3,
                  "number: bad regular expression");
    check_refused("[rules]\nlist = [ { client = \"10.0.0.0/8, 10.0.0.300\" } ]\n", 2,
                  "'10.0.0.300' is no IP address");
    check_refused("[rules]\nlist = [ { region = \"JM, XY\" } ]\n", 2, "'XY' is no region code");
    check_refused("[rules]\nlist = [ { type = \"premium\" } ]\n", 2, "'premium' is no number type");
    check_refused("[rules]\nlist = [ { dkim = \"passed\" } ]\n", 2, "'passed' is no verdict");
    check_refused("[rules]\ntrusted_networks = [\"127.0.0.0/8\",\n  \"10.0.0.0/40\"]\n", 3,
                  "'10.0.0.0/40' is no IP network");
}

BOOST_AUTO_TEST_CASE(bad_dial_rules_fail_config_check_with_their_place) {
    check_refused("[dial]\ncountry_code = \"one\"\n", 2, "must be 1 to 3 digits");
    check_refused("[dial]\ncountry_code = \"999\"\n", 2, "+999 is no country code");
    check_refused("[dial]\ncountry_code = \"44\"\nregion = \"US\"\n", 3,
                  "region US is not in country code +44");
    Rig rig;
    auto good = rig.check(
        "[dial]\ncountry_code = \"44\"\nregion = \"JE\"\n[rules]\nlist = [ { "
        "region = \"home, GB\" } ]\n");
    BOOST_TEST(good.code == 78);  // "home, GB" is not one region list
    auto fine = rig.check(
        "[dial]\ncountry_code = \"44\"\nregion = \"JE\"\n[rules]\nlist = [ { "
        "region = \"GB, GG\", type = \"fixed_line, mobile\", number = "
        "\"/^\\\\+44/\", sender = \"[a-c]*@example.org\" } ]\n");
    BOOST_TEST(fine.code == 0, fine.err);
}

// Once crashed `faxgw submit` with SIGSEGV in std::regex, and Postfix
// retried the crash until the mail expired.
BOOST_AUTO_TEST_CASE(a_huge_from_against_a_regex_rule_is_answered) {
    Rig rig;
    std::ofstream(rig.config)
        << "[rules]\nlist = [ { from = \"/^(a|b)*c$/\", action = \"deny\", reason = \"no\" } ]\n";
    auto mail = rig.dir.path / "long-from.eml";
    std::ofstream(mail) << "From: " << std::string(60'000, 'a') << "c\r\n"
                        << "Subject: hi\r\nMessage-ID: <long@example.org>\r\n\r\nHello\r\n";
    auto o = rig.submit(mail, "5551001@fax.example.com");
    BOOST_TEST(o.code == 77, o.out << o.err);
    std::ofstream(mail) << "From: " << std::string(60'000, 'a') << "@example.org\r\n"
                        << "Subject: hi\r\nMessage-ID: <long2@example.org>\r\n\r\nHello\r\n";
    o = rig.submit(mail, "5551001@fax.example.com");
    BOOST_TEST(o.code == 0, o.out << o.err);
}

// Numbers no number plan has are refused when the mail comes (67, saying
// why); the simulated network's numbers are valid while it is the network.
BOOST_AUTO_TEST_CASE(invalid_numbers_are_refused_and_sim_numbers_are_known) {
    Rig rig;
    std::ofstream(rig.config) << "[sim]\nnumbers = [ { number = \"+15557777\" } ]\n";
    auto mail = test::source_dir / "samples" / "mail" / "plain-text.eml";
    auto o = rig.submit(mail, "5551234@fax.example.com");
    BOOST_TEST(o.code == 67, o.out);
    BOOST_TEST(o.out.find("+15551234 is no valid number for region US") != std::string::npos,
               o.out);
    o = rig.submit(mail, "5551001@fax.example.com");  // not in this network
    BOOST_TEST(o.code == 67, o.out);
    o = rig.submit(mail, "5557777@fax.example.com");
    BOOST_TEST(o.code == 0, o.out << o.err);
    BOOST_TEST(test::jobs_json(rig.var, rig.dir.path).size() == 1u);
}

BOOST_AUTO_TEST_CASE(rules_test_shows_region_and_type) {
    Rig rig;
    auto jamaica =
        rig.faxgw({"rules", "test", "--sender", "anna@example.org", "--number", "+1 876 555 0123"});
    BOOST_TEST(jamaica.code == 77, jamaica.out);
    BOOST_TEST(
        jamaica.out.find("+18765550123 (region JM, abroad, type mobile)") != std::string::npos,
        jamaica.out);
    BOOST_TEST(jamaica.out.find("international fax numbers are not allowed") != std::string::npos,
               jamaica.out);
    auto invalid =
        rig.faxgw({"rules", "test", "--sender", "anna@example.org", "--number", "5551234"});
    BOOST_TEST(invalid.code == 67, invalid.err);
}
