// The durable fax queue: one SQLite database in WAL mode beside a spool of
// documents. See faxgw/faxcore.h for the contract.
#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "sqlite_queue.h"
#include "wakeup.h"

namespace faxgw::faxcore {
namespace {

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY,
    origin_key TEXT NOT NULL UNIQUE,
    origin TEXT NOT NULL,
    document TEXT NOT NULL,
    narrow_document TEXT NOT NULL DEFAULT '',
    pages INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    delay_reported INTEGER NOT NULL DEFAULT 0,
    final_reported INTEGER NOT NULL DEFAULT 0,
    render_seconds REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    batch TEXT NOT NULL REFERENCES batches(id),
    number TEXT NOT NULL,
    dial TEXT NOT NULL,
    state TEXT NOT NULL,
    pages_confirmed INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    document TEXT NOT NULL DEFAULT '',
    narrow_document TEXT NOT NULL DEFAULT '',
    attempts_before_retry INTEGER NOT NULL DEFAULT 0,
    UNIQUE (batch, number)
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS attempts (
    job INTEGER NOT NULL REFERENCES jobs(id),
    number INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    line TEXT NOT NULL,
    outcome TEXT NOT NULL,
    first_page INTEGER NOT NULL,
    pages_confirmed INTEGER NOT NULL DEFAULT 0,
    line_seconds REAL NOT NULL DEFAULT 0,
    bit_rate INTEGER NOT NULL DEFAULT 0,
    ecm INTEGER NOT NULL DEFAULT 0,
    compression TEXT NOT NULL DEFAULT '',
    remote_csid TEXT NOT NULL DEFAULT '',
    t30_code INTEGER NOT NULL DEFAULT 0,
    t30_text TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    transport TEXT NOT NULL DEFAULT '',
    sip_status INTEGER NOT NULL DEFAULT 0,
    remote_agent TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (job, number)
);
CREATE TABLE IF NOT EXISTS usage (
    key TEXT NOT NULL,
    at INTEGER NOT NULL,
    jobs INTEGER NOT NULL,
    pages INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_key ON usage (key, at);
CREATE TABLE IF NOT EXISTS destinations (
    number TEXT PRIMARY KEY,
    t38 INTEGER NOT NULL,
    max_bit_rate INTEGER NOT NULL,
    ecm INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS inbound (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    did TEXT NOT NULL,
    caller TEXT NOT NULL,
    remote_csid TEXT NOT NULL,
    pages INTEGER NOT NULL,
    complete INTEGER NOT NULL,
    t30_text TEXT NOT NULL,
    line_seconds REAL NOT NULL,
    bit_rate INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    tiff TEXT NOT NULL,
    delivered_to TEXT
);
)sql";

constexpr int schema_version = 6;

constexpr const char* job_columns =
    "j.id, j.batch, j.number, j.dial, j.state, b.pages, j.pages_confirmed, j.created_at, "
    "j.next_attempt_at, j.reason, CASE WHEN j.document != '' THEN j.document ELSE b.document END, "
    "b.origin_key, b.origin, "
    "CASE WHEN j.document != '' THEN j.narrow_document ELSE b.narrow_document END, "
    "j.attempts_before_retry";

JobState parse_state(const std::string& s) {
    for (auto st : {JobState::queued, JobState::held, JobState::sending, JobState::retry_wait,
                    JobState::done, JobState::failed, JobState::cancelled})
        if (to_string(st) == s) return st;
    throw std::runtime_error("queue: unknown job state '" + s + "'");
}

std::string state_name(JobState s) { return std::string(to_string(s)); }

std::string new_batch_id(std::int64_t now) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%010llx%08llx", static_cast<unsigned long long>(now),
                  static_cast<unsigned long long>(rng() & 0xffffffffULL));
    return buf;
}

// BEGIN IMMEDIATE takes the write lock up front, so two writers never
// deadlock upgrading read locks; a busy database is a temporary condition.
class WriteTransaction {
public:
    explicit WriteTransaction(SQLite::Database& db) : db_(db) {
        try {
            db_.exec("BEGIN IMMEDIATE");
        } catch (const SQLite::Exception& e) {
            if (is_busy(e)) throw TemporaryError(std::string("queue is busy: ") + e.what());
            throw;
        }
    }
    ~WriteTransaction() {
        if (!done_) try {
                db_.exec("ROLLBACK");
            } catch (...) {
            }
    }
    void commit() {
        try {
            db_.exec("COMMIT");
        } catch (const SQLite::Exception& e) {
            if (is_busy(e)) throw TemporaryError(std::string("queue commit failed: ") + e.what());
            throw;
        }
        done_ = true;
    }

private:
    SQLite::Database& db_;
    bool done_ = false;
};

Job read_job(SQLite::Statement& q) {
    Job j;
    j.id = q.getColumn(0).getInt64();
    j.batch = q.getColumn(1).getString();
    j.number = q.getColumn(2).getString();
    j.dial = q.getColumn(3).getString();
    j.state = parse_state(q.getColumn(4).getString());
    j.pages = q.getColumn(5).getInt();
    j.pages_confirmed = q.getColumn(6).getInt();
    j.created_at = q.getColumn(7).getInt64();
    j.next_attempt_at = q.getColumn(8).getInt64();
    j.reason = q.getColumn(9).getString();
    j.document = q.getColumn(10).getString();
    j.origin_key = q.getColumn(11).getString();
    j.origin = q.getColumn(12).getString();
    j.narrow_document = q.getColumn(13).getString();
    j.attempts_before_retry = q.getColumn(14).getInt();
    return j;
}

}  // namespace

bool is_busy(const SQLite::Exception& e) {
    int code = e.getErrorCode() & 0xff;
    return code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_FULL ||
           code == SQLITE_IOERR;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::unique_ptr<Queue> Queue::open(const std::filesystem::path& var_dir, Access access) {
    try {
        return std::make_unique<SqliteQueue>(var_dir, access);
    } catch (const SQLite::Exception& e) {
        if (is_busy(e)) throw TemporaryError(std::string("queue is busy: ") + e.what());
        // Not a database, corrupt, unreadable: waiting will not help.
        throw std::runtime_error("queue " + (var_dir / "queue.sqlite").string() +
                                 " cannot be used: " + e.what());
    }
}

// The state folder holds faxes, mails and the queue: nothing in it is for
// other users, whatever umask the process inherited (022 would make the
// faxes world-readable). SQLite, spandsp and libtiff create their files
// 0666 & ~umask, so the umask is where their modes are decided: every
// process that opens the queue tightens it (never loosens it) to 027, and
// folders and files made under a looser one are tightened too.
void keep_state_private(const std::filesystem::path& var) {
    mode_t inherited = ::umask(077);  // stricter, not looser, for the moment between
    ::umask(inherited | 027);
    constexpr auto not_private =
        std::filesystem::perms::group_write | std::filesystem::perms::others_all;
    std::error_code ignored;  // a file that does not exist (yet) is fine
    for (const char* path : {"", "spool", "spool/docs", "spool/tmp", "spool/in", "queue.sqlite",
                             "queue.sqlite-wal", "queue.sqlite-shm"})
        std::filesystem::permissions(var / path, not_private, std::filesystem::perm_options::remove,
                                     ignored);
}

// The database to open and how: for a reader of a folder without a queue
// yet, an empty one in memory, so that it reads as an empty gateway.
static SqliteQueue::Opening prepare_var(const std::filesystem::path& var, Access access) {
    if (access == Access::read_only) {
        if (!std::filesystem::is_directory(var)) throw NoStateFolder(var);
        if (std::filesystem::exists(var / "queue.sqlite"))
            return {(var / "queue.sqlite").string(), SQLite::OPEN_READONLY | SQLite::OPEN_FULLMUTEX,
                    access};
        return {":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_FULLMUTEX, access};
    }
    for (const char* sub : {"spool/docs", "spool/tmp", "spool/in"})
        std::filesystem::create_directories(var / sub);
    keep_state_private(var);
    return {(var / "queue.sqlite").string(),
            SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX, access};
}

SqliteQueue::SqliteQueue(const std::filesystem::path& var_dir, Access access)
    : SqliteQueue(var_dir, prepare_var(var_dir, access)) {}

SqliteQueue::SqliteQueue(const std::filesystem::path& var_dir, const Opening& how)
    : var_(var_dir), db_(how.file, how.flags, 10000) {
    if (how.access == Access::read_only) {
        check_schema_readable();
        return;
    }
    // WAL lets `faxgw submit` commit while `faxgw run` reads; synchronous=FULL
    // makes every commit durable before enqueue() returns.
    db_.exec("PRAGMA synchronous=FULL");
    db_.exec("PRAGMA foreign_keys=ON");
    create_schema_once();
}

// A reader takes the queue as it is: an empty one in memory gets the
// tables, an older one on disk is upgraded by the next writer, not here.
void SqliteQueue::check_schema_readable() {
    if (db_.getFilename() == ":memory:") {
        db_.exec(schema);
        return;
    }
    const int found = db_.execAndGet("PRAGMA user_version").getInt();
    if (found == 0) {
        // Being created by a writer this very moment (or holding only the
        // outbox's tables): empty tables of this connection alone, in
        // memory, stand in for the queue's.
        db_.exec("PRAGMA temp_store = MEMORY");
        db_.exec(
            std::regex_replace(std::regex_replace(schema, std::regex("CREATE INDEX[^;]*;"), ""),
                               std::regex("CREATE TABLE"), "CREATE TEMP TABLE"));
        return;
    }
    if (found != schema_version)
        throw std::runtime_error("queue " + (var_ / "queue.sqlite").string() + " has version " +
                                 std::to_string(found) + ", this faxgw reads version " +
                                 std::to_string(schema_version) + ": `faxgw run` upgrades it");
}

// Many processes open the queue at once (Postfix runs several `faxgw
// submit`, beside `faxgw run` and `faxgw jobs`). Switching to WAL and
// creating tables take locks that SQLite may refuse at once, without its
// busy handler (e.g. SQLITE_BUSY_RECOVERY): so they are done only when
// needed, inside BEGIN IMMEDIATE, and retried for a while when refused.
//
// Older queues are upgraded in place, so that an upgrade keeps every queued
// job: version 1 (before B4) lacks batches.narrow_document, versions 1 and
// 2 (before real lines) the attempts' transport, SIP status and far-end
// user agent, versions 1 to 3 (before per-number covers) the jobs' own
// documents, versions 1 to 4 (before `faxgw jobs --retry`) the attempts
// made before a retry, versions 1 to 5 (before the metrics endpoint) the
// batches' render time.
void SqliteQueue::create_schema_once() {
    for (int attempt = 0;; ++attempt) {
        try {
            if (db_.execAndGet("PRAGMA journal_mode").getString() != "wal")
                db_.exec("PRAGMA journal_mode=WAL");
            if (db_.execAndGet("PRAGMA user_version").getInt() == schema_version) return;
            WriteTransaction tx(db_);
            // Read again under the write lock: another process may have
            // upgraded the queue in between.
            const int found = db_.execAndGet("PRAGMA user_version").getInt();
            if (found == schema_version) return;
            if (found == 1)
                db_.exec("ALTER TABLE batches ADD COLUMN narrow_document TEXT NOT NULL DEFAULT ''");
            if (found == 1 || found == 2)
                db_.exec(
                    "ALTER TABLE attempts ADD COLUMN transport TEXT NOT NULL DEFAULT '';"
                    "ALTER TABLE attempts ADD COLUMN sip_status INTEGER NOT NULL DEFAULT 0;"
                    "ALTER TABLE attempts ADD COLUMN remote_agent TEXT NOT NULL DEFAULT ''");
            if (found >= 1 && found <= 3)
                db_.exec(
                    "ALTER TABLE jobs ADD COLUMN document TEXT NOT NULL DEFAULT '';"
                    "ALTER TABLE jobs ADD COLUMN narrow_document TEXT NOT NULL DEFAULT ''");
            if (found >= 1 && found <= 4)
                db_.exec(
                    "ALTER TABLE jobs ADD COLUMN attempts_before_retry INTEGER NOT NULL DEFAULT 0");
            if (found >= 1 && found <= 5)
                db_.exec("ALTER TABLE batches ADD COLUMN render_seconds REAL NOT NULL DEFAULT 0");
            db_.exec(schema);
            db_.exec("PRAGMA user_version = " + std::to_string(schema_version));
            tx.commit();
            return;
        } catch (const SQLite::Exception& e) {
            // Only a lock is worth waiting for: a file that is not a
            // database, or a corrupt one, stays so.
            if (!is_busy(e))
                throw std::runtime_error("queue " + (var_ / "queue.sqlite").string() +
                                         " cannot be used: " + e.what());
            if (attempt >= 50) throw TemporaryError("queue database is busy; try again later");
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        } catch (const TemporaryError&) {
            if (attempt >= 50) throw TemporaryError("queue database is busy; try again later");
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
}

std::optional<BatchDocument> SqliteQueue::select_batch(const std::string& origin_key) {
    SQLite::Statement find(
        db_, "SELECT id, document, narrow_document, pages FROM batches WHERE origin_key = ?");
    find.bind(1, origin_key);
    if (!find.executeStep()) return std::nullopt;
    return BatchDocument{find.getColumn(0).getString(), find.getColumn(1).getString(),
                         find.getColumn(2).getString(), find.getColumn(3).getInt()};
}

std::optional<BatchDocument> SqliteQueue::find_batch(const std::string& origin_key) {
    std::lock_guard lock(mutex_);
    try {
        auto batch = select_batch(origin_key);
        // Its document purged (retention): nothing to reuse, render again.
        if (batch && batch->document.empty()) return std::nullopt;
        return batch;
    } catch (const SQLite::Exception& e) {
        if (is_busy(e)) throw TemporaryError(std::string("queue is busy: ") + e.what());
        throw;
    }
}

std::pair<BatchDocument, bool> SqliteQueue::batch_for(const Submission& s, std::int64_t now) {
    auto existing = select_batch(s.origin_key);
    if (existing && existing->document.empty() && !s.document.empty()) {
        // The batch ended and retention purged its document; a new number
        // for it brings the document again.
        existing->document = var_ / "spool" / "docs" / (existing->batch + ".tif");
        existing->narrow_document.clear();
        if (!s.narrow_document.empty())
            existing->narrow_document = var_ / "spool" / "docs" / (existing->batch + ".narrow.tif");
        existing->pages = s.pages;
        SQLite::Statement again(
            db_, "UPDATE batches SET document = ?, narrow_document = ?, pages = ? WHERE id = ?");
        SQLite::bind(again, existing->document.string(), existing->narrow_document.string(),
                     s.pages, existing->batch);
        again.exec();
        return {*existing, true};
    }
    if (existing && existing->document.empty())
        throw TemporaryError("the document of batch " + existing->batch +
                             " was purged; render it again");
    if (existing) {
        // Already queued by an earlier delivery of the same message: the
        // document of the first delivery stands.
        std::error_code ignored;
        if (!s.document.empty()) std::filesystem::remove(s.document, ignored);
        if (!s.narrow_document.empty()) std::filesystem::remove(s.narrow_document, ignored);
        return {*existing, false};
    }
    if (s.document.empty())
        throw TemporaryError("no queued batch for " + s.origin_key +
                             " to reuse the document of; render it again");
    BatchDocument b{new_batch_id(now), var_ / "spool" / "docs", {}, s.pages};
    b.document /= b.batch + ".tif";
    if (!s.narrow_document.empty())
        b.narrow_document = var_ / "spool" / "docs" / (b.batch + ".narrow.tif");
    SQLite::Statement ins(db_,
                          "INSERT INTO batches (id, origin_key, origin, document, narrow_document, "
                          "pages, created_at, render_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    SQLite::bind(ins, b.batch, s.origin_key, s.origin, b.document.string(),
                 b.narrow_document.string(), s.pages, now, s.render_seconds);
    ins.exec();
    return {b, true};
}

namespace {

// Documents moved into the spool for a batch whose transaction has not
// committed yet: removed again unless the commit succeeds, so that an
// enqueue that fails (a move, the commit) leaves nothing behind. What a
// kill -9 in between leaves, the spool sweep removes.
class UncommittedDocuments {
public:
    UncommittedDocuments() = default;
    UncommittedDocuments(const UncommittedDocuments&) = delete;
    UncommittedDocuments& operator=(const UncommittedDocuments&) = delete;
    ~UncommittedDocuments() {
        std::error_code ignored;
        for (const auto& f : moved_) std::filesystem::remove(f, ignored);
    }
    void move(const std::filesystem::path& from, const std::filesystem::path& to) {
        moved_.push_back(to);  // before: a failed fsync of the folder leaves `to` too
        move_file_durably(from, to);
    }
    void committed() { moved_.clear(); }

private:
    std::vector<std::filesystem::path> moved_;
};

}  // namespace

EnqueueResult SqliteQueue::enqueue(const Submission& s) {
    if (s.destinations.empty()) throw std::invalid_argument("enqueue: no destination");
    if (s.origin_key.empty()) throw std::invalid_argument("enqueue: empty origin key");
    if (!s.document.empty() && s.pages <= 0)
        throw std::invalid_argument("enqueue: document has no pages");
    std::lock_guard lock(mutex_);
    auto now = unix_now();
    try {
        WriteTransaction tx(db_);
        EnqueueResult r;
        const auto [batch, new_batch] = batch_for(s, now);
        r.batch = batch.batch;
        // A number's own document: (from, to) moves into the spool, done
        // with the batch's once nothing else can fail.
        std::vector<std::pair<std::filesystem::path, std::filesystem::path>> own_documents;
        for (std::size_t i = 0; i < s.destinations.size(); ++i) {
            const Destination& d = s.destinations[i];
            const OwnDocument own = i < s.own_documents.size() ? s.own_documents[i] : OwnDocument{};
            SQLite::Statement ins(
                db_,
                "INSERT OR IGNORE INTO jobs (batch, number, dial, state, created_at, "
                "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)");
            SQLite::bind(ins, r.batch, d.number, d.dial, s.hold ? "held" : "queued", now,
                         s.not_before);
            const bool created = ins.exec() == 1;
            r.created += created;
            SQLite::Statement id(db_, "SELECT id FROM jobs WHERE batch = ? AND number = ?");
            SQLite::bind(id, r.batch, d.number);
            id.executeStep();
            r.jobs.push_back(id.getColumn(0).getInt64());
            if (created && !own.document.empty()) {
                spool_own_document(r.batch, r.jobs.back(), own, own_documents);
            } else if (!own.document.empty()) {
                // Already queued by an earlier delivery: its document stands.
                std::error_code ignored;
                std::filesystem::remove(own.document, ignored);
                if (!own.narrow_document.empty())
                    std::filesystem::remove(own.narrow_document, ignored);
            }
        }
        charge_quotas(s, batch.pages, r.created, now);
        if (r.created > 0) {
            // New jobs in a batch already reported: report the batch again.
            SQLite::Statement reopen(db_, "UPDATE batches SET final_reported = 0 WHERE id = ?");
            reopen.bind(1, r.batch);
            reopen.exec();
        }
        // The documents move in last, once nothing but the commit can
        // refuse the submission (a quota refusal leaves them where they were).
        UncommittedDocuments spooled;
        if (new_batch) {
            if (!batch.narrow_document.empty())
                spooled.move(s.narrow_document, batch.narrow_document);
            spooled.move(s.document, batch.document);
        }
        for (const auto& [from, to] : own_documents) spooled.move(from, to);
        tx.commit();
        spooled.committed();
        wake_queue_runner(var_);
        return r;
    } catch (const SQLite::Exception& e) {
        if (is_busy(e)) throw TemporaryError(std::string("queue is busy: ") + e.what());
        throw;
    }
}

void SqliteQueue::spool_own_document(
    const std::string& batch, std::int64_t job, const OwnDocument& d,
    std::vector<std::pair<std::filesystem::path, std::filesystem::path>>& moves) {
    const auto docs = var_ / "spool" / "docs";
    const auto stem = batch + ".job" + std::to_string(job);
    const auto document = docs / (stem + ".tif");
    const auto narrow =
        d.narrow_document.empty() ? std::filesystem::path() : docs / (stem + ".narrow.tif");
    SQLite::Statement own(db_, "UPDATE jobs SET document = ?, narrow_document = ? WHERE id = ?");
    SQLite::bind(own, document.string(), narrow.string(), job);
    own.exec();
    moves.emplace_back(d.document, document);
    if (!narrow.empty()) moves.emplace_back(d.narrow_document, narrow);
}

void SqliteQueue::check_quota(const Quota& quota, int pages_per_job, int new_jobs,
                              std::int64_t now) {
    SQLite::Statement used(db_,
                           "SELECT COALESCE(SUM(jobs), 0), COALESCE(SUM(pages), 0) FROM usage "
                           "WHERE key = ? AND at > ?");
    SQLite::bind(used, quota.key, now - quota.window_seconds);
    used.executeStep();
    const int jobs = used.getColumn(0).getInt() + new_jobs;
    const int pages = used.getColumn(1).getInt() + new_jobs * pages_per_job;
    const std::string per = quota.window_seconds >= 86400 ? " per day" : " per hour";
    if (quota.max_jobs > 0 && jobs > quota.max_jobs)
        throw QuotaExceeded(quota.what + " has reached the limit of " +
                                std::to_string(quota.max_jobs) + " fax jobs" + per,
                            new_jobs > quota.max_jobs);
    if (quota.max_pages > 0 && pages > quota.max_pages)
        throw QuotaExceeded(quota.what + " has reached the limit of " +
                                std::to_string(quota.max_pages) + " fax pages" + per,
                            new_jobs * pages_per_job > quota.max_pages);
}

void SqliteQueue::charge_quotas(const Submission& s, int pages_per_job, int new_jobs,
                                std::int64_t now) {
    if (new_jobs == 0) return;  // a repeated delivery costs nothing
    for (const auto& quota : s.quotas) {
        check_quota(quota, pages_per_job, new_jobs, now);
        SQLite::Statement ins(db_, "INSERT INTO usage (key, at, jobs, pages) VALUES (?, ?, ?, ?)");
        SQLite::bind(ins, quota.key, now, new_jobs, new_jobs * pages_per_job);
        ins.exec();
    }
}

void SqliteQueue::check_quotas(const std::vector<Quota>& quotas, int new_jobs, int pages_per_job) {
    std::lock_guard lock(mutex_);
    const auto now = unix_now();
    for (const auto& quota : quotas) check_quota(quota, pages_per_job, new_jobs, now);
}

bool SqliteQueue::cancel(std::int64_t job) {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(db_,
                        "UPDATE jobs SET state = 'cancelled', reason = 'cancelled by the "
                        "administrator', next_attempt_at = ? "
                        "WHERE id = ? AND state IN ('queued', 'held', 'retry-wait')");
    SQLite::bind(q, unix_now(), job);
    return q.exec() == 1;
}

bool SqliteQueue::retry(std::int64_t job) {
    std::lock_guard lock(mutex_);
    try {
        WriteTransaction tx(db_);
        // pages_confirmed stays: the next call starts after the pages the
        // far end has confirmed, as any retry does.
        SQLite::Statement again(db_, R"sql(
            UPDATE jobs SET state = 'queued', reason = '', next_attempt_at = ?,
                attempts_before_retry = (SELECT COALESCE(MAX(number), 0) FROM attempts
                                         WHERE job = jobs.id)
            WHERE id = ? AND state = 'failed'
              AND (document != '' OR (SELECT document FROM batches WHERE id = jobs.batch) != ''))sql");
        SQLite::bind(again, unix_now(), job);
        if (again.exec() != 1) return false;
        SQLite::Statement reopen(db_,
                                 "UPDATE batches SET final_reported = 0 WHERE id = (SELECT batch "
                                 "FROM jobs WHERE id = ?)");
        reopen.bind(1, job);
        reopen.exec();
        tx.commit();
    } catch (const SQLite::Exception& e) {
        if (is_busy(e)) throw TemporaryError(std::string("queue is busy: ") + e.what());
        throw;
    }
    wake_queue_runner(var_);
    return true;
}

bool SqliteQueue::release(std::int64_t job) {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(
        db_, "UPDATE jobs SET state = 'queued', reason = '' WHERE id = ? AND state = 'held'");
    q.bind(1, job);
    bool released = q.exec() == 1;
    if (released) wake_queue_runner(var_);
    return released;
}

void SqliteQueue::load_attempts(Job& job) {
    SQLite::Statement q(
        db_,
        "SELECT number, started_at, line, outcome, first_page, pages_confirmed, "
        "line_seconds, bit_rate, ecm, compression, remote_csid, t30_code, t30_text, "
        "detail, transport, sip_status, remote_agent FROM attempts WHERE job = ? ORDER BY number");
    q.bind(1, job.id);
    while (q.executeStep()) {
        Attempt a;
        a.number = q.getColumn(0).getInt();
        a.started_at = q.getColumn(1).getInt64();
        a.line = q.getColumn(2).getString();
        a.outcome = parse_outcome(q.getColumn(3).getString()).value_or(Outcome::interrupted);
        a.first_page = q.getColumn(4).getInt();
        a.pages_confirmed = q.getColumn(5).getInt();
        a.line_seconds = q.getColumn(6).getDouble();
        a.bit_rate = q.getColumn(7).getInt();
        a.ecm = q.getColumn(8).getInt() != 0;
        a.compression = q.getColumn(9).getString();
        a.remote_csid = q.getColumn(10).getString();
        a.t30_code = q.getColumn(11).getInt();
        a.t30_text = q.getColumn(12).getString();
        a.detail = q.getColumn(13).getString();
        a.transport = q.getColumn(14).getString();
        a.sip_status = q.getColumn(15).getInt();
        a.remote_agent = q.getColumn(16).getString();
        job.attempts.push_back(std::move(a));
    }
}

std::vector<Job> SqliteQueue::select_jobs(const std::string& where, std::int64_t arg, int limit,
                                          bool with_attempts) {
    std::string sql = std::string("SELECT ") + job_columns +
                      " FROM jobs j JOIN batches b ON b.id = j.batch WHERE " + where;
    if (limit > 0) sql += " LIMIT " + std::to_string(limit);
    SQLite::Statement q(db_, sql);
    if (sql.find('?') != std::string::npos) q.bind(1, arg);
    std::vector<Job> out;
    while (q.executeStep()) out.push_back(read_job(q));
    if (with_attempts)
        for (auto& j : out) load_attempts(j);
    return out;
}

std::optional<Job> SqliteQueue::job(std::int64_t id) {
    std::lock_guard lock(mutex_);
    auto v = select_jobs("j.id = ?", id, 1);
    if (v.empty()) return std::nullopt;
    return v.front();
}

std::vector<Job> SqliteQueue::jobs() {
    std::lock_guard lock(mutex_);
    return select_jobs("1 ORDER BY j.id", 0, 0);
}

std::vector<Job> SqliteQueue::find_jobs(const JobFilter& filter) {
    std::string where = "j.created_at >= ?";
    if (!filter.states.empty()) {
        where += " AND j.state IN (";
        for (std::size_t i = 0; i < filter.states.size(); ++i)
            where += (i ? ", '" : "'") + state_name(filter.states[i]) + "'";
        where += ")";
    }
    std::lock_guard lock(mutex_);
    return select_jobs(where + " ORDER BY j.id", filter.submitted_from, 0);
}

std::vector<Job> SqliteQueue::due_jobs(std::int64_t now, int limit) {
    std::lock_guard lock(mutex_);
    // The scheduler asks on every event: no need for the attempts' history.
    return select_jobs(
        "j.state IN ('queued', 'retry-wait') AND j.next_attempt_at <= ? "
        "ORDER BY j.next_attempt_at, j.id",
        now, limit, false);
}

std::optional<std::int64_t> SqliteQueue::next_due_time() {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(
        db_, "SELECT MIN(next_attempt_at) FROM jobs WHERE state IN ('queued', 'retry-wait')");
    if (!q.executeStep() || q.getColumn(0).isNull()) return std::nullopt;
    return q.getColumn(0).getInt64();
}

std::optional<int> SqliteQueue::start_attempt(std::int64_t job, const std::string& line,
                                              std::int64_t now) {
    std::lock_guard lock(mutex_);
    WriteTransaction tx(db_);
    // Only a job still waiting to be sent starts: between due_jobs() and
    // here an administrator may have cancelled it (`faxgw jobs --cancel`
    // is another process), and that must win over the dial.
    SQLite::Statement claim(db_,
                            "UPDATE jobs SET state = 'sending' WHERE id = ? "
                            "AND state IN ('queued', 'retry-wait')");
    claim.bind(1, job);
    if (claim.exec() != 1) return std::nullopt;  // the transaction rolls back: nothing changed
    SQLite::Statement n(db_,
                        "SELECT COALESCE(MAX(a.number), 0) + 1, j.pages_confirmed + 1 FROM jobs j "
                        "LEFT JOIN attempts a ON a.job = j.id WHERE j.id = ?");
    n.bind(1, job);
    n.executeStep();
    int number = n.getColumn(0).getInt();
    int first_page = n.getColumn(1).getInt();
    SQLite::Statement ins(
        db_,
        "INSERT INTO attempts (job, number, started_at, line, outcome, first_page) "
        "VALUES (?, ?, ?, ?, 'interrupted', ?)");
    SQLite::bind(ins, job, number, now, line, first_page);
    ins.exec();
    tx.commit();
    return number;
}

void SqliteQueue::record_progress(std::int64_t job, int attempt, int pages_confirmed) {
    std::lock_guard lock(mutex_);
    WriteTransaction tx(db_);
    SQLite::Statement j(db_,
                        "UPDATE jobs SET pages_confirmed = MAX(pages_confirmed, ?) WHERE id = ?");
    SQLite::bind(j, pages_confirmed, job);
    j.exec();
    SQLite::Statement a(db_,
                        "UPDATE attempts SET pages_confirmed = MAX(0, ? - first_page + 1) "
                        "WHERE job = ? AND number = ?");
    SQLite::bind(a, pages_confirmed, job, attempt);
    a.exec();
    tx.commit();
}

void SqliteQueue::finish_attempt(std::int64_t job, const Attempt& at, JobState next,
                                 std::int64_t next_attempt_at, const std::string& reason) {
    std::lock_guard lock(mutex_);
    WriteTransaction tx(db_);
    SQLite::Statement a(db_,
                        "UPDATE attempts SET outcome = ?, pages_confirmed = ?, line_seconds = ?, "
                        "bit_rate = ?, ecm = ?, compression = ?, remote_csid = ?, t30_code = ?, "
                        "t30_text = ?, detail = ?, transport = ?, sip_status = ?, "
                        "remote_agent = ? WHERE job = ? AND number = ?");
    SQLite::bind(a, std::string(describe(at.outcome).name), at.pages_confirmed, at.line_seconds,
                 at.bit_rate, at.ecm ? 1 : 0, at.compression, at.remote_csid, at.t30_code,
                 at.t30_text, at.detail, at.transport, at.sip_status, at.remote_agent, job,
                 at.number);
    a.exec();
    SQLite::Statement j(db_,
                        "UPDATE jobs SET state = ?, next_attempt_at = ?, reason = ?, "
                        "pages_confirmed = MAX(pages_confirmed, ?) WHERE id = ?");
    SQLite::bind(j, state_name(next), next_attempt_at, reason,
                 at.first_page - 1 + at.pages_confirmed, job);
    j.exec();
    tx.commit();
}

int SqliteQueue::recover_interrupted() {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(
        db_,
        "UPDATE jobs SET state = 'queued', reason = 'the gateway stopped during the call' "
        "WHERE state = 'sending'");
    return q.exec();
}

std::vector<Report> SqliteQueue::pending_reports() {
    std::lock_guard lock(mutex_);
    // Final: every job of the batch has ended. Delayed: some job waits for a
    // retry and the sender has not been told yet.
    SQLite::Statement q(db_, R"sql(
        SELECT b.id, b.origin,
               SUM(j.state IN ('done', 'failed', 'cancelled')) = COUNT(*) AS all_ended,
               SUM(j.state = 'retry-wait') > 0 AS waiting,
               b.final_reported, b.delay_reported
        FROM batches b JOIN jobs j ON j.batch = b.id
        GROUP BY b.id ORDER BY b.created_at, b.id)sql");
    std::vector<Report> out;
    while (q.executeStep()) {
        bool all_ended = q.getColumn(2).getInt() != 0;
        bool waiting = q.getColumn(3).getInt() != 0;
        bool final_done = q.getColumn(4).getInt() != 0;
        bool delay_done = q.getColumn(5).getInt() != 0;
        Report r;
        r.batch = q.getColumn(0).getString();
        r.origin = q.getColumn(1).getString();
        if (all_ended && !final_done)
            r.kind = ReportKind::final;
        else if (waiting && !delay_done && !all_ended)
            r.kind = ReportKind::delayed;
        else
            continue;
        out.push_back(std::move(r));
    }
    for (auto& r : out) {
        SQLite::Statement ids(db_, "SELECT id FROM jobs WHERE batch = ? ORDER BY id");
        ids.bind(1, r.batch);
        std::vector<std::int64_t> job_ids;
        while (ids.executeStep()) job_ids.push_back(ids.getColumn(0).getInt64());
        for (auto id : job_ids) {
            auto v = select_jobs("j.id = ?", id, 1);
            r.jobs.insert(r.jobs.end(), v.begin(), v.end());
        }
    }
    return out;
}

void SqliteQueue::mark_reported(const std::string& batch, ReportKind kind) {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(
        db_, kind == ReportKind::final
                 ? "UPDATE batches SET final_reported = 1, delay_reported = 1 WHERE id = ?"
                 : "UPDATE batches SET delay_reported = 1 WHERE id = ?");
    q.bind(1, batch);
    q.exec();
}

CallOptions SqliteQueue::call_options(const std::string& number) {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(db_, "SELECT t38, max_bit_rate, ecm FROM destinations WHERE number = ?");
    q.bind(1, number);
    CallOptions o;
    if (q.executeStep()) {
        o.t38 = q.getColumn(0).getInt() != 0;
        o.max_bit_rate = q.getColumn(1).getInt();
        o.ecm = q.getColumn(2).getInt() != 0;
    }
    return o;
}

void SqliteQueue::remember_call_options(const std::string& number, const CallOptions& o,
                                        std::int64_t now) {
    std::lock_guard lock(mutex_);
    WriteTransaction tx(db_);
    SQLite::Statement q(db_,
                        "INSERT INTO destinations (number, t38, max_bit_rate, ecm, updated_at) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (number) DO UPDATE SET "
                        "t38 = excluded.t38, max_bit_rate = excluded.max_bit_rate, "
                        "ecm = excluded.ecm, updated_at = excluded.updated_at");
    SQLite::bind(q, number, o.t38 ? 1 : 0, o.max_bit_rate, o.ecm ? 1 : 0, now);
    q.exec();
    tx.commit();
}

std::int64_t SqliteQueue::add_inbound(const InboundFax& f) {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(
        db_,
        "INSERT INTO inbound (did, caller, remote_csid, pages, complete, t30_text, "
        "line_seconds, bit_rate, received_at, tiff) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    SQLite::bind(q, f.did, f.caller, f.remote_csid, f.pages, f.complete ? 1 : 0, f.t30_text,
                 f.line_seconds, f.bit_rate, f.received_at, f.tiff.string());
    q.exec();
    return db_.getLastInsertRowid();
}

namespace {

std::int64_t age_seconds(const std::filesystem::directory_entry& e, std::int64_t now) {
    struct stat st {};
    if (::lstat(e.path().c_str(), &st) != 0) return 0;  // gone already: nothing to do
    return now - static_cast<std::int64_t>(st.st_mtime);
}

enum class Folders { kept, removed };

// Removes the regular files of `dir` older than `min_age` whose names `keep`
// does not hold, and with Folders::removed its folders of that age with
// what they hold (a renderer's working folder; remove_all never follows a
// symbolic link). Returns how many entries of `dir` went.
int remove_stale_files(const std::filesystem::path& dir, std::int64_t now, std::int64_t min_age,
                       const std::set<std::string>& keep, Folders folders = Folders::kept) {
    int removed = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        if (keep.count(e.path().filename().string())) continue;
        const bool folder = folders == Folders::removed && e.is_directory(ec) && !e.is_symlink(ec);
        if (!folder && !e.is_regular_file(ec)) continue;
        if (age_seconds(e, now) <= min_age) continue;
        if (folder) {
            std::filesystem::remove_all(e.path(), ec);
            if (!ec) ++removed;
        } else if (std::filesystem::remove(e.path(), ec)) {
            ++removed;
        }
    }
    return removed;
}

}  // namespace

std::filesystem::path trace_file(const std::filesystem::path& var, std::int64_t job, int attempt) {
    return var / "spool" / "trace" /
           ("J" + std::to_string(job) + "-" + std::to_string(attempt) + ".t30");
}

int SqliteQueue::sweep_spool(std::int64_t now, std::int64_t document_grace,
                             std::int64_t scratch_age) {
    // By file name: rows hold the path as the enqueuing process spelt its
    // state folder ("var", "./var", an absolute path...).
    std::set<std::string> referenced;
    {
        // Read first, files second: a document moved in after this read is
        // younger than the grace, so it is spared even though unlisted.
        std::lock_guard lock(mutex_);
        SQLite::Statement docs(
            db_,
            "SELECT document FROM batches UNION SELECT narrow_document FROM batches "
            "UNION SELECT document FROM jobs UNION SELECT narrow_document FROM jobs "
            "UNION SELECT tiff FROM inbound");
        while (docs.executeStep())
            referenced.insert(std::filesystem::path(docs.getColumn(0).getString()).filename());
    }
    return remove_stale_files(var_ / "spool" / "docs", now, document_grace, referenced) +
           remove_stale_files(inbound_dir(), now, document_grace, referenced) +
           remove_stale_files(scratch_dir(), now, scratch_age, {}, Folders::removed);
}

std::vector<InboundFax> SqliteQueue::undelivered_inbound() {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(
        db_,
        "SELECT id, did, caller, remote_csid, pages, complete, t30_text, line_seconds, "
        "bit_rate, received_at, tiff FROM inbound WHERE delivered_to IS NULL ORDER BY id");
    std::vector<InboundFax> out;
    while (q.executeStep()) {
        InboundFax f;
        f.id = q.getColumn(0).getInt64();
        f.did = q.getColumn(1).getString();
        f.caller = q.getColumn(2).getString();
        f.remote_csid = q.getColumn(3).getString();
        f.pages = q.getColumn(4).getInt();
        f.complete = q.getColumn(5).getInt() != 0;
        f.t30_text = q.getColumn(6).getString();
        f.line_seconds = q.getColumn(7).getDouble();
        f.bit_rate = q.getColumn(8).getInt();
        f.received_at = q.getColumn(9).getInt64();
        f.tiff = q.getColumn(10).getString();
        out.push_back(std::move(f));
    }
    return out;
}

void SqliteQueue::mark_inbound_delivered(std::int64_t id, const std::string& where) {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(db_, "UPDATE inbound SET delivered_to = ? WHERE id = ?");
    SQLite::bind(q, where, id);
    q.exec();
}

}  // namespace faxgw::faxcore
