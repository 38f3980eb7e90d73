// faxgw jobs: list fax jobs and their attempts, follow them, change them.
// Its manual is jobs_manual below: `--help` shows it, and so does faxgw(8).
#include <fnmatch.h>
#include <sysexits.h>

#include <csignal>
#include <ctime>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "commands.h"
#include "job_view.h"

namespace faxgw {
namespace {

// The manual: DESCRIPTION, EXIT STATUS and the like (faxgw/manual.h).
constexpr const char* jobs_manual = R"(DESCRIPTION
    Lists every job (or the given ones): number, state, pages confirmed of
    the total, the sender, when it was submitted, its next try (queued
    and waiting jobs) and the outcome of its last call, then each call
    attempt with its outcome, line time, bit rate, ECM, compression and
    T.30 result. --state (queued, held, sending, retry-wait, done, failed,
    cancelled; several separated by commas), --sender (an address or a
    glob such as "*@example.org", any case) and --since (a time ago such
    as 30m, 12h, 7d, or a date YYYY-MM-DD [HH:MM]) keep only the jobs
    submitted by that sender, at or after that time. --json prints one
    JSON array for scripts: [{id, number, state, sender, submitted_at,
    next_try_at, last_outcome, pages, pages_confirmed, reason,
    attempts: [{number, outcome, ...}]}] (times in unix seconds,
    next_try_at and last_outcome null when there is none).
    --follow prints one line per event as it happens (a job queued, a
    state change, a call started or ended), watching the queue every
    second, until SIGINT or SIGTERM.
    --release sends jobs a sender rule held; --cancel stops jobs not yet
    sent; --retry queues failed jobs again, due now: each resumes at the
    first page the far end has not confirmed, with a fresh budget of
    retry.max_attempts calls, and its sender gets a new report when it
    ends (a job whose documents retention purged cannot be retried). The listing ends with the mails (notifications,
    received faxes) the outbox has not delivered yet or has given up on,
    with the relay's last answer; --mail lists every mail of the outbox
    instead: [{id, state, attempts, recipients, subject, result}] with
    --json. Listing and following change nothing and create nothing.
EXIT STATUS
    0 listed or changed; 64 a wrong option value; 66 the state folder does
    not exist (a wrong --var or paths.var); 67 a given ID does not exist,
    or is not in a state the change applies to.
)";

struct JobsOptions {
    CommonOptions common;
    bool json = false;
    bool release = false;
    bool cancel = false;
    bool retry = false;
    bool mail = false;
    bool follow = false;
    std::vector<std::string> states;
    std::string sender;
    std::string since;
    std::vector<std::int64_t> ids;
};

class BadOption : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

faxcore::JobState state_named(const std::string& name) {
    for (auto s : {faxcore::JobState::queued, faxcore::JobState::held, faxcore::JobState::sending,
                   faxcore::JobState::retry_wait, faxcore::JobState::done,
                   faxcore::JobState::failed, faxcore::JobState::cancelled})
        if (faxcore::to_string(s) == name) return s;
    throw BadOption("--state: no state '" + name +
                    "' (queued, held, sending, retry-wait, done, failed, cancelled)");
}

// "30m", "12h", "7d", "2w" ago, or "YYYY-MM-DD[ HH:MM]" local time.
std::int64_t since_time(const std::string& when, std::int64_t now) {
    std::smatch m;
    if (std::regex_match(when, m, std::regex(R"((\d+)\s*([smhdw]))"))) {
        const std::map<char, std::int64_t> unit = {
            {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
        return now - std::stoll(m[1]) * unit.at(m[2].str()[0]);
    }
    std::tm tm{};
    for (const char* format : {"%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"}) {
        tm = {};
        const char* end = strptime(when.c_str(), format, &tm);
        if (end && *end == '\0') {
            tm.tm_isdst = -1;
            return static_cast<std::int64_t>(std::mktime(&tm));
        }
    }
    throw BadOption("--since: '" + when + "' is neither a time ago (30m, 12h, 7d) nor a date " +
                    "(YYYY-MM-DD [HH:MM])");
}

faxcore::JobFilter filter_of(const JobsOptions& o) {
    faxcore::JobFilter f;
    for (const auto& s : o.states) f.states.push_back(state_named(s));
    if (!o.since.empty()) f.submitted_from = since_time(o.since, faxcore::unix_now());
    return f;
}

bool sender_matches(const JobsOptions& o, const faxcore::Job& job) {
    return o.sender.empty() ||
           ::fnmatch(o.sender.c_str(), mailgw::origin_sender(job.origin).c_str(), FNM_CASEFOLD) ==
               0;
}

std::vector<faxcore::Job> selected_jobs(faxcore::Queue& queue, const JobsOptions& o,
                                        const faxcore::JobFilter& filter) {
    std::vector<faxcore::Job> out;
    for (auto& j : queue.find_jobs(filter))
        if (sender_matches(o, j)) out.push_back(std::move(j));
    return out;
}

// --release / --cancel / --retry: an administrator's answer to held,
// unwanted or failed jobs.
int change_jobs(faxcore::Queue& queue, const JobsOptions& o) {
    int code = 0;
    for (auto id : o.ids) {
        const bool changed = o.release  ? queue.release(id)
                             : o.cancel ? queue.cancel(id)
                                        : queue.retry(id);
        const char* done = o.release ? "released" : o.cancel ? "cancelled" : "queued again";
        const char* not_done = o.release  ? "not held"
                               : o.cancel ? "not waiting to be sent"
                                          : "not failed, or its documents were purged";
        std::cout << "job " << id << ": " << (changed ? done : not_done) << "\n";
        if (!changed) code = EX_NOUSER;
    }
    return code;
}

void print_mail(std::ostream& out, const mailgw::OutboxEntry& m) {
    std::string to;
    for (const auto& r : m.recipients) to += (to.empty() ? "" : ", ") + r;
    out << "mail " << m.id << "  " << mailgw::to_string(m.state) << "  to " << to << "  \""
        << m.subject << "\"\n";
    out << "    " << m.attempts << (m.attempts == 1 ? " try" : " tries");
    if (m.state == mailgw::MailState::queued)
        out << ", next " << local_time(m.next_try_at);
    else
        out << ", " << mailgw::to_string(m.state) << " " << local_time(m.done_at);
    if (!m.result.empty()) out << ": " << m.result;
    out << "\n";
}

nlohmann::json mail_to_json(const mailgw::OutboxEntry& m) {
    return {{"id", m.id},
            {"state", mailgw::to_string(m.state)},
            {"attempts", m.attempts},
            {"recipients", m.recipients},
            {"subject", m.subject},
            {"created_at", m.created_at},
            {"next_try_at", m.next_try_at},
            {"done_at", m.done_at},
            {"result", m.result}};
}

int list_mail(const Config& config, bool json) {
    mailgw::Outbox outbox(config.var, faxcore::Access::read_only);
    const auto mails = outbox.list(true);
    if (json) {
        auto arr = nlohmann::json::array();
        for (const auto& m : mails) arr.push_back(mail_to_json(m));
        std::cout << arr.dump(2) << "\n";
        return 0;
    }
    for (const auto& m : mails) print_mail(std::cout, m);
    return 0;
}

// ---- --follow ----------------------------------------------------------

volatile std::sig_atomic_t stop_following = 0;
extern "C" void on_stop_signal(int) { stop_following = 1; }

// What --follow compares from one look at the queue to the next.
struct Seen {
    faxcore::JobState state;
    std::size_t attempts;
    faxcore::Outcome last_outcome;
    bool operator==(const Seen&) const = default;
};

Seen seen_of(const faxcore::Job& j) {
    return {j.state, j.attempts.size(),
            j.attempts.empty() ? faxcore::Outcome::interrupted : j.attempts.back().outcome};
}

// The events between `before` (nothing: a new job) and the job now.
void print_events(const std::optional<Seen>& before, const faxcore::Job& j) {
    const std::string at =
        local_time(faxcore::unix_now()) + "  job " + std::to_string(j.id) + " " + j.number + ": ";
    if (!before) {
        std::cout << at << "submitted by " << mailgw::origin_sender(j.origin) << ", "
                  << faxcore::to_string(j.state) << "\n";
        return;
    }
    // A call that ended between two looks: its start and its end.
    for (std::size_t n = before->attempts; n < j.attempts.size(); ++n)
        std::cout << at << "call " << j.attempts[n].number << " on " << j.attempts[n].line
                  << " started\n";
    const bool still_in_call = j.state == faxcore::JobState::sending;
    if (!j.attempts.empty() && !still_in_call &&
        (j.attempts.size() != before->attempts || before->state == faxcore::JobState::sending)) {
        const auto& a = j.attempts.back();
        std::cout << at << "call " << a.number << " ended: " << faxcore::describe(a.outcome).name
                  << ", pages " << j.pages_confirmed << "/" << j.pages << "\n";
    }
    if (j.state != before->state)
        std::cout << at << faxcore::to_string(before->state) << " -> "
                  << faxcore::to_string(j.state) << (j.reason.empty() ? "" : " (" + j.reason + ")")
                  << "\n";
}

int follow_jobs(faxcore::Queue& queue, const JobsOptions& o, const faxcore::JobFilter& filter) {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    // The states filter applies to events, not to the look: a job leaving
    // a wanted state is an event too.
    faxcore::JobFilter look = filter;
    look.states.clear();
    auto wanted = [&](faxcore::JobState s) {
        return filter.states.empty() ||
               std::find(filter.states.begin(), filter.states.end(), s) != filter.states.end();
    };
    std::map<std::int64_t, Seen> seen;
    for (const auto& j : selected_jobs(queue, o, look)) seen.emplace(j.id, seen_of(j));
    std::cout << "following " << seen.size() << " job(s); SIGINT or SIGTERM ends" << std::endl;
    while (!stop_following) {
        for (int i = 0; i < 10 && !stop_following; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        for (const auto& j : selected_jobs(queue, o, look)) {
            auto it = seen.find(j.id);
            const auto now = seen_of(j);
            if (it != seen.end() && it->second == now) continue;
            const bool was_wanted = it != seen.end() && wanted(it->second.state);
            if (wanted(j.state) || was_wanted)
                print_events(it == seen.end() ? std::nullopt : std::optional(it->second), j);
            seen[j.id] = now;
        }
        std::cout << std::flush;
    }
    return 0;
}

// ------------------------------------------------------------------------

int list_jobs(const JobsOptions& o) {
    auto config = o.common.load();
    faxcore::JobFilter filter;
    try {
        filter = filter_of(o);
    } catch (const BadOption& e) {
        std::cerr << "faxgw jobs: " << e.what() << "\n";
        return EX_USAGE;
    }
    if (o.release || o.cancel || o.retry) {
        // A state folder that does not exist is a mistyped --var or
        // paths.var: say so rather than create an empty gateway there.
        if (!std::filesystem::is_directory(config.var)) throw faxcore::NoStateFolder(config.var);
        auto queue = faxcore::Queue::open(config.var);
        return change_jobs(*queue, o);
    }
    if (o.mail) return list_mail(config, o.json);
    auto queue = faxcore::Queue::open(config.var, faxcore::Access::read_only);
    if (o.follow) return follow_jobs(*queue, o, filter);
    std::vector<faxcore::Job> jobs;
    if (o.ids.empty()) {
        jobs = selected_jobs(*queue, o, filter);
    } else {
        for (auto id : o.ids) {
            auto j = queue->job(id);
            if (!j) {
                std::cerr << "faxgw jobs: no job " << id << "\n";
                return EX_NOUSER;
            }
            jobs.push_back(*j);
        }
    }
    if (o.json) {
        auto arr = nlohmann::json::array();
        for (const auto& j : jobs) arr.push_back(job_to_json(j));
        std::cout << arr.dump(2) << "\n";
        return 0;
    }
    for (const auto& j : jobs) print_job(std::cout, j);
    if (o.ids.empty()) {
        const auto waiting = mailgw::Outbox(config.var, faxcore::Access::read_only).list();
        if (!waiting.empty()) std::cout << "\nMail not delivered yet, or given up:\n";
        for (const auto& m : waiting) print_mail(std::cout, m);
    }
    return 0;
}

}  // namespace

CLI::App* add_jobs_command(CLI::App& app, int& exit_code) {
    auto* cmd =
        app.add_subcommand("jobs", "List fax jobs with their attempts; follow, change them");
    cmd->footer(jobs_manual);
    auto o = std::make_shared<JobsOptions>();
    o->common.add_to(*cmd);
    cmd->add_flag("--json", o->json, "Print JSON for scripts");
    cmd->add_option("--state", o->states,
                    "Only jobs in these states (queued, held, sending, retry-wait, done, failed, "
                    "cancelled)")
        ->delimiter(',');
    cmd->add_option("--sender", o->sender,
                    "Only jobs of this sender (an address or a glob, any case)");
    cmd->add_option("--since", o->since,
                    "Only jobs submitted since then: 30m, 12h, 7d ago, or YYYY-MM-DD [HH:MM]");
    auto* follow = cmd->add_flag("--follow", o->follow,
                                 "Print events (states, calls) as they happen, until SIGINT");
    auto* release =
        cmd->add_flag("--release", o->release, "Release the given held jobs for sending");
    auto* cancel = cmd->add_flag("--cancel", o->cancel, "Cancel the given jobs if not yet sent");
    auto* retry = cmd->add_flag("--retry", o->retry,
                                "Queue the given failed jobs again, with a fresh attempt budget");
    auto* mail = cmd->add_flag("--mail", o->mail, "List the outbox's mails instead of the jobs");
    cancel->excludes(release);
    retry->excludes(release)->excludes(cancel);
    follow->excludes(release)->excludes(cancel)->excludes(retry)->excludes(mail);
    cmd->add_option("ids", o->ids, "Job IDs to show or change (default: all)");
    cmd->callback([o, &exit_code] { exit_code = list_jobs(*o); });
    return cmd;
}

}  // namespace faxgw
