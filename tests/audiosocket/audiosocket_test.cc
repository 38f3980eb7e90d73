// The AudioSocket line backend against the Asterisk stand-in: a gateway on
// 127.0.0.1 whose lines are the backend, driven through the scheduler as
// faxgw run drives it, with spandsp fax terminals at the far end.
#define BOOST_TEST_MODULE audiosocket line backend
#include <faxgw/faxcore/gateway.h>
#include <faxgw/lines/audiosocket.h>

#include <boost/test/unit_test.hpp>
#include <map>
#include <optional>

#include "ami.h"
#include "asterisk_standin.h"
#include "fixture.h"
#include "sqlite_queue.h"
#include "wire.h"

using namespace faxgw;
using namespace std::chrono_literals;
using faxcore::JobState;
using faxcore::Outcome;
using faxcore::RetryClass;

namespace {

constexpr const char* gateway_did = "+15550100";

struct Rig {
    test::TempDir var, far;
    faxcore::SqliteQueue queue{var.path};
    test::AsteriskStandIn asterisk{far.path};
    audiosocket::Settings lines;
    int max_attempts = 1;
    std::vector<std::string> log;
    std::optional<faxcore::Gateway> gateway;

    Rig() {
        lines.listen = "127.0.0.1:" + std::to_string(test::free_tcp_port());
        lines.ami.port = asterisk.ami_port();
        lines.ami.user = asterisk.ami_user;
        lines.ami.secret = asterisk.ami_secret;
        lines.ami.channel = "Test/{dial}";
        lines.ami.ring_seconds = 30;
        lines.ami.caller_id = "+15550100";
        lines.dids = {gateway_did};
        lines.station_id = "FAXGW TEST";
        lines.watchdog_seconds = 30;
    }
    void start() {
        faxcore::GatewaySettings g;
        g.lines = lines.lines;
        g.dids = lines.dids;
        for (const auto& l : lines.listeners) g.dids.push_back(l.did);
        g.station_id = lines.station_id;
        g.watchdog_seconds = lines.watchdog_seconds;
        g.retry.max_attempts = max_attempts;
        gateway.emplace(
            queue, g, var.path, [this](const std::string& l) { log.push_back(l); },
            audiosocket::make_lines(lines));
    }
    // Sends `pages` to each of `numbers` and returns the jobs as they ended.
    std::vector<faxcore::Job> send(const std::vector<render::Page>& pages,
                                   std::vector<std::string> numbers) {
        if (!gateway) start();
        auto ids = queue.enqueue(test::submission(queue, "<as@x>", pages, std::move(numbers))).jobs;
        gateway->run_until_idle();
        std::vector<faxcore::Job> jobs;
        for (auto id : ids) jobs.push_back(*queue.job(id));
        return jobs;
    }
    // The stand-in's calls, once every one of them has ended.
    std::vector<test::CallRecord> ended_calls(std::size_t count) {
        asterisk.wait_until([&] {
            auto r = asterisk.records();
            return r.size() >= count &&
                   std::all_of(r.begin(), r.end(), [](const auto& c) { return c.ended; });
        });
        return asterisk.records();
    }
};

std::string attempts_of(const faxcore::Job& job) {
    std::string s;
    for (const auto& a : job.attempts)
        s += std::string(describe(a.outcome).name) + " " + a.transport + " from page " +
             std::to_string(a.first_page) + " pages " + std::to_string(a.pages_confirmed) + " (" +
             a.detail + ")\n";
    return s;
}

void check_pages(const std::filesystem::path& tiff, const std::vector<render::Page>& expected) {
    auto got = render::read_fax_tiff(tiff);
    BOOST_TEST_REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i)
        BOOST_TEST((got[i] == expected[i]), "page " << i + 1 << " differs");
}

// Asterisk took every message faxgw sent and the call never went 2 s silent.
void check_clean(const test::CallRecord& call) {
    BOOST_TEST(call.violation.empty(), call.violation);
    BOOST_TEST(call.ended_by != "silence limit");
    BOOST_TEST(call.ended_by != "protocol");
    BOOST_TEST(call.frames_received > 0);
    BOOST_TEST_MESSAGE("longest wait for faxgw's audio: " << call.longest_quiet_ms << " ms");
}

std::vector<render::Page> pages_between(const std::vector<render::Page>& all, std::size_t first,
                                        std::size_t last) {
    return {all.begin() + static_cast<std::ptrdiff_t>(first - 1),
            all.begin() + static_cast<std::ptrdiff_t>(last)};
}

}  // namespace

// OriginateResponse first, then the connection (the stand-in's default).
BOOST_AUTO_TEST_CASE(an_outbound_three_page_fax_arrives_pixel_identical) {
    Rig rig;
    auto pages = test::synthetic_pages(3, render::Resolution::fine, 3);
    auto job = rig.send(pages, {"+15551001"}).at(0);
    BOOST_TEST(job.state == JobState::done, attempts_of(job));
    BOOST_TEST_REQUIRE(job.attempts.size() == 1u);
    const auto& a = job.attempts[0];
    BOOST_TEST(a.transport == "audiosocket");
    BOOST_TEST(a.pages_confirmed == 3);
    BOOST_TEST(a.remote_csid == "STANDIN FAR END");
    BOOST_TEST(a.detail.find("OriginateResponse Reason 4") != std::string::npos, a.detail);

    auto originates = rig.asterisk.originates();
    BOOST_TEST_REQUIRE(originates.size() == 1u);
    auto& o = originates[0];
    BOOST_TEST(o["Channel"] == "Test/15551001");
    BOOST_TEST(o["Application"] == "AudioSocket");
    BOOST_TEST(o["Async"] == "true");
    BOOST_TEST(o["Timeout"] == "30000");
    BOOST_TEST(o["CallerID"] == "+15550100");
    const std::string data = o["Data"];
    const std::string uuid = data.substr(0, data.find(','));
    BOOST_TEST(data == uuid + "," + rig.lines.listen);
    BOOST_TEST(uuid.size() == 36u);
    BOOST_TEST(uuid.find_first_not_of("0123456789abcdef-") == std::string::npos, uuid);

    auto calls = rig.ended_calls(1);
    BOOST_TEST_REQUIRE(calls.size() == 1u);
    BOOST_TEST(calls[0].uuid == uuid);
    check_clean(calls[0]);
    check_pages(calls[0].received_tiff, pages);
}

// ami.caller_ids: the sender of each job picks Originate's CallerID; a
// sender no rule matches calls with ami.caller_id. The sender here is the
// submission's key (faxgw reads it from the origin mailgw wrote).
BOOST_AUTO_TEST_CASE(each_sender_calls_with_its_own_caller_id) {
    Rig rig;
    rig.lines.ami.caller_ids = {{"sales-*@example.org", "", "+15550111", ""},
                                {"", "example.com", "+15550122", "ACCOUNTS"}};
    rig.lines.ami.sender_of = [](const faxcore::Job& job) { return job.origin_key; };
    rig.start();
    auto pages = test::synthetic_pages(1, render::Resolution::standard, 5);
    const std::vector<std::pair<std::string, std::string>> sender_and_number = {
        {"SALES-7@example.org", "+15551011"},
        {"bob@eu.example.com", "+15551012"},
        {"eve@example.net", "+15551013"}};
    for (const auto& [sender, number] : sender_and_number)
        rig.queue.enqueue(test::submission(rig.queue, sender, pages, {number}));
    rig.gateway->run_until_idle();
    std::map<std::string, std::string> caller_id_of;  // channel -> CallerID
    for (auto& o : rig.asterisk.originates()) caller_id_of[o["Channel"]] = o["CallerID"];
    BOOST_TEST(caller_id_of["Test/15551011"] == "\"FAXGW TEST\" <+15550111>");
    BOOST_TEST(caller_id_of["Test/15551012"] == "\"ACCOUNTS\" <+15550122>");
    BOOST_TEST(caller_id_of["Test/15551013"] == "+15550100");
}

BOOST_AUTO_TEST_CASE(an_originate_response_after_the_connection_works) {
    Rig rig;
    rig.asterisk.plans["15551002"].response_after_connection = true;
    auto pages = test::synthetic_pages(1, render::Resolution::standard, 4);
    auto job = rig.send(pages, {"+15551002"}).at(0);
    BOOST_TEST(job.state == JobState::done, attempts_of(job));
    BOOST_TEST_REQUIRE(job.attempts.size() == 1u);
    BOOST_TEST(job.attempts[0].detail.find("OriginateResponse Reason 4") != std::string::npos,
               job.attempts[0].detail);
    auto calls = rig.ended_calls(1);
    check_clean(calls.at(0));
    check_pages(calls.at(0).received_tiff, pages);
}

BOOST_AUTO_TEST_CASE(busy_no_answer_and_congestion_become_their_retry_classes) {
    Rig rig;
    rig.asterisk.plans["15552005"].reason = 5;
    rig.asterisk.plans["15552003"].reason = 3;
    rig.asterisk.plans["15552008"].reason = 8;
    rig.asterisk.plans["15552001"].reason = 1;
    auto jobs = rig.send(test::synthetic_pages(1, render::Resolution::standard),
                         {"+15552005", "+15552003", "+15552008", "+15552001"});
    struct Expected {
        Outcome outcome;
        RetryClass retry;
        int reason;
    };
    const Expected expected[] = {{Outcome::busy, RetryClass::busy, 5},
                                 {Outcome::no_answer, RetryClass::no_answer, 3},
                                 {Outcome::network_error, RetryClass::failure, 8},
                                 {Outcome::hangup, RetryClass::failure, 1}};
    BOOST_TEST_REQUIRE(jobs.size() == 4u);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        BOOST_TEST_CONTEXT("job to " << jobs[i].number) {
            BOOST_TEST_REQUIRE(jobs[i].attempts.size() == 1u);
            const auto& a = jobs[i].attempts[0];
            BOOST_TEST(a.outcome == expected[i].outcome);
            BOOST_TEST((faxcore::describe(a.outcome).retry == expected[i].retry));
            BOOST_TEST(a.transport.empty());
            BOOST_TEST(a.pages_confirmed == 0);
            BOOST_TEST(a.detail.find("OriginateResponse Reason " +
                                     std::to_string(expected[i].reason)) != std::string::npos,
                       a.detail);
        }
    }
    BOOST_TEST(rig.asterisk.records().empty());  // nothing connected
}

// The far end closes the socket in the middle of page 2: the next attempt
// starts from page 2, the first one it had not confirmed.
BOOST_AUTO_TEST_CASE(a_far_end_closing_mid_page_resumes_from_the_first_unconfirmed_page) {
    Rig rig;
    rig.max_attempts = 2;
    auto& plan = rig.asterisk.first_call_plans["15553001"];
    plan.close_after_pages = 1;
    plan.close_ticks_later = 150;  // 3 s into page 2
    auto pages = test::synthetic_pages(3, render::Resolution::fine, 5);
    auto job = rig.send(pages, {"+15553001"}).at(0);
    BOOST_TEST(job.state == JobState::done, attempts_of(job));
    BOOST_TEST_REQUIRE(job.attempts.size() == 2u, attempts_of(job));
    BOOST_TEST(job.attempts[0].outcome == Outcome::hangup);
    BOOST_TEST(job.attempts[0].transport == "audiosocket");
    BOOST_TEST(job.attempts[0].pages_confirmed == 1);
    BOOST_TEST(job.attempts[1].first_page == 2);
    BOOST_TEST(job.attempts[1].outcome == Outcome::ok);

    auto calls = rig.ended_calls(2);
    BOOST_TEST_REQUIRE(calls.size() == 2u);
    BOOST_TEST(calls[0].ended_by == "stand-in");
    BOOST_TEST(calls[0].far_end.pages_received == 1);
    check_clean(calls[0]);
    check_clean(calls[1]);
    check_pages(calls[0].received_tiff, pages_between(pages, 1, 1));
    check_pages(calls[1].received_tiff, pages_between(pages, 2, 3));
}

// Waits (real time) until the gateway has recorded an inbound fax.
std::vector<faxcore::InboundFax> wait_for_inbound(Rig& rig) {
    rig.asterisk.wait_until([&] { return !rig.queue.undelivered_inbound().empty(); });
    return rig.queue.undelivered_inbound();
}

BOOST_AUTO_TEST_CASE(an_inbound_fax_on_a_did_listener_reaches_the_gateway) {
    Rig rig;
    const std::string listener = "127.0.0.1:" + std::to_string(test::free_tcp_port());
    rig.lines.listeners = {{listener, "+15550177"}};
    rig.start();
    auto pages = test::synthetic_pages(2, render::Resolution::fine, 6);
    rig.asterisk.call_in(listener, test::write_document(rig.far.path, "in.tif", pages));
    auto in = wait_for_inbound(rig);
    BOOST_TEST_REQUIRE(in.size() == 1u);
    BOOST_TEST(in[0].did == "+15550177");
    BOOST_TEST(in[0].pages == 2);
    BOOST_TEST(in[0].complete);
    BOOST_TEST(in[0].remote_csid == "STANDIN CALLER");
    check_pages(in[0].tiff, pages);
    auto calls = rig.ended_calls(1);
    check_clean(calls.at(0));
    BOOST_TEST(calls.at(0).far_end.pages_confirmed == 2);
}

// The dialplan names the DID (and caller) with a UserEvent before it runs
// AudioSocket() against the main listener.
BOOST_AUTO_TEST_CASE(an_inbound_call_mapped_by_a_user_event_gets_its_did) {
    Rig rig;
    rig.start();
    BOOST_TEST_REQUIRE(rig.asterisk.wait_until([&] { return rig.asterisk.logged_in(); }, 10s));
    auto pages = test::synthetic_pages(1, render::Resolution::standard, 7);
    rig.asterisk.call_in(rig.lines.listen, test::write_document(rig.far.path, "mapped.tif", pages),
                         "+15550188");
    auto in = wait_for_inbound(rig);
    BOOST_TEST_REQUIRE(in.size() == 1u);
    BOOST_TEST(in[0].did == "+15550188");
    BOOST_TEST(in[0].caller == "+15559876");
    check_pages(in[0].tiff, pages);
}

// A second of the far end's audio at once, and two pauses of 1.5 s in it.
BOOST_AUTO_TEST_CASE(a_burst_and_silence_gaps_from_the_far_end_do_not_break_the_call) {
    Rig rig;
    auto& plan = rig.asterisk.plans["15554001"];
    plan.burst_at_tick = 100;
    plan.burst_frames = 50;
    plan.gaps_at_ticks = {300, 900};
    plan.gap = 1500ms;
    auto pages = test::synthetic_pages(2, render::Resolution::fine, 8);
    auto job = rig.send(pages, {"+15554001"}).at(0);
    BOOST_TEST(job.state == JobState::done, attempts_of(job));
    BOOST_TEST(job.attempts.size() == 1u, attempts_of(job));
    auto calls = rig.ended_calls(1);
    check_clean(calls.at(0));
    BOOST_TEST(calls.at(0).bursts == 1);
    BOOST_TEST(calls.at(0).gaps == 2);
    // Not a pass/fail check (it depends on timers on a busy machine): how
    // often faxgw kept the call alive with silence while the far end paused.
    BOOST_TEST_MESSAGE("keepalive frames in the gaps: " << calls.at(0).frames_received_in_gaps);
    check_pages(calls.at(0).received_tiff, pages);
}

// The stand-in itself: against a server that answers with a hangup
// message or stays silent, it closes as Asterisk would.
BOOST_AUTO_TEST_CASE(the_stand_in_refuses_non_audio_messages_and_silence) {
    test::TempDir far;
    test::AsteriskStandIn asterisk{far.path};
    test::asio::io_context io;
    test::tcp::acceptor server(io, {test::asio::ip::make_address("127.0.0.1"), 0});
    const std::string address = "127.0.0.1:" + std::to_string(server.local_endpoint().port());
    auto tiff = test::write_document(far.path, "x.tif",
                                     test::synthetic_pages(1, render::Resolution::standard));

    asterisk.call_in(address, tiff);
    test::tcp::socket silent(io);
    server.accept(silent);  // and never a word
    asterisk.call_in(address, tiff);
    test::tcp::socket hangup(io);
    server.accept(hangup);
    const std::uint8_t hangup_message[] = {0x00, 0x00, 0x00};
    test::asio::write(hangup, test::asio::buffer(hangup_message));

    asterisk.wait_until([&] {
        auto r = asterisk.records();
        return r.size() == 2 && r[0].ended && r[1].ended;
    });
    auto calls = asterisk.records();
    BOOST_TEST_REQUIRE(calls.size() == 2u);
    BOOST_TEST(calls[0].ended_by == "silence limit");
    BOOST_TEST(calls[1].ended_by == "protocol");
    BOOST_TEST(calls[1].violation == "message kind 0 length 0");
}

BOOST_AUTO_TEST_CASE(an_originate_refused_by_asterisk_is_a_network_error) {
    Rig rig;
    rig.asterisk.refuse_originates = true;
    auto job =
        rig.send(test::synthetic_pages(1, render::Resolution::standard), {"+15555001"}).at(0);
    BOOST_TEST_REQUIRE(job.attempts.size() == 1u);
    BOOST_TEST(job.attempts[0].outcome == Outcome::network_error);
    BOOST_TEST(
        job.attempts[0].detail.find("Originate refused: Permission denied") != std::string::npos,
        job.attempts[0].detail);
}

// TCP may cut a stream anywhere: fed a byte at a time, both readers still
// find every message.
BOOST_AUTO_TEST_CASE(audiosocket_and_ami_messages_survive_any_split) {
    std::string stream = audiosocket::audio_message(std::vector<std::int16_t>(160, -2));
    stream.insert(0, std::string{char(0x01), char(0x00), char(0x10)} + std::string(16, 'u'));
    stream += std::string{char(0x03), char(0x00), char(0x01), '5'};
    audiosocket::MessageReader reader;
    std::vector<audiosocket::Message> messages;
    for (char ch : stream) {
        const auto byte = static_cast<std::uint8_t>(ch);
        for (auto& m : reader.feed({&byte, 1})) messages.push_back(std::move(m));
    }
    BOOST_TEST_REQUIRE(messages.size() == 3u);
    BOOST_TEST(messages[0].kind == audiosocket::kind_uuid);
    BOOST_TEST(messages[1].kind == audiosocket::kind_audio);
    BOOST_TEST_REQUIRE(messages[1].payload.size() == 320u);
    BOOST_TEST(messages[1].payload[0] == 0xfe);  // -2, little-endian
    BOOST_TEST(messages[1].payload[1] == 0xff);
    BOOST_TEST(messages[2].kind == audiosocket::kind_dtmf);

    const std::string ami =
        "Asterisk Call Manager/9.0.0\r\nResponse: Success\r\nActionID: 1\r\n\r\n"
        "Event: OriginateResponse\nReason: 5\n\n";
    audiosocket::AmiParser parser;
    std::vector<audiosocket::AmiMessage> ami_messages;
    for (char ch : ami)
        for (auto& m : parser.feed(std::string_view(&ch, 1))) ami_messages.push_back(m);
    BOOST_TEST_REQUIRE(ami_messages.size() == 2u);
    BOOST_TEST(ami_messages[0].get("actionid") == "1");
    BOOST_TEST(ami_messages[1].get("Reason") == "5");
}
