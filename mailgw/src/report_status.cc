// What became of each number of a notification: the RFC 3463 status code a
// DSN gives it and the words its sender reads.
#include <faxgw/mailgw.h>

#include <algorithm>

#include "notify.h"

namespace faxgw::mailgw {
namespace {

using faxcore::Outcome;

// The subject and detail of the status code of a call that ended `outcome`
// (RFC 3463); the class (2, 4 or 5) comes from the job's state.
//   busy, no_answer  X.4.1  no answer from host: "the remote system was busy,
//                           or was unable to take a call"
//   hangup, watchdog X.4.2  bad connection: connected, the transfer did not end
//   protocol_error   X.5.0  the T.30 protocol failed
//   incompatible     X.6.0  the far end cannot take this document (media)
//   bad_document     X.6.0  the document cannot be sent (media)
//   no_route         X.1.1  the number does not exist (bad destination address)
//   network_error    X.4.0  the network could not place the call
//   interrupted      X.3.0  the gateway itself stopped
//   ok               X.0.0
std::string_view status_detail(Outcome outcome) {
    switch (outcome) {
        case Outcome::ok:
            return "0.0";
        case Outcome::busy:
        case Outcome::no_answer:
            return "4.1";
        case Outcome::hangup:
        case Outcome::watchdog:
            return "4.2";
        case Outcome::protocol_error:
            return "5.0";
        case Outcome::incompatible:
        case Outcome::bad_document:
            return "6.0";
        case Outcome::no_route:
            return "1.1";
        case Outcome::network_error:
            return "4.0";
        case Outcome::interrupted:
            return "3.0";
    }
    return "0.0";
}

bool every_page_confirmed(const faxcore::Job& job) {
    return job.state == faxcore::JobState::done && job.pages_confirmed >= job.pages;
}

std::string tries(std::size_t n) { return std::to_string(n) + (n == 1 ? " try" : " tries"); }

// "after page 2 of 5", or "" when no page got through.
std::string pages_done(const faxcore::Job& job) {
    if (job.pages_confirmed <= 0) return "";
    return " after page " + std::to_string(job.pages_confirmed) + " of " +
           std::to_string(job.pages);
}

// The last call's outcome in words, with what it tells of the pages.
std::string last_call(const faxcore::Job& job) {
    const faxcore::Attempt& a = job.attempts.back();
    switch (a.outcome) {
        case Outcome::busy:
            return "busy";
        case Outcome::no_answer:
            return "no answer";
        case Outcome::hangup:
            return job.pages_confirmed > 0 ? "the far end hung up" + pages_done(job)
                                           : "the far end hung up before the first page";
        case Outcome::protocol_error:
            return "the fax machines could not complete the transfer" + pages_done(job) +
                   (a.t30_text.empty() ? "" : " (" + a.t30_text + ")");
        case Outcome::network_error:
            return "the telephone network could not place the call" +
                   (a.sip_status > 0 ? " (SIP " + std::to_string(a.sip_status) + ")" : "");
        default:
            return std::string(faxcore::describe(a.outcome).text) + pages_done(job);
    }
}

}  // namespace

RecipientStatus recipient_status(const faxcore::Job& job) {
    using faxcore::JobState;
    if (every_page_confirmed(job)) return {"delivered", "2.0.0", "every page confirmed"};
    const bool ended = faxcore::is_terminal(job.state);
    const std::string action = ended ? "failed" : "delayed";
    const std::string klass = ended ? "5." : "4.";
    if (job.state == JobState::cancelled)
        return {action, "5.0.0", job.reason.empty() ? "cancelled at the gateway" : job.reason};
    if (job.state == JobState::done)  // "done" short of pages: never reported delivered
        return {action, "5.4.2",
                "only " + std::to_string(job.pages_confirmed) + " of " + std::to_string(job.pages) +
                    " pages confirmed"};
    if (job.attempts.empty())
        return {action, klass + "0.0",
                job.reason.empty() ? (ended ? "not sent" : "waiting to be sent") : job.reason};
    const auto& info = faxcore::describe(job.attempts.back().outcome);
    return {action, klass + std::string(status_detail(info.outcome)), std::string(info.text)};
}

std::string what_happened(const faxcore::Job& job) {
    using faxcore::JobState;
    if (every_page_confirmed(job)) {
        std::string csid = job.attempts.empty() ? "" : job.attempts.back().remote_csid;
        return "delivered, " + std::to_string(job.pages_confirmed) + " of " +
               std::to_string(job.pages) + " pages confirmed" +
               (csid.empty() ? "" : " by \"" + csid + "\"");
    }
    if (job.state == JobState::cancelled)
        return "cancelled at the gateway" + (job.reason.empty() ? "" : ": " + job.reason);
    if (job.state == JobState::held) return "held for an administrator";
    if (job.attempts.empty()) {
        if (faxcore::is_terminal(job.state)) return job.reason.empty() ? "not sent" : job.reason;
        return "not tried yet";
    }
    const Outcome last = job.attempts.back().outcome;
    const bool all_alike =
        std::all_of(job.attempts.begin(), job.attempts.end(),
                    [&](const faxcore::Attempt& a) { return a.outcome == last; });
    std::string text = last_call(job);
    const std::size_t n = job.attempts.size();
    if (n > 1) {
        const bool no_call = last == Outcome::busy || last == Outcome::no_answer;
        text += all_alike && no_call ? " after " + tries(n)
                : all_alike          ? " (" + tries(n) + ")"
                                     : " (the last of " + tries(n) + ")";
    }
    return text;
}

}  // namespace faxgw::mailgw
