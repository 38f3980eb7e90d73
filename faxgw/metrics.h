// The HTTP endpoint of `faxgw run` (metrics.listen, off by default):
//   /metrics  the gateway's figures in Prometheus' text format (0.0.4);
//   /health   200 while the scheduler goes round, 503 when it has stalled.
// cpp-httplib serves it on threads of its own; each scrape reads the queue
// afresh, so the figures are the database's, not a copy that could drift.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace faxgw {

// What one scrape reports. Counters come from the job table, so they
// survive a restart; purging old jobs lowers them, which Prometheus reads
// as a counter reset.
struct MetricsFigures {
    std::map<std::string, std::int64_t> jobs_by_state;        // "queued", "done", ...
    std::map<std::string, std::int64_t> attempts_by_outcome;  // "ok", "busy", ...
    std::int64_t pages_sent = 0;                              // confirmed by the far ends
    std::int64_t pages_received = 0;
    double line_seconds = 0;  // line time of every attempt
    int lines = 0;
    int lines_busy = 0;
    std::int64_t jobs_due = 0;
    double oldest_due_age_seconds = 0;                    // 0 when nothing is due
    std::map<std::string, std::int64_t> outbox_by_state;  // "queued", "sent", "failed"
};

// The exposition text: HELP and TYPE for every metric, then its samples.
std::string prometheus_text(const MetricsFigures& figures);

struct Health {
    bool ok = false;
    std::string text;  // one line: why, for a person reading it
};

class MetricsEndpoint {
public:
    // Binds host:port at once (throws std::runtime_error naming the address
    // when it cannot) and serves until destroyed.
    MetricsEndpoint(const std::string& host, int port, std::function<MetricsFigures()> figures,
                    std::function<Health()> health);
    ~MetricsEndpoint();
    MetricsEndpoint(const MetricsEndpoint&) = delete;
    MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace faxgw
