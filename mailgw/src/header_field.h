// Header fields of the mails mailgw writes.
#pragma once

#include <string>
#include <string_view>

namespace faxgw::mailgw {

// "Name: value\r\n". The value comes from mails and envelopes: every CR, LF
// and other control character in it becomes a space, so no data can end
// the field and start a header of its own (a Bcc: smuggled in through the
// envelope sender).
std::string header_field(std::string_view name, std::string_view value);

}  // namespace faxgw::mailgw
