// The one table of how a call attempt can end: its stable name, how the
// scheduler retries it, and the sentence the sender reads. Below it, how
// what a line reports (a T.30 completion code, a SIP final response) maps
// into that table.
#include <faxgw/faxcore/line.h>
#include <faxgw/faxcore/t30.h>
#include <spandsp.h>

#include <algorithm>
#include <array>

namespace faxgw::faxcore {
namespace {

constexpr std::array outcome_table{
    OutcomeInfo{Outcome::ok, "ok", RetryClass::none,
                "sent, every page confirmed by the receiving fax"},
    OutcomeInfo{Outcome::busy, "busy", RetryClass::busy, "the number was busy"},
    OutcomeInfo{Outcome::no_answer, "no_answer", RetryClass::no_answer, "nobody answered"},
    OutcomeInfo{Outcome::hangup, "hangup", RetryClass::failure,
                "the receiving side hung up before every page was confirmed"},
    OutcomeInfo{Outcome::protocol_error, "protocol_error", RetryClass::failure,
                "the fax machines could not complete the transfer"},
    OutcomeInfo{Outcome::incompatible, "incompatible", RetryClass::permanent,
                "the receiving fax cannot accept this document"},
    OutcomeInfo{Outcome::watchdog, "watchdog", RetryClass::failure,
                "the call made no progress and was hung up"},
    OutcomeInfo{Outcome::interrupted, "interrupted", RetryClass::failure,
                "the gateway stopped during the call"},
    OutcomeInfo{Outcome::bad_document, "bad_document", RetryClass::permanent,
                "the document could not be read for sending"},
    OutcomeInfo{Outcome::no_route, "no_route", RetryClass::permanent,
                "the number does not exist or cannot be reached"},
    OutcomeInfo{Outcome::network_error, "network_error", RetryClass::failure,
                "the telephone network could not place the call"},
};

}  // namespace

const OutcomeInfo& describe(Outcome o) {
    for (const auto& row : outcome_table)
        if (row.outcome == o) return row;
    return outcome_table[static_cast<std::size_t>(Outcome::protocol_error)];
}

std::optional<Outcome> parse_outcome(std::string_view name) {
    for (const auto& row : outcome_table)
        if (row.name == name) return row.outcome;
    return std::nullopt;
}

Outcome outcome_of_t30(int completion_code) {
    switch (completion_code) {
        case T30_ERR_OK:
            return Outcome::ok;
        case T30_ERR_CALLDROPPED:
            return Outcome::hangup;
        case T30_ERR_INCOMPATIBLE:
        case T30_ERR_RX_INCAPABLE:
        case T30_ERR_NORESSUPPORT:
        case T30_ERR_NOSIZESUPPORT:
            return Outcome::incompatible;
        case T30_ERR_FILEERROR:
        case T30_ERR_NOPAGE:
        case T30_ERR_BADTIFF:
        case T30_ERR_BADPAGE:
        case T30_ERR_BADTAG:
        case T30_ERR_BADTIFFHDR:
            return Outcome::bad_document;
        default:
            return Outcome::protocol_error;
    }
}

CallOptions next_rung(const CallOptions& used, Outcome outcome, const std::string& transport) {
    // Only failures of the fax transfer itself say the line's options were
    // wrong; a busy or missing number says nothing about them.
    if (outcome != Outcome::protocol_error && outcome != Outcome::watchdog) return used;
    CallOptions next = used;
    if (used.t38 && transport == "t38")
        next.t38 = false;
    else if (used.max_bit_rate > 9600)
        next.max_bit_rate = 9600;
    else if (used.ecm)
        next.ecm = false;
    return next;
}

CallOptions within(const CallOptions& remembered, const CallOptions& top) {
    return {remembered.t38 && top.t38, std::min(remembered.max_bit_rate, top.max_bit_rate),
            remembered.ecm && top.ecm};
}

Outcome outcome_of_sip_status(int status) {
    switch (status) {
        case 486:  // Busy Here
        case 600:  // Busy Everywhere
            return Outcome::busy;
        case 404:  // Not Found
        case 410:  // Gone
        case 484:  // Address Incomplete
        case 485:  // Ambiguous
        case 604:  // Does Not Exist Anywhere
            return Outcome::no_route;
        case 408:  // Request Timeout: rang out
        case 480:  // Temporarily Unavailable
        case 487:  // Request Terminated: we cancelled after ringing too long
            return Outcome::no_answer;
        case 488:  // Not Acceptable Here: no common codec for the first offer
        case 606:  // Not Acceptable
            return Outcome::incompatible;
        default:  // 503 and the rest of 4xx-6xx: the trunk or network failed
            return status >= 200 && status < 300 ? Outcome::ok : Outcome::network_error;
    }
}

// The Reason of AMI's OriginateResponse is the last control frame Asterisk
// saw on the dialled channel (AST_CONTROL_* in frame.h). It belongs here
// beside the SIP statuses rather than in the AudioSocket backend: it is
// what a PBX tells of a call, and this table is where every such answer
// gets its retry class.
Outcome outcome_of_ami_reason(int reason) {
    switch (reason) {
        case 4:  // AST_CONTROL_ANSWER
            return Outcome::ok;
        case 5:  // AST_CONTROL_BUSY
            return Outcome::busy;
        case 3:  // AST_CONTROL_RINGING: it rang until Originate's Timeout
            return Outcome::no_answer;
        case 1:  // AST_CONTROL_HANGUP: hung up before answering
            return Outcome::hangup;
        case 8:  // AST_CONTROL_CONGESTION: no circuit or the trunk refused
        case 0:  // no channel at all (a bad Channel template, a trunk down)
        default:
            return Outcome::network_error;
    }
}

std::string_view to_string(JobState s) {
    switch (s) {
        case JobState::queued:
            return "queued";
        case JobState::held:
            return "held";
        case JobState::sending:
            return "sending";
        case JobState::retry_wait:
            return "retry-wait";
        case JobState::done:
            return "done";
        case JobState::failed:
            return "failed";
        case JobState::cancelled:
            return "cancelled";
    }
    return "unknown";
}

bool is_terminal(JobState s) {
    return s == JobState::done || s == JobState::failed || s == JobState::cancelled;
}

}  // namespace faxgw::faxcore
