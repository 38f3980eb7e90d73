// What an administrator relies on in the queue: retention purges only what
// has ended (and a kill mid-purge leaves no row naming a deleted file), a
// failed job can be retried, the snapshot counts right, and a read-only
// open creates nothing.
#define BOOST_TEST_MODULE faxcore admin
#include <faxgw/faxcore/gateway.h>
#include <faxgw/faxcore/retention.h>
#include <faxgw/faxcore/snapshot.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <set>

#include "fixture.h"
#include "sqlite_queue.h"

using namespace faxgw;
using faxcore::JobState;
using faxcore::Outcome;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t day = 86400;

std::vector<render::Page> page(unsigned seed = 1) {
    return test::synthetic_pages(1, render::Resolution::fine, seed);
}

// Ends job `id` with one call of `outcome` at time `at`.
void end_job(faxcore::SqliteQueue& q, std::int64_t id, Outcome outcome, JobState state,
             std::int64_t at) {
    faxcore::Attempt a;
    a.number = q.start_attempt(id, "sim0", at).value();
    a.outcome = outcome;
    a.pages_confirmed = outcome == Outcome::ok ? 1 : 0;
    a.line_seconds = 20;
    q.finish_attempt(id, a, state, at, outcome == Outcome::ok ? "" : "the number was busy");
}

void report_all(faxcore::SqliteQueue& q) {
    for (const auto& r : q.pending_reports()) q.mark_reported(r.batch, r.kind);
}

fs::path inbound_fax(faxcore::SqliteQueue& q, const std::string& name, std::int64_t at,
                     std::int64_t& id) {
    faxcore::InboundFax f;
    f.did = "+15550100";
    f.caller = "+15551001";
    f.pages = 1;
    f.complete = true;
    f.received_at = at;
    f.tiff = test::write_document(q.inbound_dir(), name, page());
    id = q.add_inbound(f);
    return f.tiff;
}

std::set<std::string> files_in(const fs::path& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename());
    return out;
}

// Every document and received fax a row names exists.
void check_no_row_names_a_missing_file(faxcore::SqliteQueue& q) {
    for (const auto& j : q.jobs())
        if (!j.document.empty())
            BOOST_TEST(fs::exists(j.document), "job " << j.id << " names " << j.document);
}

}  // namespace

BOOST_AUTO_TEST_CASE(old_ended_things_go_and_waiting_ones_stay) {
    test::TempDir dir;
    faxcore::SqliteQueue q(dir.path);
    const auto now = faxcore::unix_now();
    auto enqueue = [&](const std::string& key, bool hold = false, std::int64_t not_before = 0) {
        auto s = test::submission(q, key, page(), {"+15551001"});
        s.hold = hold;
        s.not_before = not_before;
        return q.job(q.enqueue(s).jobs[0]).value();
    };
    const auto done = enqueue("<done@x>");
    const auto failed = enqueue("<failed@x>");
    const auto unreported = enqueue("<unreported@x>");
    const auto held = enqueue("<held@x>", true);
    const auto queued = enqueue("<queued@x>", false, now + 400 * day);  // due in a year
    const auto waiting = enqueue("<waiting@x>");
    end_job(q, done.id, Outcome::ok, JobState::done, now);
    end_job(q, failed.id, Outcome::busy, JobState::failed, now);
    end_job(q, waiting.id, Outcome::busy, JobState::retry_wait, now + 400 * day);
    report_all(q);
    end_job(q, unreported.id, Outcome::ok, JobState::done, now);  // its report not written yet
    std::int64_t delivered_id = 0, undelivered_id = 0, in_transit_id = 0;
    const auto delivered = inbound_fax(q, "call-1.tif", now, delivered_id);
    const auto undelivered = inbound_fax(q, "call-2.tif", now, undelivered_id);
    const auto in_transit = inbound_fax(q, "call-3.tif", now, in_transit_id);
    q.mark_inbound_delivered(delivered_id, "outbox: a@example.org");
    q.mark_inbound_delivered(in_transit_id, "outbox: b@example.org");
    const std::set<std::int64_t> mail_on_its_way = {in_transit_id};
    faxcore::RetentionSettings keep;  // 7, 30, 7, 365 days
    const auto docs_before = files_in(dir.path / "spool" / "docs");
    const auto jobs_before = q.jobs().size();

    // A dry run a week on tells, and changes nothing.
    auto dry = faxcore::purge_expired(q, keep, now + 8 * day, true, mail_on_its_way);
    BOOST_TEST(dry.batches_purged == 1);
    BOOST_TEST(dry.inbound_faxes == 1);
    BOOST_REQUIRE(dry.files.size() == 2u);
    BOOST_TEST(dry.files[0].filename() == done.document.filename());
    BOOST_TEST(dry.files[1].filename() == delivered.filename());
    BOOST_TEST((files_in(dir.path / "spool" / "docs") == docs_before));
    BOOST_TEST(fs::exists(delivered));
    BOOST_TEST(q.job(done.id)->document == done.document);

    // The purge itself: the done job's document and the delivered fax go.
    auto week = faxcore::purge_expired(q, keep, now + 8 * day, false, mail_on_its_way);
    BOOST_TEST(week.files.size() == 2u);
    BOOST_TEST(!fs::exists(done.document));
    BOOST_TEST(q.job(done.id)->document.empty());
    BOOST_TEST(q.job(done.id)->state == JobState::done);  // the row stays, for accounting
    BOOST_TEST(!fs::exists(delivered));
    for (const auto& kept : {failed.document, unreported.document, held.document, queued.document,
                             waiting.document, undelivered, in_transit})
        BOOST_TEST(fs::exists(kept), kept << " was purged");
    BOOST_TEST(q.jobs().size() == jobs_before);
    check_no_row_names_a_missing_file(q);
    BOOST_TEST(faxcore::purge_expired(q, keep, now + 8 * day, false, mail_on_its_way).empty());

    // A month on, the failed job's document too; a job without its
    // document cannot be retried.
    faxcore::purge_expired(q, keep, now + 31 * day, false, mail_on_its_way);
    BOOST_TEST(!fs::exists(failed.document));
    BOOST_TEST(!q.retry(failed.id));

    // After a year the rows of ended, reported batches go with their
    // attempts; nothing still to be sent or mailed does.
    auto year = faxcore::purge_expired(q, keep, now + 366 * day, false, mail_on_its_way);
    BOOST_TEST(year.batch_rows == 2);
    BOOST_TEST(year.job_rows == 2);
    BOOST_TEST(year.attempt_rows == 2);
    BOOST_TEST(year.inbound_rows == 1);  // the delivered one; not the others
    BOOST_TEST(!q.job(done.id));
    BOOST_TEST(!q.job(failed.id));
    for (const auto& j : {unreported, held, queued, waiting}) {
        BOOST_TEST(q.job(j.id).has_value(), "job " << j.id);
        BOOST_TEST(fs::exists(j.document), j.document);
    }
    BOOST_TEST(q.undelivered_inbound().size() == 1u);
    BOOST_TEST(fs::exists(undelivered));
    BOOST_TEST(fs::exists(in_transit));
    check_no_row_names_a_missing_file(q);
    // Nothing left behind for the sweep either.
    BOOST_TEST(q.sweep_spool(now + 400 * day, 0, 3600) == 0);
}

BOOST_AUTO_TEST_CASE(zero_days_keeps_forever) {
    test::TempDir dir;
    faxcore::SqliteQueue q(dir.path);
    const auto now = faxcore::unix_now();
    auto job = q.job(q.enqueue(test::submission(q, "<k@x>", page(), {"+15551001"})).jobs[0]);
    end_job(q, job->id, Outcome::ok, JobState::done, now);
    report_all(q);
    faxcore::RetentionSettings forever{0, 0, 0, 0};
    BOOST_TEST(faxcore::purge_expired(q, forever, now + 9999 * day, false).empty());
    BOOST_TEST(fs::exists(job->document));
}

// A later delivery of the same mail to a new number, after its batch's
// document was purged, brings the document again.
BOOST_AUTO_TEST_CASE(a_purged_batch_takes_a_new_number_with_its_document_again) {
    test::TempDir dir;
    faxcore::SqliteQueue q(dir.path);
    const auto now = faxcore::unix_now();
    auto first = q.job(q.enqueue(test::submission(q, "<again@x>", page(), {"+15551001"})).jobs[0]);
    end_job(q, first->id, Outcome::ok, JobState::done, now);
    report_all(q);
    faxcore::purge_expired(q, {}, now + 8 * day, false);
    BOOST_TEST(!q.find_batch("<again@x>").has_value());  // nothing to reuse: render
    auto reuse = test::submission(q, "<again@x>", page(), {"+15551002"});
    reuse.document.clear();
    BOOST_CHECK_THROW(q.enqueue(reuse), faxcore::TemporaryError);
    auto second = q.job(
        q.enqueue(test::submission(q, "<again@x>", page(2), {"+15551001", "+15551002"})).jobs[1]);
    BOOST_TEST(q.job(first->id)->state == JobState::done);  // same key and number: one job
    BOOST_TEST((render::read_fax_tiff(second->document) == page(2)));
}

// A kill at any moment of a purge leaves rows that name only files that
// exist; what it left behind is the sweep's.
BOOST_AUTO_TEST_CASE(a_kill_during_the_purge_never_leaves_a_row_naming_a_deleted_file) {
    test::TempDir dir;
    const auto now = faxcore::unix_now();
    {
        faxcore::SqliteQueue q(dir.path);
        for (int i = 0; i < 40; ++i) {
            auto key = "<kill" + std::to_string(i) + "@x>";
            auto id = q.enqueue(test::submission(q, key, page(i), {"+15551001"})).jobs[0];
            end_job(q, id, Outcome::ok, JobState::done, now);
        }
        report_all(q);
    }
    int killed_before_commit = 0, killed_after = 0;
    for (int round = 0; round < 12; ++round) {
        const pid_t child = ::fork();
        BOOST_REQUIRE(child >= 0);
        if (child == 0) {
            faxcore::SqliteQueue q(dir.path);
            faxcore::purge_expired(q, {}, now + 8 * day, false);
            ::_exit(0);
        }
        ::usleep(static_cast<useconds_t>(round * 1500));
        ::kill(child, SIGKILL);
        ::waitpid(child, nullptr, 0);
        faxcore::SqliteQueue q(dir.path);
        check_no_row_names_a_missing_file(q);
        std::set<std::string> named;
        for (const auto& j : q.jobs())
            if (!j.document.empty()) named.insert(j.document.filename());
        (named.empty() ? killed_after : killed_before_commit)++;
        // Files no row names are the sweep's (they are older than its grace
        // by then); afterwards the spool holds exactly what rows name.
        q.sweep_spool(now + day, 0, 3600);
        BOOST_TEST((files_in(dir.path / "spool" / "docs") == named));
        if (named.empty()) break;
    }
    BOOST_TEST_MESSAGE("rounds killed before the commit: " << killed_before_commit
                                                           << ", after: " << killed_after);
}

// `faxgw jobs --retry`: a failed job resumes at its first unconfirmed page
// with a fresh budget of calls.
BOOST_AUTO_TEST_CASE(a_retried_job_resumes_with_a_fresh_attempt_budget) {
    test::TempDir dir;
    faxcore::SqliteQueue q(dir.path);
    faxcore::GatewaySettings s;
    s.sim.numbers = {{"+15551005", faxcore::SimBehaviour::hangup, 1, "FLAKY"}};
    s.retry.max_attempts = 2;
    s.retry.failure_delay = 10;
    auto pages = test::synthetic_pages(3, render::Resolution::fine);
    auto id = q.enqueue(test::submission(q, "<retry@x>", pages, {"+15551005"})).jobs[0];
    auto run = [&] {
        faxcore::Gateway g(q, s, dir.path, {});
        g.run_until_idle();
    };
    run();
    auto job = q.job(id);
    BOOST_TEST(job->state == JobState::failed);
    BOOST_TEST(job->attempts.size() == 2u);
    BOOST_TEST(job->pages_confirmed == 2);
    BOOST_TEST(!q.retry(id + 100));
    BOOST_TEST(q.retry(id));
    BOOST_TEST(!q.retry(id));  // queued now, not failed
    job = q.job(id);
    BOOST_TEST(job->state == JobState::queued);
    BOOST_TEST(job->attempts_before_retry == 2);
    BOOST_TEST(job->reason.empty());
    BOOST_TEST(q.pending_reports().empty());  // reported again only once it ends
    s.sim.numbers[0].behaviour = faxcore::SimBehaviour::receive;
    run();
    job = q.job(id);
    BOOST_TEST(job->state == JobState::done);
    BOOST_REQUIRE(job->attempts.size() == 3u);
    BOOST_TEST(job->attempts[2].first_page == 3);  // after the two confirmed pages
    BOOST_TEST(q.pending_reports().size() == 1u);

    // The budget is counted from the retry: two more calls, not none.
    auto busy_id = q.enqueue(test::submission(q, "<busy@x>", page(), {"+15551003"})).jobs[0];
    s.sim.numbers.push_back({"+15551003", faxcore::SimBehaviour::busy, 0, ""});
    run();
    BOOST_TEST(q.job(busy_id)->attempts.size() == 2u);
    BOOST_TEST(q.retry(busy_id));
    run();
    auto busy = q.job(busy_id);
    BOOST_TEST(busy->state == JobState::failed);
    BOOST_TEST(busy->attempts.size() == 4u);
    BOOST_TEST(busy->reason.find("gave up after 2 attempts") == 0u, busy->reason);
}

BOOST_AUTO_TEST_CASE(the_snapshot_counts_jobs_attempts_pages_and_the_oldest_due_job) {
    test::TempDir dir;
    faxcore::SqliteQueue q(dir.path);
    const auto now = faxcore::unix_now();
    auto a = q.enqueue(test::submission(q, "<a@x>", page(), {"+15551001", "+15551002"}));
    auto b = q.enqueue(test::submission(q, "<b@x>", page(), {"+15551003"}));
    end_job(q, a.jobs[0], Outcome::ok, JobState::done, now);
    end_job(q, a.jobs[1], Outcome::busy, JobState::retry_wait, now - 10);  // due again
    q.start_attempt(b.jobs[0], "sim1", now);                               // in a call
    std::int64_t fax = 0;
    inbound_fax(q, "call-9.tif", now, fax);
    auto s = faxcore::take_snapshot(q, now);
    BOOST_TEST(s.jobs_by_state.size() == 7u);
    BOOST_TEST(s.jobs_by_state[JobState::done] == 1);
    BOOST_TEST(s.jobs_by_state[JobState::retry_wait] == 1);
    BOOST_TEST(s.jobs_by_state[JobState::queued] == 0);
    BOOST_TEST(s.jobs_sending == 1);
    BOOST_TEST(s.attempts_by_outcome[Outcome::ok] == 1);
    BOOST_TEST(s.attempts_by_outcome[Outcome::busy] == 1);
    BOOST_TEST(s.attempts_by_outcome[Outcome::interrupted] == 1);  // the call in progress
    BOOST_TEST(s.pages_sent == 1);
    BOOST_TEST(s.line_seconds_sent == 40);
    BOOST_TEST(s.faxes_received == 1);
    BOOST_TEST(s.pages_received == 1);
    BOOST_TEST(s.inbound_undelivered == 1);
    BOOST_TEST(s.jobs_due == 1);
    BOOST_REQUIRE(s.oldest_due.has_value());
    BOOST_TEST(s.oldest_due->job == a.jobs[1]);
    BOOST_TEST(s.oldest_due->due_since == now - 10);
}

BOOST_AUTO_TEST_CASE(a_read_only_open_creates_nothing) {
    test::TempDir dir;
    const auto missing = dir.path / "no-such-folder";
    BOOST_CHECK_THROW(faxcore::Queue::open(missing, faxcore::Access::read_only),
                      faxcore::NoStateFolder);
    BOOST_TEST(!fs::exists(missing));
    // A folder without a queue reads as an empty gateway, and stays empty.
    const auto empty = dir.path / "empty";
    fs::create_directory(empty);
    {
        auto q = faxcore::Queue::open(empty, faxcore::Access::read_only);
        BOOST_TEST(q->jobs().empty());
        BOOST_TEST(faxcore::take_snapshot(*q, 0).jobs_due == 0);
        BOOST_TEST(faxcore::purge_expired(*q, {}, 0, true).empty());
    }
    BOOST_TEST(fs::is_empty(empty));
    // A database a writer is creating this moment (no tables, version 0)
    // reads as empty too, instead of failing.
    {
        SQLite::Database being_made(empty / "queue.sqlite",
                                    SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        being_made.exec("CREATE TABLE mail_outbox (id INTEGER)");
        auto q = faxcore::Queue::open(empty, faxcore::Access::read_only);
        BOOST_TEST(q->jobs().empty());
        BOOST_TEST(faxcore::take_snapshot(*q, 0).jobs_due == 0);
    }
    // An existing queue is read as it is; nothing can be written.
    const auto var = dir.path / "var";
    std::int64_t id = 0;
    {
        faxcore::SqliteQueue q(var);
        id = q.enqueue(test::submission(q, "<ro@x>", page(), {"+15551001"})).jobs[0];
    }
    const auto before = files_in(var);
    {
        auto q = faxcore::Queue::open(var, faxcore::Access::read_only);
        BOOST_TEST(q->jobs().size() == 1u);
        BOOST_CHECK_THROW(q->cancel(id), std::exception);  // read-only
    }
    // SQLite's lock files may come and go beside the database; nothing else.
    auto after = files_in(var);
    after.erase("queue.sqlite-wal");
    after.erase("queue.sqlite-shm");
    BOOST_TEST((after == before));
}
