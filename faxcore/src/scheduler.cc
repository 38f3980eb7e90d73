// The scheduler: puts due jobs on free lines, never two calls to one number
// at once, and turns each call's outcome into the job's next state (done,
// retry later with a backoff per failure class, or failed with a reason).
// The same loop runs on the real clock (`faxgw run`) or on a simulated clock
// that jumps from event to event (`faxgw demo`, the benchmark), so a demo
// with retry waits of minutes ends in seconds.
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "sim_network.h"
#include "sqlite_queue.h"
#include "wakeup.h"

namespace faxgw::faxcore {
namespace {

struct InFlight {
    Job job;
    int line = 0;
    int attempt = 0;
    int first_page = 1;
    std::int64_t started_at = 0;
    CallOptions options;     // the number's rung of the retry ladder
    std::future<void> call;  // the line's thread
    Attempt outcome;         // written by the line's thread before `finished`
    std::atomic<bool> finished{false};
    std::optional<Attempt> done;  // taken over by the scheduler thread
    std::int64_t ends_at() const {
        return started_at + static_cast<std::int64_t>(std::ceil(done->line_seconds));
    }
};

double process_cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// One line per attempt, with the fields a journal indexes. A delivered fax
// is news (info), a retry worth a look (notice), a failed job a warning.
LogEvent attempt_event(const Job& job, const Attempt& a, JobState next, const std::string& reason) {
    std::ostringstream s;
    s << "J" << job.id << ": to=" << job.number << " line=" << a.line << " attempt=" << a.number
      << " pages=" << (a.first_page - 1 + a.pages_confirmed) << "/" << job.pages
      << " line_s=" << static_cast<int>(a.line_seconds) << " rate=" << a.bit_rate
      << " ecm=" << (a.ecm ? "yes" : "no")
      << " comp=" << (a.compression.empty() ? "-" : a.compression)
      << " outcome=" << describe(a.outcome).name << " state=" << to_string(next);
    if (!a.t30_text.empty()) s << " t30=\"" << a.t30_text << "\"";
    if (!reason.empty()) s << " reason=\"" << reason << "\"";
    const auto priority = next == JobState::failed ? LogEvent::Priority::warning
                          : next == JobState::done ? LogEvent::Priority::info
                                                   : LogEvent::Priority::notice;
    return {s.str(),
            priority,
            {{"FAX_JOB_ID", std::to_string(job.id)},
             {"FAX_NUMBER", job.number},
             {"FAX_OUTCOME", std::string(describe(a.outcome).name)},
             {"FAX_JOB_STATE", std::string(to_string(next))}}};
}

// spandsp closes a received file but does not fsync it; the inbound row
// must never point at pages a crash could still lose.
void fsync_file(const std::filesystem::path& p) {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw TemporaryError("cannot open received fax " + p.string());
    int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) throw TemporaryError("cannot make received fax durable: " + p.string());
}

}  // namespace

// The gateway's lines: the scheduler takes them for outbound calls, a line
// backend's listener (on its own thread) for answered inbound calls.
class LinePool {
public:
    explicit LinePool(int lines) : free_(static_cast<std::size_t>(std::max(1, lines)), true) {}
    std::optional<int> take() {
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < free_.size(); ++i)
            if (free_[i]) {
                free_[i] = false;
                return static_cast<int>(i);
            }
        return std::nullopt;
    }
    int busy() const {
        std::lock_guard lock(mutex_);
        return static_cast<int>(std::count(free_.begin(), free_.end(), false));
    }
    bool any_free() const {
        std::lock_guard lock(mutex_);
        return std::find(free_.begin(), free_.end(), true) != free_.end();
    }
    void give_back(int line) {
        std::lock_guard lock(mutex_);
        free_[static_cast<std::size_t>(line)] = true;
    }

private:
    mutable std::mutex mutex_;
    std::vector<bool> free_;
};

struct Gateway::Impl final : InboundSink {
    Impl(Queue& q, GatewaySettings s, std::filesystem::path var, LogSink log,
         std::unique_ptr<LineBackend> backend)
        : queue(dynamic_cast<SqliteQueue&>(q)),
          settings(std::move(s)),
          var_dir(var),
          lines(backend ? std::move(backend) : std::make_unique<SimNetwork>(settings, var)),
          log(std::move(log)),
          pool(settings.lines),
          wakeup(var) {
        lines->listen(*this);
    }

    SqliteQueue& queue;
    // Written only by the scheduler's thread, under settings_mutex; read
    // there freely, and from the lines' threads under the mutex.
    GatewaySettings settings;
    mutable std::mutex settings_mutex;
    std::optional<GatewaySettings> reloaded;  // for the next round
    std::filesystem::path var_dir;
    std::unique_ptr<LineBackend> lines;
    LogSink log;
    LinePool pool;
    std::stop_source hang_up;  // asks calls in flight to end (the gateway stops)
    std::set<std::string> numbers_in_call;
    std::vector<std::unique_ptr<InFlight>> in_flight;
    RunStats stats;
    Wakeup wakeup;
    std::int64_t first_dial = -1, last_hangup = -1;

    // InboundSink: an answered call holds a line until its lease ends.
    struct Lease final : LineLease {
        Impl& gateway;
        int index;
        Lease(Impl& g, int i) : gateway(g), index(i) {}
        ~Lease() override {
            gateway.pool.give_back(index);
            gateway.wakeup.notify();  // a queued job may take the line
        }
        int line() const override { return index; }
    };
    bool refuses_caller(const std::string& caller) const override {
        std::lock_guard lock(settings_mutex);
        for (const auto& pattern : settings.refused_callers)
            if (::fnmatch(pattern.c_str(), caller.c_str(), 0) == 0) {
                if (log)
                    log({"inbound call from " + caller + " refused (refused caller " + pattern +
                             ")",
                         LogEvent::Priority::notice,
                         {{"FAX_CALLER", caller}}});
                return true;
            }
        return false;
    }
    std::unique_ptr<LineLease> reserve_line() override {
        auto line = pool.take();
        if (!line) return nullptr;
        return std::make_unique<Lease>(*this, *line);
    }
    std::filesystem::path inbound_file(const std::string&, const std::string& call_id) override {
        std::filesystem::create_directories(queue.inbound_dir());
        return queue.inbound_dir() / ("call-" + call_id + ".tif");
    }
    void received(InboundFax fax) override {
        fsync_file(fax.tiff);
        auto id = queue.add_inbound(fax);
        if (log)
            log({"inbound " + std::to_string(id) + ": did=" + fax.did + " caller=" + fax.caller +
                     " pages=" + std::to_string(fax.pages) + (fax.complete ? "" : " incomplete"),
                 fax.complete ? LogEvent::Priority::info : LogEvent::Priority::warning,
                 {{"FAX_INBOUND_ID", std::to_string(id)},
                  {"FAX_DID", fax.did},
                  {"FAX_CALLER", fax.caller}}});
    }

    // Starts calls for due jobs while lines are free. Returns calls started.
    int start_due_calls(std::int64_t now) {
        int started = 0;
        if (!pool.any_free()) return 0;
        for (auto& job : queue.due_jobs(now, 0)) {
            if (numbers_in_call.count(job.number)) continue;
            auto line = pool.take();
            if (!line) break;
            if (start_call(std::move(job), *line, now))
                ++started;
            else
                pool.give_back(*line);
        }
        return started;
    }

    // Dials unless the job stopped waiting since due_jobs() (cancelled).
    bool start_call(Job job, int line, std::int64_t now) {
        std::string line_name = lines->line_name(line);
        auto attempt = queue.start_attempt(job.id, line_name, now);
        if (!attempt) return false;
        auto f = std::make_unique<InFlight>();
        f->attempt = *attempt;
        f->first_page = job.pages_confirmed + 1;
        f->options = queue.call_options(job.number);
        for (const auto& rule : settings.call_options)
            if (::fnmatch(rule.number.c_str(), job.number.c_str(), 0) == 0) {
                f->options = within(f->options, rule.top);
                break;
            }
        f->line = line;
        f->started_at = now;
        f->job = std::move(job);
        numbers_in_call.insert(f->job.number);
        if (first_dial < 0) first_dial = now;
        if (log)
            log({"J" + std::to_string(f->job.id) + ": dial to=" + f->job.number +
                     " line=" + line_name + " attempt=" + std::to_string(f->attempt) +
                     " first_page=" + std::to_string(f->first_page),
                 LogEvent::Priority::info,
                 {{"FAX_JOB_ID", std::to_string(f->job.id)}, {"FAX_NUMBER", f->job.number}}});
        InFlight* raw = f.get();
        f->call = std::async(
            std::launch::async, [this, raw, line_name, station_id = settings.station_id] {
                OutgoingCall call{raw->job,        raw->attempt, raw->first_page, raw->line,
                                  raw->started_at, station_id,   raw->options};
                auto on_page = [this, raw](int confirmed_in_call) {
                    // Runs inside spandsp's callbacks, which no exception may
                    // cross. A busy queue loses only this early record: the
                    // attempt's end records the pages confirmed as well.
                    try {
                        queue.record_progress(raw->job.id, raw->attempt,
                                              raw->first_page - 1 + confirmed_in_call);
                    } catch (const std::exception&) {
                    }
                };
                Attempt r;
                try {
                    r = lines->place_call(call, on_page, hang_up.get_token());
                } catch (const std::exception& e) {
                    r = attempt_of(call, PartyReport{}, 0);
                    r.outcome = Outcome::protocol_error;
                    r.detail = std::string("line error: ") + e.what();
                }
                r.line = line_name;
                // Publish the result before waking the scheduler, so that the
                // wake-up never finds the call still unfinished.
                raw->outcome = std::move(r);
                raw->finished.store(true, std::memory_order_release);
                wakeup.notify();
            });
        in_flight.push_back(std::move(f));
        return true;
    }

    std::int64_t retry_delay(RetryClass cls, int attempt) const {
        const auto& r = settings.retry;
        double base = cls == RetryClass::busy        ? r.busy_delay
                      : cls == RetryClass::no_answer ? r.no_answer_delay
                                                     : r.failure_delay;
        double d = base * std::pow(r.backoff, std::max(0, attempt - 1));
        return static_cast<std::int64_t>(std::min<double>(d, r.max_delay));
    }

    // Decides the job's next state from the attempt that just ended.
    void finish(InFlight& f, std::int64_t now) {
        Attempt a = *f.done;
        a.number = f.attempt;
        a.first_page = f.first_page;
        a.started_at = f.started_at;
        const int confirmed = f.first_page - 1 + a.pages_confirmed;
        JobState next = JobState::done;
        std::string reason;
        std::int64_t next_at = now;
        // Done means every page confirmed by the far end, nothing less; a call
        // that dropped after the last confirmation still delivered the fax.
        const bool delivered = confirmed >= f.job.pages;
        if (a.outcome == Outcome::ok && !delivered) {
            a.outcome = Outcome::protocol_error;
            a.detail = "T.30 ended OK but only " + std::to_string(confirmed) + " of " +
                       std::to_string(f.job.pages) + " pages were confirmed";
        }
        if (!delivered) {
            const auto& info = describe(a.outcome);
            reason = std::string(info.text);
            if (!a.t30_text.empty() && a.outcome != Outcome::busy &&
                a.outcome != Outcome::no_answer)
                reason += " (" + a.t30_text + ")";
            // An administrator's retry gives the job a fresh attempt budget.
            const int in_budget = f.attempt - f.job.attempts_before_retry;
            if (info.retry == RetryClass::permanent) {
                next = JobState::failed;
            } else if (in_budget >= settings.retry.max_attempts) {
                next = JobState::failed;
                reason = "gave up after " + std::to_string(in_budget) + " attempts: " + reason;
            } else {
                next = JobState::retry_wait;
                next_at = now + retry_delay(info.retry, in_budget);
            }
        }
        // What worked is where the next job to this number starts; a
        // failed transfer steps down the ladder for the next attempt.
        // Before the attempt's record: a busy queue retries this whole step.
        const CallOptions rung =
            delivered ? f.options : next_rung(f.options, a.outcome, a.transport);
        if (delivered || !(rung == f.options)) queue.remember_call_options(f.job.number, rung, now);
        queue.finish_attempt(f.job.id, a, next, next_at, reason);
        if (!delivered) keep_trace(f.job, a);
        stats.calls++;
        stats.line_seconds += a.line_seconds;
        last_hangup = std::max(last_hangup, now);
        if (log) log(attempt_event(f.job, a, next, reason));
    }

    // A failed call's T.30 exchange, for whoever diagnoses it. Not durable:
    // a trace lost to a crash loses nothing of the job.
    void keep_trace(const Job& job, const Attempt& a) {
        if (!settings.keep_failed_traces || a.protocol_trace.empty()) return;
        const auto file = trace_file(var_dir, job.id, a.number);
        try {
            std::filesystem::create_directories(file.parent_path());
            std::ofstream out(file);
            out << "J" << job.id << " attempt " << a.number << " to " << job.number << ": "
                << describe(a.outcome).name << (a.t30_text.empty() ? "" : " (" + a.t30_text + ")")
                << "\n";
            for (const auto& line : a.protocol_trace) out << line << "\n";
            out.close();
            if (!out) throw std::runtime_error("cannot write " + file.string());
            if (log)
                log({"J" + std::to_string(job.id) + ": T.30 trace in " + file.string(),
                     LogEvent::Priority::info,
                     {{"FAX_JOB_ID", std::to_string(job.id)}}});
        } catch (const std::exception& e) {
            if (log)
                log({"J" + std::to_string(job.id) + ": T.30 trace not kept: " + e.what(),
                     LogEvent::Priority::warning});
        }
    }

    void release(InFlight& f) {
        pool.give_back(f.line);
        numbers_in_call.erase(f.job.number);
    }

    // Finishes calls whose result is in and whose end has come on the clock.
    int reap(std::int64_t now, bool simulated) {
        int reaped = 0;
        for (auto it = in_flight.begin(); it != in_flight.end();) {
            InFlight& f = **it;
            if (!f.done && (simulated || f.finished.load(std::memory_order_acquire))) {
                f.call.get();  // joins the line's thread
                f.done = std::move(f.outcome);
            }
            if (f.done && (!simulated || f.ends_at() <= now)) {
                finish(f, simulated ? f.ends_at() : now);
                release(f);
                it = in_flight.erase(it);
                ++reaped;
            } else {
                ++it;
            }
        }
        return reaped;
    }

    std::chrono::milliseconds time_to_next_due(std::int64_t now) {
        // A job already due that was not started waits for a line or for its
        // number's call to end, and a call's end wakes us anyway.
        auto due = queue.next_due_time();
        std::int64_t seconds = due && *due > now ? std::min<std::int64_t>(*due - now, 60) : 60;
        return std::chrono::milliseconds(seconds * 1000);
    }

    // Jobs a dead predecessor left "sending" go back to the queue, once,
    // before the first call (the run lock says no live process has them).
    bool recovered = false;
    void recover_once() {
        if (recovered) return;
        int n = queue.recover_interrupted();
        recovered = true;
        if (n && log)
            log({"recovered " + std::to_string(n) + " job(s) interrupted mid-call",
                 LogEvent::Priority::notice});
    }

    std::int64_t next_sweep = 0;  // at start-up first
    void sweep_when_due(std::int64_t now) {
        if (now < next_sweep) return;
        const auto& sw = settings.sweep;
        int removed = queue.sweep_spool(now, sw.document_grace, sw.scratch_age);
        next_sweep = now + sw.interval;
        if (removed && log)
            log("removed " + std::to_string(removed) + " file(s) left behind in the spool");
    }

    // Settings given by reload() apply from here on; the line count stays,
    // since the backend was built for it.
    void take_reloaded_settings() {
        std::lock_guard lock(settings_mutex);
        if (!reloaded) return;
        const int lines_built = settings.lines;
        settings = std::move(*reloaded);
        settings.lines = lines_built;
        reloaded.reset();
        next_sweep = 0;
    }

    // One round on the real clock. Returns how long to wait for the next.
    std::chrono::milliseconds step(std::int64_t now, const std::function<void()>& after_events) {
        take_reloaded_settings();
        recover_once();
        sweep_when_due(now);
        reap(now, false);
        start_due_calls(now);
        if (after_events) after_events();
        return time_to_next_due(now);
    }

    // A round that failed because another process holds the queue's write
    // lock (an sqlite3 shell, a backup) or the disk is full: the calls'
    // results wait in memory and the round is tried again. Said once per
    // spell, so that the log shows why nothing moves.
    std::optional<std::string> waiting_for_queue;
    void queue_unavailable(const std::string& why) {
        if (!waiting_for_queue && log)
            log({"queue unavailable, retrying: " + why, LogEvent::Priority::warning});
        waiting_for_queue = why;
    }
    void queue_available() {
        if (waiting_for_queue && log) log({"queue available again", LogEvent::Priority::notice});
        waiting_for_queue.reset();
    }

    std::optional<std::int64_t> next_event(std::int64_t now) {
        std::optional<std::int64_t> t;
        for (auto& f : in_flight) t = std::min(t.value_or(f->ends_at()), f->ends_at());
        auto due = queue.next_due_time();
        // A due job waits for a line or for its number's call: that ends first.
        if (due && (*due > now || (!t && pool.any_free())))
            t = std::min(t.value_or(std::max(*due, now)), std::max(*due, now));
        return t;
    }
};

Gateway::Gateway(Queue& queue, GatewaySettings settings, std::filesystem::path var_dir, LogSink log,
                 std::unique_ptr<LineBackend> lines)
    : run_lock_(var_dir),
      impl_(std::make_unique<Impl>(queue, std::move(settings), std::move(var_dir), std::move(log),
                                   std::move(lines))) {}

Gateway::~Gateway() {
    impl_->hang_up.request_stop();
    for (auto& f : impl_->in_flight)
        if (f->call.valid()) f->call.wait();
    // The backend's listener stops before the sink it calls goes away.
    impl_->lines.reset();
}

RunStats Gateway::run_until_idle(const std::function<void()>& after_events) {
    auto& s = *impl_;
    double cpu_start = process_cpu_seconds();
    s.recover_once();
    std::int64_t now = unix_now();
    for (;;) {
        // Collect every call's result (they ran in parallel) so the clock can
        // jump to the earliest end; lines freed at this instant take the
        // next due jobs at this same instant.
        do {
            s.start_due_calls(now);
        } while (s.reap(now, true) > 0);
        if (after_events) after_events();
        auto t = s.next_event(now);
        if (!t) break;
        now = std::max(now, *t);
    }
    s.stats.cpu_seconds = process_cpu_seconds() - cpu_start;
    s.stats.makespan_seconds =
        s.first_dial < 0 ? 0 : static_cast<double>(s.last_hangup - s.first_dial);
    return s.stats;
}

void Gateway::wake() { impl_->wakeup.notify(); }

int Gateway::lines_busy() const { return impl_->pool.busy(); }

void Gateway::reload(const GatewaySettings& settings) {
    {
        std::lock_guard lock(impl_->settings_mutex);
        impl_->reloaded = settings;
    }
    wake();
}

void Gateway::run(std::stop_token stop, const std::function<void()>& after_events,
                  const Heartbeat& heartbeat) {
    auto& s = *impl_;
    std::stop_callback wake_on_stop(stop, [&s] { s.wakeup.notify(); });
    constexpr std::chrono::milliseconds busy_retry{1000};
    while (!stop.stop_requested()) {
        // From this thread only: a round that hangs stops the beats.
        if (heartbeat.beat) heartbeat.beat();
        auto wait = busy_retry;
        try {
            wait = s.step(unix_now(), after_events);
            s.queue_available();
        } catch (const TemporaryError& e) {
            s.queue_unavailable(e.what());
        } catch (const SQLite::Exception& e) {
            if (!is_busy(e)) throw;  // a broken queue: the caller says why and stops
            s.queue_unavailable(e.what());
        }
        // Woken by a call ending, by `faxgw submit` through the FIFO, or at
        // the latest when the next retry or heartbeat falls due.
        if (heartbeat.beat) wait = std::min(wait, heartbeat.every);
        s.wakeup.wait(wait);
    }
    // Real lines hang up (the attempt ends "interrupted" and is retried from
    // its first unconfirmed page); the simulated network's calls finish.
    s.hang_up.request_stop();
    for (auto& f : s.in_flight) f->call.wait();
    // The results of the last calls must reach the queue, or a restart
    // would send those faxes again: a busy queue is waited out here too.
    for (;;) {
        try {
            s.reap(unix_now(), false);
            break;
        } catch (const TemporaryError& e) {
            s.queue_unavailable(e.what());
        } catch (const SQLite::Exception& e) {
            if (!is_busy(e)) throw;
            s.queue_unavailable(e.what());
        }
        std::this_thread::sleep_for(busy_retry);
    }
    if (after_events) after_events();
}

}  // namespace faxgw::faxcore
