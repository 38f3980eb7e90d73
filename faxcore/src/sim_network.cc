#include "sim_network.h"

namespace faxgw::faxcore {
namespace {

Attempt attempt_from(const OutgoingCall& call, const CallReport& r) {
    Attempt a = attempt_of(call, r.sender, r.line_seconds);
    a.outcome = r.outcome;
    a.detail = r.detail;
    return a;
}

Attempt unanswered(const OutgoingCall& call, Outcome outcome, double seconds) {
    Attempt a = attempt_of(call, PartyReport{}, seconds);
    a.outcome = outcome;
    return a;
}

std::string call_id(const OutgoingCall& call) {
    return std::to_string(call.job.id) + "-" + std::to_string(call.attempt);
}

}  // namespace

std::string digits_of(std::string_view number) {
    std::string d;
    for (char c : number)
        if (c >= '0' && c <= '9') d += c;
    return d;
}

SimNetwork::SimNetwork(const GatewaySettings& settings, std::filesystem::path var_dir)
    : settings_(settings),
      remote_dir_(settings.sim.remote_dir.empty() ? var_dir / "remote" : settings.sim.remote_dir) {}

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

CallLimits SimNetwork::limits(const OutgoingCall& call) const {
    CallLimits l;
    l.watchdog_seconds = settings_.watchdog_seconds;
    l.max_call_seconds = settings_.max_call_seconds;
    l.speed = settings_.sim_speed;
    l.sender_modem = {call.options.max_bit_rate, call.options.ecm};
    return l;
}

// `stop` is not heard: a simulated call runs in CPU time, and the gateway
// waits for calls in flight when it stops anyway.
Attempt SimNetwork::place_call(const OutgoingCall& call, const PageConfirmed& on_page,
                               std::stop_token) {
    if (is_did(call.job.number) && inbound_) return call_inbound(call, on_page);
    const SimNumber* far_end = remote(call.job.number);
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

Attempt SimNetwork::call_remote(const OutgoingCall& call, const SimNumber& far_end,
                                const PageConfirmed& on_page) const {
    auto folder = remote_dir_ / digits_of(far_end.number);
    std::filesystem::create_directories(folder);
    SendSpec send{call.job.document, call.first_page, 0, call.station_id, call.job.narrow_document};
    ReceiveSpec receive{folder / ("call-" + call_id(call) + ".tif"),
                        far_end.csid.empty() ? far_end.number : far_end.csid,
                        far_end.behaviour == SimBehaviour::hangup ? far_end.hangup_after_pages : 0,
                        far_end.b4};
    return attempt_from(call, run_back_to_back_call(send, receive, limits(call), on_page));
}

Attempt SimNetwork::call_inbound(const OutgoingCall& call, const PageConfirmed& on_page) const {
    auto file = inbound_->inbound_file(call.job.number, call_id(call));
    SendSpec send{call.job.document, call.first_page, 0, call.station_id, call.job.narrow_document};
    ReceiveSpec receive{file, settings_.station_id, 0, true};
    auto report = run_back_to_back_call(send, receive, limits(call), on_page);
    if (report.pages_received > 0)
        // The simulated network passes no caller ID: the caller's TSI stands in.
        inbound_->received(
            inbound_fax_of(report.receiver, call.job.number, report.caller_tsi, report.line_seconds,
                           call.started_at + static_cast<std::int64_t>(report.line_seconds), file));
    return attempt_from(call, report);
}

}  // namespace faxgw::faxcore
