#define BOOST_TEST_MODULE sip line backend
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <thread>

#include "lossy_relay.h"
#include "sip_rig.h"

using namespace faxgw;
using namespace std::chrono_literals;
using faxcore::JobState;
using faxcore::Outcome;

namespace {

constexpr const char* answerer_did = "+15550200";

// Waits (real time) until the answering gateway has recorded a fax.
std::vector<faxcore::InboundFax> wait_for_inbound(test::SipGateway& g) {
    for (int i = 0; i < 100; ++i) {
        auto in = g.queue.undelivered_inbound();
        if (!in.empty()) return in;
        std::this_thread::sleep_for(100ms);
    }
    return {};
}

struct Pair {
    test::SipGateway answerer{answerer_did, sip::free_loopback_sip_port()};
    test::SipGateway caller{"+15550100", sip::free_loopback_sip_port()};
    Pair() {
        caller.call_through(
            "answerer", std::stoi(answerer.sip.listen.substr(answerer.sip.listen.rfind(':') + 1)));
    }
    // Sends `pages` to the answerer's DID and returns the job as it ended.
    faxcore::Job send(const std::vector<render::Page>& pages) {
        answerer.start();
        caller.start();
        auto id =
            caller.queue.enqueue(test::submission(caller.queue, "<sip@x>", pages, {answerer_did}))
                .jobs[0];
        caller.gateway->run_until_idle();
        return *caller.queue.job(id);
    }
};

void check_received(test::SipGateway& answerer, const std::vector<render::Page>& pages) {
    auto in = wait_for_inbound(answerer);
    BOOST_TEST_REQUIRE(in.size() == 1u);
    BOOST_TEST(in[0].did == answerer_did);
    BOOST_TEST(in[0].pages == static_cast<int>(pages.size()));
    BOOST_TEST(in[0].complete);
    auto got = render::read_fax_tiff(in[0].tiff);
    BOOST_TEST_REQUIRE(got.size() == pages.size());
    for (std::size_t i = 0; i < pages.size(); ++i)
        BOOST_TEST((got[i] == pages[i]), "page " << i + 1 << " differs");
}

std::string attempts_of(const faxcore::Job& job) {
    std::string s;
    for (const auto& a : job.attempts)
        s += std::string(describe(a.outcome).name) + " " + a.transport + " sip " +
             std::to_string(a.sip_status) + " pages " + std::to_string(a.pages_confirmed) + " (" +
             a.detail + ")\n";
    return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_fax_goes_gateway_to_gateway_over_g711_audio) {
    Pair p;
    p.caller.sip.t38 = p.answerer.sip.t38 = false;
    auto pages = test::synthetic_pages(3, render::Resolution::fine);
    auto job = p.send(pages);
    BOOST_TEST(job.state == JobState::done, attempts_of(job));
    BOOST_TEST_REQUIRE(job.attempts.size() == 1u);
    BOOST_TEST(job.attempts[0].transport == "g711");
    BOOST_TEST(job.attempts[0].sip_status == 200);
    BOOST_TEST(job.attempts[0].remote_agent == "faxgw");
    BOOST_TEST(job.attempts[0].remote_csid == p.answerer.sip.station_id);
    check_received(p.answerer, pages);
}

BOOST_AUTO_TEST_CASE(a_fax_goes_gateway_to_gateway_over_t38_after_a_reinvite) {
    Pair p;
    p.answerer.sip.t38_request = true;  // the answering side asks for T.38, as fax ATAs do
    auto pages = test::synthetic_pages(3, render::Resolution::fine, 7);
    auto job = p.send(pages);
    BOOST_TEST(job.state == JobState::done, attempts_of(job));
    BOOST_TEST_REQUIRE(job.attempts.size() == 1u);
    BOOST_TEST(job.attempts[0].transport == "t38");
    check_received(p.answerer, pages);
}

BOOST_AUTO_TEST_CASE(a_refused_t38_reinvite_leaves_the_call_on_audio) {
    Pair p;
    p.answerer.sip.t38_request = true;
    p.caller.sip.t38 = false;  // refuses it: 488
    auto pages = test::synthetic_pages(2, render::Resolution::standard, 3);
    auto job = p.send(pages);
    BOOST_TEST(job.state == JobState::done, attempts_of(job));
    BOOST_TEST(job.attempts.at(0).transport == "g711");
    check_received(p.answerer, pages);
}

// Our own T.38 re-INVITE refused (488): the fax goes through on audio, and
// the attempt says why it did not travel over T.38.
BOOST_AUTO_TEST_CASE(our_refused_t38_reinvite_is_recorded_with_the_fax) {
    Pair p;
    p.caller.sip.t38_request = true;
    p.answerer.sip.t38 = false;  // refuses it: 488
    auto pages = test::synthetic_pages(1, render::Resolution::standard, 7);
    auto job = p.send(pages);
    BOOST_TEST(job.state == JobState::done, attempts_of(job));
    BOOST_TEST_REQUIRE(job.attempts.size() == 1u);
    BOOST_TEST(job.attempts[0].transport == "g711");
    BOOST_TEST(job.attempts[0].detail == "T.38 refused (488), sent over G.711");
    check_received(p.answerer, pages);
}

// The retry ladder's memory on a real call: a number remembered at G.711
// and 9600 bit/s (after earlier failures) is called so although both
// gateways would switch to T.38 (the answerer asks; we refuse), and the
// options that delivered are remembered again with the success.
BOOST_AUTO_TEST_CASE(a_number_remembered_at_g711_and_9600_is_called_so_and_the_success_kept) {
    Pair p;
    p.caller.sip.t38_request = true;
    p.answerer.sip.t38_request = true;
    const faxcore::CallOptions rung{false, 9600, true};
    p.caller.queue.remember_call_options(answerer_did, rung, 1000);
    auto pages = test::synthetic_pages(1, render::Resolution::standard, 9);
    auto job = p.send(pages);
    BOOST_TEST(job.state == JobState::done, attempts_of(job));
    BOOST_TEST_REQUIRE(job.attempts.size() == 1u);
    BOOST_TEST(job.attempts[0].transport == "g711");
    BOOST_TEST(job.attempts[0].bit_rate == 9600);
    BOOST_TEST((p.caller.queue.call_options(answerer_did) == rung));
    SQLite::Database db((p.caller.dir.path / "queue.sqlite").string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "SELECT updated_at FROM destinations WHERE number = ?");
    q.bind(1, answerer_did);
    BOOST_TEST_REQUIRE(q.executeStep());
    BOOST_TEST(q.getColumn(0).getInt64() >= job.attempts[0].started_at);
    check_received(p.answerer, pages);
}

BOOST_AUTO_TEST_CASE(t38_with_redundancy_and_ecm_delivers_through_5_percent_loss) {
    Pair p;
    p.caller.sip.t38_request = true;
    // Both directions through lossy, jittery relays: each side advertises
    // another loopback address, where a relay forwards to the real port.
    p.answerer.sip.media_address = "127.0.0.2";
    p.caller.sip.media_address = "127.0.0.3";
    test::LossyRelay to_answerer("127.0.0.2", "127.0.0.1", p.answerer.sip.media_port_min,
                                 p.answerer.sip.media_port_max, 0.05, 30, 11);
    test::LossyRelay to_caller("127.0.0.3", "127.0.0.1", p.caller.sip.media_port_min,
                               p.caller.sip.media_port_max, 0.05, 30, 12);
    auto pages = test::synthetic_pages(2, render::Resolution::fine, 5);
    auto job = p.send(pages);
    BOOST_TEST(job.state == JobState::done, attempts_of(job));
    BOOST_TEST(job.attempts.at(0).transport == "t38");
    BOOST_TEST(to_answerer.stats().dropped > 0);
    BOOST_TEST(to_caller.stats().dropped > 0);
    check_received(p.answerer, pages);
}

BOOST_AUTO_TEST_CASE(a_number_nobody_answers_at_is_a_sip_failure_not_a_crash) {
    Pair p;
    auto pages = test::synthetic_pages(1, render::Resolution::standard);
    p.answerer.start();
    p.caller.start();
    auto id =
        p.caller.queue.enqueue(test::submission(p.caller.queue, "<nobody@x>", pages, {"+15550999"}))
            .jobs[0];
    p.caller.gateway->run_until_idle();
    auto job = *p.caller.queue.job(id);
    BOOST_TEST(job.state == JobState::failed, attempts_of(job));
    BOOST_TEST_REQUIRE(job.attempts.size() == 1u);
    BOOST_TEST(job.attempts[0].sip_status == 404);
    BOOST_TEST(job.attempts[0].outcome == Outcome::no_route);
}

// A junk fax sender's call is declined before it is answered: no line
// taken, nothing received, the caller told 603.
BOOST_AUTO_TEST_CASE(a_refused_caller_is_declined_unanswered) {
    Pair p;
    p.caller.sip.caller_id = "+19005551234";
    p.answerer.refused_callers = {"+1800*", "+1900*"};
    auto job = p.send(test::synthetic_pages(1, render::Resolution::standard));
    BOOST_TEST(job.state == JobState::failed, attempts_of(job));
    BOOST_TEST_REQUIRE(job.attempts.size() == 1u);
    BOOST_TEST(job.attempts[0].sip_status == 603);
    BOOST_TEST(job.attempts[0].pages_confirmed == 0);
    BOOST_TEST(p.answerer.queue.undelivered_inbound().empty());
    bool logged = false;
    for (const auto& line : p.answerer.log)
        logged = logged || line == "inbound call from +19005551234 refused (refused caller +1900*)";
    BOOST_TEST(logged);
}

// FreeSWITCH issue 2789: a session refresh mid-fax cost the last pages.
BOOST_AUTO_TEST_CASE(session_refreshes_during_a_t38_fax_lose_no_page) {
    Pair p;
    p.caller.sip.t38_request = true;
    p.caller.sip.session_refresh_seconds = 3;
    auto pages = test::synthetic_pages(3, render::Resolution::standard, 9);
    auto job = p.send(pages);
    BOOST_TEST(job.state == JobState::done, attempts_of(job));
    BOOST_TEST_REQUIRE(job.attempts.size() == 1u);
    BOOST_TEST(job.attempts[0].transport == "t38");
    BOOST_TEST(job.attempts[0].detail.find("session refresh") != std::string::npos,
               job.attempts[0].detail);
    check_received(p.answerer, pages);
}

BOOST_AUTO_TEST_CASE(g711_through_a_jittery_relay_without_loss_delivers) {
    Pair p;
    p.caller.sip.t38 = p.answerer.sip.t38 = false;
    p.answerer.sip.media_address = "127.0.0.2";
    p.caller.sip.media_address = "127.0.0.3";
    // Up to 30 ms of jitter, so packets arrive out of order: the jitter
    // buffer puts them back in sequence.
    test::LossyRelay to_answerer("127.0.0.2", "127.0.0.1", p.answerer.sip.media_port_min,
                                 p.answerer.sip.media_port_max, 0, 30, 21);
    test::LossyRelay to_caller("127.0.0.3", "127.0.0.1", p.caller.sip.media_port_min,
                               p.caller.sip.media_port_max, 0, 30, 22);
    auto pages = test::synthetic_pages(2, render::Resolution::standard, 13);
    auto job = p.send(pages);
    BOOST_TEST(job.state == JobState::done, attempts_of(job));
    BOOST_TEST(job.attempts.at(0).transport == "g711");
    BOOST_TEST(to_answerer.stats().reordered > 0);
    check_received(p.answerer, pages);
}

// The caller's trunk signals over TCP; the answering gateway has no trunk of
// its own, so only its listening on TCP as well as UDP lets the INVITE in.
BOOST_AUTO_TEST_CASE(an_invite_over_tcp_is_answered_and_the_fax_received) {
    Pair p;
    p.caller.sip.trunks[0].tcp = true;
    BOOST_TEST_REQUIRE(p.answerer.sip.trunks.empty());
    auto pages = test::synthetic_pages(2, render::Resolution::standard, 11);
    auto job = p.send(pages);
    BOOST_TEST(job.state == JobState::done, attempts_of(job));
    BOOST_TEST_REQUIRE(job.attempts.size() == 1u);
    BOOST_TEST(job.attempts[0].sip_status == 200);
    check_received(p.answerer, pages);
}
