// kill -9 of `faxgw run` while calls are in flight, then a restart: every
// job ends done exactly once, none is lost, and the far ends hold every
// page of every document.
#define BOOST_TEST_MODULE e2e kill and restart
#include <SQLiteCpp/SQLiteCpp.h>
#include <sysexits.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <thread>

#include "e2e.h"

using namespace faxgw;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr int job_count = 12;

int count_state(const nlohmann::json& jobs, const std::string& state) {
    int n = 0;
    for (const auto& j : jobs) n += j["state"] == state;
    return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(kill_9_mid_call_then_restart_loses_and_duplicates_nothing) {
    test::TempDir dir;
    auto var = dir.path / "var";
    auto config = dir.path / "faxgw.toml";
    // Calls paced at 20x real time so that a 3-page call is in flight for
    // seconds; quick retries so the restart finishes the work soon.
    std::ofstream(config) << "[lines]\ncount = 4\n[sim]\nspeed = 20\n"
                             "[retry]\nfailure_delay = 1\nbusy_delay = 1\nno_answer_delay = 1\n";
    const auto pdf = (test::source_dir / "samples" / "docs" / "three-pages.pdf").string();
    const std::vector<std::string> numbers = {"5551001", "5551002", "5551005"};
    for (int i = 0; i < job_count; ++i) {
        auto o = test::run(
            {test::faxgw_binary, "send", "--config", config.string(), "--var", var.string(), "--to",
             numbers[static_cast<std::size_t>(i) % numbers.size()], pdf},
            dir.path);
        BOOST_REQUIRE_MESSAGE(o.code == 0, o.err);
    }

    {
        test::Process runner(
            {test::faxgw_binary, "run", "--config", config.string(), "--var", var.string()},
            dir.path);
        // Wait until calls are in flight, then kill without warning.
        int sending = 0;
        for (int i = 0; i < 100 && sending == 0; ++i) {
            std::this_thread::sleep_for(100ms);
            sending = count_state(test::jobs_json(var, dir.path), "sending");
        }
        std::this_thread::sleep_for(1500ms);
        runner.signal(SIGKILL);
        runner.wait();
        auto after_kill = test::jobs_json(var, dir.path);
        BOOST_TEST_MESSAGE("killed with " << count_state(after_kill, "sending")
                                          << " job(s) in calls, " << count_state(after_kill, "done")
                                          << " done");
        BOOST_REQUIRE_MESSAGE(count_state(after_kill, "sending") > 0,
                              "no call was in flight at the kill");
        BOOST_TEST(!test::all_ended(after_kill));
    }

    test::Process runner(
        {test::faxgw_binary, "run", "--config", config.string(), "--var", var.string()}, dir.path);
    auto jobs = test::jobs_when_all_ended(var, dir.path);
    runner.signal(SIGTERM);
    auto out = runner.wait();
    BOOST_TEST(out.code == 0, out.err);
    BOOST_TEST(out.err.find("recovered") != std::string::npos);

    BOOST_REQUIRE(jobs.size() == static_cast<std::size_t>(job_count));
    BOOST_TEST(count_state(jobs, "done") == job_count);
    int interrupted = 0;
    for (const auto& j : jobs) {
        for (const auto& a : j["attempts"]) interrupted += a["outcome"] == "interrupted";
        auto rendered = render::read_fax_tiff(j["document"].get<std::string>());
        BOOST_TEST((test::far_end_pages(var / "remote", j) == rendered), "job " << j["id"]);
    }
    BOOST_TEST(interrupted > 0);
}

namespace {

// `faxgw run` on `var`, killed if it has not ended after two minutes: a
// daemon that cannot work must say why and end, not hang.
test::Output run_until_it_ends(const fs::path& var, const fs::path& dir) {
    return test::run(
        {"timeout", "-s", "KILL", "120", test::faxgw_binary, "run", "--var", var.string()}, dir);
}

}  // namespace

BOOST_AUTO_TEST_CASE(run_on_a_corrupt_queue_says_why_and_exits) {
    test::TempDir dir;
    auto var = dir.path / "var";
    fs::create_directories(var);
    std::ofstream(var / "queue.sqlite") << std::string(8192, 'x');
    auto out = run_until_it_ends(var, dir.path);
    BOOST_TEST(out.code == EX_SOFTWARE, out.err);
    BOOST_TEST(out.err.find("queue.sqlite") != std::string::npos, out.err);
}

BOOST_AUTO_TEST_CASE(run_on_a_queue_of_another_schema_says_why_and_exits) {
    test::TempDir dir;
    auto var = dir.path / "var";
    fs::create_directories(var);
    {
        SQLite::Database db(var / "queue.sqlite", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec("CREATE TABLE jobs (x); PRAGMA user_version = 2");
    }
    auto out = run_until_it_ends(var, dir.path);
    BOOST_TEST(out.code == EX_SOFTWARE, out.err);
    BOOST_TEST(out.err.find("cannot go on") != std::string::npos, out.err);
}

// An sqlite3 shell or a backup holding the write lock longer than SQLite's
// busy timeout (10 s): `faxgw run` says so, waits, and then sends.
BOOST_AUTO_TEST_CASE(run_waits_out_a_write_lock_held_for_long) {
    test::TempDir dir;
    auto var = dir.path / "var";
    test::queue_three_page_fax(var, dir.path);
    auto lock_holder =
        std::make_unique<SQLite::Database>(var / "queue.sqlite", SQLite::OPEN_READWRITE);
    lock_holder->exec("BEGIN IMMEDIATE");
    test::Process runner({test::faxgw_binary, "run", "--var", var.string()}, dir.path);
    bool said_so = false;
    for (int i = 0; i < 300 && !said_so; ++i) {
        std::this_thread::sleep_for(100ms);
        said_so = runner.stderr_so_far().find("queue unavailable") != std::string::npos;
    }
    BOOST_TEST(said_so, runner.stderr_so_far());
    lock_holder.reset();  // rolls back: the lock is gone
    auto jobs = test::jobs_when_all_ended(var, dir.path);
    runner.signal(SIGTERM);
    auto out = runner.wait();
    BOOST_TEST(out.code == 0, out.err);
    BOOST_TEST(count_state(jobs, "done") == 1, jobs.dump());
}

// Two daemons on one state folder would requeue each other's calls at
// start-up (duplicate faxes): the second says another process holds the
// folder and ends with 75; the first goes on.
BOOST_AUTO_TEST_CASE(a_second_run_on_the_same_folder_is_refused) {
    test::TempDir dir;
    auto var = dir.path / "var";
    test::Process first({test::faxgw_binary, "run", "--var", var.string()}, dir.path);
    bool up = false;
    for (int i = 0; i < 300 && !up; ++i) {
        std::this_thread::sleep_for(100ms);
        up = first.stderr_so_far().find("state in") != std::string::npos;
    }
    BOOST_TEST_REQUIRE(up, first.stderr_so_far());
    auto second = run_until_it_ends(var, dir.path);
    BOOST_TEST(second.code == EX_TEMPFAIL, second.err);
    BOOST_TEST(second.err.find("another faxgw process") != std::string::npos, second.err);
    first.signal(SIGTERM);
    auto out = first.wait();
    BOOST_TEST(out.code == 0, out.err);
}
