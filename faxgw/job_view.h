// How jobs are shown to people and scripts (faxgw jobs, faxgw demo).
#pragma once

#include <faxgw/faxcore.h>

#include <nlohmann/json.hpp>
#include <ostream>

namespace faxgw {

nlohmann::json job_to_json(const faxcore::Job& job);
void print_job(std::ostream& out, const faxcore::Job& job);
double total_line_seconds(const faxcore::Job& job);

}  // namespace faxgw
