// libphonenumber's view of numbers, for the sender rules; the public part
// (describe_number, home_region) is in faxgw/mailgw.h.
#pragma once

#include <faxgw/mailgw.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faxgw::mailgw {

// Every ISO 3166 region code libphonenumber has a number plan for.
std::vector<std::string> supported_regions();

// "premium_rate" -> NumberType::premium_rate; nullopt for other names.
std::optional<NumberType> parse_number_type(std::string_view name);

}  // namespace faxgw::mailgw
