// The sending side of faxcore: the simulated telephone network's settings,
// and the scheduler that puts queued jobs on free lines of a line backend
// (line.h) and records what comes in on them.
#pragma once

#include <faxgw/faxcore.h>
#include <faxgw/faxcore/line.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

namespace faxgw::faxcore {

// What answers at a number of the simulated telephone network.
enum class SimBehaviour { receive, busy, no_answer, hangup };
// Inline, so that reading the configuration does not link the simulated
// network (and spandsp) into a program that never dials.
inline std::optional<SimBehaviour> parse_sim_behaviour(std::string_view name) {
    if (name == "receive") return SimBehaviour::receive;
    if (name == "busy") return SimBehaviour::busy;
    if (name == "no_answer") return SimBehaviour::no_answer;
    if (name == "hangup") return SimBehaviour::hangup;
    return std::nullopt;
}

struct SimNumber {
    std::string number;  // E.164, e.g. "+15551001"
    SimBehaviour behaviour = SimBehaviour::receive;
    int hangup_after_pages = 1;  // for SimBehaviour::hangup
    std::string csid;            // the remote machine's station ID
    bool b4 = false;             // takes 255 mm (B4) paper besides 215 mm
};

struct SimSettings {
    std::vector<SimNumber> numbers;
    double ring_seconds = 60;          // line time spent on a call nobody answers
    double busy_seconds = 5;           // line time spent hearing a busy tone
    std::filesystem::path remote_dir;  // where remote machines file pages; empty = VAR/remote
};

struct RetrySettings {
    int max_attempts = 6;
    std::int64_t busy_delay = 180;       // seconds before retrying a busy number
    std::int64_t no_answer_delay = 600;  // ... a number that did not answer
    std::int64_t failure_delay = 300;    // ... after a failed or interrupted call
    double backoff = 2.0;                // each further retry waits this much longer
    std::int64_t max_delay = 3600;
};

// What killed processes leave behind (a `faxgw submit`'s scratch files, a
// document moved into the spool whose enqueue never committed) is removed
// at start-up of run() and every `interval` seconds.
struct SweepSettings {
    std::int64_t interval = 600;
    // Unreferenced spool files younger than this may belong to an enqueue
    // about to commit.
    std::int64_t document_grace = 3600;
    // Scratch files younger than this may belong to a submit still
    // rendering: its parts one after another, each under the renderer's
    // wall-clock limit. An hour is also past Postfix's pipe time limit.
    std::int64_t scratch_age = 3600;
};

// Where the retry ladder starts for the numbers `number` matches (a glob,
// fnmatch, on the E.164 number, e.g. "+44*"): never above `top`, whatever
// rung the number has reached (a carrier known to break T.38, far ends that
// fail at 14400). The first rule that matches applies.
struct CallOptionsRule {
    std::string number;
    CallOptions top;
};
struct GatewaySettings {
    int lines = 4;
    std::string station_id = "faxgw";               // our TSI/CSID, 20 characters at most
    std::vector<std::string> dids = {"+15550100"};  // numbers the gateway answers
    // Junk fax senders: calls whose caller number matches one of these globs
    // (fnmatch, e.g. "+1900*") are refused before they are answered.
    std::vector<std::string> refused_callers;
    double watchdog_seconds = 60;  // no T.30 progress this long: hang up
    double max_call_seconds = 3600;
    // A failed call's T.30 trace is written to spool/trace/J<job>-<attempt>.t30
    // (HylaFAX's session logs); retention removes it with the job's documents.
    bool keep_failed_traces = true;
    double sim_speed = 0;                       // 0 = as fast as the CPU allows; 1 = real time
    std::vector<CallOptionsRule> call_options;  // per destination pattern; first match
    RetrySettings retry;
    SimSettings sim;
    SweepSettings sweep;
};

struct RunStats {
    int calls = 0;
    double line_seconds = 0;      // sum over all calls
    double makespan_seconds = 0;  // first dial to last hang-up (queue clock)
    double cpu_seconds = 0;       // process CPU time spent while running
};

// Another process holds the state folder's run lock.
class StateFolderBusy : public TemporaryError {
public:
    using TemporaryError::TemporaryError;
};

// The claim of one process on a state folder: an flock on VAR/run.lock,
// which the kernel releases however the process ends. The Gateway takes
// it, so every command that runs the scheduler holds it: a second one
// would dial the same jobs, and its start-up would requeue as
// "interrupted" the calls the first has in flight. Within one process
// the lock is shared: a command may take it before building its Gateway.
class RunLock {
public:
    // Throws StateFolderBusy when another process holds it.
    explicit RunLock(const std::filesystem::path& var_dir);
    ~RunLock();
    struct Held;

private:
    std::shared_ptr<Held> held_;
};

// One event for the log: its line of text ("J12: to=+15551001 ...
// outcome=busy ..."), its syslog priority, and the fields a journal can
// index and a sink can mask (FAX_JOB_ID, FAX_NUMBER, FAX_OUTCOME, ...).
// It converts to its text, so a sink that wants only lines (a test, the
// demo) can take a const std::string&.
struct LogEvent {
    enum class Priority { error = 3, warning = 4, notice = 5, info = 6 };
    using Fields = std::vector<std::pair<std::string, std::string>>;

    LogEvent(std::string line, Priority p = Priority::info, Fields f = {})
        : text(std::move(line)), priority(p), fields(std::move(f)) {}
    LogEvent(const char* line) : text(line) {}
    operator const std::string&() const { return text; }

    std::string text;
    Priority priority = Priority::info;
    Fields fields;
};

// Where log events go: one per job event, call, sweep or queue trouble.
using LogSink = std::function<void(const LogEvent&)>;

// How a supervisor learns that the scheduler still goes round: `beat`
// runs on the scheduler's own thread at the start of every round, and
// the scheduler wakes at least `every` to run it. A round that hangs
// (a stuck disk, a deadlock) stops the beats: systemd's watchdog then
// restarts the daemon.
struct Heartbeat {
    std::chrono::milliseconds every{60000};
    std::function<void()> beat;
};

class Gateway {
public:
    // `lines`: the line backend; none = the simulated network of
    // settings.sim.
    Gateway(Queue& queue, GatewaySettings settings, std::filesystem::path var_dir, LogSink log,
            std::unique_ptr<LineBackend> lines = {});
    ~Gateway();
    Gateway(const Gateway&) = delete;
    Gateway& operator=(const Gateway&) = delete;

    // On a simulated clock that jumps from event to event: runs every job to
    // its end (including retry waits) and returns. `after_events` runs after
    // each step (the entry point writes reports there).
    RunStats run_until_idle(const std::function<void()>& after_events = {});

    // Wakes run() for a round now, from any thread.
    void wake();

    // Lines in a call now (outbound or inbound), from any thread.
    int lines_busy() const;

    // New settings for new work, from any thread; taken at the start of the
    // next round. Calls in flight finish with the settings they began with.
    // The number of lines and what the line backend was built with stay.
    void reload(const GatewaySettings& settings);

    // On the real clock until `stop` is requested; calls in flight finish.
    void run(std::stop_token stop, const std::function<void()>& after_events = {},
             const Heartbeat& heartbeat = {});

private:
    RunLock run_lock_;  // first: held before anything touches the jobs
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace faxgw::faxcore
