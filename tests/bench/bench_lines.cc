// Benchmark: how well the scheduler keeps lines busy, and what a call costs.
// 8 simulated lines, 200 jobs of 1 to 10 pages, one in ten to a busy number.
// Prints the makespan in line seconds beside its lower bound (total line
// seconds of all calls / lines) and the CPU seconds spent per line second.
// Every call is a real spandsp T.30 session; the clock is simulated.
#include <faxgw/faxcore/gateway.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "fixture.h"

using namespace faxgw;

int main(int argc, char** argv) {
    const int lines = 8, job_count = argc > 1 ? std::atoi(argv[1]) : 200;
    test::TempDir dir;
    auto queue = faxcore::Queue::open(dir.path);

    faxcore::GatewaySettings settings;
    settings.lines = lines;
    settings.retry.max_attempts = 3;
    for (int n = 0; n < 20; ++n)
        settings.sim.numbers.push_back(
            {"+1555200" + std::to_string(10 + n), faxcore::SimBehaviour::receive, 0, "R"});
    settings.sim.numbers.push_back({"+15553000", faxcore::SimBehaviour::busy, 0, ""});

    std::vector<std::vector<render::Page>> documents;
    for (int pages = 1; pages <= 10; ++pages)
        documents.push_back(test::synthetic_pages(pages, render::Resolution::fine, pages));
    int total_pages = 0;
    for (int i = 0; i < job_count; ++i) {
        const auto& doc = documents[(i * 7) % documents.size()];
        std::string number = i % 10 == 9 ? "+15553000" : "+1555200" + std::to_string(10 + i % 20);
        queue->enqueue(
            test::submission(*queue, "<bench" + std::to_string(i) + "@x>", doc, {number}));
        total_pages += static_cast<int>(doc.size());
    }

    faxcore::Gateway gateway(*queue, settings, dir.path, {});
    auto wall_start = std::chrono::steady_clock::now();
    auto stats = gateway.run_until_idle();
    double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

    // No schedule beats the busiest line share, nor a job's own chain of
    // calls and retry waits (a busy number's job waits 180 s, then 360 s...).
    int done = 0, failed = 0;
    double longest_chain = 0;
    for (const auto& j : queue->jobs()) {
        (j.state == faxcore::JobState::done ? done : failed)++;
        double chain = 0;
        for (std::size_t k = 0; k < j.attempts.size(); ++k) {
            chain += j.attempts[k].line_seconds;
            if (k + 1 < j.attempts.size())
                chain += std::min<double>(
                    settings.retry.busy_delay * std::pow(settings.retry.backoff, k),
                    settings.retry.max_delay);
        }
        longest_chain = std::max(longest_chain, chain);
    }
    double bound = std::max(stats.line_seconds / lines, longest_chain);
    std::printf(
        "faxgw scheduler benchmark: %d lines, %d jobs (%d pages), 1 in 10 to a busy number\n",
        lines, job_count, total_pages);
    std::printf("  jobs done / failed          %d / %d (%d calls)\n", done, failed, stats.calls);
    std::printf("  total line time             %.0f line-s\n", stats.line_seconds);
    std::printf("  makespan                    %.0f line-s\n", stats.makespan_seconds);
    std::printf("  total line time / lines     %.0f line-s\n", stats.line_seconds / lines);
    std::printf("  longest job chain           %.0f line-s (its calls plus its retry waits)\n",
                longest_chain);
    std::printf("  lower bound (the larger)    %.0f line-s  -> makespan is %.2f x the bound\n",
                bound, stats.makespan_seconds / bound);
    std::printf("  CPU                         %.2f s (%.2f ms per line second), wall %.2f s\n",
                stats.cpu_seconds, 1000 * stats.cpu_seconds / stats.line_seconds, wall);
    std::printf("  speed                       %.0f x real time on %d lines\n",
                stats.line_seconds / wall, lines);
    return 0;
}
