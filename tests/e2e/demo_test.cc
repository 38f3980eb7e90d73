// Runs `faxgw demo` on the sample mails, then checks what a user would: the
// far ends got exactly the rendered pages, the busy and silent numbers were
// retried and failed with a reason, the refused sender was refused, and the
// fax received on the gateway's DID became a mail with a right-sized PDF.
#define BOOST_TEST_MODULE e2e demo
#include <fcntl.h>
#include <mimetic/mimetic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>

#include <boost/test/unit_test.hpp>
#include <set>

#include "e2e.h"

using namespace faxgw;
namespace fs = std::filesystem;

namespace {

struct DemoRun {
    test::TempDir dir;
    fs::path var = dir.path / "var";
    test::Output output;
    nlohmann::json jobs;
    DemoRun() {
        ::umask(022);  // the usual one: the state files must be private all the same
        output = test::run({test::faxgw_binary, "demo", "--var", var.string(), "--samples",
                            (test::source_dir / "samples" / "mail").string()},
                           dir.path);
        jobs = test::jobs_json(var, dir.path);
    }
    std::vector<nlohmann::json> jobs_to(const std::string& number) const {
        std::vector<nlohmann::json> out;
        for (const auto& j : jobs)
            if (j["number"] == number) out.push_back(j);
        return out;
    }
};

DemoRun& demo() {
    static DemoRun run;
    return run;
}

// The PDF attached to a mail file, decoded.
std::string pdf_attachment(const fs::path& mail_file) {
    auto raw = test::slurp(mail_file);
    mimetic::MimeEntity me(raw.begin(), raw.end());
    for (auto* part : me.body().parts()) {
        if (part->header().contentType().subtype() != "pdf") continue;
        std::string out;
        const auto& body = part->body();
        mimetic::Base64::Decoder b64;
        mimetic::decode(body.begin(), body.end(), b64, std::back_inserter(out));
        return out;
    }
    return {};
}

std::string pdfinfo_field(const std::string& info, const std::string& field) {
    std::smatch m;
    std::regex re(field + ":\\s*([^\\n]+)");
    return std::regex_search(info, m, re) ? m[1].str() : "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(demo_runs_and_prints_the_table) {
    BOOST_TEST(demo().output.code == 0, demo().output.err);
    BOOST_TEST(demo().output.out.find("state") != std::string::npos);
    BOOST_TEST(demo().output.out.find("refused-sender.eml") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_refused_sender_is_refused_with_exit_77) {
    std::regex line("refused-sender\\.eml\\s+exit 77\\s+\\S");
    BOOST_TEST(std::regex_search(demo().output.out, line), demo().output.out);
}

BOOST_AUTO_TEST_CASE(every_page_at_the_far_ends_is_the_page_rendered_for_it) {
    int compared = 0;
    for (const auto& j : demo().jobs) {
        if (j["state"] != "done" || j["number"] == "+15550100") continue;
        // B4 faxes go to receivers without B4 as their narrow copy.
        const std::string narrow = j.value("narrow_document", "");
        const bool b4_receiver = j["number"] == "+15551006";
        auto rendered = render::read_fax_tiff(narrow.empty() || b4_receiver ? j["document"]
                                                                            : j["narrow_document"]);
        auto received = test::far_end_pages(demo().var / "remote", j);
        BOOST_TEST((received == rendered), "job " << j["id"] << " to " << j["number"]);
        BOOST_TEST(j["pages_confirmed"] == j["pages"]);
        ++compared;
    }
    BOOST_TEST(compared >= 6);  // plain text, PDF, two numbers, flaky line, B4 twice
}

BOOST_AUTO_TEST_CASE(the_b4_plan_goes_wide_to_the_b4_machine_and_narrow_to_the_other) {
    auto wide = demo().jobs_to("+15551006");
    BOOST_REQUIRE(wide.size() == 1u);
    BOOST_TEST(wide[0]["state"] == "done");
    BOOST_TEST(render::read_fax_tiff(wide[0]["document"].get<std::string>())[0].width == 2048);
    int narrow_sent = 0;
    for (const auto& j : demo().jobs_to("+15551001"))
        if (!j.value("narrow_document", "").empty()) {
            BOOST_TEST(j["state"] == "done");
            BOOST_TEST(j["attempts"][0]["detail"] ==
                       "receiver takes no B4 paper: sent the pages 215 mm wide");
            ++narrow_sent;
        }
    BOOST_TEST(narrow_sent == 1);
}

BOOST_AUTO_TEST_CASE(the_busy_number_is_retried_then_fails_with_a_reason) {
    auto busy = demo().jobs_to("+15551003");
    BOOST_REQUIRE(busy.size() == 1u);
    BOOST_TEST(busy[0]["state"] == "failed");
    BOOST_TEST(busy[0]["attempts"].size() > 1u);
    for (const auto& a : busy[0]["attempts"]) BOOST_TEST(a["outcome"] == "busy");
    BOOST_TEST(busy[0]["reason"].get<std::string>().find("busy") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_silent_number_fails_with_a_reason) {
    auto silent = demo().jobs_to("+15551004");
    BOOST_REQUIRE(silent.size() == 1u);
    BOOST_TEST(silent[0]["state"] == "failed");
    BOOST_TEST(silent[0]["reason"].get<std::string>().find("nobody answered") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_fax_to_the_did_arrives_as_a_mail_with_a_right_sized_pdf) {
    auto to_did = demo().jobs_to("+15550100");
    BOOST_REQUIRE(to_did.size() == 1u);
    BOOST_TEST(to_did[0]["state"] == "done");
    auto maildir = demo().var / "mail" / "frontdesk@localhost" / "new";
    BOOST_REQUIRE(fs::is_directory(maildir));
    std::vector<fs::path> mails;
    for (const auto& e : fs::directory_iterator(maildir)) mails.push_back(e.path());
    BOOST_REQUIRE(mails.size() == 1u);
    auto pdf = pdf_attachment(mails[0]);
    BOOST_REQUIRE(!pdf.empty());
    auto pdf_file = demo().dir.path / "inbound.pdf";
    std::ofstream(pdf_file, std::ios::binary) << pdf;
    auto info = test::run({"pdfinfo", pdf_file.string()}, demo().dir.path);
    BOOST_REQUIRE(info.code == 0);
    BOOST_TEST(std::stoi(pdfinfo_field(info.out, "Pages")) == to_did[0]["pages"].get<int>());
    // 1728 px at 204 dpi by the page's length at its own resolution: A4 paper.
    double w = 0, h = 0;
    std::sscanf(pdfinfo_field(info.out, "Page size").c_str(), "%lf x %lf", &w, &h);
    BOOST_TEST(std::abs(w - 609.9) < 2.0, "width " << w);
    BOOST_TEST(std::abs(h - 842.0) < 3.0, "height " << h);
}

BOOST_AUTO_TEST_CASE(every_accepted_mail_gets_a_final_notification) {
    auto outbox = demo().var / "outbox" / "new";
    BOOST_REQUIRE(fs::is_directory(outbox));
    std::set<std::string> batches;
    for (const auto& j : demo().jobs) batches.insert(j["batch"].get<std::string>());
    int finals = 0;
    for (const auto& e : fs::directory_iterator(outbox))
        if (test::slurp(e.path()).find("Subject: ") != std::string::npos &&
            e.path().filename().string().find("final") != std::string::npos)
            ++finals;
    BOOST_TEST(finals == static_cast<int>(batches.size()));
}

BOOST_AUTO_TEST_CASE(state_files_are_private_under_umask_022) {
    int checked = 0;
    for (const auto& e : fs::recursive_directory_iterator(demo().var)) {
        auto p = e.symlink_status().permissions();
        BOOST_TEST(((p & (fs::perms::others_all | fs::perms::group_write)) == fs::perms::none),
                   e.path() << " is " << std::oct << static_cast<int>(p));
        ++checked;
    }
    BOOST_TEST(checked > 20);  // queue, documents, received faxes, mails, lock
}

namespace {

// One sample mail in a folder of its own: a demo that runs in seconds.
fs::path one_sample(const fs::path& dir) {
    auto samples = dir / "samples";
    fs::create_directories(samples);
    fs::copy_file(test::source_dir / "samples" / "mail" / "plain-text.eml",
                  samples / "plain-text.eml");
    return samples;
}

test::Output demo_on(const fs::path& var, const fs::path& samples, const fs::path& dir) {
    return test::run(
        {test::faxgw_binary, "demo", "--var", var.string(), "--samples", samples.string()}, dir);
}

}  // namespace

// `faxgw demo --config` of the live gateway's file names its state folder:
// the demo must not clear it (and run its jobs a second time).
BOOST_AUTO_TEST_CASE(the_demo_refuses_a_state_folder_it_did_not_make) {
    test::TempDir dir;
    auto var = dir.path / "var";
    test::queue_three_page_fax(var, dir.path);
    auto out = demo_on(var, one_sample(dir.path), dir.path);
    BOOST_TEST(out.code == EX_CANTCREAT, out.err);
    BOOST_TEST(out.err.find("did not make") != std::string::npos, out.err);
    auto jobs = test::jobs_json(var, dir.path);
    BOOST_REQUIRE(jobs.size() == 1u);
    BOOST_TEST(jobs[0]["state"] == "queued");
    BOOST_TEST(fs::exists(jobs[0]["document"].get<std::string>()));
}

BOOST_AUTO_TEST_CASE(the_demo_clears_and_runs_again_in_its_own_folder) {
    test::TempDir dir;
    auto var = dir.path / "var";
    auto samples = one_sample(dir.path);
    BOOST_REQUIRE(demo_on(var, samples, dir.path).code == 0);
    auto again = demo_on(var, samples, dir.path);
    BOOST_TEST(again.code == 0, again.err);
    BOOST_TEST(test::jobs_json(var, dir.path).size() == 1u);  // not two: cleared in between
}

// A demo folder that a `faxgw run` works on (its lock held) is not cleared.
BOOST_AUTO_TEST_CASE(the_demo_refuses_a_folder_another_process_runs_on) {
    test::TempDir dir;
    auto var = dir.path / "var";
    auto samples = one_sample(dir.path);
    BOOST_REQUIRE(demo_on(var, samples, dir.path).code == 0);
    int fd = ::open((var / "run.lock").c_str(), O_RDWR | O_CLOEXEC);
    BOOST_REQUIRE(fd >= 0);
    BOOST_REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);  // as a live `faxgw run` holds it
    // What the live process works on: its queue file and its job's document.
    const auto queue_file = [&] {
        struct stat st {};
        BOOST_REQUIRE(::stat((var / "queue.sqlite").c_str(), &st) == 0);
        return st.st_ino;
    };
    const auto inode_before = queue_file();
    const auto jobs_before = test::jobs_json(var, dir.path);
    BOOST_REQUIRE(jobs_before.size() == 1u);
    auto out = demo_on(var, samples, dir.path);
    ::close(fd);
    BOOST_TEST(out.code == EX_TEMPFAIL, out.err);
    BOOST_TEST(out.err.find("another faxgw process") != std::string::npos, out.err);
    // Left as it was: not cleared and filled again.
    BOOST_TEST(queue_file() == inode_before, "the queue was made anew");
    const auto jobs_after = test::jobs_json(var, dir.path);
    BOOST_TEST_REQUIRE(jobs_after.size() == 1u);
    BOOST_TEST(jobs_after[0]["document"] == jobs_before[0]["document"]);
    BOOST_TEST(fs::exists(jobs_after[0]["document"].get<std::string>()));
}
