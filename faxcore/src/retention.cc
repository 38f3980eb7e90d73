// The purge: see faxgw/faxcore/retention.h for what goes and when.
#include <faxgw/faxcore/retention.h>

#include <limits>

#include "sqlite_queue.h"

namespace faxgw::faxcore {
namespace {

constexpr std::int64_t day = 86400;

// Things ended at or before the cut-off may go; 0 days keeps them forever.
std::int64_t cut_off(std::int64_t now, int days) {
    return days > 0 ? now - days * day : std::numeric_limits<std::int64_t>::min();
}

// When a job ended: next_attempt_at for an ended job (faxcore.h), never
// before it was created (a job cancelled by an older faxgw kept 0 there).
constexpr const char* ended_at = "MAX(j.next_attempt_at, j.created_at)";

// Batches whose jobs have all ended, reported, and each ended before its
// state's cut-off (?1 done, ?2 failed and cancelled). `more` narrows it.
std::vector<std::string> expired_batches(SQLite::Database& db, std::int64_t done_cut,
                                         std::int64_t failed_cut, const std::string& more) {
    SQLite::Statement q(db, std::string(R"sql(
        SELECT b.id FROM batches b JOIN jobs j ON j.batch = b.id
        WHERE b.final_reported = 1 )sql") +
                                more + R"sql(
        GROUP BY b.id
        HAVING SUM(j.state NOT IN ('done', 'failed', 'cancelled')) = 0
           AND SUM(CASE WHEN j.state = 'done' THEN )sql" +
                                ended_at + R"sql( > ?1
                        ELSE )sql" +
                                ended_at + R"sql( > ?2 END) = 0
        ORDER BY b.id)sql");
    q.bind(1, done_cut);
    q.bind(2, failed_cut);
    std::vector<std::string> out;
    while (q.executeStep()) out.push_back(q.getColumn(0).getString());
    return out;
}

// The spool files batch `id` names: its documents and its jobs' own, in
// `docs`. By file name: rows hold the path as the enqueuing process spelt
// its state folder ("var", "./var", an absolute path...).
void add_batch_files(SQLite::Database& db, const std::string& id, const std::filesystem::path& docs,
                     std::vector<std::filesystem::path>& files) {
    SQLite::Statement q(db, R"sql(
        SELECT document FROM batches WHERE id = ?1 UNION SELECT narrow_document FROM batches
        WHERE id = ?1 UNION SELECT document FROM jobs WHERE batch = ?1
        UNION SELECT narrow_document FROM jobs WHERE batch = ?1)sql");
    q.bind(1, id);
    while (q.executeStep())
        if (auto f = q.getColumn(0).getString(); !f.empty())
            files.push_back(docs / std::filesystem::path(f).filename());
    // The T.30 traces of its failed calls go with the documents.
    SQLite::Statement attempts(
        db, "SELECT a.job, a.number FROM attempts a JOIN jobs j ON j.id = a.job WHERE j.batch = ?");
    attempts.bind(1, id);
    const auto var = docs.parent_path().parent_path();
    while (attempts.executeStep()) {
        auto trace =
            trace_file(var, attempts.getColumn(0).getInt64(), attempts.getColumn(1).getInt());
        if (std::filesystem::exists(trace)) files.push_back(std::move(trace));
    }
}

int exec_for(SQLite::Database& db, const std::string& sql, const std::string& id) {
    SQLite::Statement q(db, sql);
    q.bind(1, id);
    return q.exec();
}

int exec_for(SQLite::Database& db, const std::string& sql, std::int64_t id) {
    SQLite::Statement q(db, sql);
    q.bind(1, id);
    return q.exec();
}

struct InboundRow {
    std::int64_t id;
    std::string tiff;
};

// Delivered received faxes that came in at or before `cut`, not in transit;
// `more` narrows it.
std::vector<InboundRow> expired_inbound(SQLite::Database& db, std::int64_t cut,
                                        const std::set<std::int64_t>& in_transit,
                                        const std::string& more) {
    SQLite::Statement q(db,
                        "SELECT id, tiff FROM inbound WHERE delivered_to IS NOT NULL AND "
                        "received_at <= ? " +
                            more + " ORDER BY id");
    q.bind(1, cut);
    std::vector<InboundRow> out;
    while (q.executeStep()) {
        InboundRow r{q.getColumn(0).getInt64(), q.getColumn(1).getString()};
        if (!in_transit.count(r.id)) out.push_back(std::move(r));
    }
    return out;
}

}  // namespace

PurgeReport SqliteQueue::purge(const RetentionSettings& settings, std::int64_t now, bool dry_run,
                               const std::set<std::int64_t>& in_transit) {
    std::lock_guard lock(mutex_);
    PurgeReport r;
    const auto rows_cut = cut_off(now, settings.job_rows_days);
    const auto inbound_cut = cut_off(now, settings.delivered_inbound_days);
    const auto docs = var_ / "spool" / "docs";
    const auto received = [this](const std::string& tiff) {
        return inbound_dir() / std::filesystem::path(tiff).filename();
    };
    // Deferred in a dry run: only reads, on a read-only queue too.
    std::optional<SQLite::Transaction> tx;
    if (!dry_run) tx.emplace(db_, SQLite::TransactionBehavior::IMMEDIATE);

    // Rows first: a batch whose rows go takes its documents along.
    const auto gone = expired_batches(db_, rows_cut, rows_cut, "");
    for (const auto& id : gone) {
        add_batch_files(db_, id, docs, r.files);
        SQLite::Statement count(db_,
                                "SELECT COUNT(DISTINCT j.id), COUNT(a.job) FROM jobs j "
                                "LEFT JOIN attempts a ON a.job = j.id WHERE j.batch = ?");
        count.bind(1, id);
        count.executeStep();
        r.job_rows += count.getColumn(0).getInt();
        r.attempt_rows += count.getColumn(1).getInt();
        ++r.batch_rows;
        if (dry_run) continue;
        exec_for(db_, "DELETE FROM attempts WHERE job IN (SELECT id FROM jobs WHERE batch = ?)",
                 id);
        exec_for(db_, "DELETE FROM jobs WHERE batch = ?", id);
        exec_for(db_, "DELETE FROM batches WHERE id = ?", id);
    }
    const std::set<std::string> deleted(gone.begin(), gone.end());
    const auto purged =
        expired_batches(db_, cut_off(now, settings.done_documents_days),
                        cut_off(now, settings.failed_documents_days),
                        "AND (b.document != '' OR b.narrow_document != '' OR j.document != '')");
    for (const auto& id : purged) {
        if (deleted.count(id)) continue;  // a dry run still sees it
        add_batch_files(db_, id, docs, r.files);
        ++r.batches_purged;
        if (dry_run) continue;
        exec_for(db_, "UPDATE batches SET document = '', narrow_document = '' WHERE id = ?", id);
        exec_for(db_, "UPDATE jobs SET document = '', narrow_document = '' WHERE batch = ?", id);
    }

    const auto old_rows = expired_inbound(db_, rows_cut, in_transit, "");
    std::set<std::int64_t> inbound_gone;
    for (const auto& row : old_rows) {
        if (!row.tiff.empty()) r.files.push_back(received(row.tiff));
        inbound_gone.insert(row.id);
        ++r.inbound_rows;
        if (!dry_run) exec_for(db_, "DELETE FROM inbound WHERE id = ?", row.id);
    }
    for (const auto& row : expired_inbound(db_, inbound_cut, in_transit, "AND tiff != ''")) {
        if (inbound_gone.count(row.id)) continue;
        r.files.push_back(received(row.tiff));
        ++r.inbound_faxes;
        if (!dry_run) exec_for(db_, "UPDATE inbound SET tiff = '' WHERE id = ?", row.id);
    }

    SQLite::Statement usage(db_, dry_run ? "SELECT COUNT(*) FROM usage WHERE at <= ?"
                                         : "DELETE FROM usage WHERE at <= ?");
    usage.bind(1, rows_cut);
    if (dry_run)
        r.usage_rows = usage.executeStep() ? usage.getColumn(0).getInt() : 0;
    else
        r.usage_rows = usage.exec();

    if (dry_run) return r;
    tx->commit();
    // The rows no longer name the files: a kill from here on leaves them
    // to the spool sweep.
    for (const auto& f : r.files) {
        std::error_code ignored;  // gone already (a sweep, an earlier purge)
        std::filesystem::remove(f, ignored);
    }
    return r;
}

PurgeReport purge_expired(Queue& queue, const RetentionSettings& settings, std::int64_t now,
                          bool dry_run, const std::set<std::int64_t>& inbound_in_transit) {
    try {
        return dynamic_cast<SqliteQueue&>(queue).purge(settings, now, dry_run, inbound_in_transit);
    } catch (const SQLite::Exception& e) {
        if (is_busy(e)) throw TemporaryError(std::string("queue is busy: ") + e.what());
        throw;
    }
}

}  // namespace faxgw::faxcore
