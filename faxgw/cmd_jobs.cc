// faxgw jobs: list fax jobs and their attempts.
// Its manual is jobs_manual below: `--help` shows it, and so does faxgw(8).
#include <sysexits.h>

#include <ctime>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "job_view.h"

namespace faxgw {
namespace {

// The manual: DESCRIPTION, EXIT STATUS and the like (faxgw/manual.h).
constexpr const char* jobs_manual = R"(DESCRIPTION
    Lists every job (or the given ones): number, state, pages confirmed of
    the total, and each call attempt with its outcome, line time, bit rate,
    ECM, compression and T.30 result. --json prints one JSON array for
    scripts: [{id, number, state, pages, pages_confirmed, reason,
    attempts: [{number, outcome, ...}]}]. --release sends jobs a sender
    rule held; --cancel stops jobs not yet sent. The listing ends with the
    mails (notifications, received faxes) the outbox has not delivered yet
    or has given up on, with the relay's last answer; --mail lists every
    mail of the outbox instead: [{id, state, attempts, recipients, subject,
    result}] with --json.
EXIT STATUS
    0 listed; 66 the state folder does not exist (a wrong --var); 67 a
    given ID does not exist.
)";

struct JobsOptions {
    CommonOptions common;
    bool json = false;
    bool release = false;
    bool cancel = false;
    bool mail = false;
    std::vector<std::int64_t> ids;
};

// --release / --cancel: an administrator's answer to held or unwanted jobs.
int change_jobs(faxcore::Queue& queue, const JobsOptions& o) {
    int code = 0;
    for (auto id : o.ids) {
        bool changed = o.release ? queue.release(id) : queue.cancel(id);
        std::cout << "job " << id << ": "
                  << (changed ? (o.release ? "released" : "cancelled")
                              : (o.release ? "not held" : "not waiting to be sent"))
                  << "\n";
        if (!changed) code = EX_NOUSER;
    }
    return code;
}

std::string local_time(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    localtime_r(&tt, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &tm);
    return buffer;
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
    mailgw::Outbox outbox(config.var);
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

int list_jobs(const JobsOptions& o) {
    auto config = o.common.load();
    // A state folder that does not exist is a mistyped --var or paths.var:
    // say so rather than create an empty gateway there.
    if (!std::filesystem::is_directory(config.var)) {
        std::cerr << "faxgw jobs: no state folder " << config.var.string()
                  << " (a wrong --var or paths.var?)\n";
        return EX_NOINPUT;
    }
    auto queue = faxcore::Queue::open(config.var);
    if (o.mail) return list_mail(config, o.json);
    if (o.release || o.cancel) return change_jobs(*queue, o);
    std::vector<faxcore::Job> jobs;
    if (o.ids.empty()) {
        jobs = queue->jobs();
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
        const auto waiting = mailgw::Outbox(config.var).list();
        if (!waiting.empty()) std::cout << "\nMail not delivered yet, or given up:\n";
        for (const auto& m : waiting) print_mail(std::cout, m);
    }
    return 0;
}

}  // namespace

CLI::App* add_jobs_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("jobs", "List fax jobs with their attempts");
    cmd->footer(jobs_manual);
    auto o = std::make_shared<JobsOptions>();
    o->common.add_to(*cmd);
    cmd->add_flag("--json", o->json, "Print JSON for scripts");
    auto* release =
        cmd->add_flag("--release", o->release, "Release the given held jobs for sending");
    cmd->add_flag("--cancel", o->cancel, "Cancel the given jobs if not yet sent")
        ->excludes(release);
    cmd->add_flag("--mail", o->mail, "List the outbox's mails instead of the jobs");
    cmd->add_option("ids", o->ids, "Job IDs to show (default: all)");
    cmd->callback([o, &exit_code] { exit_code = list_jobs(*o); });
    return cmd;
}

}  // namespace faxgw
