#define BOOST_TEST_MODULE sip signalling against sipp
#include <boost/test/unit_test.hpp>
#include <chrono>

#include "sip_rig.h"

using namespace faxgw;
using namespace std::chrono_literals;
using faxcore::JobState;
using faxcore::Outcome;

namespace {

// A gateway whose one trunk is a sipp scenario playing the far end.
struct Rig {
    test::SipGateway gateway{"+15550100", sip::free_loopback_sip_port()};
    std::optional<test::Sipp> far_end;

    Rig(const std::string& scenario, std::vector<std::string> sipp_args = {}) {
        far_end.emplace(test::sipp_scenario(scenario), sip::free_loopback_sip_port(),
                        std::move(sipp_args));
        gateway.call_through("far", far_end->port());
        gateway.sip.watchdog_seconds = 10;
        gateway.sip.ring_seconds = 2;
    }
    // Queues one page to 5551234 and runs until the first attempt ended.
    faxcore::Job call_once() {
        gateway.start();
        auto pages = test::synthetic_pages(1, render::Resolution::standard);
        auto id =
            gateway.queue.enqueue(test::submission(gateway.queue, "<sipp@x>", pages, {"+15551234"}))
                .jobs[0];
        gateway.gateway->run_until_idle();
        return *gateway.queue.job(id);
    }
    std::string trace() const { return far_end->messages() + far_end->errors(); }
};

const faxcore::Attempt& only_attempt(const faxcore::Job& job) {
    BOOST_TEST_REQUIRE(job.attempts.size() == 1u);
    return job.attempts[0];
}

}  // namespace

BOOST_AUTO_TEST_CASE(busy_is_retried_later) {
    Rig rig("busy.xml");
    auto job = rig.call_once();
    BOOST_TEST(rig.far_end->wait_exit(30s) == 0, rig.trace());
    const auto& a = only_attempt(job);
    BOOST_TEST(a.outcome == Outcome::busy);
    BOOST_TEST((faxcore::describe(a.outcome).retry == faxcore::RetryClass::busy));
    BOOST_TEST(a.sip_status == 486);
    BOOST_TEST(a.transport.empty());
}

// A trunk with transport = "tcp": the INVITE, the 486 and our ACK go over
// one TCP connection (sipp -t t1 listens on TCP only).
BOOST_AUTO_TEST_CASE(a_tcp_trunk_signals_over_tcp) {
    Rig rig("busy.xml", {"-t", "t1"});
    rig.gateway.sip.trunks[0].tcp = true;
    auto job = rig.call_once();
    BOOST_TEST(rig.far_end->wait_exit(30s) == 0, rig.trace());
    BOOST_TEST(rig.trace().find("Via: SIP/2.0/TCP") != std::string::npos, rig.trace());
    BOOST_TEST(only_attempt(job).outcome == Outcome::busy);
    BOOST_TEST(only_attempt(job).sip_status == 486);
}

// A whole dialog over a TCP trunk: answer, our T.38 re-INVITE refused with
// 488, our BYE at the end; sipp exits 0 only if each went over its TCP
// connection in turn.
BOOST_AUTO_TEST_CASE(a_call_over_a_tcp_trunk_reinvites_and_hangs_up_over_tcp) {
    Rig rig("refuse_t38.xml", {"-t", "t1"});
    rig.gateway.sip.trunks[0].tcp = true;
    rig.gateway.sip.t38_request = true;
    rig.gateway.sip.watchdog_seconds = 5;
    auto job = rig.call_once();
    BOOST_TEST(rig.far_end->wait_exit(60s) == 0, rig.trace());
    BOOST_TEST(rig.trace().find("Via: SIP/2.0/UDP") == std::string::npos, rig.trace());
    BOOST_TEST(only_attempt(job).transport == "g711");
    BOOST_TEST(only_attempt(job).detail.find("T.38 refused (488)") != std::string::npos,
               only_attempt(job).detail);
}

BOOST_AUTO_TEST_CASE(not_found_fails_the_job_for_good) {
    Rig rig("not_found.xml");
    auto job = rig.call_once();
    BOOST_TEST(rig.far_end->wait_exit(30s) == 0, rig.trace());
    BOOST_TEST(only_attempt(job).outcome == Outcome::no_route);
    BOOST_TEST(only_attempt(job).sip_status == 404);
    BOOST_TEST(job.state == JobState::failed);
}

BOOST_AUTO_TEST_CASE(unavailable_moves_to_the_next_trunk_in_the_same_attempt) {
    Rig rig("unavailable.xml");
    // The second trunk is a real gateway that answers the number and
    // receives the fax.
    test::SipGateway second("+15551234", sip::free_loopback_sip_port());
    rig.gateway.call_through("second", std::stoi(second.sip.listen.substr(10)));
    second.start();
    auto job = rig.call_once();
    BOOST_TEST(rig.far_end->wait_exit(30s) == 0, rig.trace());
    BOOST_TEST(rig.trace().find("SIP/2.0 503") != std::string::npos, rig.trace());
    BOOST_TEST(job.state == JobState::done);
    BOOST_TEST(only_attempt(job).outcome == Outcome::ok);
    BOOST_TEST(only_attempt(job).sip_status == 200);
}

BOOST_AUTO_TEST_CASE(nobody_answers_the_call_is_cancelled) {
    Rig rig("no_answer.xml");
    auto job = rig.call_once();
    BOOST_TEST(rig.far_end->wait_exit(30s) == 0, rig.trace());
    BOOST_TEST(rig.trace().find("CANCEL sip:") != std::string::npos, rig.trace());
    BOOST_TEST(only_attempt(job).outcome == Outcome::no_answer);
}

BOOST_AUTO_TEST_CASE(a_digest_challenge_is_answered_with_the_trunk_password) {
    Rig rig("challenge.xml", {"-key", "auth_user", "fax", "-key", "auth_password", "s3cret"});
    rig.gateway.sip.trunks[0].user = "fax";
    rig.gateway.sip.trunks[0].password = "s3cret";
    auto job = rig.call_once();
    BOOST_TEST(rig.far_end->wait_exit(30s) == 0, rig.trace());
    BOOST_TEST(rig.trace().find("Authorization: Digest") != std::string::npos, rig.trace());
    BOOST_TEST(only_attempt(job).sip_status == 486);
}

BOOST_AUTO_TEST_CASE(a_wrong_trunk_password_is_refused) {
    Rig rig("challenge.xml", {"-key", "auth_user", "fax", "-key", "auth_password", "s3cret"});
    rig.gateway.sip.trunks[0].user = "fax";
    rig.gateway.sip.trunks[0].password = "wrong";
    auto job = rig.call_once();
    BOOST_TEST(rig.far_end->wait_exit(30s) != 0, rig.trace());
    BOOST_TEST(only_attempt(job).sip_status == 403);
    BOOST_TEST(only_attempt(job).outcome == Outcome::network_error);
}

// A trunk with register_with_proxy: the REGISTER answers the registrar's
// digest challenge, is refreshed before the short registration runs out,
// and is ended (expires 0) when the gateway stops.
BOOST_AUTO_TEST_CASE(registration_answers_the_challenge_refreshes_and_ends) {
    Rig rig("register.xml", {"-key", "auth_user", "fax", "-key", "auth_password", "s3cret"});
    auto& trunk = rig.gateway.sip.trunks[0];
    trunk.user = "fax";
    trunk.password = "s3cret";
    trunk.register_with_proxy = true;
    rig.gateway.start();
    auto registers = [&] {
        const std::string trace = rig.trace();
        int n = 0;
        for (auto at = trace.find("REGISTER sip:"); at != std::string::npos;
             at = trace.find("REGISTER sip:", at + 1))
            ++n;
        return n;
    };
    // The first, the one with credentials, and a refresh.
    BOOST_TEST_REQUIRE(test::eventually([&] { return registers() >= 3; }, 30s), rig.trace());
    rig.gateway.gateway.reset();  // stops: the registration ends
    BOOST_TEST(rig.far_end->wait_exit(30s) == 0, rig.trace());
    BOOST_TEST(rig.trace().find("Authorization: Digest") != std::string::npos, rig.trace());
}

// sip.caller_ids: the INVITE's From and P-Asserted-Identity carry the
// calling number of the job's sender (by domain, by glob), and a sender no
// rule names calls as the trunk does. sipp fails a call whose
// P-Asserted-Identity is not the From's number.
BOOST_AUTO_TEST_CASE(the_caller_id_is_chosen_per_sender_and_domain) {
    Rig rig("caller_id.xml", {"-m", "3"});
    auto& sip = rig.gateway.sip;
    sip.caller_id = "15550100";
    sip.caller_ids = {{"", "sales.example.org", "+15550111", "Sales"},
                      {"bob@*", "", "+15550122", ""}};
    // The test's origin is the sender itself.
    sip.sender_of = [](const faxcore::Job& job) { return job.origin; };
    rig.gateway.start();
    auto pages = test::synthetic_pages(1, render::Resolution::standard);
    for (std::string sender :
         {"alice@eu.sales.example.org", "Bob@example.com", "carol@other.net"}) {
        auto s = test::submission(rig.gateway.queue, "<" + sender + ">", pages, {"+15551234"});
        s.origin = sender;
        rig.gateway.queue.enqueue(s);
    }
    rig.gateway.gateway->run_until_idle();
    BOOST_TEST(rig.far_end->wait_exit(30s) == 0, rig.trace());
    const std::string trace = rig.trace();
    auto has = [&](const std::string& text) { return trace.find(text) != std::string::npos; };
    BOOST_TEST(has("From: \"Sales\" <sip:+15550111@"), trace);
    BOOST_TEST(has("P-Asserted-Identity: \"Sales\" <sip:+15550111@"), trace);
    // No name in the rule: the station ID.
    BOOST_TEST(has("From: \"" + sip.station_id + "\" <sip:+15550122@"), trace);
    BOOST_TEST(has("P-Asserted-Identity: \"" + sip.station_id + "\" <sip:+15550122@"), trace);
    BOOST_TEST(has("From: \"" + sip.station_id + "\" <sip:15550100@"), trace);
    for (const auto& job : rig.gateway.queue.jobs())
        BOOST_TEST(only_attempt(job).sip_status == 486);
}

BOOST_AUTO_TEST_CASE(a_refused_t38_reinvite_keeps_audio) {
    Rig rig("refuse_t38.xml");
    rig.gateway.sip.t38_request = true;
    auto job = rig.call_once();
    BOOST_TEST(rig.far_end->wait_exit(60s) == 0, rig.trace());
    BOOST_TEST(rig.trace().find("SIP/2.0 488") != std::string::npos, rig.trace());
    BOOST_TEST(only_attempt(job).transport == "g711");
    // The record says why the fax stayed on audio.
    BOOST_TEST(
        only_attempt(job).detail.find("T.38 refused (488), sent over G.711") != std::string::npos,
        only_attempt(job).detail);
    // sipp plays no fax: the call ends on our watchdog, with our BYE.
    BOOST_TEST(only_attempt(job).outcome == Outcome::watchdog);
}

// The retry ladder through real SIP: the first attempt goes over T.38 (we
// ask, the far end takes it) and fails in the fax itself (sipp sends no
// fax: our watchdog ends it). The ladder steps the number down to G.711 and
// remembers it, so the retry asks for no T.38 and stays on audio; its own
// failure steps the number on to 9600 bit/s.
BOOST_AUTO_TEST_CASE(a_failed_t38_attempt_steps_the_ladder_and_the_retry_starts_on_g711) {
    Rig rig("accept_t38.xml", {"-m", "2"});
    rig.gateway.sip.t38_request = true;
    rig.gateway.sip.watchdog_seconds = 5;
    rig.gateway.max_attempts = 2;
    auto job = rig.call_once();
    BOOST_TEST(rig.far_end->wait_exit(60s) == 0, rig.trace());
    BOOST_TEST_REQUIRE(job.attempts.size() == 2u);
    BOOST_TEST(job.attempts[0].transport == "t38");
    BOOST_TEST(job.attempts[0].outcome == Outcome::watchdog);
    BOOST_TEST(job.attempts[1].transport == "g711");
    BOOST_TEST(job.attempts[1].outcome == Outcome::watchdog);
    // Two INVITEs and one re-INVITE (to T.38, in the first call) reached sipp.
    const std::string trace = rig.trace();
    int invites = 0;
    for (auto at = trace.find("INVITE sip:"); at != std::string::npos;
         at = trace.find("INVITE sip:", at + 1))
        ++invites;
    BOOST_TEST(invites == 3, trace);
    const auto rung = rig.gateway.queue.call_options("+15551234");
    BOOST_TEST(!rung.t38);
    BOOST_TEST(rung.max_bit_rate == 9600);
    BOOST_TEST(rung.ecm);
}

// A trunk with t38 = false: no T.38 re-INVITE although the gateway would
// ask for one, and the call stays on G.711.
BOOST_AUTO_TEST_CASE(a_trunk_without_t38_keeps_its_calls_on_g711) {
    Rig rig("accept_t38.xml");
    rig.gateway.sip.trunks[0].t38 = false;
    rig.gateway.sip.t38_request = true;
    rig.gateway.sip.watchdog_seconds = 3;
    auto job = rig.call_once();
    BOOST_TEST(rig.far_end->wait_exit(30s) == 0, rig.trace());
    const std::string trace = rig.trace();
    BOOST_TEST(trace.find("INVITE sip:") == trace.rfind("INVITE sip:"), trace);
    BOOST_TEST(only_attempt(job).transport == "g711");
}

BOOST_AUTO_TEST_CASE(a_bye_from_the_far_end_is_a_hangup_retried_later) {
    Rig rig("bye_after_answer.xml", {"-d", "1000"});
    auto job = rig.call_once();
    BOOST_TEST(rig.far_end->wait_exit(30s) == 0, rig.trace());
    BOOST_TEST(only_attempt(job).outcome == Outcome::hangup);
    BOOST_TEST(only_attempt(job).first_page == 1);
    BOOST_TEST(job.state == JobState::failed);  // max_attempts is 1 in the rig
}

BOOST_AUTO_TEST_CASE(a_session_refresh_does_not_drop_the_call) {
    Rig rig("refresh.xml", {"-d", "1000"});
    auto job = rig.call_once();
    BOOST_TEST(rig.far_end->wait_exit(60s) == 0, rig.trace());
    // The call went on after the refresh until our watchdog ended it.
    BOOST_TEST(only_attempt(job).outcome == Outcome::watchdog);
}
