// Shared by the end-to-end tests: a temp folder, the faxgw binary, jobs as
// JSON, and the pages the simulated far ends received for a job.
#pragma once

#include <faxgw/render.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "process.h"
#include "test_support.h"

namespace faxgw::test {

inline const std::string faxgw_binary = FAXGW_BINARY;

// A temp folder holding a state folder (not created: faxgw does that),
// and the faxgw binary run with its files there. Each test's rig adds what
// it needs.
struct StateRig {
    TempDir dir;
    std::filesystem::path var = dir.path / "var";
    Output faxgw(std::vector<std::string> args, const std::filesystem::path& stdin_file = {}) {
        args.insert(args.begin(), faxgw_binary);
        return run(args, dir.path, stdin_file);
    }
};

inline nlohmann::json jobs_json(const std::filesystem::path& var,
                                const std::filesystem::path& scratch) {
    auto o = run({faxgw_binary, "jobs", "--json", "--var", var.string()}, scratch);
    if (o.code != 0) throw std::runtime_error("faxgw jobs failed: " + o.err);
    return nlohmann::json::parse(o.out);
}

// Whether every job has ended (done or failed).
inline bool all_ended(const nlohmann::json& jobs) {
    for (const auto& j : jobs)
        if (j["state"] != "done" && j["state"] != "failed") return false;
    return true;
}

// The jobs once all have ended, polled for up to two minutes (a `faxgw run`
// works on them meanwhile); as they are then, ended or not.
inline nlohmann::json jobs_when_all_ended(const std::filesystem::path& var,
                                          const std::filesystem::path& scratch) {
    nlohmann::json jobs;
    for (int i = 0; i < 600; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        jobs = jobs_json(var, scratch);
        if (all_ended(jobs)) break;
    }
    return jobs;
}

// Queues samples/docs/three-pages.pdf to +15551001 with `faxgw send`.
inline void queue_three_page_fax(const std::filesystem::path& var,
                                 const std::filesystem::path& scratch) {
    auto sent = run({faxgw_binary, "send", "--var", var.string(), "--to", "5551001",
                     (source_dir / "samples" / "docs" / "three-pages.pdf").string()},
                    scratch);
    if (sent.code != 0) throw std::runtime_error("faxgw send failed: " + sent.err);
}

inline std::string digits_of(const std::string& number) {
    std::string d;
    for (char c : number)
        if (std::isdigit(static_cast<unsigned char>(c))) d += c;
    return d;
}

// The document as the far end holds it: each attempt's received file put at
// the attempt's first page (a later attempt overwrites what it resent).
inline std::vector<render::Page> far_end_pages(const std::filesystem::path& remote_dir,
                                               const nlohmann::json& job) {
    std::vector<render::Page> pages;
    auto folder = remote_dir / digits_of(job["number"]);
    for (const auto& a : job["attempts"]) {
        auto file = folder / ("call-" + std::to_string(job["id"].get<long>()) + "-" +
                              std::to_string(a["number"].get<int>()) + ".tif");
        if (!std::filesystem::exists(file)) continue;
        std::vector<render::Page> got;
        try {
            got = render::read_fax_tiff(file);
        } catch (const render::Error&) {
            // The simulated far end lives in the gateway's process: a kill -9
            // mid-call can leave its file unfinished. Nothing in it was
            // confirmed, so a later attempt sent those pages again.
            if (a["outcome"] != "interrupted") throw;
        }
        std::size_t at = a["first_page"].get<std::size_t>() - 1;
        if (pages.size() < at + got.size()) pages.resize(at + got.size());
        std::copy(got.begin(), got.end(), pages.begin() + static_cast<long>(at));
    }
    return pages;
}

}  // namespace faxgw::test
