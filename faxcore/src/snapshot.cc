// The queue's numbers at one moment: see faxgw/faxcore/snapshot.h.
#include <faxgw/faxcore/snapshot.h>

#include "sqlite_queue.h"

namespace faxgw::faxcore {

QueueSnapshot SqliteQueue::snapshot(std::int64_t now) {
    std::lock_guard lock(mutex_);
    QueueSnapshot s;
    s.taken_at = now;
    for (auto st : {JobState::queued, JobState::held, JobState::sending, JobState::retry_wait,
                    JobState::done, JobState::failed, JobState::cancelled})
        s.jobs_by_state[st] = 0;
    for (int o = 0; o <= static_cast<int>(Outcome::network_error); ++o)
        s.attempts_by_outcome[static_cast<Outcome>(o)] = 0;
    // One read transaction: the numbers are of one moment.
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::DEFERRED);
    SQLite::Statement states(db_, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
    while (states.executeStep())
        for (auto& [st, n] : s.jobs_by_state)
            if (to_string(st) == states.getColumn(0).getString())
                n = states.getColumn(1).getInt64();
    s.jobs_sending = s.jobs_by_state[JobState::sending];
    SQLite::Statement outcomes(db_,
                               "SELECT outcome, COUNT(*), SUM(pages_confirmed), SUM(line_seconds) "
                               "FROM attempts GROUP BY outcome");
    while (outcomes.executeStep()) {
        const auto o =
            parse_outcome(outcomes.getColumn(0).getString()).value_or(Outcome::interrupted);
        s.attempts_by_outcome[o] += outcomes.getColumn(1).getInt64();
        s.pages_sent += outcomes.getColumn(2).getInt64();
        s.line_seconds_sent += outcomes.getColumn(3).getDouble();
    }
    SQLite::Statement inbound(db_,
                              "SELECT COUNT(*), COALESCE(SUM(pages), 0), "
                              "COALESCE(SUM(line_seconds), 0), "
                              "COALESCE(SUM(delivered_to IS NULL), 0) FROM inbound");
    if (inbound.executeStep()) {
        s.faxes_received = inbound.getColumn(0).getInt64();
        s.pages_received = inbound.getColumn(1).getInt64();
        s.line_seconds_received = inbound.getColumn(2).getDouble();
        s.inbound_undelivered = inbound.getColumn(3).getInt64();
    }
    constexpr const char* due = "state IN ('queued', 'retry-wait') AND next_attempt_at <= ?";
    SQLite::Statement count_due(db_, std::string("SELECT COUNT(*) FROM jobs WHERE ") + due);
    count_due.bind(1, now);
    if (count_due.executeStep()) s.jobs_due = count_due.getColumn(0).getInt64();
    SQLite::Statement oldest(db_, std::string("SELECT id, created_at, next_attempt_at FROM jobs "
                                              "WHERE ") +
                                      due + " ORDER BY created_at, id LIMIT 1");
    oldest.bind(1, now);
    if (oldest.executeStep()) {
        QueueSnapshot::OldestDue o;
        o.job = oldest.getColumn(0).getInt64();
        o.submitted_at = oldest.getColumn(1).getInt64();
        o.due_since = oldest.getColumn(2).getInt64();
        o.age_seconds = now - o.submitted_at;
        s.oldest_due = o;
    }
    SQLite::Statement renders(db_,
                              "SELECT COUNT(*), COALESCE(SUM(render_seconds), 0) FROM batches "
                              "WHERE render_seconds > 0");
    if (renders.executeStep()) {
        s.renders = renders.getColumn(0).getInt64();
        s.render_seconds = renders.getColumn(1).getDouble();
    }
    SQLite::Statement within(db_,
                             "SELECT COUNT(*) FROM batches WHERE render_seconds > 0 AND "
                             "render_seconds <= ?");
    for (double bound : render_buckets) {
        within.bind(1, bound);
        s.renders_within.push_back(within.executeStep() ? within.getColumn(0).getInt64() : 0);
        within.reset();
    }
    return s;  // the read transaction ends unchanged (rolled back)
}

QueueSnapshot take_snapshot(Queue& queue, std::int64_t now) {
    try {
        return dynamic_cast<SqliteQueue&>(queue).snapshot(now);
    } catch (const SQLite::Exception& e) {
        if (is_busy(e)) throw TemporaryError(std::string("queue is busy: ") + e.what());
        throw;
    }
}

}  // namespace faxgw::faxcore
