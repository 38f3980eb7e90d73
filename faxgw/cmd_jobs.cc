// NAME
//     faxgw jobs - list fax jobs and their attempts
// SYNOPSIS
//     faxgw jobs [--json] [--config FILE] [--var DIR] [ID...]
// DESCRIPTION
//     Lists every job (or the given ones): number, state, pages confirmed of
//     the total, and each call attempt with its outcome, line time, bit rate,
//     ECM, compression and T.30 result. --json prints one JSON array for
//     scripts: [{id, number, state, pages, pages_confirmed, reason,
//     attempts: [{number, outcome, ...}]}].
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
    std::vector<std::int64_t> ids;
};

int list_jobs(const JobsOptions& o) {
    auto config = o.common.load();
    auto queue = faxcore::Queue::open(config.var);
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
    cmd->add_option("ids", o->ids, "Job IDs to show (default: all)");
    cmd->callback([o, &exit_code] { exit_code = list_jobs(*o); });
    return cmd;
}

}  // namespace faxgw
