// Small text helpers shared by the mailgw sources: charset conversion and
// RFC 2047 encoded words, trimming and case folding.
#pragma once

#include <string>
#include <string_view>

namespace faxgw::mailgw {

// Converts bytes in `charset` to UTF-8. Mail lies about charsets often, so
// an unknown charset or bytes invalid in it never fail: text that is valid
// UTF-8 is kept, anything else is read as Latin-1 (every byte is valid).
std::string to_utf8(std::string_view bytes, std::string_view charset);

// Decodes RFC 2047 encoded words (=?charset?B|Q?...?=) in an unfolded
// header value to UTF-8; other text is converted as us-ascii/Latin-1.
std::string decode_header_text(std::string_view value);

// Removes RFC 5322 folding (CRLF or LF followed by white space).
std::string unfold(std::string_view value);

std::string trim(std::string_view s);
std::string lower(std::string_view s);
bool is_blank(std::string_view s);
bool valid_utf8(std::string_view s);

// Sender-chosen text (a file name, a type, an option) made safe to quote
// in a message to the sender or the MTA: control characters (C0 but tab,
// DEL, C1), bidirectional overrides (which make "fdp.exe" read "exe.pdf")
// and bytes that are not UTF-8 are written as \xNN or \uNNNN, so a NUL
// cannot cut the message short nor a CR LF start a new line; longer than
// max_bytes, it is cut there (at a character boundary) and ends in "...".
std::string printable(std::string_view text, std::size_t max_bytes = 200);

}  // namespace faxgw::mailgw
