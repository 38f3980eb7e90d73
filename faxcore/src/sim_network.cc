#include "sim_network.h"

#include <fcntl.h>
#include <unistd.h>

namespace faxgw::faxcore {
namespace {

Attempt attempt_from(const CallRequest& call, const CallReport& r) {
    Attempt a;
    a.number = call.attempt;
    a.started_at = call.started_at;
    a.line = call.line;
    a.first_page = call.first_page;
    a.outcome = r.outcome;
    a.pages_confirmed = r.pages_confirmed;
    a.line_seconds = r.line_seconds;
    a.bit_rate = r.bit_rate;
    a.ecm = r.ecm;
    a.compression = r.compression;
    a.remote_csid = r.remote_csid;
    a.t30_code = r.t30_code;
    a.t30_text = r.t30_text;
    a.detail = r.detail;
    return a;
}

CallResult unanswered(const CallRequest& call, Outcome outcome, double seconds) {
    CallResult r;
    r.attempt.number = call.attempt;
    r.attempt.started_at = call.started_at;
    r.attempt.line = call.line;
    r.attempt.first_page = call.first_page;
    r.attempt.outcome = outcome;
    r.attempt.line_seconds = seconds;
    return r;
}

std::string call_file_name(const CallRequest& call) {
    return "call-" + std::to_string(call.job->id) + "-" + std::to_string(call.attempt) + ".tif";
}

// spandsp closes the received file but does not fsync it; the inbound row
// must never point at pages a crash could still lose.
void fsync_file(const std::filesystem::path& p) {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

}  // namespace

std::string digits_of(std::string_view number) {
    std::string d;
    for (char c : number)
        if (c >= '0' && c <= '9') d += c;
    return d;
}

std::optional<SimBehaviour> parse_sim_behaviour(std::string_view name) {
    if (name == "receive") return SimBehaviour::receive;
    if (name == "busy") return SimBehaviour::busy;
    if (name == "no_answer") return SimBehaviour::no_answer;
    if (name == "hangup") return SimBehaviour::hangup;
    return std::nullopt;
}

SimNetwork::SimNetwork(const GatewaySettings& settings, SqliteQueue& queue,
                       std::filesystem::path var_dir)
    : settings_(settings),
      queue_(queue),
      var_(std::move(var_dir)),
      remote_dir_(settings.sim.remote_dir.empty() ? var_ / "remote" : settings.sim.remote_dir) {}

const SimNumber* SimNetwork::remote(const std::string& number) const {
    auto wanted = digits_of(number);
    for (const auto& n : settings_.sim.numbers)
        if (digits_of(n.number) == wanted) return &n;
    return nullptr;
}

bool SimNetwork::is_did(const std::string& number) const {
    auto wanted = digits_of(number);
    for (const auto& d : settings_.dids)
        if (digits_of(d) == wanted) return true;
    return false;
}

CallResult SimNetwork::place_call(const CallRequest& call, const PageConfirmed& on_page) const {
    if (is_did(call.job->number)) return call_inbound(call, on_page);
    const SimNumber* far_end = remote(call.job->number);
    if (!far_end) return unanswered(call, Outcome::no_route, 3);
    switch (far_end->behaviour) {
        case SimBehaviour::busy:
            return unanswered(call, Outcome::busy, settings_.sim.busy_seconds);
        case SimBehaviour::no_answer:
            return unanswered(call, Outcome::no_answer, settings_.sim.ring_seconds);
        default:
            return call_remote(call, *far_end, on_page);
    }
}

CallResult SimNetwork::call_remote(const CallRequest& call, const SimNumber& far_end,
                                   const PageConfirmed& on_page) const {
    auto folder = remote_dir_ / digits_of(far_end.number);
    std::filesystem::create_directories(folder);
    SendSpec send{call.job->document, call.first_page, 0, settings_.station_id,
                  call.job->narrow_document};
    ReceiveSpec receive{
        folder / call_file_name(call), far_end.csid.empty() ? far_end.number : far_end.csid,
        far_end.behaviour == SimBehaviour::hangup ? far_end.hangup_after_pages : 0, far_end.b4};
    CallLimits limits{settings_.watchdog_seconds, settings_.max_call_seconds, settings_.sim_speed};
    auto report = run_back_to_back_call(send, receive, limits, on_page);
    return CallResult{attempt_from(call, report)};
}

CallResult SimNetwork::call_inbound(const CallRequest& call, const PageConfirmed& on_page) const {
    auto file = queue_.inbound_dir() / call_file_name(call);
    SendSpec send{call.job->document, call.first_page, 0, settings_.station_id,
                  call.job->narrow_document};
    ReceiveSpec receive{file, settings_.station_id, 0, true};
    CallLimits limits{settings_.watchdog_seconds, settings_.max_call_seconds, settings_.sim_speed};
    auto report = run_back_to_back_call(send, receive, limits, on_page);
    if (report.pages_received > 0) {
        fsync_file(file);
        InboundFax fax;
        fax.did = call.job->number;
        fax.caller = report.caller_tsi;  // the simulated network passes no caller ID
        fax.remote_csid = report.caller_tsi;
        fax.pages = report.pages_received;
        fax.complete = report.receiver_complete;
        fax.t30_text = report.t30_text;
        fax.line_seconds = report.line_seconds;
        fax.bit_rate = report.bit_rate;
        fax.received_at = call.started_at + static_cast<std::int64_t>(report.line_seconds);
        fax.tiff = file;
        queue_.add_inbound(fax);
    }
    return CallResult{attempt_from(call, report)};
}

}  // namespace faxgw::faxcore
