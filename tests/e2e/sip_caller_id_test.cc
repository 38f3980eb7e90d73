// The caller ID of sip.caller_ids on the whole path: mails submitted by two
// senders (`faxgw submit`), `faxgw run` dialling over a SIP trunk that sipp
// plays, and the calling number of each INVITE as sipp received it. The
// sender is known only from the mail: this is where mailgw's origin and the
// SIP backend meet.
#define BOOST_TEST_MODULE e2e sip caller id
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <fstream>

#include "e2e.h"
#include "sipp.h"

using namespace faxgw;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_CASE(each_senders_fax_calls_with_the_senders_caller_id) {
    test::TempDir dir;
    const fs::path var = dir.path / "var";
    test::Sipp far_end(test::sipp_scenario("caller_id.xml"), sip::free_loopback_sip_port(),
                       {"-m", "2"});
    const int ports = 30000 + static_cast<int>(::getpid() % 10000) * 2;
    const fs::path config = dir.path / "faxgw.toml";
    std::ofstream(config) << "[lines]\nbackend = \"sip\"\n"
                          << "[retry]\nmax_attempts = 1\n"
                          << "[sip]\nlisten = \"127.0.0.1:" << sip::free_loopback_sip_port()
                          << "\"\n"
                          << "media_port_min = " << ports << "\nmedia_port_max = " << ports + 39
                          << "\n"
                          << "caller_id = \"15550100\"\n"
                          << "caller_ids = [ { domain = \"sales.example.org\", number = "
                             "\"+15550111\", name = \"Example Sales\" } ]\n"
                          << "trunks = [ { name = \"far\", proxy = \"" << far_end.address()
                          << "\" } ]\n";
    for (const char* sender : {"anna@eu.sales.example.org", "ben@example.net"}) {
        auto o = test::run({test::faxgw_binary, "submit", "--config", config.string(), "--var",
                            var.string(), "--sender", sender, "2124567890@fax.example.com"},
                           dir.path, test::source_dir / "samples" / "mail" / "plain-text.eml");
        BOOST_TEST_REQUIRE(o.code == 0, o.out + o.err);
    }
    test::Process run(
        {test::faxgw_binary, "run", "--config", config.string(), "--var", var.string()}, dir.path);
    auto jobs = test::jobs_when_all_ended(var, dir.path);
    run.signal(SIGTERM);
    auto stopped = run.wait();
    BOOST_TEST(far_end.wait_exit(30s) == 0, far_end.messages() + far_end.errors());
    BOOST_TEST_REQUIRE(jobs.size() == 2u, jobs.dump(2));
    for (const auto& j : jobs)
        BOOST_TEST(j["attempts"].back()["sip_status"] == 486, j.dump(2) + stopped.err);
    const std::string trace = far_end.messages();
    auto has = [&](const std::string& text) { return trace.find(text) != std::string::npos; };
    BOOST_TEST(has("From: \"Example Sales\" <sip:+15550111@"), trace);
    BOOST_TEST(has("P-Asserted-Identity: \"Example Sales\" <sip:+15550111@"), trace);
    BOOST_TEST(has("<sip:15550100@"), trace);  // the other sender: the default
}
