#include "job_view.h"

#include <faxgw/mailgw.h>

#include <ctime>
#include <iomanip>

namespace faxgw {

bool waits_to_be_sent(faxcore::JobState s) {
    return s == faxcore::JobState::queued || s == faxcore::JobState::retry_wait;
}

std::optional<faxcore::Outcome> last_outcome(const faxcore::Job& job) {
    if (job.attempts.empty()) return std::nullopt;
    return job.attempts.back().outcome;
}

std::string local_time(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    localtime_r(&tt, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &tm);
    return buffer;
}

double total_line_seconds(const faxcore::Job& job) {
    double s = 0;
    for (const auto& a : job.attempts) s += a.line_seconds;
    return s;
}

nlohmann::json job_to_json(const faxcore::Job& j) {
    auto attempts = nlohmann::json::array();
    for (const auto& a : j.attempts)
        attempts.push_back({{"number", a.number},
                            {"started_at", a.started_at},
                            {"line", a.line},
                            {"outcome", faxcore::describe(a.outcome).name},
                            {"first_page", a.first_page},
                            {"pages_confirmed", a.pages_confirmed},
                            {"line_seconds", a.line_seconds},
                            {"bit_rate", a.bit_rate},
                            {"ecm", a.ecm},
                            {"compression", a.compression},
                            {"remote_csid", a.remote_csid},
                            {"t30_code", a.t30_code},
                            {"t30_text", a.t30_text},
                            {"detail", a.detail},
                            {"transport", a.transport},
                            {"sip_status", a.sip_status},
                            {"remote_agent", a.remote_agent}});
    const auto last = last_outcome(j);
    return {
        {"id", j.id},
        {"batch", j.batch},
        {"number", j.number},
        {"state", faxcore::to_string(j.state)},
        {"sender", mailgw::origin_sender(j.origin)},
        {"submitted_at", j.created_at},
        // unix seconds; null when the job does not wait to be sent
        {"next_try_at",
         waits_to_be_sent(j.state) ? nlohmann::json(j.next_attempt_at) : nlohmann::json()},
        {"last_outcome", last ? nlohmann::json(faxcore::describe(*last).name) : nlohmann::json()},
        {"attempts_before_retry", j.attempts_before_retry},
        {"pages", j.pages},
        {"pages_confirmed", j.pages_confirmed},
        {"reason", j.reason},
        {"origin_key", j.origin_key},
        {"document", j.document.string()},
        {"narrow_document", j.narrow_document.string()},
        {"attempts", attempts}};
}

void print_job(std::ostream& out, const faxcore::Job& j) {
    out << "job " << j.id << "  " << j.number << "  " << faxcore::to_string(j.state) << "  pages "
        << j.pages_confirmed << "/" << j.pages;
    if (!j.reason.empty()) out << "  (" << j.reason << ")";
    out << "\n";
    const auto sender = mailgw::origin_sender(j.origin);
    const auto last = last_outcome(j);
    out << "    from " << (sender.empty() ? "<>" : sender) << ", submitted "
        << local_time(j.created_at) << ", next try "
        << (waits_to_be_sent(j.state) ? local_time(j.next_attempt_at) : "-") << ", last outcome "
        << (last ? faxcore::describe(*last).name : "-") << "\n";
    for (const auto& a : j.attempts) {
        out << "    attempt " << a.number << " on " << a.line << ": "
            << faxcore::describe(a.outcome).name << ", pages from " << a.first_page << " +"
            << a.pages_confirmed << ", " << std::fixed << std::setprecision(1) << a.line_seconds
            << " s";
        if (a.bit_rate)
            out << ", " << a.bit_rate << " bit/s, ECM " << (a.ecm ? "on" : "off") << ", "
                << a.compression;
        if (!a.transport.empty()) out << ", " << a.transport;
        if (a.sip_status) out << ", SIP " << a.sip_status;
        if (!a.remote_agent.empty()) out << ", far end \"" << a.remote_agent << "\"";
        if (!a.remote_csid.empty()) out << ", CSID \"" << a.remote_csid << "\"";
        if (!a.t30_text.empty()) out << ", T.30 " << a.t30_code << " " << a.t30_text;
        if (!a.detail.empty()) out << ", " << a.detail;
        out << "\n";
    }
}

}  // namespace faxgw
