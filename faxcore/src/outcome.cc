// The one table of how a call attempt can end: its stable name, how the
// scheduler retries it, and the sentence the sender reads.
#include <faxgw/faxcore.h>

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
