// The sender rules: may this sender fax this number? See SenderRule in
// faxgw/mailgw.h for what a rule can match.
#pragma once

#include <faxgw/mailgw.h>

#include <string>
#include <string_view>
#include <vector>

namespace faxgw::mailgw {

// The envelope sender as rules see it: no angle brackets, "<>" -> "".
std::string rule_sender(std::string_view envelope_sender);

struct AuthVerdicts {
    std::string spf, dkim, dmarc;  // "" when our MTA said nothing
};

// Verdicts from the Authentication-Results headers (RFC 8601) written by
// `authserv_id`; headers of any other server are ignored, since anybody can
// write one. Several DKIM signatures: one pass is a pass.
AuthVerdicts read_authentication_results(const std::vector<std::string>& headers,
                                         std::string_view authserv_id);

}  // namespace faxgw::mailgw
