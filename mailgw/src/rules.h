// The sender rules: may this envelope sender fax this number?
#pragma once

#include <faxgw/mailgw.h>

#include <optional>
#include <string>
#include <string_view>

namespace faxgw::mailgw {

// The envelope sender as rules see it: no angle brackets, "<>" -> "".
std::string rule_sender(std::string_view envelope_sender);

// The first rule matching sender and E.164 number decides; none matching
// -> default_allow. Returns the refusal reason, or nothing when allowed.
std::optional<std::string> refusal(std::string_view sender, std::string_view number,
                                   const std::vector<SenderRule>& rules, bool default_allow);

}  // namespace faxgw::mailgw
