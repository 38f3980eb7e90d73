// Fax to email end to end, with real servers on 127.0.0.1: a fax received on
// the gateway's DID goes through the outbox to a Postfix relay, which hands
// it over LMTP to Dovecot, and is read back over IMAP (Python's imaplib,
// an independent client) with its PDF and TIFF checked. Postfix is down
// while the fax arrives: the mail waits in the outbox and arrives exactly
// once after Postfix is started again and `faxgw run` takes over.
#define BOOST_TEST_MODULE postfix mail flow
#include <faxgw/render.h>

#include <boost/test/unit_test.hpp>
#include <csignal>
#include <fstream>
#include <regex>

#include "dovecot.h"
#include "e2e.h"
#include "postfix.h"

using namespace faxgw;
namespace fs = std::filesystem;

namespace {

// Fetches every message of INBOX over IMAP with STARTTLS (the server's
// certificate checked against `ca`) and writes message N to OUT/N.eml and
// each of its attachments to OUT/N-<filename>. Prints the message count.
constexpr const char* imap_reader = R"py(
import email, imaplib, ssl, sys
host, port, ca, user, password, out = sys.argv[1:]
imap = imaplib.IMAP4(host, int(port))
imap.starttls(ssl_context=ssl.create_default_context(cafile=ca))
imap.login(user, password)
imap.select("INBOX", readonly=True)
numbers = imap.search(None, "ALL")[1][0].split()
for n, number in enumerate(numbers):
    raw = imap.fetch(number, "(RFC822)")[1][0][1]
    open(f"{out}/{n}.eml", "wb").write(raw)
    for part in email.message_from_bytes(raw).walk():
        if part.get_filename():
            open(f"{out}/{n}-{part.get_filename()}", "wb").write(part.get_payload(decode=True))
print(len(numbers))
)py";

std::string pdfinfo_field(const std::string& info, const std::string& field) {
    std::smatch m;
    std::regex re(field + ":\\s*([^\\n]+)");
    return std::regex_search(info, m, re) ? m[1].str() : "";
}

std::vector<fs::path> files_ending(const fs::path& dir, const std::string& suffix) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().string().ends_with(suffix)) out.push_back(e.path());
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_received_fax_reaches_a_dovecot_mailbox_once_though_postfix_was_down) {
    const test::TempDir dir;
    test::Dovecot dovecot(test::DovecotOptions{});
    test::PostfixOptions options;
    options.extra_transports =
        "dovecot.example.org lmtp:inet:127.0.0.1:" + std::to_string(dovecot.lmtp_port()) + "\n";
    test::Postfix postfix(options);

    const fs::path config = dir.path / "faxgw.toml";
    std::ofstream(config) << "[smtp]\nurl = \"smtp://127.0.0.1:" << postfix.port
                          << "\"\ntls = \"none\"\nretry_seconds = 1\n\n"
                          << "[inbound]\nroutes = [ { did = \"+15550100\", "
                             "address = \"alice@dovecot.example.org\", format = \"both\" } ]\n";
    const fs::path samples = dir.path / "samples";
    fs::create_directories(samples);
    fs::copy_file(test::source_dir / "samples" / "mail" / "to-own-did.eml",
                  samples / "to-own-did.eml");
    const fs::path var = dir.path / "var";

    // The fax comes in while the relay is down: the mail waits.
    postfix.stop();
    const auto demo = test::run({test::faxgw_binary, "demo", "--var", var.string(), "--config",
                                 config.string(), "--samples", samples.string()},
                                dir.path);
    BOOST_TEST_REQUIRE(demo.code == 0, demo.err);
    const auto waiting = test::run(
        {test::faxgw_binary, "jobs", "--mail", "--json", "--var", var.string()}, dir.path);
    BOOST_TEST_REQUIRE(waiting.code == 0, waiting.err);
    int to_alice = 0;
    for (const auto& m : nlohmann::json::parse(waiting.out)) {
        BOOST_TEST(m["state"] == "queued", m.dump());
        to_alice += m["recipients"][0] == "alice@dovecot.example.org";
    }
    BOOST_TEST_REQUIRE(to_alice == 1);
    BOOST_TEST(dovecot.messages("alice", "INBOX").empty());

    // The relay is back; the daemon delivers what waits.
    postfix.start();
    {
        test::Process run(
            {test::faxgw_binary, "run", "--var", var.string(), "--config", config.string()},
            dir.path);
        BOOST_TEST(test::eventually([&] { return !dovecot.messages("alice", "INBOX").empty(); },
                                    std::chrono::seconds(60)),
                   postfix.maillog());
        // Every mail of the outbox is delivered, then nothing more arrives.
        BOOST_TEST(test::eventually(
            [&] {
                return nlohmann::json::parse(test::run({test::faxgw_binary, "jobs", "--mail",
                                                        "--json", "--var", var.string()},
                                                       dir.path)
                                                 .out)
                           .dump()
                           .find("\"queued\"") == std::string::npos;
            },
            std::chrono::seconds(30)));
        std::this_thread::sleep_for(std::chrono::seconds(3));
        run.signal(SIGTERM);
        BOOST_TEST(run.wait().code == 0);
    }

    // Read back over IMAP.
    const fs::path script = dir.path / "read_inbox.py";
    std::ofstream(script) << imap_reader;
    const fs::path fetched = dir.path / "fetched";
    fs::create_directories(fetched);
    const auto read =
        test::run({"python3", script.string(), "127.0.0.1", std::to_string(dovecot.imap_port()),
                   dovecot.ca_file().string(), "alice", "alice-secret", fetched.string()},
                  dir.path);
    BOOST_TEST_REQUIRE(read.code == 0, read.err);
    BOOST_TEST(read.out == "1\n");  // exactly once

    const auto jobs = test::jobs_json(var, dir.path);
    int pages = 0;
    for (const auto& j : jobs)
        if (j["number"] == "+15550100") pages = j["pages"].get<int>();
    BOOST_TEST_REQUIRE(pages > 0);
    const auto pdfs = files_ending(fetched, ".pdf");
    const auto tiffs = files_ending(fetched, ".tif");
    BOOST_TEST_REQUIRE(pdfs.size() == 1u);
    BOOST_TEST_REQUIRE(tiffs.size() == 1u);
    const auto info = test::run({"pdfinfo", pdfs[0].string()}, dir.path);
    BOOST_TEST_REQUIRE(info.code == 0, info.err);
    BOOST_TEST(std::stoi(pdfinfo_field(info.out, "Pages")) == pages);
    double w = 0, h = 0;
    std::sscanf(pdfinfo_field(info.out, "Page size").c_str(), "%lf x %lf", &w, &h);
    BOOST_TEST(std::abs(w - 609.9) < 2.0, "width " << w);   // 1728 px at 204 dpi
    BOOST_TEST(std::abs(h - 842.0) < 3.0, "height " << h);  // A4 at its own resolution
    BOOST_TEST(render::count_tiff_pages(tiffs[0]) == pages);
    BOOST_TEST(pdfs[0].filename().string().find("-fax-") != std::string::npos);
}
