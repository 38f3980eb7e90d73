// NAME
//     faxgw jobs - list fax jobs and their attempts
// SYNOPSIS
//     faxgw jobs [--json] [--config FILE] [--var DIR] [ID...]
//     faxgw jobs --release ID... | --cancel ID...
// DESCRIPTION
//     Lists every job (or the given ones): number, state, pages confirmed of
//     the total, and each call attempt with its outcome, line time, bit rate,
//     ECM, compression and T.30 result. --json prints one JSON array for
//     scripts: [{id, number, state, pages, pages_confirmed, reason,
//     attempts: [{number, outcome, ...}]}]. --release sends jobs a sender
//     rule held; --cancel stops jobs not yet sent.
// EXIT STATUS
//     0 listed; 67 a given ID does not exist.
#include <sysexits.h>

#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "job_view.h"

namespace faxgw {
namespace {

struct JobsOptions {
    CommonOptions common;
    bool json = false;
    bool release = false;
    bool cancel = false;
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

int list_jobs(const JobsOptions& o) {
    auto config = o.common.load();
    auto queue = faxcore::Queue::open(config.var);
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
    return 0;
}

}  // namespace

CLI::App* add_jobs_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("jobs", "List fax jobs with their attempts");
    auto o = std::make_shared<JobsOptions>();
    o->common.add_to(*cmd);
    cmd->add_flag("--json", o->json, "Print JSON for scripts");
    auto* release =
        cmd->add_flag("--release", o->release, "Release the given held jobs for sending");
    cmd->add_flag("--cancel", o->cancel, "Cancel the given jobs if not yet sent")
        ->excludes(release);
    cmd->add_option("ids", o->ids, "Job IDs to show (default: all)");
    cmd->callback([o, &exit_code] { exit_code = list_jobs(*o); });
    return cmd;
}

}  // namespace faxgw
