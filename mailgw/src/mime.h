// What mailgw needs from a mail: who sent it, what it is about, and its
// parts in the order the sender put them.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace faxgw::mailgw {

struct MailAddress {
    std::string name;     // display name, UTF-8
    std::string address;  // local@domain
};

struct MailPart {
    enum class Kind { text, pdf, html, other };
    Kind kind = Kind::other;
    // "text/plain", "application/pdf", ...: what the bytes are where the
    // declared type is generic or wrong (see sniff.h), else as declared.
    std::string type;
    std::string filename;  // UTF-8, may be empty
    std::string content;   // text, html: UTF-8 (format=flowed undone); pdf, other: the bytes
    std::map<std::string, std::string> inline_images;  // html: Content-ID -> picture bytes
};

struct ParsedMessage {
    std::string message_id;  // as written, with the angle brackets
    MailAddress from;
    std::string subject;  // decoded to UTF-8
    std::string date;
    std::vector<std::string> authentication_results;  // every such header, unfolded
    std::string fax_options;                          // the X-Fax-Options header
    bool prefer_html = false;                         // as asked of parse_message
    std::vector<MailPart> parts;
};

// The message itself cannot be faxed (too deeply nested, too many parts, a
// multipart without a boundary ...): a property of the message, so the
// answer is a permanent refusal with what() as the reason.
class MessageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The message is over a size limit (bytes, parts): answered as too big.
class MessageLimitError : public MessageError {
public:
    using MessageError::MessageError;
};

// The work parse_message does for one mail is bounded: a mail beyond these
// limits is refused with a MessageError naming the limit.
inline constexpr int max_mime_depth = 32;    // nested multiparts and attached mails
inline constexpr int max_mime_parts = 1000;  // MIME parts, attached mails' and TNEF's included
inline constexpr std::size_t max_header_bytes = 1u << 20;     // one part's header section
inline constexpr std::size_t max_decoded_bytes = 256u << 20;  // all parts decoded, in all

// Parses an RFC 5322 message (its structure by hand, see mime.cc; header
// fields and parameters with mimetic). Whitespace-only text bodies are
// left out; of a multipart/alternative only the text/plain part is kept
// (with the documents of a multipart/mixed alternative); consecutive text
// parts without a file name are joined into one; the attachments inside an
// Outlook winmail.dat (application/ms-tnef) take its place; detached
// signatures are dropped; a part declared text/plain whose bytes are a PDF
// or binary is a document, not text.
// prefer_html: of a multipart/alternative, fax the HTML (with the pictures
// of its multipart/related) instead of the plain text.
// File names, types, the subject and the sender's name are printable()
// (text.h): no control character of the sender's reaches a message text.
// Throws MessageError for a mail that cannot be faxed as it is.
ParsedMessage parse_message(std::string_view raw, bool prefer_html = false);

// "Name <a@b>", "a@b (Name)" or "a@b" -> name and address.
MailAddress parse_mailbox(std::string_view value);

// An address list header ("A <a@x>, \"B, Jr.\" <b@y>, c@z") -> addresses.
std::vector<std::string> parse_address_list(std::string_view value);

}  // namespace faxgw::mailgw
