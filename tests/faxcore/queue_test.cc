#define BOOST_TEST_MODULE faxcore queue
#include <faxgw/faxcore/snapshot.h>
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <functional>

#include "fixture.h"
#include "sqlite_queue.h"

using namespace faxgw;
using faxcore::JobState;

BOOST_AUTO_TEST_CASE(enqueue_makes_one_job_per_number_and_moves_the_document) {
    test::TempDir dir;
    faxcore::SqliteQueue q(dir.path);
    auto pages = test::synthetic_pages(2, render::Resolution::fine);
    auto sub = test::submission(q, "<a@example>", pages, {"+15551001", "+15551002"});
    auto scratch_doc = sub.document;
    auto r = q.enqueue(sub);
    BOOST_TEST(r.jobs.size() == 2u);
    BOOST_TEST(r.created == 2);
    BOOST_TEST(!std::filesystem::exists(scratch_doc));
    auto job = q.job(r.jobs[0]);
    BOOST_REQUIRE(job);
    BOOST_TEST(job->state == JobState::queued);
    BOOST_TEST(job->pages == 2);
    BOOST_TEST(std::filesystem::exists(job->document));
    BOOST_TEST((render::read_fax_tiff(job->document) == pages));
}

BOOST_AUTO_TEST_CASE(same_origin_and_number_is_one_job) {
    test::TempDir dir;
    faxcore::SqliteQueue q(dir.path);
    auto pages = test::synthetic_pages(1, render::Resolution::fine);
    auto first = q.enqueue(test::submission(q, "<m1@x>", pages, {"+15551001"}));
    auto again = q.enqueue(test::submission(q, "<m1@x>", pages, {"+15551001"}));
    BOOST_TEST(again.created == 0);
    BOOST_TEST(again.jobs == first.jobs);
    auto more = q.enqueue(test::submission(q, "<m1@x>", pages, {"+15551002"}));
    BOOST_TEST(more.created == 1);
    BOOST_TEST(more.batch == first.batch);
    BOOST_TEST(q.jobs().size() == 2u);
    // The second delivery's rendering is not kept: one document per batch.
    int docs = 0;
    for ([[maybe_unused]] auto& e :
         std::filesystem::directory_iterator(dir.path / "spool" / "docs"))
        ++docs;
    BOOST_TEST(docs == 1);
}

BOOST_AUTO_TEST_CASE(jobs_left_sending_by_a_dead_process_are_queued_again) {
    test::TempDir dir;
    std::int64_t id = 0;
    {
        faxcore::SqliteQueue q(dir.path);
        id = q
                 .enqueue(test::submission(
                     q, "<k@x>", test::synthetic_pages(3, render::Resolution::fine), {"+15551001"}))
                 .jobs[0];
        BOOST_TEST(q.start_attempt(id, "sim0", 100).value() == 1);
        q.record_progress(id, 1, 2);  // two pages confirmed, then the process "dies"
    }
    faxcore::SqliteQueue q(dir.path);
    BOOST_TEST(q.recover_interrupted() == 1);
    auto job = q.job(id);
    BOOST_TEST(job->state == JobState::queued);
    BOOST_TEST(job->pages_confirmed == 2);
    BOOST_REQUIRE(job->attempts.size() == 1u);
    BOOST_TEST(job->attempts[0].outcome == faxcore::Outcome::interrupted);
    BOOST_TEST(job->attempts[0].pages_confirmed == 2);
    // The next attempt starts at the first unconfirmed page.
    BOOST_TEST(q.start_attempt(id, "sim1", 200).value() == 2);
    BOOST_TEST(q.job(id)->attempts[1].first_page == 3);
}

BOOST_AUTO_TEST_CASE(reports_come_when_a_batch_waits_and_when_it_ends) {
    test::TempDir dir;
    faxcore::SqliteQueue q(dir.path);
    auto r =
        q.enqueue(test::submission(q, "<r@x>", test::synthetic_pages(1, render::Resolution::fine),
                                   {"+15551001", "+15551003"}));
    BOOST_TEST(q.pending_reports().empty());
    faxcore::Attempt ok;
    ok.number = q.start_attempt(r.jobs[0], "sim0", 1).value();
    ok.outcome = faxcore::Outcome::ok;
    ok.pages_confirmed = 1;
    q.finish_attempt(r.jobs[0], ok, JobState::done, 1, "");
    faxcore::Attempt busy;
    busy.number = q.start_attempt(r.jobs[1], "sim1", 1).value();
    busy.outcome = faxcore::Outcome::busy;
    q.finish_attempt(r.jobs[1], busy, JobState::retry_wait, 500, "the number was busy");

    auto reports = q.pending_reports();
    BOOST_REQUIRE(reports.size() == 1u);
    BOOST_TEST((reports[0].kind == faxcore::ReportKind::delayed));
    BOOST_TEST(reports[0].jobs.size() == 2u);
    q.mark_reported(reports[0].batch, reports[0].kind);
    BOOST_TEST(q.pending_reports().empty());

    faxcore::Attempt fail = busy;
    fail.number = q.start_attempt(r.jobs[1], "sim1", 500).value();
    q.finish_attempt(r.jobs[1], fail, JobState::failed, 500, "gave up");
    reports = q.pending_reports();
    BOOST_REQUIRE(reports.size() == 1u);
    BOOST_TEST((reports[0].kind == faxcore::ReportKind::final));
    BOOST_TEST(reports[0].jobs[1].reason == "gave up");
    q.mark_reported(reports[0].batch, reports[0].kind);
    BOOST_TEST(q.pending_reports().empty());
}

BOOST_AUTO_TEST_CASE(outcome_table_names_round_trip) {
    for (auto o :
         {faxcore::Outcome::ok, faxcore::Outcome::busy, faxcore::Outcome::no_answer,
          faxcore::Outcome::hangup, faxcore::Outcome::protocol_error,
          faxcore::Outcome::incompatible, faxcore::Outcome::watchdog, faxcore::Outcome::interrupted,
          faxcore::Outcome::bad_document, faxcore::Outcome::no_route}) {
        auto name = faxcore::describe(o).name;
        BOOST_TEST((faxcore::parse_outcome(name) == o), "outcome " << name);
        BOOST_TEST(!faxcore::describe(o).text.empty());
    }
}

// Makes the queue in `dir` look as an older faxgw left it: `downgrade`
// drops what later versions added, and the version number says so.
void downgrade_queue(const std::filesystem::path& dir, int version,
                     const std::function<void(SQLite::Database&)>& downgrade) {
    SQLite::Database db(dir / "queue.sqlite", SQLite::OPEN_READWRITE);
    downgrade(db);
    db.exec("PRAGMA user_version = " + std::to_string(version));
}

// A queue with one job to +15551001, then downgraded as above.
std::int64_t old_queue_with_a_job(const std::filesystem::path& dir,
                                  const std::vector<render::Page>& pages, int version,
                                  const std::function<void(SQLite::Database&)>& downgrade) {
    std::int64_t job = 0;
    {
        faxcore::SqliteQueue q(dir);
        job = q.enqueue(test::submission(q, "<old@x>", pages, {"+15551001"})).jobs[0];
    }
    downgrade_queue(dir, version, downgrade);
    return job;
}

// What version 6 added: how long a batch's document took to render.
void drop_render_column(SQLite::Database& db) {
    db.exec("ALTER TABLE batches DROP COLUMN render_seconds");
}

// What version 5 added: the attempts made before an administrator's retry,
// and the above.
void drop_retry_column(SQLite::Database& db) {
    db.exec("ALTER TABLE jobs DROP COLUMN attempts_before_retry");
    drop_render_column(db);
}

BOOST_AUTO_TEST_CASE(a_version_5_queue_is_upgraded_and_counts_render_times) {
    test::TempDir dir;
    auto pages = test::synthetic_pages(1, render::Resolution::fine);
    const auto old_job = old_queue_with_a_job(dir.path, pages, 5, drop_render_column);
    faxcore::SqliteQueue q(dir.path);
    BOOST_TEST(q.job(old_job).has_value());
    auto fresh = test::submission(q, "<new@x>", pages, {"+15551002"});
    fresh.render_seconds = 0.3;
    q.enqueue(fresh);
    const auto snap = faxcore::take_snapshot(q, 0);
    BOOST_TEST(snap.renders == 1);  // the old batch was not measured
    BOOST_TEST(snap.render_seconds == 0.3);
    // Cumulative: not within 0.1 or 0.25, within 0.5 and every bound above.
    BOOST_TEST(snap.renders_within.at(0) == 0);
    BOOST_TEST(snap.renders_within.at(1) == 0);
    BOOST_TEST(snap.renders_within.at(2) == 1);
    BOOST_TEST(snap.renders_within.back() == 1);
}

// What version 4 added: a job's own document (a cover for that number),
// and the above.
void drop_own_document_columns(SQLite::Database& db) {
    for (const char* column : {"document", "narrow_document"})
        db.exec(std::string("ALTER TABLE jobs DROP COLUMN ") + column);
    drop_retry_column(db);
}

// What versions 3 and 4 added: how an attempt travelled (SIP lines), and
// the above.
void drop_line_columns(SQLite::Database& db) {
    for (const char* column : {"transport", "sip_status", "remote_agent"})
        db.exec(std::string("ALTER TABLE attempts DROP COLUMN ") + column);
    drop_own_document_columns(db);
}

BOOST_AUTO_TEST_CASE(a_version_3_queue_is_upgraded_and_jobs_may_have_their_own_document) {
    test::TempDir dir;
    auto pages = test::synthetic_pages(1, render::Resolution::fine);
    const auto old_job = old_queue_with_a_job(dir.path, pages, 3, drop_own_document_columns);
    faxcore::SqliteQueue q(dir.path);
    auto old = q.job(old_job);
    BOOST_TEST_REQUIRE(old.has_value());
    BOOST_TEST((render::read_fax_tiff(old->document) == pages));

    // Two numbers, the second with a document of its own.
    auto own = test::synthetic_pages(1, render::Resolution::fine, 7);
    auto sub = test::submission(q, "<covers@x>", pages, {"+15551001", "+15551002"});
    sub.own_documents = {{}, {test::write_document(q.scratch_dir(), "own.tif", own), {}}};
    auto r = q.enqueue(sub);
    auto first = q.job(r.jobs[0]);
    auto second = q.job(r.jobs[1]);
    BOOST_TEST((render::read_fax_tiff(first->document) == pages));
    BOOST_TEST((render::read_fax_tiff(second->document) == own));
    BOOST_TEST(second->document.parent_path() == first->document.parent_path());  // spooled
    BOOST_TEST(!std::filesystem::exists(sub.own_documents[1].document));
    // The sweep keeps both: they are referenced.
    BOOST_TEST(q.sweep_spool(faxcore::unix_now() + 100000, 0, 3600) == 0);
    BOOST_TEST(std::filesystem::exists(second->document));
}

BOOST_AUTO_TEST_CASE(a_version_2_queue_is_upgraded_keeping_its_attempts) {
    test::TempDir dir;
    auto pages = test::synthetic_pages(1, render::Resolution::fine);
    std::int64_t old_job = 0;
    {
        faxcore::SqliteQueue q(dir.path);
        old_job = q.enqueue(test::submission(q, "<old@x>", pages, {"+15551001"})).jobs[0];
        BOOST_TEST_REQUIRE(q.start_attempt(old_job, "sim0", 100).has_value());
    }
    downgrade_queue(dir.path, 2, drop_line_columns);
    faxcore::SqliteQueue q(dir.path);
    faxcore::Attempt a;
    a.number = 1;
    a.outcome = faxcore::Outcome::busy;
    a.transport = "g711";
    a.sip_status = 486;
    a.remote_agent = "far end 1.0";
    q.finish_attempt(old_job, a, JobState::retry_wait, 200, "busy");
    auto job = q.job(old_job);
    BOOST_TEST_REQUIRE(job->attempts.size() == 1u);
    BOOST_TEST(job->attempts[0].line == "sim0");
    BOOST_TEST(job->attempts[0].sip_status == 486);
    BOOST_TEST(job->attempts[0].transport == "g711");
    BOOST_TEST(job->attempts[0].remote_agent == "far end 1.0");
}

// A queue written before B4 (schema 1, no narrow_document) is upgraded in
// place when opened: its jobs stay, and new jobs may carry a narrow copy.
BOOST_AUTO_TEST_CASE(a_version_1_queue_is_upgraded_keeping_its_jobs) {
    test::TempDir dir;
    auto pages = test::synthetic_pages(1, render::Resolution::fine);
    const auto old_job = old_queue_with_a_job(dir.path, pages, 1, [](SQLite::Database& db) {
        db.exec("ALTER TABLE batches DROP COLUMN narrow_document");
        drop_line_columns(db);  // and the own documents
    });
    faxcore::SqliteQueue q(dir.path);
    auto job = q.job(old_job);
    BOOST_TEST_REQUIRE(job.has_value());
    BOOST_TEST(job->state == JobState::queued);
    BOOST_TEST(job->narrow_document.empty());
    BOOST_TEST((render::read_fax_tiff(job->document) == pages));

    auto sub = test::submission(q, "<new@x>", pages, {"+15551001"});
    sub.narrow_document = test::write_document(q.scratch_dir(), "narrow.tif", pages);
    auto fresh = q.job(q.enqueue(sub).jobs[0]);
    BOOST_TEST(std::filesystem::exists(fresh->narrow_document));
    BOOST_TEST(fresh->narrow_document.filename().string().ends_with(".narrow.tif"));
}

// Postfix with recipient_limit = 1 submits one message once per recipient:
// the later ones reuse the first one's document instead of rendering again.
BOOST_AUTO_TEST_CASE(a_later_recipient_reuses_the_batch_document) {
    test::TempDir dir;
    faxcore::SqliteQueue q(dir.path);
    auto pages = test::synthetic_pages(2, render::Resolution::fine);
    BOOST_TEST(!q.find_batch("<m@x>"));
    auto first = q.enqueue(test::submission(q, "<m@x>", pages, {"+15551001"}));

    auto found = q.find_batch("<m@x>");
    BOOST_TEST_REQUIRE(found.has_value());
    BOOST_TEST(found->batch == first.batch);
    BOOST_TEST(found->pages == 2);
    BOOST_TEST(found->narrow_document.empty());
    BOOST_TEST((render::read_fax_tiff(found->document) == pages));

    faxcore::Submission later;  // no document: the batch's is reused
    later.origin_key = "<m@x>";
    later.origin = R"({"test":true})";
    later.destinations = {{"+15551002", "15551002"}};
    later.quotas = {{"sender", 0, 4, 3600, "sender a@x"}};
    auto r = q.enqueue(later);
    BOOST_TEST(r.batch == first.batch);
    BOOST_TEST(r.created == 1);
    auto job = q.job(r.jobs[0]);
    BOOST_TEST(job->document == found->document);
    BOOST_TEST(job->pages == 2);
    // Quotas count the reused document's pages: 2 more pages exceed 4.
    later.destinations = {{"+15551003", "15551003"}, {"+15551004", "15551004"}};
    BOOST_CHECK_THROW(q.enqueue(later), faxcore::QuotaExceeded);
    BOOST_TEST(q.jobs().size() == 2u);
}

BOOST_AUTO_TEST_CASE(reusing_a_batch_that_does_not_exist_is_temporary) {
    test::TempDir dir;
    faxcore::SqliteQueue q(dir.path);
    faxcore::Submission later;
    later.origin_key = "<gone@x>";
    later.destinations = {{"+15551002", "15551002"}};
    BOOST_CHECK_THROW(q.enqueue(later), faxcore::TemporaryError);
    BOOST_TEST(q.jobs().empty());
}

// The scheduler reads due jobs, then starts each: a cancel in between
// (another process) must win, and nothing is dialled.
BOOST_AUTO_TEST_CASE(a_cancel_between_due_and_start_wins) {
    test::TempDir dir;
    faxcore::SqliteQueue q(dir.path);
    auto r = q.enqueue(test::submission(
        q, "<c@x>", test::synthetic_pages(1, render::Resolution::fine), {"+15551001"}));
    auto due = q.due_jobs(faxcore::unix_now(), 0);
    BOOST_TEST_REQUIRE(due.size() == 1u);
    faxcore::SqliteQueue admin(dir.path);  // `faxgw jobs --cancel`
    BOOST_TEST(admin.cancel(due[0].id));
    BOOST_TEST(!q.start_attempt(due[0].id, "sim0", faxcore::unix_now()).has_value());
    auto job = q.job(r.jobs[0]);
    BOOST_TEST(job->state == JobState::cancelled);
    BOOST_TEST(job->attempts.empty());
}

namespace {
int files_in(const std::filesystem::path& dir) {
    int n = 0;
    for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++n;
    return n;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_quota_refusal_leaves_nothing_in_the_spool) {
    test::TempDir dir;
    faxcore::SqliteQueue q(dir.path);
    auto pages = test::synthetic_pages(1, render::Resolution::fine);
    auto sub = test::submission(q, "<q@x>", pages, {"+15551001", "+15551002"});
    sub.narrow_document = test::write_document(q.scratch_dir(), "narrow.tif", pages);
    sub.quotas = {{"sender", 1, 0, 3600, "sender a@x"}};
    BOOST_CHECK_THROW(q.enqueue(sub), faxcore::QuotaExceeded);
    BOOST_TEST(q.jobs().empty());
    BOOST_TEST(files_in(dir.path / "spool" / "docs") == 0);
}

// The narrow copy moves first; when the document cannot follow, the
// submission fails and the narrow copy must not stay in the spool.
BOOST_AUTO_TEST_CASE(a_failed_move_into_the_spool_leaves_nothing_there) {
    test::TempDir dir;
    faxcore::SqliteQueue q(dir.path);
    auto pages = test::synthetic_pages(1, render::Resolution::fine);
    auto sub = test::submission(q, "<m@x>", pages, {"+15551001"});
    sub.narrow_document = test::write_document(q.scratch_dir(), "narrow.tif", pages);
    std::filesystem::remove(sub.document);  // e.g. removed by a clean-up in between
    BOOST_CHECK_THROW(q.enqueue(sub), std::exception);
    BOOST_TEST(q.jobs().empty());
    BOOST_TEST(!q.find_batch("<m@x>"));
    BOOST_TEST(files_in(dir.path / "spool" / "docs") == 0);
}

namespace {
void make_old(const std::filesystem::path& file, std::chrono::seconds age) {
    std::filesystem::last_write_time(file, std::filesystem::file_time_type::clock::now() - age);
}
}  // namespace

// What a kill -9 leaves: a document moved into the spool whose enqueue
// never committed, a received fax never recorded, a submit's scratch files.
BOOST_AUTO_TEST_CASE(the_sweep_removes_only_old_files_nothing_refers_to) {
    using namespace std::chrono_literals;
    test::TempDir dir;
    faxcore::SqliteQueue q(dir.path);
    auto pages = test::synthetic_pages(1, render::Resolution::fine);
    auto queued = q.job(q.enqueue(test::submission(q, "<s@x>", pages, {"+15551001"})).jobs[0]);
    auto docs = dir.path / "spool" / "docs";
    auto orphan = test::write_document(docs, "0000000001deadbeef.tif", pages);
    auto young_orphan = test::write_document(docs, "0000000002deadbeef.tif", pages);
    auto lost_fax = test::write_document(q.inbound_dir(), "call-9-1.tif", pages);
    auto old_scratch = test::write_document(q.scratch_dir(), "mail-AAAAAA.tif", pages);
    auto new_scratch = test::write_document(q.scratch_dir(), "mail-BBBBBB.tif", pages);
    // A renderer's working folder, as a killed submit leaves it.
    auto old_workdir = q.scratch_dir() / "faxgw-render-AAAAAA";
    auto new_workdir = q.scratch_dir() / "faxgw-render-BBBBBB";
    std::filesystem::create_directories(old_workdir / ".root" / "tmp");
    std::filesystem::create_directories(new_workdir);
    test::write_document(old_workdir, "pages.tif", pages);
    for (const auto& f : {queued->document, orphan, lost_fax, old_scratch, old_workdir})
        make_old(f, 2h);

    BOOST_TEST(q.sweep_spool(faxcore::unix_now(), 3600, 3600) == 4);
    BOOST_TEST(!std::filesystem::exists(old_workdir));
    BOOST_TEST(std::filesystem::exists(new_workdir));
    BOOST_TEST(std::filesystem::exists(queued->document));
    BOOST_TEST(!std::filesystem::exists(orphan));
    BOOST_TEST(std::filesystem::exists(young_orphan));
    BOOST_TEST(!std::filesystem::exists(lost_fax));
    BOOST_TEST(!std::filesystem::exists(old_scratch));
    BOOST_TEST(std::filesystem::exists(new_scratch));
}

// With umask 022 the faxes and the queue would be world-readable.
BOOST_AUTO_TEST_CASE(state_files_are_private_whatever_the_umask) {
    test::TempDir dir;
    mode_t saved = ::umask(022);
    {
        faxcore::SqliteQueue q(dir.path);
        q.enqueue(test::submission(q, "<p@x>", test::synthetic_pages(1, render::Resolution::fine),
                                   {"+15551001"}));
        test::write_document(q.inbound_dir(), "call-1-1.tif",
                             test::synthetic_pages(1, render::Resolution::fine));
        int checked = 0;
        for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path)) {
            auto p = e.status().permissions();
            using std::filesystem::perms;
            BOOST_TEST(((p & (perms::others_all | perms::group_write)) == perms::none),
                       e.path() << " is " << std::oct << static_cast<int>(p));
            ++checked;
        }
        BOOST_TEST(checked >= 7);  // folders, queue.sqlite with -wal and -shm, documents
    }
    ::umask(saved);
}
