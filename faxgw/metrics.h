// The HTTP endpoint of `faxgw run` (metrics.listen, off by default):
//   /metrics  the gateway's figures in Prometheus' text format (0.0.4);
//   /health   200 while the scheduler goes round, 503 when it has stalled.
// cpp-httplib serves it on threads of its own; each scrape reads the queue
// afresh, so the figures are the database's, not a copy that could drift.
#pragma once

#include <faxgw/outbox.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace faxgw {

// What one scrape reports: the database's figures (counters over the rows
// it holds, so a purge lowers them, which Prometheus reads as a counter
// reset) and the lines as the running gateway sees them.
struct MetricsFigures {
    mailgw::GatewaySnapshot snapshot;
    int lines = 0;
    int lines_busy = 0;  // outgoing and incoming calls
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
