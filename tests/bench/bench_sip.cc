// Benchmark: how many concurrent SIP fax calls one core carries in real
// time. Two gateways in this process call each other on 127.0.0.1 (every
// call is SIP + RTP or UDPTL + a spandsp T.30 party at each end), pinned to
// one CPU, for N simultaneous 1-page faxes over T.38 and then over G.711.
// Prints CPU seconds per call-second (both ends together), the calls one
// core would carry at that rate, ticks that ran late, lost packets, audio
// underruns (slots played as silence because their frame came later than
// the playout delay), the worst tick lateness and failed faxes. Not a test:
// nothing here passes or fails.
//
// Where the limit comes from (2-core x86-64, Debian 12; both gateways'
// SIP threads, line threads and SQLite on one core): not the CPU, which
// runs at 1.5 ms per G.711 call-second and 0.75 ms per T.38 call-second
// (both ends), so 650 and 1,300 calls a core. Every call here starts at the
// same moment, so call set-ups and page ends come in bursts, and the SIP
// thread, busy with a burst, runs its ticks up to 300 ms late at 200 calls.
// T.38 carries that (its packets are not a waveform); G.711 does as long as
// the lateness stays within the playout delay (sip.playout_delay_ms, 200 ms):
// at 120 ms, 198 of 200 G.711 calls got through, at 200 ms all of them.
// Before the playout delay (libre's jitter buffer alone, which keeps one
// frame of slack) 21 of 100 failed.
//
// With --loss, what packet loss each medium survives instead: 10 calls at a
// time through lossy, jittery relays (20 ms) on both directions of media.
//
//   faxgw-bench-sip [calls...]      (default: 50 100 200)
//   faxgw-bench-sip --loss
#include <faxgw/faxcore/gateway.h>
#include <faxgw/lines/sip.h>
#include <sched.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fixture.h"
#include "lossy_relay.h"
#include "sqlite_queue.h"

using namespace faxgw;

namespace {

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// One DID per call: the scheduler never calls one number twice at once.
std::string number(int i) { return "+1555" + std::to_string(1000000 + i); }

sip::Settings side(int sip_port, int first_media_port, int calls) {
    sip::Settings s;
    s.listen = "127.0.0.1:" + std::to_string(sip_port);
    s.media_port_min = first_media_port;
    s.media_port_max = first_media_port + 4 * calls + 100;
    s.lines = calls;
    for (int i = 0; i < calls; ++i) s.dids.push_back(number(i));
    s.watchdog_seconds = 60;
    s.ring_seconds = 30;
    return s;
}

struct Result {
    int done = 0, failed = 0;
    double wall = 0, cpu = 0, call_seconds = 0;
    sip::MediaTotals caller, answerer;
    std::map<std::string, int> why_failed;  // outcome (T.30 text) -> count
};

Result run(int calls, bool t38, const std::vector<render::Page>& page, double loss = -1) {
    test::TempDir caller_dir, answerer_dir;
    faxcore::SqliteQueue caller_queue(caller_dir.path), answerer_queue(answerer_dir.path);
    const int base = 20000 + (t38 ? 0 : 10000);
    auto answerer_settings = side(15090, base, calls);
    answerer_settings.t38_request = t38;
    answerer_settings.t38 = t38;
    auto caller_settings = side(15092, base + 5000, calls);
    caller_settings.t38 = t38;
    caller_settings.trunks = {{"answerer", answerer_settings.listen, "", "", "", false, 600, {}}};

    // Media through relays: each side advertises another loopback address,
    // where a relay drops `loss` of the packets and forwards the rest.
    std::optional<test::LossyRelay> to_answerer, to_caller;
    if (loss >= 0) {
        answerer_settings.media_address = "127.0.0.2";
        caller_settings.media_address = "127.0.0.3";
        to_answerer.emplace("127.0.0.2", "127.0.0.1", answerer_settings.media_port_min,
                            answerer_settings.media_port_max, loss, 20, 1);
        to_caller.emplace("127.0.0.3", "127.0.0.1", caller_settings.media_port_min,
                          caller_settings.media_port_max, loss, 20, 2);
    }
    faxcore::GatewaySettings g;
    g.lines = calls;
    g.dids = answerer_settings.dids;
    g.retry.max_attempts = 1;
    auto answerer_lines = sip::make_lines(answerer_settings);
    auto caller_lines = sip::make_lines(caller_settings);
    auto* answerer_backend = answerer_lines.get();
    auto* caller_backend = caller_lines.get();
    faxcore::Gateway answerer(answerer_queue, g, answerer_dir.path, {}, std::move(answerer_lines));
    faxcore::Gateway caller(caller_queue, g, caller_dir.path, {}, std::move(caller_lines));

    for (int i = 0; i < calls; ++i)
        caller_queue.enqueue(
            test::submission(caller_queue, "<b" + std::to_string(i) + "@x>", page, {number(i)}));
    Result r;
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    caller.run_until_idle();
    r.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.cpu = cpu_seconds() - cpu0;
    for (const auto& j : caller_queue.jobs()) {
        (j.state == faxcore::JobState::done ? r.done : r.failed)++;
        if (j.state != faxcore::JobState::done && !j.attempts.empty()) {
            const auto& a = j.attempts.back();
            r.why_failed[std::string(faxcore::describe(a.outcome).name) + " (" + a.t30_text +
                         ")"]++;
        }
        for (const auto& a : j.attempts) r.call_seconds += a.line_seconds;
    }
    r.caller = sip::media_totals(*caller_backend);
    r.answerer = sip::media_totals(*answerer_backend);
    return r;
}

}  // namespace

int loss_survival(const std::vector<render::Page>& page) {
    std::printf("%-6s %8s %6s %6s   (10 one-page calls each, 20 ms jitter both ways)\n", "medium",
                "loss %", "done", "failed");
    const std::vector<std::pair<bool, double>> runs = {
        {false, 0},    {false, 0.001}, {false, 0.005}, {false, 0.01},
        {false, 0.02}, {true, 0.05},   {true, 0.10},   {true, 0.20}};
    for (auto [t38, loss] : runs) {
        auto r = run(10, t38, page, loss);
        std::printf("%-6s %8.1f %6d %6d\n", t38 ? "t38" : "g711", loss * 100, r.done, r.failed);
        std::fflush(stdout);
    }
    return 0;
}

int main(int argc, char** argv) {
    auto page = test::synthetic_pages(1, render::Resolution::standard);
    if (argc > 1 && std::string(argv[1]) == "--loss") return loss_survival(page);
    std::vector<int> counts;
    for (int i = 1; i < argc; ++i) counts.push_back(std::atoi(argv[i]));
    if (counts.empty()) counts = {50, 100, 200};
    // One core for everything: both gateways' SIP threads, their line
    // threads and SQLite.
    cpu_set_t one{};
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    sched_setaffinity(0, sizeof one, &one);
    rlimit files{65536, 65536};
    setrlimit(RLIMIT_NOFILE, &files);

    std::printf("%-6s %6s %6s %6s %8s %8s %12s %12s %10s %10s\n", "medium", "calls", "done",
                "failed", "wall s", "CPU s", "CPU ms/call-s", "calls/core", "late ticks",
                "lost pkts");
    for (bool t38 : {true, false})
        for (int n : counts) {
            auto r = run(n, t38, page);
            const double per_call_second = r.call_seconds > 0 ? r.cpu / r.call_seconds : 0;
            const long late = r.caller.late_ticks + r.answerer.late_ticks;
            const long lost = r.caller.rtp_lost + r.answerer.rtp_lost + r.caller.udptl_lost +
                              r.answerer.udptl_lost;
            std::printf("%-6s %6d %6d %6d %8.1f %8.2f %12.3f %12.0f %10ld %10ld\n",
                        t38 ? "t38" : "g711", n, r.done, r.failed, r.wall, r.cpu,
                        per_call_second * 1000, per_call_second > 0 ? 1 / per_call_second : 0, late,
                        lost);
            std::printf("         underruns %ld, late RTP %ld, worst tick lateness %ld ms\n",
                        r.caller.audio_underruns + r.answerer.audio_underruns,
                        r.caller.rtp_late + r.answerer.rtp_late,
                        std::max(r.caller.worst_lateness_ms, r.answerer.worst_lateness_ms));
            for (const auto& [why, count] : r.why_failed)
                std::printf("         %d failed: %s\n", count, why.c_str());
            std::fflush(stdout);
        }
    std::printf(
        "CPU ms/call-s counts both ends of each call (caller and answerer);\n"
        "calls/core = call-seconds one CPU-second carries at that rate.\n");
}
