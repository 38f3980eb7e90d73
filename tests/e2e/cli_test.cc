// The faxgw command line as a mail admin and Postfix meet it: help text,
// the documented configuration, configuration errors, and the sysexits
// codes of `faxgw submit`.
#define BOOST_TEST_MODULE e2e command line
#include <boost/test/unit_test.hpp>

#include "e2e.h"

using namespace faxgw;
namespace fs = std::filesystem;

namespace {

struct Rig {
    test::TempDir dir;
    fs::path var = dir.path / "var";
    test::Output faxgw(std::vector<std::string> args, const fs::path& stdin_file = {}) {
        args.insert(args.begin(), test::faxgw_binary);
        return test::run(args, dir.path, stdin_file);
    }
    test::Output submit(const std::string& sample, std::vector<std::string> args) {
        std::vector<std::string> a = {"submit", "--var", var.string()};
        a.insert(a.end(), args.begin(), args.end());
        return faxgw(a, test::source_dir / "samples" / "mail" / sample);
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(every_subcommand_has_help) {
    Rig rig;
    for (std::string cmd : {"submit", "run", "demo", "jobs", "render", "send", "config"}) {
        auto o = rig.faxgw({cmd, "--help"});
        BOOST_TEST(o.code == 0, cmd);
        BOOST_TEST(o.out.find("--config") != std::string::npos, cmd);
        BOOST_TEST(o.out.find("--var") != std::string::npos, cmd);
    }
    auto top = rig.faxgw({"--help"});
    for (std::string cmd : {"submit", "run", "demo", "jobs", "render", "send"})
        BOOST_TEST(top.out.find(cmd) != std::string::npos, cmd);
}

BOOST_AUTO_TEST_CASE(conf_faxgw_toml_is_the_documented_defaults) {
    Rig rig;
    auto o = rig.faxgw({"config", "--sample"});
    BOOST_TEST(o.code == 0);
    BOOST_TEST(o.out == test::slurp(test::source_dir / "conf" / "faxgw.toml"),
               "conf/faxgw.toml differs from `faxgw config --sample`: regenerate it");
    auto check = rig.faxgw(
        {"config", "--check", "--config", (test::source_dir / "conf" / "faxgw.toml").string()});
    BOOST_TEST(check.code == 0, check.err);
    BOOST_TEST(check.err.empty(), check.err);
}

BOOST_AUTO_TEST_CASE(configuration_errors_name_the_place_and_exit_78) {
    Rig rig;
    auto bad = rig.dir.path / "bad.toml";
    std::ofstream(bad) << "[lines]\ncount = \"four\"\n";
    auto o = rig.faxgw({"config", "--check", "--config", bad.string()});
    BOOST_TEST(o.code == 78);
    BOOST_TEST(o.err.find("bad.toml:2:") != std::string::npos, o.err);
    std::ofstream(bad) << "[lines\n";
    o = rig.faxgw({"config", "--check", "--config", bad.string()});
    BOOST_TEST(o.code == 78);
    BOOST_TEST(o.err.find("bad.toml:1:") != std::string::npos, o.err);
    std::ofstream(bad) << "[lines]\ncuont = 3\n";
    o = rig.faxgw({"config", "--check", "--config", bad.string()});
    BOOST_TEST(o.code == 0);
    BOOST_TEST(o.err.find("unknown key 'lines.cuont'") != std::string::npos, o.err);
}

BOOST_AUTO_TEST_CASE(submit_speaks_sysexits_and_queues_once) {
    Rig rig;
    auto ok =
        rig.submit("plain-text.eml", {"--sender", "anna@example.org", "5551001@fax.example.com"});
    BOOST_TEST(ok.code == 0, ok.out);
    auto again =
        rig.submit("plain-text.eml", {"--sender", "anna@example.org", "5551001@fax.example.com"});
    BOOST_TEST(again.code == 0, again.out);
    BOOST_TEST(test::jobs_json(rig.var, rig.dir.path).size() == 1u);

    auto bad_number =
        rig.submit("plain-text.eml", {"--sender", "anna@example.org", "55x1@fax.example.com"});
    BOOST_TEST(bad_number.code == 67, bad_number.out);
    BOOST_TEST(bad_number.out.find("55x1") != std::string::npos, bad_number.out);

    auto refused = rig.submit("refused-sender.eml",
                              {"--sender", "mallory@spammer.invalid", "5551001@fax.example.com"});
    BOOST_TEST(refused.code == 77, refused.out);
    BOOST_TEST(refused.out.find(".invalid") != std::string::npos, refused.out);

    auto premium = rig.submit("plain-text.eml",
                              {"--sender", "anna@example.org", "19005551234@fax.example.com"});
    BOOST_TEST(premium.code == 77, premium.out);
    BOOST_TEST(premium.out.find("premium-rate") != std::string::npos, premium.out);

    // A state folder that cannot be written is a temporary failure: Postfix retries.
    auto blocked = rig.dir.path / "blocked";
    std::ofstream(blocked) << "a file where the state folder should be";
    auto temp = rig.faxgw({"submit", "--var", (blocked / "var").string(), "--sender",
                           "anna@example.org", "5551001@fax.example.com"},
                          test::source_dir / "samples" / "mail" / "plain-text.eml");
    BOOST_TEST(temp.code == 75, temp.out);
    BOOST_TEST(!temp.out.empty());

    BOOST_TEST(test::jobs_json(rig.var, rig.dir.path).size() == 1u);
}

BOOST_AUTO_TEST_CASE(render_writes_a_fax_tiff_and_refuses_what_it_cannot_read) {
    Rig rig;
    auto out = rig.dir.path / "out.tif";
    auto o = rig.faxgw(
        {"render", (test::source_dir / "samples" / "docs" / "three-pages.pdf").string(),
         (test::source_dir / "samples" / "docs" / "hello.txt").string(), "-o", out.string()});
    BOOST_TEST(o.code == 0, o.err);
    auto pages = render::read_fax_tiff(out);
    BOOST_TEST(pages.size() == 5u);  // 3 PDF pages + 2 text pages
    for (const auto& p : pages) BOOST_TEST(p.width == 1728);
    auto junk = rig.dir.path / "junk.bin";
    std::ofstream(junk) << std::string("\x00\x01\x02garbage", 10);
    o = rig.faxgw({"render", junk.string(), "-o", out.string()});
    BOOST_TEST(o.code == 65);
    BOOST_TEST(o.err.find("junk.bin") != std::string::npos, o.err);
}

BOOST_AUTO_TEST_CASE(rules_test_explains_the_decision) {
    Rig rig;
    auto allowed =
        rig.faxgw({"rules", "test", "--sender", "anna@example.org", "--number", "5551001"});
    BOOST_TEST(allowed.code == 0, allowed.out);
    BOOST_TEST(allowed.out.find("decision: allow") != std::string::npos, allowed.out);

    auto abroad = rig.faxgw(
        {"rules", "test", "--sender", "anna@example.org", "--number", "011 49 30 1234567"});
    BOOST_TEST(abroad.code == 77, abroad.out);
    BOOST_TEST(abroad.out.find("+49301234567") != std::string::npos, abroad.out);
    BOOST_TEST(abroad.out.find("rule 6: matches: deny") != std::string::npos, abroad.out);
    BOOST_TEST(abroad.out.find("international fax numbers are not allowed") != std::string::npos,
               abroad.out);

    auto outsider = rig.faxgw({"rules", "test", "--sender", "anna@example.org", "--number",
                               "5551001", "--client", "198.51.100.7"});
    BOOST_TEST(outsider.code == 77, outsider.out);
    BOOST_TEST(outsider.out.find("rule 3: matches: deny") != std::string::npos, outsider.out);
    auto logged_in = rig.faxgw({"rules", "test", "--sender", "anna@example.org", "--number",
                                "5551001", "--client", "198.51.100.7", "--auth", "anna"});
    BOOST_TEST(logged_in.code == 0, logged_in.out);
    BOOST_TEST(logged_in.out.find("rule 3: no match: SMTP AUTH 'anna'") != std::string::npos,
               logged_in.out);
}

BOOST_AUTO_TEST_CASE(held_jobs_wait_for_an_administrator) {
    Rig rig;
    auto config = rig.dir.path / "hold.toml";
    std::ofstream(config)
        << "[rules]\nlist = [ { sender = \"@example.org\", action = \"hold\" } ]\n";
    auto o = rig.faxgw({"submit", "--config", config.string(), "--var", rig.var.string(),
                        "--sender", "anna@example.org", "5551001@fax.example.com"},
                       test::source_dir / "samples" / "mail" / "plain-text.eml");
    BOOST_TEST(o.code == 0, o.out);
    BOOST_TEST(o.out.find("held for an administrator") != std::string::npos, o.out);
    auto jobs = test::jobs_json(rig.var, rig.dir.path);
    BOOST_REQUIRE(jobs.size() == 1u);
    BOOST_TEST(jobs[0]["state"] == "held");
    auto id = std::to_string(jobs[0]["id"].get<long>());
    auto released = rig.faxgw({"jobs", "--var", rig.var.string(), "--release", id});
    BOOST_TEST(released.code == 0, released.out);
    BOOST_TEST(test::jobs_json(rig.var, rig.dir.path)[0]["state"] == "queued");
    auto again = rig.faxgw({"jobs", "--var", rig.var.string(), "--release", id});
    BOOST_TEST(again.code == 67, again.out);
}
