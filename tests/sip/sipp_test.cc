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
    test::SipGateway gateway{"+15550100", test::free_udp_port()};
    std::optional<test::Sipp> far_end;

    Rig(const std::string& scenario, std::vector<std::string> sipp_args = {}) {
        far_end.emplace(test::sipp_scenario(scenario), test::free_udp_port(), std::move(sipp_args));
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
    test::SipGateway second("+15551234", test::free_udp_port());
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

BOOST_AUTO_TEST_CASE(a_refused_t38_reinvite_keeps_audio) {
    Rig rig("refuse_t38.xml");
    rig.gateway.sip.t38_request = true;
    auto job = rig.call_once();
    BOOST_TEST(rig.far_end->wait_exit(60s) == 0, rig.trace());
    BOOST_TEST(rig.trace().find("SIP/2.0 488") != std::string::npos, rig.trace());
    BOOST_TEST(only_attempt(job).transport == "g711");
    // sipp plays no fax: the call ends on our watchdog, with our BYE.
    BOOST_TEST(only_attempt(job).outcome == Outcome::watchdog);
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
