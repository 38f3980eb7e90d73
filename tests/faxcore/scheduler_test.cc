#define BOOST_TEST_MODULE faxcore scheduler
#include <faxgw/faxcore/gateway.h>

#include <boost/test/unit_test.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "fixture.h"
#include "sim_network.h"
#include "sqlite_queue.h"

using namespace faxgw;
using faxcore::JobState;
using faxcore::Outcome;

namespace {

faxcore::GatewaySettings network(int lines = 4) {
    faxcore::GatewaySettings s;
    s.lines = lines;
    s.dids = {"+15550100"};
    s.sim.numbers = {{"+15551001", faxcore::SimBehaviour::receive, 0, "ACME"},
                     {"+15551003", faxcore::SimBehaviour::busy, 0, ""},
                     {"+15551004", faxcore::SimBehaviour::no_answer, 0, ""},
                     {"+15551005", faxcore::SimBehaviour::hangup, 1, "FLAKY"}};
    s.retry.max_attempts = 3;
    return s;
}

struct Rig {
    test::TempDir dir;
    faxcore::SqliteQueue queue{dir.path};
    std::vector<std::string> log;
    faxcore::RunStats run(const faxcore::GatewaySettings& s) {
        faxcore::Gateway g(queue, s, dir.path, [&](const std::string& l) { log.push_back(l); });
        return g.run_until_idle();
    }
    std::vector<render::Page> received(const std::string& number) {
        std::vector<std::filesystem::path> files;
        for (auto& e :
             std::filesystem::directory_iterator(dir.path / "remote" / faxcore::digits_of(number)))
            files.push_back(e.path());
        // call-<job>-<attempt>.tif: attempt order is page order.
        std::sort(files.begin(), files.end());
        std::vector<render::Page> pages;
        for (auto& f : files)
            for (auto& p : render::read_fax_tiff(f)) pages.push_back(p);
        return pages;
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_job_to_an_answering_machine_is_done_with_identical_pages) {
    Rig rig;
    auto pages = test::synthetic_pages(2, render::Resolution::fine);
    auto id =
        rig.queue.enqueue(test::submission(rig.queue, "<ok@x>", pages, {"+15551001"})).jobs[0];
    auto stats = rig.run(network());
    auto job = rig.queue.job(id);
    BOOST_TEST(job->state == JobState::done);
    BOOST_TEST(job->pages_confirmed == 2);
    BOOST_REQUIRE(job->attempts.size() == 1u);
    BOOST_TEST(job->attempts[0].remote_csid == "ACME");
    BOOST_TEST(stats.calls == 1);
    BOOST_TEST((rig.received("+15551001") == pages));
}

// One B4 fax to a receiver that takes B4 and one that does not: each gets
// what it can print, and the attempt says when the narrow copy went.
BOOST_AUTO_TEST_CASE(a_b4_fax_goes_wide_or_narrow_as_each_receiver_takes_it) {
    Rig rig;
    auto s = network();
    s.sim.numbers.push_back({"+15551006", faxcore::SimBehaviour::receive, 0, "B4", true});
    const auto wide = test::wide_synthetic_pages(2, 300);
    auto submission = test::submission(rig.queue, "<b4@x>", wide, {"+15551001", "+15551006"});
    submission.narrow_document = rig.queue.scratch_dir() / "narrow.tif";
    BOOST_TEST_REQUIRE(render::narrow_fax_tiff(submission.document, submission.narrow_document));
    const auto narrow = render::read_fax_tiff(submission.narrow_document);
    auto jobs = rig.queue.enqueue(submission).jobs;
    BOOST_TEST(!std::filesystem::exists(submission.narrow_document));  // moved into the spool
    rig.run(s);
    for (auto id : jobs) BOOST_TEST(rig.queue.job(id)->state == JobState::done);
    BOOST_TEST((rig.received("+15551006") == wide));
    BOOST_TEST((rig.received("+15551001") == narrow));
    BOOST_TEST(rig.queue.job(jobs[0])->attempts.at(0).detail ==
               "receiver takes no B4 paper: sent the pages 215 mm wide");
    BOOST_TEST(rig.queue.job(jobs[1])->attempts.at(0).detail.empty());
}

BOOST_AUTO_TEST_CASE(a_busy_number_is_retried_then_fails_with_the_reason) {
    Rig rig;
    auto s = network();
    auto id = rig.queue
                  .enqueue(test::submission(rig.queue, "<busy@x>",
                                            test::synthetic_pages(1, render::Resolution::fine),
                                            {"+15551003"}))
                  .jobs[0];
    rig.run(s);
    auto job = rig.queue.job(id);
    BOOST_TEST(job->state == JobState::failed);
    BOOST_TEST(job->attempts.size() == 3u);
    for (auto& a : job->attempts) BOOST_TEST(a.outcome == Outcome::busy);
    // Backoff: the second wait is longer than the first.
    auto gap1 = job->attempts[1].started_at - job->attempts[0].started_at;
    auto gap2 = job->attempts[2].started_at - job->attempts[1].started_at;
    BOOST_TEST(gap1 >= s.retry.busy_delay);
    BOOST_TEST(gap2 > gap1);
    BOOST_TEST(job->reason == "gave up after 3 attempts: the number was busy");
}

BOOST_AUTO_TEST_CASE(after_a_partial_send_the_retry_starts_at_the_first_unconfirmed_page) {
    Rig rig;
    auto pages = test::synthetic_pages(3, render::Resolution::fine);
    auto id =
        rig.queue.enqueue(test::submission(rig.queue, "<flaky@x>", pages, {"+15551005"})).jobs[0];
    auto s = network();
    s.retry.max_attempts = 5;
    rig.run(s);
    auto job = rig.queue.job(id);
    BOOST_TEST(job->state == JobState::done);
    BOOST_REQUIRE(job->attempts.size() == 3u);
    for (int i = 0; i < 3; ++i) {
        BOOST_TEST(job->attempts[i].first_page == i + 1);
        BOOST_TEST(job->attempts[i].pages_confirmed == 1);
    }
    // Every page reached the far end exactly once, in order.
    BOOST_TEST((rig.received("+15551005") == pages));
}

BOOST_AUTO_TEST_CASE(never_two_calls_to_one_number_at_once) {
    Rig rig;
    auto pages = test::synthetic_pages(1, render::Resolution::standard);
    for (int i = 0; i < 3; ++i)
        rig.queue.enqueue(
            test::submission(rig.queue, "<same" + std::to_string(i) + "@x>", pages, {"+15551001"}));
    rig.run(network(4));
    auto jobs = rig.queue.jobs();
    BOOST_REQUIRE(jobs.size() == 3u);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        BOOST_TEST(jobs[i].state == JobState::done);
        for (std::size_t k = i + 1; k < jobs.size(); ++k) {
            auto& a = jobs[i].attempts[0];
            auto& b = jobs[k].attempts[0];
            bool apart = a.started_at + a.line_seconds <= b.started_at + 1 ||
                         b.started_at + b.line_seconds <= a.started_at + 1;
            BOOST_TEST(apart,
                       "calls of jobs " << jobs[i].id << " and " << jobs[k].id << " overlap");
        }
    }
}

BOOST_AUTO_TEST_CASE(unknown_numbers_fail_at_once_and_no_answer_is_retried) {
    Rig rig;
    auto pages = test::synthetic_pages(1, render::Resolution::fine);
    auto r =
        rig.queue.enqueue(test::submission(rig.queue, "<m@x>", pages, {"+15559999", "+15551004"}));
    rig.run(network());
    auto unknown = rig.queue.job(r.jobs[0]);
    BOOST_TEST(unknown->state == JobState::failed);
    BOOST_TEST(unknown->attempts.size() == 1u);
    BOOST_TEST(unknown->attempts[0].outcome == Outcome::no_route);
    auto silent = rig.queue.job(r.jobs[1]);
    BOOST_TEST(silent->state == JobState::failed);
    BOOST_TEST(silent->attempts.size() == 3u);
    BOOST_TEST(silent->attempts[0].outcome == Outcome::no_answer);
}

BOOST_AUTO_TEST_CASE(a_call_to_a_did_is_received_by_the_gateway) {
    Rig rig;
    auto pages = test::synthetic_pages(2, render::Resolution::standard);
    rig.queue.enqueue(test::submission(rig.queue, "<in@x>", pages, {"+15550100"}));
    rig.run(network());
    auto inbound = rig.queue.undelivered_inbound();
    BOOST_REQUIRE(inbound.size() == 1u);
    BOOST_TEST(inbound[0].did == "+15550100");
    BOOST_TEST(inbound[0].pages == 2);
    BOOST_TEST(inbound[0].complete);
    BOOST_TEST((render::read_fax_tiff(inbound[0].tiff) == pages));
    rig.queue.mark_inbound_delivered(inbound[0].id, "somewhere");
    BOOST_TEST(rig.queue.undelivered_inbound().empty());
}

BOOST_AUTO_TEST_CASE(the_simulated_clock_fills_every_line) {
    Rig rig;
    auto pages = test::synthetic_pages(1, render::Resolution::standard);
    auto s = network(2);
    s.sim.numbers.push_back({"+15551002", faxcore::SimBehaviour::receive, 0, "B"});
    rig.queue.enqueue(test::submission(rig.queue, "<a@x>", pages, {"+15551001"}));
    rig.queue.enqueue(test::submission(rig.queue, "<b@x>", pages, {"+15551002"}));
    auto stats = rig.run(s);
    BOOST_TEST(stats.calls == 2);
    // Two lines, two calls of about equal length: they ran side by side.
    BOOST_TEST(stats.makespan_seconds < 0.75 * stats.line_seconds);
}

BOOST_AUTO_TEST_CASE(the_retry_ladder_steps_down_after_failed_transfers_only) {
    const faxcore::CallOptions top;
    auto step = [](faxcore::CallOptions o, Outcome outcome, const std::string& via) {
        return faxcore::next_rung(o, outcome, via);
    };
    auto audio = step(top, Outcome::protocol_error, "t38");
    BOOST_TEST(!audio.t38);
    BOOST_TEST(audio.max_bit_rate == 14400);
    auto slower = step(audio, Outcome::protocol_error, "g711");
    BOOST_TEST(slower.max_bit_rate == 9600);
    BOOST_TEST(slower.ecm);
    auto no_ecm = step(slower, Outcome::watchdog, "g711");
    BOOST_TEST(!no_ecm.ecm);
    BOOST_TEST((step(no_ecm, Outcome::protocol_error, "g711") == no_ecm));  // the bottom
    // On a line without T.38 the first rung is the bit rate.
    BOOST_TEST(step(top, Outcome::protocol_error, "").max_bit_rate == 9600);
    for (auto o : {Outcome::busy, Outcome::no_answer, Outcome::no_route, Outcome::hangup})
        BOOST_TEST((step(top, o, "t38") == top));
}

BOOST_AUTO_TEST_CASE(a_number_is_called_from_its_remembered_rung) {
    Rig rig;
    rig.queue.remember_call_options("+15551001", {true, 9600, false}, 1);
    auto pages = test::synthetic_pages(1, render::Resolution::fine);
    auto id =
        rig.queue.enqueue(test::submission(rig.queue, "<rung@x>", pages, {"+15551001"})).jobs[0];
    rig.run(network());
    auto job = rig.queue.job(id);
    BOOST_TEST(job->state == JobState::done);
    BOOST_TEST_REQUIRE(job->attempts.size() == 1u);
    BOOST_TEST(job->attempts[0].bit_rate == 9600);
    BOOST_TEST(!job->attempts[0].ecm);
    // What worked stays where the next job starts.
    auto kept = rig.queue.call_options("+15551001");
    BOOST_TEST(kept.max_bit_rate == 9600);
    BOOST_TEST(!kept.ecm);
    // Other numbers start at the top.
    BOOST_TEST(rig.queue.call_options("+15551002").max_bit_rate == 14400);
}

// lines.call_options: a number that matches a rule starts no higher than
// the rule's rung although it remembers the top; others are not held.
BOOST_AUTO_TEST_CASE(a_call_options_rule_holds_matching_numbers_below_it) {
    Rig rig;
    auto settings = network();
    settings.call_options = {{"+1555100[1-2]", {true, 9600, false}}};
    auto pages = test::synthetic_pages(1, render::Resolution::fine);
    auto held =
        rig.queue.enqueue(test::submission(rig.queue, "<held@x>", pages, {"+15551001"})).jobs[0];
    rig.run(settings);
    auto job = rig.queue.job(held);
    BOOST_TEST(job->state == JobState::done);
    BOOST_TEST_REQUIRE(job->attempts.size() == 1u);
    BOOST_TEST(job->attempts[0].bit_rate == 9600);
    BOOST_TEST(!job->attempts[0].ecm);
    settings.call_options = {{"+1555100[2-3]", {true, 9600, false}}};
    auto free =
        rig.queue.enqueue(test::submission(rig.queue, "<free@x>", pages, {"+15551001"})).jobs[0];
    rig.run(settings);
    job = rig.queue.job(free);
    BOOST_TEST_REQUIRE(job->attempts.size() == 1u);
    BOOST_TEST(job->attempts[0].bit_rate == 9600);  // what worked last time is remembered
    rig.queue.remember_call_options("+15551001", {}, 2);
    auto top =
        rig.queue.enqueue(test::submission(rig.queue, "<top@x>", pages, {"+15551001"})).jobs[0];
    rig.run(settings);
    job = rig.queue.job(top);
    BOOST_TEST_REQUIRE(job->attempts.size() == 1u);
    BOOST_TEST(job->attempts[0].bit_rate == 14400);
    BOOST_TEST(job->attempts[0].ecm);
}

namespace {

// Gateway::run on the real clock, on a thread of its own, with a heartbeat
// every 20 ms and a round hook the test can hold up.
struct RunningGateway {
    Rig& rig;
    faxcore::Gateway gateway;
    std::atomic<int> beats{0};
    std::mutex mutex;
    std::condition_variable released;
    bool hold = false, held = false;
    std::stop_source stop;
    std::jthread thread;

    RunningGateway(Rig& r, const faxcore::GatewaySettings& s)
        : rig(r), gateway(r.queue, s, r.dir.path, [](const std::string&) {}) {
        faxcore::Heartbeat heartbeat{std::chrono::milliseconds(20), [this] { ++beats; }};
        thread = std::jthread([this, heartbeat] {
            gateway.run(
                stop.get_token(), [this] { hang_while_held(); }, heartbeat);
        });
    }
    ~RunningGateway() {
        release();
        stop.request_stop();
    }
    void hang_while_held() {
        std::unique_lock lock(mutex);
        held = hold;
        released.wait(lock, [this] { return !hold; });
        held = false;
    }
    void release() {
        std::lock_guard lock(mutex);
        hold = false;
        released.notify_all();
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_round_that_hangs_stops_the_heartbeat_until_it_returns) {
    using namespace std::chrono_literals;
    Rig rig;
    RunningGateway g(rig, network());
    BOOST_REQUIRE(test::eventually([&] { return g.beats >= 5; }, 5s));
    {
        std::lock_guard lock(g.mutex);
        g.hold = true;
    }
    g.gateway.wake();
    BOOST_REQUIRE(test::eventually(
        [&] {
            std::lock_guard lock(g.mutex);
            return g.held;
        },
        5s));
    const int beats_when_hung = g.beats;
    std::this_thread::sleep_for(300ms);  // 15 heartbeats' time
    BOOST_TEST(g.beats == beats_when_hung);
    g.release();
    BOOST_TEST(test::eventually([&] { return g.beats >= beats_when_hung + 5; }, 5s));
}

BOOST_AUTO_TEST_CASE(reloaded_settings_apply_to_the_next_jobs) {
    using namespace std::chrono_literals;
    Rig rig;
    auto settings = network();
    settings.retry.max_attempts = 1;  // a busy number fails at once
    settings.retry.busy_delay = 0;
    settings.sim.busy_seconds = 0;
    RunningGateway g(rig, settings);
    settings.retry.max_attempts = 3;
    g.gateway.reload(settings);
    BOOST_REQUIRE(test::eventually([&] { return g.beats >= 3; }, 5s));  // taken by now
    auto pages = test::synthetic_pages(1, render::Resolution::fine);
    auto id =
        rig.queue.enqueue(test::submission(rig.queue, "<busy@x>", pages, {"+15551003"})).jobs[0];
    g.gateway.wake();
    std::optional<faxcore::Job> job;
    BOOST_REQUIRE(test::eventually(
        [&] {
            job = rig.queue.job(id);
            return job && job->state == JobState::failed;
        },
        60s));
    BOOST_TEST(job->attempts.size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_failed_call_leaves_its_t30_trace_in_the_spool_and_a_good_one_none) {
    Rig rig;
    auto pages = test::synthetic_pages(3, render::Resolution::fine);
    auto flaky =
        rig.queue.enqueue(test::submission(rig.queue, "<flaky@x>", pages, {"+15551005"})).jobs[0];
    auto good =
        rig.queue.enqueue(test::submission(rig.queue, "<ok@x>", pages, {"+15551001"})).jobs[0];
    rig.run(network());
    const auto trace = faxcore::trace_file(rig.dir.path, flaky, 1);
    BOOST_REQUIRE(std::filesystem::exists(trace));
    const auto text = test::slurp(trace);
    BOOST_TEST(text.find("J" + std::to_string(flaky) + " attempt 1 to +15551005") == 0, text);
    // The sender's side: the far end's capabilities, our settings, one page
    // confirmed, then the far end gone.
    BOOST_TEST(text.find("<- DIS") != std::string::npos, text);
    BOOST_TEST(text.find("-> DCS") != std::string::npos, text);
    BOOST_TEST(text.find("<- MCF") != std::string::npos, text);
    BOOST_TEST(text.find("phase D: 1 page(s) sent") != std::string::npos, text);
    for (int attempt = 1; attempt <= 3; ++attempt)
        BOOST_TEST(!std::filesystem::exists(faxcore::trace_file(rig.dir.path, good, attempt)));
}

BOOST_AUTO_TEST_CASE(traces_are_not_kept_when_turned_off) {
    Rig rig;
    auto pages = test::synthetic_pages(2, render::Resolution::fine);
    auto flaky =
        rig.queue.enqueue(test::submission(rig.queue, "<flaky@x>", pages, {"+15551005"})).jobs[0];
    auto settings = network();
    settings.keep_failed_traces = false;
    rig.run(settings);
    BOOST_TEST(rig.queue.job(flaky)->attempts.size() >= 1u);
    BOOST_TEST(!std::filesystem::exists(faxcore::trace_file(rig.dir.path, flaky, 1)));
}
