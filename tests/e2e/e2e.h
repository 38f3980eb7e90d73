// Shared by the end-to-end tests: a temp folder, the faxgw binary, jobs as
// JSON, and the pages the simulated far ends received for a job.
#pragma once

#include <faxgw/render.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>

#include "process.h"
#include "test_support.h"

namespace faxgw::test {

inline const std::string faxgw_binary = FAXGW_BINARY;

inline nlohmann::json jobs_json(const std::filesystem::path& var,
                                const std::filesystem::path& scratch) {
    auto o = run({faxgw_binary, "jobs", "--json", "--var", var.string()}, scratch);
    if (o.code != 0) throw std::runtime_error("faxgw jobs failed: " + o.err);
    return nlohmann::json::parse(o.out);
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
