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

// The unfolded value of the first header field `name` (any case) of an
// RFC 5322 `message`, trimmed; "" when it has none. For the few fields read
// from mails outside the MIME parser (Subject, Message-ID, Sender ...).
std::string header_value(std::string_view message, std::string_view name);

}  // namespace faxgw::mailgw
