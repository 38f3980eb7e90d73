// How jobs are shown to people and scripts (faxgw jobs, faxgw demo).
#pragma once

#include <faxgw/faxcore.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>

namespace faxgw {

nlohmann::json job_to_json(const faxcore::Job& job);
void print_job(std::ostream& out, const faxcore::Job& job);
double total_line_seconds(const faxcore::Job& job);
// Queued or waiting for a retry: next_attempt_at is its next try.
bool waits_to_be_sent(faxcore::JobState state);
std::optional<faxcore::Outcome> last_outcome(const faxcore::Job& job);
// "2026-12-02 14:00:00" in local time.
std::string local_time(std::int64_t unix_seconds);

}  // namespace faxgw
