// Private pieces of inbound delivery, for tests.
#pragma once

#include <faxgw/mailgw.h>

#include <string>
#include <string_view>

namespace faxgw::mailgw {

// The mail address a dialled number routes to: a route whose key is the
// DID as written or has the same digits, else the "*" route, else
// postmaster@localhost.
std::string inbound_address(std::string_view did, const Settings& settings);

std::string inbound_file_name(std::int64_t id);

}  // namespace faxgw::mailgw
