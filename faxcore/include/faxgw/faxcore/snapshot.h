// The numbers of the queue at one moment, for `faxgw status` and the
// metrics endpoint: read in one read transaction, so they agree with each
// other. Counts are over the rows the database holds: retention
// (retention.h) deletes old rows, so a total may go down after a purge
// (for Prometheus, a counter reset).
#pragma once

#include <faxgw/faxcore.h>

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace faxgw::faxcore {

struct QueueSnapshot {
    std::int64_t taken_at = 0;  // unix seconds
    // Every state and every outcome is present, with 0 when none.
    std::map<JobState, std::int64_t> jobs_by_state;
    std::map<Outcome, std::int64_t> attempts_by_outcome;  // an attempt in progress: interrupted
    std::int64_t pages_sent = 0;      // pages the far ends confirmed, over all attempts
    std::int64_t pages_received = 0;  // pages of received faxes
    std::int64_t faxes_received = 0;
    double line_seconds_sent = 0;  // line time of outgoing calls
    double line_seconds_received = 0;
    // Jobs in a call now: the lines busy with outgoing faxes (an incoming
    // call holds a line too, but is in the database only once received).
    std::int64_t jobs_sending = 0;
    // Queued or waiting for a retry, and due (next try at or before now).
    std::int64_t jobs_due = 0;
    struct OldestDue {
        std::int64_t job = 0;
        std::int64_t submitted_at = 0;
        std::int64_t due_since = 0;    // its next try time
        std::int64_t age_seconds = 0;  // taken_at - submitted_at: how long it is in the queue
    };
    std::optional<OldestDue> oldest_due;   // the due job submitted first
    std::int64_t inbound_undelivered = 0;  // received faxes not yet handed to mail
    // How long the batches' documents took to render: how many took at
    // most each bound of render_buckets (cumulative, as a Prometheus
    // histogram counts), how many were measured, and their sum in seconds.
    std::vector<std::int64_t> renders_within;  // one per render_buckets entry
    std::int64_t renders = 0;
    double render_seconds = 0;
};

// The upper bounds of the render time histogram, in seconds.
inline const std::vector<double> render_buckets = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

// Reads the snapshot; works on a read-only queue.
QueueSnapshot take_snapshot(Queue& queue, std::int64_t now);

}  // namespace faxgw::faxcore
