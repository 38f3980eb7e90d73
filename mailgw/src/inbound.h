// Private pieces of inbound delivery, for tests.
#pragma once

#include <faxgw/mailgw.h>

#include <string>
#include <string_view>

namespace faxgw::mailgw {

// The route of a received fax: the first of settings.inbound_routes whose
// DID (as written, or the same digits), caller and CSID patterns match it;
// with none, a mail to postmaster@localhost.
const InboundRoute& inbound_route(const faxcore::InboundFax& fax, const Settings& settings);

}  // namespace faxgw::mailgw
