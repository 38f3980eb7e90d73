// What a mail admin does with a running gateway, on the real binary: look
// (jobs with filters, status, follow), change (retry), clean up (purge and
// its dry run), and trust that looking creates nothing and that the state
// folder is private.
#define BOOST_TEST_MODULE e2e admin
#include <SQLiteCpp/SQLiteCpp.h>
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <map>
#include <set>

#include "e2e.h"

using namespace faxgw;
namespace fs = std::filesystem;

namespace {

struct Rig : test::StateRig {
    // The demo's mails, run to their ends in the state folder.
    void demo() {
        auto o = faxgw({"demo", "--var", var.string(), "--samples",
                        (test::source_dir / "samples" / "mail").string()});
        BOOST_REQUIRE_MESSAGE(o.code == 0, o.err);
    }
    nlohmann::json json(std::vector<std::string> args) {
        args.push_back("--json");
        args.push_back("--var");
        args.push_back(var.string());
        auto o = faxgw(args);
        BOOST_REQUIRE_MESSAGE(o.code == 0, o.err);
        return nlohmann::json::parse(o.out);
    }
    // Moves every time the queue and the outbox hold `days` into the past.
    void age(int days) {
        SQLite::Database db(var / "queue.sqlite", SQLite::OPEN_READWRITE);
        const std::string by = std::to_string(std::int64_t{days} * 86400);
        db.exec("UPDATE jobs SET created_at = created_at - " + by +
                ", next_attempt_at = next_attempt_at - " + by);
        db.exec("UPDATE inbound SET received_at = received_at - " + by);
        db.exec("UPDATE mail_outbox SET created_at = created_at - " + by +
                ", done_at = done_at - " + by);
    }
};

std::set<fs::path> tree(const fs::path& dir) {
    std::set<fs::path> out;
    for (const auto& e : fs::recursive_directory_iterator(dir)) out.insert(e.path());
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(looking_creates_nothing_and_names_a_missing_state_folder) {
    Rig rig;
    const std::vector<std::vector<std::string>> readers = {
        {"jobs"},   {"jobs", "--json"},   {"jobs", "--mail"},     {"jobs", "--state", "failed"},
        {"status"}, {"status", "--json"}, {"purge", "--dry-run"}, {"config", "--check"}};
    for (auto args : readers) {
        args.push_back("--var");
        args.push_back(rig.var.string());
        auto o = rig.faxgw(args);
        BOOST_TEST(o.code == 66, args[0] << " " << args[1] << ": " << o.err);
        BOOST_TEST(o.err.find(rig.var.string()) != std::string::npos, o.err);
        BOOST_TEST(!fs::exists(rig.var), args[0] << " made the state folder");
    }
    // An existing folder without a queue is an empty gateway, left empty.
    fs::create_directory(rig.var);
    for (auto args : readers) {
        args.push_back("--var");
        args.push_back(rig.var.string());
        auto o = rig.faxgw(args);
        BOOST_TEST(o.code == 0, args[0] << " " << args[1] << ": " << o.err);
        BOOST_TEST(fs::is_empty(rig.var), args[0] << " " << args[1] << " wrote in the folder");
    }
    BOOST_TEST(rig.json({"status"})["jobs_due"] == 0);
}

// Whatever umask faxgw inherits, no one but its user may read the faxes,
// the mails or the queue, or write anything there.
BOOST_AUTO_TEST_CASE(everything_in_the_state_folder_is_private_whatever_the_umask) {
    Rig rig;
    const mode_t saved = ::umask(0);
    rig.demo();
    test::queue_three_page_fax(rig.var, rig.dir.path);  // a submit's files besides the demo's
    ::umask(saved);
    int files = 0, folders = 0, fifos = 0;
    for (const auto& e : fs::recursive_directory_iterator(rig.var)) {
        const auto p = e.symlink_status().permissions();
        using fs::perms;
        BOOST_TEST(((p & (perms::group_write | perms::others_all)) == perms::none),
                   e.path() << " is " << std::oct << static_cast<int>(p));
        files += e.is_regular_file();
        folders += e.is_directory();
        fifos += e.is_fifo();
    }
    BOOST_TEST(fifos == 1);  // the wake-up FIFO
    BOOST_TEST(files > 20);  // queue, spool, Maildirs, the far ends' pages
    BOOST_TEST(folders > 10);
}

BOOST_AUTO_TEST_CASE(status_counts_what_jobs_lists) {
    Rig rig;
    rig.demo();
    test::queue_three_page_fax(rig.var, rig.dir.path);  // due now, no `faxgw run`
    auto jobs = rig.json({"jobs"});
    auto status = rig.json({"status"});
    std::map<std::string, int> by_state;
    int pages_sent = 0;
    for (const auto& j : jobs) {
        by_state[j["state"]]++;
        for (const auto& a : j["attempts"]) pages_sent += a["pages_confirmed"].get<int>();
    }
    for (const auto& [state, n] : status["jobs_by_state"].items())
        BOOST_TEST(n.get<int>() == by_state[state], state);
    BOOST_TEST(status["pages_sent"] == pages_sent);
    BOOST_TEST(status["lines"]["count"] == 4);
    BOOST_TEST(status["lines"]["busy"] == 0);
    BOOST_TEST(status["lines"]["idle"] == 4);
    BOOST_TEST(status["jobs_due"] == 1);
    BOOST_TEST(status["oldest_due"]["job"] == jobs.back()["id"]);
    BOOST_TEST(status["outbox"]["queued"] == 0);
    BOOST_TEST(status["outbox"]["sent"].get<int>() > 0);
    BOOST_TEST(status["faxes_received"].get<int>() >= 1);
    auto text = rig.faxgw({"status", "--var", rig.var.string()});
    BOOST_TEST(text.out.find("0 busy, 4 idle (of 4)") != std::string::npos, text.out);
    BOOST_TEST(text.out.find("due:      1 job(s), oldest job") != std::string::npos, text.out);
}

BOOST_AUTO_TEST_CASE(jobs_show_sender_times_and_last_outcome_and_filter) {
    Rig rig;
    rig.demo();
    auto all = rig.json({"jobs"});
    BOOST_REQUIRE(all.size() > 3u);
    std::string a_sender;
    int failed = 0;
    for (const auto& j : all) {
        BOOST_TEST(!j["sender"].get<std::string>().empty());
        BOOST_TEST(j["submitted_at"].get<long>() > 0);
        BOOST_TEST(j["next_try_at"].is_null());  // all ended
        BOOST_TEST(j["last_outcome"] == j["attempts"].back()["outcome"]);
        failed += j["state"] == "failed";
        a_sender = j["sender"];
    }
    BOOST_REQUIRE(failed > 0);
    auto only_failed = rig.json({"jobs", "--state", "failed"});
    BOOST_TEST(only_failed.size() == static_cast<std::size_t>(failed));
    for (const auto& j : only_failed) BOOST_TEST(j["state"] == "failed");
    BOOST_TEST(rig.json({"jobs", "--state", "done,failed"}).size() == all.size());
    std::size_t of_sender = 0;
    for (const auto& j : all) of_sender += j["sender"] == a_sender;
    BOOST_TEST(rig.json({"jobs", "--sender", a_sender}).size() == of_sender);
    const auto domain = a_sender.substr(a_sender.find('@'));
    std::string shouted = "*" + domain;
    for (auto& c : shouted) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    BOOST_TEST(rig.json({"jobs", "--sender", shouted}).size() >= of_sender);
    BOOST_TEST(rig.json({"jobs", "--since", "1h"}).size() == all.size());
    BOOST_TEST(rig.json({"jobs", "--since", "2099-01-01"}).empty());
    BOOST_TEST(rig.faxgw({"jobs", "--var", rig.var.string(), "--state", "lost"}).code == 64);
    BOOST_TEST(rig.faxgw({"jobs", "--var", rig.var.string(), "--since", "soon"}).code == 64);
    auto text = rig.faxgw({"jobs", "--var", rig.var.string()});
    BOOST_TEST(text.out.find("    from " + a_sender + ", submitted ") != std::string::npos,
               text.out);
    BOOST_TEST(text.out.find(", next try -, last outcome ok") != std::string::npos, text.out);
}

BOOST_AUTO_TEST_CASE(a_failed_job_is_retried_with_a_fresh_budget) {
    Rig rig;
    rig.demo();
    auto failed = rig.json({"jobs", "--state", "failed"});
    BOOST_REQUIRE(!failed.empty());
    const auto id = std::to_string(failed[0]["id"].get<long>());
    const auto tries = failed[0]["attempts"].size();
    auto o = rig.faxgw({"jobs", "--var", rig.var.string(), "--retry", id});
    BOOST_TEST(o.code == 0, o.err);
    BOOST_TEST(o.out == "job " + id + ": queued again\n");
    auto job = rig.json({"jobs", id})[0];
    BOOST_TEST(job["state"] == "queued");
    BOOST_TEST(job["reason"] == "");
    BOOST_TEST(!job["next_try_at"].is_null());
    BOOST_TEST(job["attempts_before_retry"] == tries);
    BOOST_TEST(job["attempts"].size() == tries);  // the history stays
    BOOST_TEST(rig.faxgw({"jobs", "--var", rig.var.string(), "--retry", id}).code == 67);
    auto done = rig.json({"jobs", "--state", "done"});
    BOOST_REQUIRE(!done.empty());
    BOOST_TEST(rig.faxgw({"jobs", "--var", rig.var.string(), "--retry",
                          std::to_string(done[0]["id"].get<long>())})
                   .code == 67);
}

BOOST_AUTO_TEST_CASE(purge_deletes_only_what_has_aged_and_its_dry_run_nothing) {
    Rig rig;
    rig.demo();
    const auto young = rig.json({"purge"});
    BOOST_TEST(young["files"].empty());  // nothing old enough yet
    // One received fax whose mail has not left yet (the relay is down):
    // neither the fax nor its mail may go, however old.
    const auto received = tree(rig.var / "spool" / "in");
    BOOST_REQUIRE(!received.empty());
    {
        SQLite::Database db(rig.var / "queue.sqlite", SQLite::OPEN_READWRITE);
        db.exec("UPDATE mail_outbox SET state = 'queued', done_at = 0 WHERE key LIKE 'inbound:%'");
    }
    rig.age(40);
    test::queue_three_page_fax(rig.var, rig.dir.path);  // new, queued: must stay
    const auto queued = rig.json({"jobs", "--state", "queued"});
    BOOST_REQUIRE(queued.size() == 1u);
    const fs::path queued_document = queued[0]["document"].get<std::string>();
    const auto jobs_before = rig.json({"jobs"});
    const auto before = tree(rig.var);

    auto dry = rig.json({"purge", "--dry-run"});
    BOOST_TEST(dry["dry_run"] == true);
    BOOST_TEST(dry["files"].size() > 3u);   // documents and received faxes
    BOOST_TEST(dry["job_rows"] == 0);       // rows are kept for a year
    BOOST_TEST((tree(rig.var) == before));  // nothing deleted, nothing made
    BOOST_TEST(rig.json({"jobs"}) == jobs_before);

    auto done = rig.json({"purge"});
    BOOST_TEST(done["files"] == dry["files"]);
    for (const auto& f : done["files"]) {
        BOOST_TEST(!fs::exists(f.get<std::string>()), f);
        BOOST_TEST(fs::path(f.get<std::string>()).filename() != queued_document.filename());
    }
    BOOST_TEST(fs::exists(queued_document));
    for (const auto& fax : received) BOOST_TEST(fs::exists(fax), fax << " was purged");
    BOOST_TEST(rig.json({"jobs"}).size() == jobs_before.size());
    for (const auto& j : rig.json({"jobs", "--state", "done,failed"}))
        BOOST_TEST(j["document"] == "", "job " << j["id"]);

    rig.age(400);
    test::queue_three_page_fax(rig.var, rig.dir.path);
    auto year = rig.json({"purge"});
    BOOST_TEST(year["job_rows"] == jobs_before.size() - 1);
    BOOST_TEST(year["outbox_rows"].get<int>() > 0);
    for (const auto& fax : received) BOOST_TEST(fs::exists(fax), fax << " was purged");
    auto mails = rig.json({"jobs", "--mail"});
    BOOST_TEST(!mails.empty());
    for (const auto& m : mails) BOOST_TEST(m["state"] == "queued");
    // The queued jobs stay however old: they are still to be sent.
    auto left = rig.json({"jobs"});
    BOOST_REQUIRE(left.size() == 2u);
    BOOST_TEST(left[0]["id"] == queued[0]["id"]);
    for (const auto& j : left) {
        BOOST_TEST(j["state"] == "queued");
        BOOST_TEST(fs::exists(j["document"].get<std::string>()));
    }
}

BOOST_AUTO_TEST_CASE(follow_prints_events_until_sigterm) {
    Rig rig;
    test::queue_three_page_fax(rig.var, rig.dir.path);
    test::Process follow({test::faxgw_binary, "jobs", "--follow", "--var", rig.var.string()},
                         rig.dir.path);
    auto wait_for = [&](const std::string& text) {
        for (int i = 0; i < 100; ++i) {
            if (follow.stdout_so_far().find(text) != std::string::npos) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    };
    BOOST_TEST(wait_for("following 1 job(s)"), follow.stdout_so_far());
    test::queue_three_page_fax(rig.var, rig.dir.path);  // the same document again: job 2
    BOOST_TEST(wait_for("job 2 +15551001: submitted by"), follow.stdout_so_far());
    BOOST_TEST(rig.faxgw({"jobs", "--var", rig.var.string(), "--cancel", "1"}).code == 0);
    BOOST_TEST(wait_for("job 1 +15551001: queued -> cancelled (cancelled by the administrator)"),
               follow.stdout_so_far());
    follow.signal(SIGTERM);
    auto o = follow.wait();
    BOOST_TEST(o.code == 0, o.err);
}

namespace {

// A gateway whose only far end is +15551001, busy or answering.
fs::path far_end_config(Rig& rig, const std::string& behaviour) {
    auto file = rig.dir.path / (behaviour + ".toml");
    std::ofstream(file) << "[retry]\nmax_attempts = 1\n[notify]\ndelivered = true\n[sim]\n"
                           "numbers = [ { number = \"+15551001\", behaviour = \""
                        << behaviour << "\" } ]\n";
    return file;
}

// Whether the outbox has `count` mails and has delivered them all.
bool outbox_delivered(Rig& rig, std::size_t count) {
    auto mails = rig.json({"jobs", "--mail"});
    for (const auto& m : mails)
        if (m["state"] != "sent") return false;
    return mails.size() == count;
}

// Runs `faxgw run` on `config` until job `id` is in `state` and the
// outbox has delivered `mails` reports in all.
nlohmann::json run_until(Rig& rig, const fs::path& config, long id, const std::string& state,
                         std::size_t mails) {
    test::Process run(
        {test::faxgw_binary, "run", "--config", config.string(), "--var", rig.var.string()},
        rig.dir.path);
    nlohmann::json job;
    for (int i = 0; i < 300; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        job = rig.json({"jobs", std::to_string(id)})[0];
        if (job["state"] == state && outbox_delivered(rig, mails)) break;
    }
    run.signal(SIGTERM);
    auto o = run.wait();
    BOOST_TEST(o.code == 0, o.err);
    return job;
}

std::vector<std::string> reports_filed(const fs::path& outbox) {
    std::vector<std::string> names;
    if (fs::is_directory(outbox / "new"))
        for (const auto& e : fs::directory_iterator(outbox / "new"))
            names.push_back(e.path().filename());
    return names;
}

}  // namespace

// The whole way of a retry: a job fails, the sender hears of it, the
// administrator retries it once the far end answers again, it is sent,
// and the sender hears of that too.
BOOST_AUTO_TEST_CASE(a_retried_job_is_sent_and_its_sender_told_again) {
    Rig rig;
    const auto busy = far_end_config(rig, "busy");
    auto o =
        test::run({test::faxgw_binary, "submit", "--config", busy.string(), "--var",
                   rig.var.string(), "--sender", "anna@example.org", "5551001@fax.example.com"},
                  rig.dir.path, test::source_dir / "samples" / "mail" / "plain-text.eml");
    BOOST_REQUIRE_MESSAGE(o.code == 0, o.out << o.err);
    const long id = rig.json({"jobs"})[0]["id"];
    auto job = run_until(rig, busy, id, "failed", 1);
    BOOST_REQUIRE(job["state"] == "failed");
    BOOST_TEST(job["attempts"].size() == 1u);
    const auto outbox = rig.var / "outbox";
    BOOST_TEST(reports_filed(outbox).size() == 1u);

    BOOST_TEST(rig.faxgw({"jobs", "--var", rig.var.string(), "--retry", std::to_string(id)}).code ==
               0);
    job = run_until(rig, far_end_config(rig, "receive"), id, "done", 2);
    BOOST_TEST(job["state"] == "done");
    BOOST_TEST(job["attempts"].size() == 2u);  // one more, though max_attempts = 1
    BOOST_TEST(job["last_outcome"] == "ok");
    // The second report is filed beside the first, under a name of its own.
    const auto reports = reports_filed(outbox);
    BOOST_REQUIRE(reports.size() == 2u);
    BOOST_TEST((reports[0].find("-final-retry1") != std::string::npos ||
                reports[1].find("-final-retry1") != std::string::npos),
               reports[0] << " " << reports[1]);
}

// `faxgw run` purges at start-up, as `faxgw purge` would.
BOOST_AUTO_TEST_CASE(the_daemon_purges_at_start_up) {
    Rig rig;
    rig.demo();
    rig.age(40);
    const auto would_go = rig.json({"purge", "--dry-run"})["files"];
    BOOST_REQUIRE(!would_go.empty());
    test::Process run({test::faxgw_binary, "run", "--var", rig.var.string()}, rig.dir.path);
    bool purged = false;
    for (int i = 0; i < 100 && !purged; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        purged = run.stderr_so_far().find("purge: deleted: " + std::to_string(would_go.size()) +
                                          " file(s)") != std::string::npos;
    }
    run.signal(SIGTERM);
    auto o = run.wait();
    BOOST_TEST(purged, o.err);
    for (const auto& f : would_go) BOOST_TEST(!fs::exists(f.get<std::string>()), f);
    BOOST_TEST(rig.json({"purge", "--dry-run"})["files"].empty());
}
