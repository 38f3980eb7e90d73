// Public interface of faxcore/: the durable fax queue, and what it tells the
// rest of the gateway. faxcore knows nothing of mail: a submission carries an
// opaque origin (mailgw keeps JSON there) and a dedup key.
//
// Queue contract (the one place it is written down):
//  * enqueue() is the only way jobs are created. It moves the document into
//    the spool (fsync + rename + fsync of the directory) and then commits all
//    jobs of the submission in one SQLite transaction: all or none. When it
//    returns, the jobs survive kill -9 and power loss.
//  * One batch per origin_key, with one document. A later submission with
//    the same origin_key adds jobs for its new destinations to that batch
//    (same key + number = one job) and its own document is deleted. A
//    caller that finds the batch with find_batch() may leave document empty
//    to reuse the batch's document instead of rendering it again; quotas
//    are counted as for any submission. With an empty document and no such
//    batch (e.g. it was swept in between), enqueue() throws TemporaryError:
//    render and submit again.
//  * The scheduler is the only writer of job states after that:
//      queued -> sending -> done | retry_wait | failed
//      retry_wait -> sending (when due)
//      sending -> queued (at start-up: the process died mid-call)
//    cancel() moves queued/held/retry_wait jobs to cancelled; release()
//    moves held jobs (a sender rule said "hold") to queued; retry() moves
//    a failed job back to queued (an administrator's second chance).
//    For an ended job (done, failed, cancelled) next_attempt_at is when
//    it ended.
//  * Retention (faxgw/faxcore/retention.h) is the only deleter: documents
//    of ended and reported batches, received faxes already delivered, and
//    old rows. It clears a row's reference before it deletes the file.
//  * Reports (for the sender's notification) are read with pending_reports()
//    and acknowledged with mark_reported(); a report may be offered again
//    after a crash, never lost.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace faxgw::faxcore {

enum class JobState { queued, held, sending, retry_wait, done, failed, cancelled };
std::string_view to_string(JobState s);
bool is_terminal(JobState s);

// Every way a call attempt can end (model: one outcome table). The retry
// class decides the backoff; permanent outcomes fail the job at once.
enum class Outcome {
    ok,              // every page confirmed by the far end
    busy,            // line busy
    no_answer,       // rang out
    hangup,          // far end dropped the call part-way
    protocol_error,  // T.30 failed (training, timeouts, bad responses)
    incompatible,    // far end cannot receive this document
    watchdog,        // no progress for too long: we hung up
    interrupted,     // gateway stopped or crashed during the call
    bad_document,    // the spooled document cannot be sent
    no_route,        // nothing answers at this number
    network_error,   // the trunk or network failed to place the call (SIP 503, timeouts)
};
enum class RetryClass { none, busy, no_answer, failure, permanent };
struct OutcomeInfo {
    Outcome outcome;
    std::string_view name;  // stable name for logs, JSON and metrics
    RetryClass retry;
    std::string_view text;  // what the sender reads
};
const OutcomeInfo& describe(Outcome o);
std::optional<Outcome> parse_outcome(std::string_view name);

struct Destination {
    std::string number;  // E.164 for records, e.g. "+15551234567"
    std::string dial;    // what the line dials, e.g. "15551234567"
};

// A number's own fax TIFF (and narrow copy), for a cover page that names
// only that receiver. Empty: the batch's document.
struct OwnDocument {
    std::filesystem::path document, narrow_document;
};

// At most max_jobs jobs and max_pages pages (0 = no limit) within the last
// window_seconds for everything submitted under `key` (e.g. one sender).
struct Quota {
    std::string key;
    int max_jobs = 0;
    int max_pages = 0;
    std::int64_t window_seconds = 3600;
    std::string what;  // for the refusal: "sender alice@example.org"
};

struct Submission {
    // Fax TIFF made by render; moved into the spool. Empty: reuse the
    // document of the batch of origin_key (see find_batch()).
    std::filesystem::path document;
    // When the document has pages wider than 1728 pixels (B4): the same
    // pages 1728 wide, sent to receivers that do not offer the wider paper.
    // Moved into the spool too. Empty: none.
    std::filesystem::path narrow_document;
    int pages = 0;  // of document; ignored when document is empty
    std::vector<Destination> destinations;
    // Empty, or one per destination (same order): moved into the spool like
    // the batch's document, with the same page count.
    std::vector<OwnDocument> own_documents;
    std::string origin_key;       // dedup key (e.g. Message-ID): same key + number = one job
    std::string origin;           // opaque to faxcore; given back in reports
    std::int64_t not_before = 0;  // unix seconds; 0 = now
    bool hold = false;            // queue the jobs held, for an administrator to release
    std::vector<Quota> quotas;    // checked and counted in the same transaction
    // How long making the document took (wall seconds), for the metrics;
    // 0 = not measured (a document made elsewhere, a batch's shared one).
    double render_seconds = 0;
};

struct EnqueueResult {
    std::string batch;               // one per origin_key
    std::vector<std::int64_t> jobs;  // one per destination, in order
    int created = 0;                 // jobs new in this call (others already existed)
};

// The spooled document of an existing batch, for a later submission of the
// same message to reuse instead of rendering it again.
struct BatchDocument {
    std::string batch;
    std::filesystem::path document, narrow_document;  // narrow: empty when none
    int pages = 0;
};

// How calls to a number are made. After a failure in the image phases the
// next call steps down a retry ladder (T.38 -> G.711 audio, 14400 -> 9600
// bit/s, ECM on -> off); what last worked is where later jobs start, since
// far ends and carriers differ and keep their quirks.
struct CallOptions {
    bool t38 = true;           // may switch to T.38 (SIP lines)
    int max_bit_rate = 14400;  // 14400 (V.17) or 9600 (V.29)
    bool ecm = true;
    friend bool operator==(const CallOptions&, const CallOptions&) = default;
};
// The rung below `used` after an attempt that ended `outcome` having
// travelled by `transport`; `used` itself when the outcome says nothing
// about the line (busy, no answer...) or the ladder has no rung left.
CallOptions next_rung(const CallOptions& used, Outcome outcome, const std::string& transport);
// `remembered` held to `top` (a configured limit): T.38 and ECM only where
// both allow them, the lower of the two bit rates.
CallOptions within(const CallOptions& remembered, const CallOptions& top);

struct Attempt {
    int number = 0;               // 1, 2, ...
    std::int64_t started_at = 0;  // unix seconds (queue clock)
    std::string line;
    Outcome outcome = Outcome::interrupted;
    int first_page = 1;       // first page sent in this attempt (1-based)
    int pages_confirmed = 0;  // pages confirmed in this attempt
    double line_seconds = 0;
    int bit_rate = 0;
    bool ecm = false;
    std::string compression;  // "T.4 1-D", "T.4 2-D", "T.6"
    std::string remote_csid;
    int t30_code = 0;
    std::string t30_text;
    std::string detail;  // free text, e.g. watchdog reason
    // The call's T.30 trace (PartyReport::trace). Not kept in the queue:
    // the scheduler writes a failed call's into spool/trace/.
    std::vector<std::string> protocol_trace;
    std::string transport;     // how the fax travelled: "t38", "g711" or "" (never answered)
    int sip_status = 0;        // final SIP response to the INVITE (0 = not a SIP call)
    std::string remote_agent;  // the far end's User-Agent or Server header
};

// Where a failed attempt's T.30 trace is kept:
// VAR/spool/trace/J<job>-<attempt>.t30.
std::filesystem::path trace_file(const std::filesystem::path& var, std::int64_t job, int attempt);

struct Job {
    std::int64_t id = 0;
    std::string batch;
    std::string number;
    std::string dial;
    JobState state = JobState::queued;
    int pages = 0;
    int pages_confirmed = 0;
    std::int64_t created_at = 0;
    std::int64_t next_attempt_at = 0;
    std::string reason;  // why it failed or is waiting
    std::filesystem::path document;
    std::filesystem::path narrow_document;  // see Submission; empty: none
    std::string origin_key;
    std::string origin;
    std::vector<Attempt> attempts;
    // Attempts made before an administrator's last retry(): the attempt
    // budget (retry.max_attempts) counts from there.
    int attempts_before_retry = 0;
};

enum class ReportKind { delayed, final };
struct Report {
    std::string batch;
    ReportKind kind = ReportKind::final;
    std::string origin;
    std::vector<Job> jobs;  // every job of the batch, with attempts
};

struct InboundFax {
    std::int64_t id = 0;
    std::string did;          // the number that was dialled
    std::string caller;       // calling number, if known
    std::string remote_csid;  // far end's station ID
    int pages = 0;
    bool complete = false;  // T.30 ended normally
    std::string t30_text;
    double line_seconds = 0;
    int bit_rate = 0;
    std::int64_t received_at = 0;
    std::filesystem::path tiff;
};

// Which jobs a listing shows; empty fields let everything through.
struct JobFilter {
    std::vector<JobState> states;     // any of these
    std::int64_t submitted_from = 0;  // created_at at or after (unix seconds)
};

// The queue is busy or the disk is full: try again later (sysexits 75).
class TemporaryError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A quota of the submission would be exceeded; nothing was queued.
// permanent(): the submission alone is more than the limit, so waiting for
// the window to pass would not help.
class QuotaExceeded : public std::runtime_error {
public:
    QuotaExceeded(const std::string& what, bool permanent)
        : std::runtime_error(what), permanent_(permanent) {}
    bool permanent() const { return permanent_; }

private:
    bool permanent_;
};

// A read-only open of a state folder that does not exist (a mistyped
// --var or paths.var): path() names it.
class NoStateFolder : public std::runtime_error {
public:
    explicit NoStateFolder(const std::filesystem::path& var)
        : std::runtime_error("no state folder " + var.string() + " (a wrong --var or paths.var?)"),
          path_(var) {}
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

enum class Access {
    read_write,  // creates DIR, DIR/spool/ and DIR/queue.sqlite when missing
    // Creates nothing: DIR must exist (else NoStateFolder); a folder without
    // a queue yet reads as an empty queue. Only SQLite's own companions of
    // an existing database (queue.sqlite-wal and -shm, its locks) may appear.
    read_only,
};

class Queue {
public:
    // Opens DIR/queue.sqlite and DIR/spool/.
    static std::unique_ptr<Queue> open(const std::filesystem::path& var_dir,
                                       Access access = Access::read_write);
    virtual ~Queue() = default;

    virtual EnqueueResult enqueue(const Submission& s) = 0;
    // The batch already queued under origin_key, if any.
    virtual std::optional<BatchDocument> find_batch(const std::string& origin_key) = 0;
    virtual bool cancel(std::int64_t job) = 0;
    virtual bool release(std::int64_t job) = 0;
    // Queues a failed job again, due now: it resumes at its first page the
    // far end has not confirmed, with a fresh attempt budget, and its batch
    // counts as not reported yet. False when the job has not failed, or
    // its document is gone (retention purged it).
    virtual bool retry(std::int64_t job) = 0;
    // Throws QuotaExceeded when new_jobs more jobs of pages_per_job pages
    // would exceed one of `quotas` now; charges nothing. For a front end
    // that answers before the document exists (a milter at RCPT TO).
    virtual void check_quotas(const std::vector<Quota>& quotas, int new_jobs,
                              int pages_per_job) = 0;

    virtual std::optional<Job> job(std::int64_t id) = 0;
    virtual std::vector<Job> jobs() = 0;  // all, oldest first, with attempts
    // The jobs `filter` lets through, oldest first, with attempts.
    virtual std::vector<Job> find_jobs(const JobFilter& filter) = 0;

    virtual std::vector<Report> pending_reports() = 0;
    virtual void mark_reported(const std::string& batch, ReportKind kind) = 0;

    virtual std::vector<InboundFax> undelivered_inbound() = 0;
    virtual void mark_inbound_delivered(std::int64_t id, const std::string& where) = 0;

    // A folder on the spool's file system for files that will be handed to
    // enqueue() (so the hand-over is a rename).
    virtual std::filesystem::path scratch_dir() const = 0;
};

// The real time, in the queue's unit (unix seconds).
std::int64_t unix_now();

// The state folder holds faxes, mails and the queue: nothing in it is for
// other users. Tightens this process's umask to at least 027 (files 0640,
// folders 0750 at most) and removes group-write and other permissions from
// the folder and the queue's files. Every opener of the queue or the
// outbox calls it.
void keep_state_private(const std::filesystem::path& var_dir);

// Writes data to path durably: temp file, fsync, rename, fsync of the folder.
void write_file_durably(const std::filesystem::path& path, std::string_view data);
// Moves a file into place durably (same file system), fsyncing file and folder.
void move_file_durably(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace faxgw::faxcore
