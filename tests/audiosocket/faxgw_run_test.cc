// `faxgw run` with lines.backend = "audiosocket" against the Asterisk
// stand-in: a 3-page fax goes out through AMI and AudioSocket, and a 2-page
// fax that comes in on a DID listener is routed and mailed like any other.
#define BOOST_TEST_MODULE faxgw run on AudioSocket lines
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <fstream>

#include "asterisk_standin.h"
#include "e2e.h"
#include "fixture.h"

using namespace faxgw;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_CASE(faxgw_run_sends_and_receives_through_the_stand_in) {
    test::TempDir dir;
    const fs::path var = dir.path / "var", far = dir.path / "far";
    fs::create_directories(far);
    test::AsteriskStandIn asterisk{far};
    const std::string listen = "127.0.0.1:" + std::to_string(test::free_tcp_port());
    const std::string did_listener = "127.0.0.1:" + std::to_string(test::free_tcp_port());
    const fs::path config = dir.path / "faxgw.toml";
    std::ofstream(config) << "[gateway]\ndids = [\"+15550100\", \"+15550177\"]\n"
                          << "[lines]\nbackend = \"audiosocket\"\n"
                          << "[audiosocket]\nlisten = \"" << listen << "\"\n"
                          << "listeners = [ { listen = \"" << did_listener
                          << "\", did = \"+15550177\" } ]\n"
                          << "[ami]\nport = " << asterisk.ami_port() << "\nuser = \""
                          << asterisk.ami_user << "\"\nsecret = \"" << asterisk.ami_secret
                          << "\"\nchannel = \"Test/{dial}\"\n";
    // Queued with the built-in settings, whose simulated network makes
    // 555 numbers valid; `faxgw run` then dials them on AudioSocket lines.
    test::queue_three_page_fax(var, dir.path);

    test::Process runner(
        {test::faxgw_binary, "run", "--config", config.string(), "--var", var.string()}, dir.path);
    auto pages = test::synthetic_pages(2, render::Resolution::fine, 9);
    BOOST_TEST_REQUIRE(
        asterisk.wait_until([&] { return asterisk.logged_in(); }, std::chrono::seconds(30)),
        runner.stderr_so_far());
    asterisk.call_in(did_listener, test::write_document(far, "in.tif", pages));

    auto jobs = test::jobs_when_all_ended(var, dir.path);
    const fs::path maildir = var / "mail" / "postmaster@localhost" / "new";
    asterisk.wait_until([&] { return fs::is_directory(maildir) && !fs::is_empty(maildir); });
    runner.signal(SIGTERM);
    auto out = runner.wait();
    BOOST_TEST(out.code == 0, out.err);

    BOOST_TEST_REQUIRE(jobs.size() == 1u);
    BOOST_TEST(jobs[0]["state"] == "done", jobs.dump(2));
    BOOST_TEST(jobs[0]["attempts"][0]["transport"] == "audiosocket");
    auto calls = asterisk.records();
    BOOST_TEST_REQUIRE(calls.size() == 2u);
    const auto& outbound = calls[0].dial.empty() ? calls[1] : calls[0];
    BOOST_TEST(outbound.violation.empty(), outbound.violation);
    auto sent = render::read_fax_tiff(jobs[0]["document"].get<std::string>());
    auto got = render::read_fax_tiff(outbound.received_tiff);
    BOOST_TEST_REQUIRE(got.size() == 3u);
    for (std::size_t i = 0; i < got.size(); ++i)
        BOOST_TEST((got[i] == sent[i]), "page " << i + 1 << " differs");

    // The received fax, mailed to the default route's maildir.
    BOOST_TEST_REQUIRE(fs::is_directory(maildir));
    BOOST_TEST(std::distance(fs::directory_iterator(maildir), fs::directory_iterator()) == 1);
}
