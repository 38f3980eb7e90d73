// The sender rules: may this sender fax this number? See SenderRule in
// faxgw/mailgw.h for what a rule can match.
#pragma once

#include <faxgw/mailgw.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faxgw::mailgw {

// The envelope sender as rules see it: no angle brackets, "<>" -> "".
std::string rule_sender(std::string_view envelope_sender);

// decide() before the message has come (a milter at RCPT TO): the decision
// of the first rule that matches on the envelope alone, when every earlier
// rule that may match, as From: or the verdicts turn out, would decide the
// same (its reason is then the envelope rule's); else nullopt: only the
// message can decide.
std::optional<RuleDecision> decide_on_envelope(const RuleInput& in, const Settings& s);

struct AuthVerdicts {
    std::string spf, dkim, dmarc;  // "" when our MTA said nothing
};

// Verdicts from the topmost Authentication-Results header (RFC 8601) whose
// authserv-id is `authserv_id`, in message order: the MTA prepends its own,
// so any further one with our id came with the mail, and those of other
// servers anybody can write; all of them are ignored. Only the method and
// result that start each resinfo count, never text in comments, quoted
// strings or properties. Several DKIM signatures: one pass is a pass.
AuthVerdicts read_authentication_results(const std::vector<std::string>& headers,
                                         std::string_view authserv_id);

}  // namespace faxgw::mailgw
