#define BOOST_TEST_MODULE faxcore queue
#include <boost/test/unit_test.hpp>

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
        BOOST_TEST(q.start_attempt(id, "sim0", 100) == 1);
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
    BOOST_TEST(q.start_attempt(id, "sim1", 200) == 2);
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
    ok.number = q.start_attempt(r.jobs[0], "sim0", 1);
    ok.outcome = faxcore::Outcome::ok;
    ok.pages_confirmed = 1;
    q.finish_attempt(r.jobs[0], ok, JobState::done, 1, "");
    faxcore::Attempt busy;
    busy.number = q.start_attempt(r.jobs[1], "sim1", 1);
    busy.outcome = faxcore::Outcome::busy;
    q.finish_attempt(r.jobs[1], busy, JobState::retry_wait, 500, "the number was busy");

    auto reports = q.pending_reports();
    BOOST_REQUIRE(reports.size() == 1u);
    BOOST_TEST((reports[0].kind == faxcore::ReportKind::delayed));
    BOOST_TEST(reports[0].jobs.size() == 2u);
    q.mark_reported(reports[0].batch, reports[0].kind);
    BOOST_TEST(q.pending_reports().empty());

    faxcore::Attempt fail = busy;
    fail.number = q.start_attempt(r.jobs[1], "sim1", 500);
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

// A queue written before B4 (schema 1, no narrow_document) is upgraded in
// place when opened: its jobs stay, and new jobs may carry a narrow copy.
BOOST_AUTO_TEST_CASE(a_version_1_queue_is_upgraded_keeping_its_jobs) {
    test::TempDir dir;
    auto pages = test::synthetic_pages(1, render::Resolution::fine);
    std::int64_t old_job = 0;
    {
        faxcore::SqliteQueue q(dir.path);
        old_job = q.enqueue(test::submission(q, "<old@x>", pages, {"+15551001"})).jobs[0];
    }
    {
        SQLite::Database db(dir.path / "queue.sqlite", SQLite::OPEN_READWRITE);
        db.exec("ALTER TABLE batches DROP COLUMN narrow_document");
        db.exec("PRAGMA user_version = 1");
    }
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
