// `faxgw demo --line sip` as a newcomer runs it, on three of the sample
// mails: a fax to a machine of the far end (switched to T.38), one to the
// busy number (486 on every attempt) and one to the gateway's own DID
// (received over SIP, routed and mailed).
#define BOOST_TEST_MODULE e2e demo over sip
#include <boost/test/unit_test.hpp>

#include "e2e.h"

using namespace faxgw;
namespace fs = std::filesystem;

namespace {

nlohmann::json job_to(const nlohmann::json& jobs, const std::string& number) {
    for (const auto& j : jobs)
        if (j["number"] == number) return j;
    return {};
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_demo_runs_over_sip_with_t38) {
    test::TempDir dir;
    const fs::path samples = dir.path / "samples", var = dir.path / "var";
    fs::create_directories(samples);
    for (const char* mail : {"plain-text.eml", "busy.eml", "to-own-did.eml"})
        fs::copy_file(test::source_dir / "samples" / "mail" / mail, samples / mail);
    auto out = test::run({test::faxgw_binary, "demo", "--line", "sip", "--var", var.string(),
                          "--samples", samples.string()},
                         dir.path);
    BOOST_TEST_REQUIRE(out.code == 0, out.out + out.err);
    BOOST_TEST(out.out.find("Calls go over SIP") != std::string::npos, out.out);
    auto jobs = test::jobs_json(var, dir.path);

    auto sent = job_to(jobs, "+15551001");
    BOOST_TEST_REQUIRE(!sent.is_null(), jobs.dump(2));
    BOOST_TEST(sent["state"] == "done", sent.dump(2));
    BOOST_TEST(sent["attempts"].back()["transport"] == "t38", sent.dump(2));
    BOOST_TEST(sent["attempts"].back()["sip_status"] == 200, sent.dump(2));
    BOOST_TEST(sent["attempts"].back()["remote_csid"] == "ACME SALES", sent.dump(2));
    BOOST_TEST(fs::exists(var / "remote" / "15551001"));

    auto busy = job_to(jobs, "+15551003");
    BOOST_TEST(busy["state"] == "failed", busy.dump(2));
    for (const auto& a : busy["attempts"]) {
        BOOST_TEST(a["outcome"] == "busy", a.dump());
        BOOST_TEST(a["sip_status"] == 486, a.dump());
    }

    auto own = job_to(jobs, "+15550100");
    BOOST_TEST(own["state"] == "done", own.dump(2));
    int mails = 0;
    for (const auto& e : fs::recursive_directory_iterator(var / "mail"))
        mails += e.is_regular_file() && e.path().parent_path().filename() == "new";
    BOOST_TEST(mails == 1);
}
