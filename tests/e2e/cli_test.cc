// The faxgw command line as a mail admin and Postfix meet it: help text,
// the documented configuration, configuration errors, and the sysexits
// codes of `faxgw submit`.
#define BOOST_TEST_MODULE e2e command line
#include <boost/test/unit_test.hpp>
#include <sstream>

#include "e2e.h"
#include "ocr.h"

using namespace faxgw;
namespace fs = std::filesystem;

namespace {

struct Rig : test::StateRig {
    // `faxgw submit` of a mail given as text, with the Rig's state folder.
    test::Output submit_mail(const std::string& raw, std::vector<std::string> args) {
        auto file = dir.path / "mail.eml";
        std::ofstream(file, std::ios::binary) << raw;
        std::vector<std::string> a = {"submit", "--var", var.string()};
        a.insert(a.end(), args.begin(), args.end());
        return faxgw(a, file);
    }
    fs::path write(const std::string& name, const std::string& text) {
        std::ofstream(dir.path / name, std::ios::binary) << text;
        return dir.path / name;
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
    for (std::string cmd :
         {"submit", "run", "demo", "jobs", "render", "send", "config", "status", "purge"}) {
        auto o = rig.faxgw({cmd, "--help"});
        BOOST_TEST(o.code == 0, cmd);
        BOOST_TEST(o.out.find("--config") != std::string::npos, cmd);
        BOOST_TEST(o.out.find("--var") != std::string::npos, cmd);
    }
    auto top = rig.faxgw({"--help"});
    for (std::string cmd : {"submit", "run", "demo", "jobs", "render", "send", "status", "purge"})
        BOOST_TEST(top.out.find(cmd) != std::string::npos, cmd);
}

// faxgw, which an MTA starts for every mail, loads none of the libraries
// only faxgwd's long-running commands need (faxgw/service_program.h).
BOOST_AUTO_TEST_CASE(faxgw_loads_no_network_library) {
    Rig rig;
    const auto faxgw_libraries = test::run({"ldd", test::faxgw_binary}, rig.dir.path);
    const fs::path faxgwd = fs::path(test::faxgw_binary).parent_path() / "faxgwd";
    const auto faxgwd_libraries = test::run({"ldd", faxgwd.string()}, rig.dir.path);
    BOOST_TEST_REQUIRE(faxgw_libraries.code == 0);
    BOOST_TEST_REQUIRE(faxgwd_libraries.code == 0);
    if (faxgw_libraries.out.find("libasan") != std::string::npos) {
        // The sanitizer runtime makes the linker keep every library named
        // on the command line (no --as-needed): what is checked here is
        // the build that is shipped.
        BOOST_TEST_MESSAGE("a sanitizer build: not checked");
        return;
    }
    std::istringstream names(FAXGW_SERVICE_ONLY_LIBRARIES);
    int in_faxgwd = 0;
    for (std::string name; names >> name;) {
        BOOST_TEST(faxgw_libraries.out.find(name + " ") == std::string::npos,
                   "faxgw loads " << name);
        in_faxgwd += faxgwd_libraries.out.find(name + " ") != std::string::npos;
    }
    BOOST_TEST(in_faxgwd >= 5, "faxgwd loads only " << in_faxgwd << " of the network libraries");
}

// The long-running commands are faxgwd's: faxgw runs it in its place, or
// says why it cannot. Its own commands need no faxgwd.
BOOST_AUTO_TEST_CASE(service_commands_are_handed_to_faxgwd) {
    Rig rig;
    auto run_help = rig.faxgw({"run", "--help"});
    BOOST_TEST(run_help.code == 0);
    BOOST_TEST(run_help.out.find("--config") != std::string::npos);
    const fs::path alone = rig.dir.path / "alone";
    fs::create_directories(alone);
    fs::copy_file(test::faxgw_binary, alone / "faxgw");
    // (A configuration that does not exist, so that a faxgw that ran the
    // command itself would end at once too.)
    const auto without =
        test::run({(alone / "faxgw").string(), "run", "--config",
                   (rig.dir.path / "none.toml").string(), "--var", rig.var.string()},
                  rig.dir.path);
    BOOST_TEST(without.code == 69);  // EX_UNAVAILABLE
    BOOST_TEST(without.err.find("faxgwd") != std::string::npos, without.err);
    const auto jobs = test::run({(alone / "faxgw").string(), "jobs", "--help"}, rig.dir.path);
    BOOST_TEST(jobs.code == 0, jobs.err);
}

BOOST_AUTO_TEST_CASE(conf_faxgw_toml_is_the_documented_defaults) {
    Rig rig;
    auto o = rig.faxgw({"config", "--sample"});
    BOOST_TEST(o.code == 0);
    BOOST_TEST(o.out == test::slurp(test::source_dir / "conf" / "faxgw.toml"),
               "conf/faxgw.toml differs from `faxgw config --sample`: regenerate it");
    auto check = rig.faxgw({"config", "--check", "--config",
                            (test::source_dir / "conf" / "faxgw.toml").string(), "--var",
                            rig.dir.path.string()});
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
    o = rig.faxgw({"config", "--check", "--config", bad.string(), "--var", rig.dir.path.string()});
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

namespace {

// A mail with a text body and one base64 attachment.
std::string mail_with_attachment(const std::string& name, const std::string& type,
                                 const std::string& base64) {
    return "From: anna@example.org\nTo: 5551001@fax.example.com\nSubject: t\n"
           "Message-ID: <" +
           test::digits_of(name) +
           "-attachment@example.org>\nMIME-Version: 1.0\n"
           "Content-Type: multipart/mixed; boundary=B\n\n"
           "--B\nContent-Type: text/plain\n\nsee attached\n"
           "--B\nContent-Type: " +
           type + "; name=\"" + name + "\"\nContent-Disposition: attachment; filename=\"" + name +
           "\"\nContent-Transfer-Encoding: base64\n\n" + base64 + "\n--B--\n";
}

}  // namespace

// Postfix's pipe(8) takes a leading 4.X.X or 5.X.X of the output as the
// status, over the exit code: the verdict's code must come first, always.
BOOST_AUTO_TEST_CASE(submit_prints_the_status_code_first) {
    Rig rig;
    // A damaged PDF: refused for good, whatever its name says.
    auto refused = rig.submit_mail(
        mail_with_attachment("4.2.0 invoice.pdf", "application/pdf", "JVBERi0xLjQKZ2FyYmFnZQo="),
        {"--sender", "anna@example.org", "5551001@fax.example.com"});
    BOOST_TEST(refused.code == 65, refused.out);
    BOOST_TEST(refused.out.starts_with("5.6.1 "), refused.out);
    BOOST_TEST(refused.out.find("4.2.0 invoice.pdf") != std::string::npos, refused.out);

    auto ok =
        rig.submit("plain-text.eml", {"--sender", "anna@example.org", "5551001@fax.example.com"});
    BOOST_TEST(ok.code == 0, ok.out);
    BOOST_TEST(ok.out.starts_with("2.0.0 queued 1 fax job"), ok.out);

    // The reverse: a renderer that runs out of wall-clock time is the
    // gateway's fault, retried, whatever the name of the document says.
    auto config = rig.write("slow.toml", "[render]\nwall_seconds = 1\n");
    auto later = rig.submit_mail(
        mail_with_attachment("5.1.1 loop.ps", "application/postscript",
                             "JSFQUy1BZG9iZS0zLjAKeyB9IGxvb3AK"),  // %!PS-Adobe-3.0 { } loop
        {"--config", config.string(), "--sender", "anna@example.org", "5551001@fax.example.com"});
    BOOST_TEST(later.code == 75, later.out);
    BOOST_TEST(later.out.starts_with("4.3.0 "), later.out);
}

// One wrong word in master.cf or faxgw.toml must not bounce every fax mail:
// submit answers 75 with 4.3.5, and the MTA keeps the mail.
BOOST_AUTO_TEST_CASE(submit_defers_usage_and_configuration_errors) {
    Rig rig;
    auto check = [&](const test::Output& o, const std::string& what) {
        BOOST_TEST(o.code == 75, what << ": " << o.out << o.err);
        BOOST_TEST(o.out.starts_with("4.3.5 fax gateway configuration error: "),
                   what << ": " << o.out);
    };
    check(rig.submit("plain-text.eml", {"--sendr", "anna@example.org", "5551001@fax.example.com"}),
          "unknown option");
    check(rig.submit("plain-text.eml", {"--sender", "anna@example.org"}), "no recipient");
    check(rig.submit("plain-text.eml", {"--config", (rig.dir.path / "missing.toml").string(),
                                        "--sender", "anna@example.org", "5551001@fax.example.com"}),
          "missing --config file");
    auto broken = rig.write("broken.toml", "[lines\n");
    check(rig.submit("plain-text.eml", {"--config", broken.string(), "--sender", "anna@example.org",
                                        "5551001@fax.example.com"}),
          "syntax error");
    BOOST_TEST(!fs::exists(rig.var / "queue.sqlite"));
    // Other commands are run by people, who read the usage error.
    BOOST_TEST(rig.faxgw({"jobs", "--bogus"}).code == 64);
    BOOST_TEST(rig.faxgw({"config", "--check", "--config", broken.string()}).code == 78);
    // A mistyped state folder is told, not turned into an empty queue.
    auto typo = rig.faxgw({"jobs", "--var", (rig.var / "typo").string()});
    BOOST_TEST(typo.code == 66, typo.err);
    BOOST_TEST(typo.err.find("no state folder ") != std::string::npos, typo.err);
    BOOST_TEST(!fs::exists(rig.var / "typo"));
}

// After `--` an address that begins with '-' is a recipient, never an
// option; conf/ puts `--` before the recipients.
BOOST_AUTO_TEST_CASE(recipients_after_double_dash_are_never_options) {
    Rig rig;
    auto evil = rig.dir.path / "evil";
    auto o = rig.submit("plain-text.eml", {"--sender", "anna@example.org", "--",
                                           "--var=" + evil.string() + "@fax.example.com"});
    BOOST_TEST(o.code == 67, o.out);
    BOOST_TEST(o.out.starts_with("5.1.1 "), o.out);
    BOOST_TEST(!fs::exists(evil));
    // An option's value may begin with '-': it is taken as the value.
    auto dash = rig.submit("plain-text.eml",
                           {"--sender", "-anna@example.org", "--", "5551001@fax.example.com"});
    BOOST_TEST(dash.code == 0, dash.out);
    auto master_cf = test::slurp(test::source_dir / "conf" / "postfix" / "master.cf");
    BOOST_TEST(master_cf.find(" -- ${recipient}") != std::string::npos, master_cf);
    auto sendmail = test::slurp(test::source_dir / "conf" / "sendmail" / "faxgw.mc");
    BOOST_TEST(sendmail.find(" -- $u") != std::string::npos, sendmail);
}

// Values that parse but make no sense fail `config --check` at their place.
BOOST_AUTO_TEST_CASE(configuration_values_out_of_bounds_name_the_place) {
    Rig rig;
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"lines", "count = 100000"},
        {"lines", "count = 4294967297"},
        {"lines", "watchdog_seconds = 0"},
        {"lines", "watchdog_seconds = -5"},
        {"lines", "watchdog_seconds = nan"},
        {"lines", "max_call_seconds = 0"},
        {"retry", "max_attempts = 0"},
        {"retry", "backoff = -1.0"},
        {"retry", "backoff = 1e9"},
        {"retry", "busy_delay = -60"},
        {"retry", "max_delay = 99999999999"},
        {"render", "max_pages = 0"},
        {"render", "max_pages = -3"},
        {"render", "text_font_points = 0"},
        {"render", "text_font_points = -2"},
        {"render", "text_font_points = 1000"},
        {"render", "wall_seconds = 0"},
        {"gateway", "station_id = \"" + std::string(200, '7') + "\""},
        {"gateway", "station_id = \"ACME\\u0007\""},
        {"sip", "trunks = [ { proxy = \"127.0.0.1:5060\", transport = \"sctp\" } ]"},
        {"lines", "call_options = [ { number = \"+44*\", max_bit_rate = 4800 } ]"},
        {"lines", "call_options = [ { t38 = false } ]"},
        {"sip", "caller_ids = [ { number = \"+15550111\" } ]"},
        {"sip", "caller_ids = [ { domain = \"example.org\" } ]"},
        {"sip", "caller_ids = [ { domain = \"example.org\", number = \"+1 555\" } ]"},
        {"sip", "caller_ids = [ { domain = \"example.org\", number = \"+1\", colour = \"red\" } ]"},
    };
    for (const auto& [section, line] : bad) {
        auto file = rig.write("bounds.toml", "# a comment\n[" + section + "]\n" + line + "\n");
        auto o = rig.faxgw({"config", "--check", "--config", file.string()});
        BOOST_TEST(o.code == 78, line << ": " << o.err);
        BOOST_TEST(o.err.find("bounds.toml:3:") != std::string::npos, line << ": " << o.err);
    }
    auto good =
        rig.write("caller_ids.toml",
                  "[sip]\ncaller_ids = [ { domain = \"example.org\", number = \"+15550111\","
                  " name = \"Sales\" }, { sender = \"ceo@*\", number = \"+15550199\" } ]\n"
                  "trunks = [ { proxy = \"127.0.0.1:5060\", transport = \"tcp\", t38 = false } ]\n"
                  "[lines]\ncall_options = [ { number = \"+44*\", t38 = false, max_bit_rate = "
                  "9600, ecm = false } ]\n");
    auto checked =
        rig.faxgw({"config", "--check", "--config", good.string(), "--var", rig.dir.path.string()});
    BOOST_TEST(checked.code == 0, checked.err);
    auto sample = rig.faxgw({"config", "--sample"}).out;
    BOOST_TEST(sample.find("# Range: 1 to 256.\ncount = 4") != std::string::npos, sample);
}

// `faxgw send` builds its fax with the one document builder: header line,
// cover on request, and the narrow copy of B4 pages for receivers without B4.
BOOST_AUTO_TEST_CASE(send_builds_the_fax_like_a_mail) {
    Rig rig;
    auto config = rig.write("b4.toml", "[render]\npaper = \"b4\"\n");
    auto text = test::source_dir / "samples" / "docs" / "hello.txt";
    auto o = rig.faxgw({"send", "--config", config.string(), "--var", rig.var.string(), "--to",
                        "+15551001", "--cover", text.string()});
    BOOST_TEST_REQUIRE(o.code == 0, o.out << o.err);
    auto jobs = test::jobs_json(rig.var, rig.dir.path);
    BOOST_TEST_REQUIRE(jobs.size() == 1u);
    const std::string document = jobs[0]["document"];
    const std::string narrow = jobs[0].value("narrow_document", "");
    BOOST_TEST_REQUIRE(!narrow.empty(), jobs.dump());
    auto wide_pages = render::read_fax_tiff(document);
    auto narrow_pages = render::read_fax_tiff(narrow);
    BOOST_TEST_REQUIRE(wide_pages.size() >= 2u);  // the cover and the text
    BOOST_TEST(narrow_pages.size() == wide_pages.size());
    BOOST_TEST(wide_pages[0].width == 2048);
    BOOST_TEST(narrow_pages[0].width == 1728);
    BOOST_TEST(jobs[0]["pages"] == static_cast<int>(wide_pages.size()));
    // The header line: ink in the top rows of the text page, where the
    // text alone has none.
    render::Options options;
    options.paper = render::Paper::b4;
    options.isolate = false;
    auto bare = render::render_file(text, options);
    auto ink_on_top = [](const render::Page& page) {
        int ink = 0;
        for (int y = 0; y < render::header_rows(page.resolution); ++y)
            for (int x = 0; x < page.width; ++x) ink += page.black(x, y);
        return ink;
    };
    BOOST_TEST(ink_on_top(bare.at(0)) == 0);
    BOOST_TEST(ink_on_top(wide_pages[1]) > 0);
}

// Several numbers with a cover: each gets a document whose cover names it
// alone (read back with Tesseract), as a mail's do.
BOOST_AUTO_TEST_CASE(send_gives_each_number_its_own_cover) {
    Rig rig;
    auto text = test::source_dir / "samples" / "docs" / "hello.txt";
    auto o = rig.faxgw({"send", "--var", rig.var.string(), "--to", "+15551001", "--to", "+15551002",
                        "--cover", text.string()});
    BOOST_TEST_REQUIRE(o.code == 0, o.out << o.err);
    auto jobs = test::jobs_json(rig.var, rig.dir.path);
    BOOST_TEST_REQUIRE(jobs.size() == 2u);
    BOOST_TEST(jobs[0]["document"] != jobs[1]["document"]);
    for (const auto& job : jobs) {
        const std::string number = job["number"];
        const std::string other = number == "+15551001" ? "5551002" : "5551001";
        auto pages = render::read_fax_tiff(job["document"].get<std::string>());
        const std::string cover = render::ocr::read_pages({pages.at(0)}, rig.dir.path);
        BOOST_TEST_INFO("cover for " << number << " reads:\n" << cover);
        BOOST_TEST(cover.find(number.substr(2)) != std::string::npos);
        BOOST_TEST(cover.find(other) == std::string::npos);
    }
}

// A disk that fills up is the gateway's fault: at every level of free
// space the mail is queued or deferred (75, 4.3.0), never bounced. The
// state folder is a small tmpfs in a private mount namespace (so root only).
BOOST_AUTO_TEST_CASE(a_full_disk_is_a_temporary_failure) {
    if (::geteuid() != 0 || !fs::exists("/usr/bin/unshare")) {
        BOOST_TEST_MESSAGE("skipped: mounting a tmpfs in a private mount namespace needs root");
        return;
    }
    Rig rig;
    const auto mail = test::source_dir / "samples" / "mail" / "pdf-attachment.eml";
    const int size_kb = 4096;
    int deferred = 0;
    const std::vector<int> levels = {0,   32,  64,  72,  80,  88,  96,   104,
                                     112, 120, 128, 144, 160, 256, 1024, 3072};
    for (int free_kb : levels) {
        fs::create_directories(rig.var);
        const std::string script =
            "mount -t tmpfs -o size=" + std::to_string(size_kb) + "k tmpfs '" + rig.var.string() +
            "' || exit 99\n"
            "dd if=/dev/zero of='" +
            rig.var.string() + "/filler' bs=1k count=" + std::to_string(size_kb - free_kb) +
            " 2>/dev/null\n"
            "exec '" +
            test::faxgw_binary + "' submit --var '" + rig.var.string() +
            "' --sender anna@example.org -- jane.doe=5551002@fax.example.com\n";
        auto o =
            test::run({"/usr/bin/unshare", "--mount", "/bin/sh", "-c", script}, rig.dir.path, mail);
        BOOST_TEST_INFO(free_kb << " KB free: " << o.out << o.err);
        BOOST_TEST_REQUIRE(o.code != 99);
        BOOST_TEST((o.code == 0 || o.code == 75));
        if (o.code == 75) {
            ++deferred;
            BOOST_TEST(o.out.starts_with("4.3.0 "));
        }
        if (free_kb <= 64) BOOST_TEST(o.code == 75);
    }
    BOOST_TEST_MESSAGE(deferred << " of " << levels.size()
                                << " levels of free space deferred, the rest queued");
}
