// The SQLite queue behind faxcore::Queue, with the calls only the scheduler
// makes. One connection per process, guarded by a mutex because line threads
// record page progress while the scheduler thread reads due jobs.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>
#include <SQLiteCpp/VariadicBind.h>
#include <faxgw/faxcore.h>
#include <faxgw/faxcore/retention.h>
#include <faxgw/faxcore/snapshot.h>

#include <mutex>
#include <set>

namespace faxgw::faxcore {

class SqliteQueue final : public Queue {
public:
    explicit SqliteQueue(const std::filesystem::path& var_dir, Access access = Access::read_write);

    EnqueueResult enqueue(const Submission& s) override;
    std::optional<BatchDocument> find_batch(const std::string& origin_key) override;
    bool cancel(std::int64_t job) override;
    bool release(std::int64_t job) override;
    bool retry(std::int64_t job) override;
    void check_quotas(const std::vector<Quota>& quotas, int new_jobs, int pages_per_job) override;
    std::optional<Job> job(std::int64_t id) override;
    std::vector<Job> jobs() override;
    std::vector<Job> find_jobs(const JobFilter& filter) override;
    std::vector<Report> pending_reports() override;
    void mark_reported(const std::string& batch, ReportKind kind) override;
    std::vector<InboundFax> undelivered_inbound() override;
    void mark_inbound_delivered(std::int64_t id, const std::string& where) override;
    std::filesystem::path scratch_dir() const override { return var_ / "spool" / "tmp"; }

    // --- for the scheduler ---
    // Jobs due at `now`, oldest due first, without their attempts.
    std::vector<Job> due_jobs(std::int64_t now, int limit);
    // When the next waiting job becomes due, if any job is waiting.
    std::optional<std::int64_t> next_due_time();
    // Marks the job sending and records an attempt that reads "interrupted"
    // until finish_attempt() overwrites it: a crash leaves the truth behind.
    // Returns the attempt's number, or nothing when the job is no longer
    // queued or waiting for a retry (cancelled since due_jobs() read it).
    std::optional<int> start_attempt(std::int64_t job, const std::string& line, std::int64_t now);
    // Records durably that the far end confirmed pages up to `pages_confirmed`
    // (of the whole document), so a retry starts after them.
    void record_progress(std::int64_t job, int attempt, int pages_confirmed);
    void finish_attempt(std::int64_t job, const Attempt& attempt, JobState next,
                        std::int64_t next_attempt_at, const std::string& reason);
    // At start-up: jobs left "sending" by a dead process go back to the queue.
    int recover_interrupted();
    std::int64_t add_inbound(const InboundFax& fax);
    // The options calls to `number` start from (defaults when none yet),
    // and the rung to start from next time.
    CallOptions call_options(const std::string& number);
    void remember_call_options(const std::string& number, const CallOptions& options,
                               std::int64_t now);
    // Removes what crashed or killed processes left behind, and returns how
    // many files it removed: spool documents and received faxes that no
    // committed row names, last written more than `document_grace` seconds
    // ago (younger ones may belong to an enqueue about to commit), and
    // scratch files older than `scratch_age` (a live `faxgw submit` may
    // still be rendering into younger ones).
    int sweep_spool(std::int64_t now, std::int64_t document_grace, std::int64_t scratch_age);
    std::filesystem::path inbound_dir() const { return var_ / "spool" / "in"; }

    // --- retention.cc and snapshot.cc ---
    PurgeReport purge(const RetentionSettings& settings, std::int64_t now, bool dry_run,
                      const std::set<std::int64_t>& inbound_in_transit);
    QueueSnapshot snapshot(std::int64_t now);

    struct Opening {
        std::string file;
        int flags;
        Access access;
    };

private:
    SqliteQueue(const std::filesystem::path& var_dir, const Opening& how);
    std::vector<Job> select_jobs(const std::string& where, std::int64_t arg, int limit,
                                 bool with_attempts = true);
    void load_attempts(Job& job);
    void create_schema_once();
    void check_schema_readable();
    std::optional<BatchDocument> select_batch(const std::string& origin_key);
    // The batch of s.origin_key, and whether it is new (its documents are
    // still to be moved into the spool).
    std::pair<BatchDocument, bool> batch_for(const Submission& s, std::int64_t now);
    void charge_quotas(const Submission& s, int pages, int new_jobs, std::int64_t now);
    void check_quota(const Quota& quota, int pages_per_job, int new_jobs, std::int64_t now);
    // Records the spool paths of new job `job`'s own document
    // and adds the moves that put it there to `moves`.
    void spool_own_document(
        const std::string& batch, std::int64_t job, const OwnDocument& d,
        std::vector<std::pair<std::filesystem::path, std::filesystem::path>>& moves);

    std::filesystem::path var_;
    std::mutex mutex_;
    SQLite::Database db_;
};

// Whether an SQLite error is temporary: the database is locked by another
// process, or the disk is full or failing. Anything else (corrupt file,
// wrong schema) will not go away by waiting.
bool is_busy(const SQLite::Exception& e);

}  // namespace faxgw::faxcore
