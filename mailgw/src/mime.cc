#include "mime.h"

#include <strings.h>

#include "text.h"

#include <faxgw/mailgw.h>

#include <mimetic/mimetic.h>

#include <iterator>

namespace faxgw::mailgw {
namespace {

std::string header_value(const mimetic::MimeEntity& e, const std::string& name) {
    const mimetic::Header& h = e.header();
    if (!h.hasField(name)) return {};
    return trim(unfold(h.field(name).value()));
}

std::string body_bytes(const mimetic::MimeEntity& e) {
    const mimetic::Body& body = e.body();
    std::string encoding = lower(e.header().contentTransferEncoding().mechanism());
    std::string out;
    if (encoding == "base64") {
        mimetic::Base64::Decoder decoder;
        mimetic::decode(body.begin(), body.end(), decoder, std::back_inserter(out));
    } else if (encoding == "quoted-printable") {
        mimetic::QP::Decoder decoder;
        mimetic::decode(body.begin(), body.end(), decoder, std::back_inserter(out));
    } else {
        out.assign(body.begin(), body.end());
    }
    return out;
}

std::string without_cr(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s)
        if (c != '\r') out += c;
    return out;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 2231 "utf-8'lang'percent%20encoded" -> UTF-8. A broken escape stays
// as written: a bad file name must not fail the whole mail.
std::string decode_rfc2231(std::string_view v) {
    size_t q1 = v.find('\'');
    size_t q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
    if (q2 == std::string_view::npos) return std::string(v);
    std::string bytes;
    for (size_t i = q2 + 1; i < v.size(); ++i) {
        if (v[i] == '%' && i + 2 < v.size() && hex_digit(v[i + 1]) >= 0 && hex_digit(v[i + 2]) >= 0) {
            bytes += static_cast<char>(hex_digit(v[i + 1]) * 16 + hex_digit(v[i + 2]));
            i += 2;
        } else {
            bytes += v[i];
        }
    }
    return to_utf8(bytes, v.substr(0, q1));
}

std::string param(const mimetic::FieldParamList& params, const std::string& name) {
    for (const auto& p : params) {
        if (p.name() == name) return decode_header_text(p.value());
        if (p.name() == name + "*") return decode_rfc2231(p.value());
    }
    return {};
}

std::string filename_of(const mimetic::MimeEntity& e) {
    const mimetic::Header& h = e.header();
    std::string name;
    if (h.hasField("Content-Disposition")) name = param(h.contentDisposition().paramList(), "filename");
    if (name.empty() && h.hasField("Content-Type")) name = param(h.contentType().paramList(), "name");
    return name;
}

std::string type_of(const mimetic::MimeEntity& e) {
    const mimetic::Header& h = e.header();
    // RFC 2045: no Content-Type means text/plain; us-ascii.
    if (!h.hasField("Content-Type") || h.contentType().type().empty()) return "text/plain";
    return lower(h.contentType().type() + "/" + h.contentType().subtype());
}

bool ends_with_pdf(const std::string& filename) {
    return filename.size() >= 4 && lower(filename.substr(filename.size() - 4)) == ".pdf";
}

void add_leaf(const mimetic::MimeEntity& e, ParsedMessage& out) {
    MailPart part;
    part.type = type_of(e);
    part.filename = filename_of(e);
    if (part.type == "text/plain") {
        std::string charset = e.header().hasField("Content-Type")
                                  ? e.header().contentType().param("charset")
                                  : std::string();
        part.kind = MailPart::Kind::text;
        part.content = without_cr(to_utf8(body_bytes(e), charset));
        if (is_blank(part.content)) return;
    } else if (part.type == "application/pdf" ||
               (ends_with_pdf(part.filename) && (part.type == "application/octet-stream" ||
                                                 part.type == "application/x-pdf"))) {
        part.kind = MailPart::Kind::pdf;
        part.content = body_bytes(e);
    } else {
        // render decides by the bytes whether it can fax this.
        part.content = body_bytes(e);
    }
    out.parts.push_back(std::move(part));
}

void walk(const mimetic::MimeEntity& e, ParsedMessage& out);

// The sender's mail client wrote the same text several ways; a fax shows
// the plain one. Without one, the first alternative stands for the rest
// (and is most likely refused as unfaxable, which tells the sender why).
void walk_alternative(const mimetic::MimeEntity& e, ParsedMessage& out) {
    const auto& parts = e.body().parts();
    if (parts.empty()) return;
    for (const mimetic::MimeEntity* child : parts) {
        if (type_of(*child) == "text/plain") return add_leaf(*child, out);
    }
    walk(*parts.front(), out);
}

// A detached signature proves who wrote the mail; it is no page of the fax.
bool is_signature(const std::string& type) {
    return type == "application/pkcs7-signature" || type == "application/x-pkcs7-signature" ||
           type == "application/pgp-signature";
}

// A forwarded mail is faxed as its header block (From, To, Date, Subject)
// followed by its own body and attachments.
void walk_forwarded(const std::string& raw, ParsedMessage& out) {
    mimetic::MimeEntity inner(raw.begin(), raw.end());
    MailPart headers;
    headers.kind = MailPart::Kind::text;
    headers.type = "text/plain";
    for (const char* name : {"From", "To", "Cc", "Date", "Subject"}) {
        std::string value = header_value(inner, name);
        if (!value.empty()) headers.content += std::string(name) + ": " + decode_header_text(value) + "\n";
    }
    if (!headers.content.empty()) {
        headers.content = "---------- Forwarded message ----------\n" + headers.content;
        out.parts.push_back(std::move(headers));
    }
    walk(inner, out);
}

void walk(const mimetic::MimeEntity& e, ParsedMessage& out) {
    std::string type = type_of(e);
    if (type == "multipart/alternative") return walk_alternative(e, out);
    if (type == "message/rfc822") return walk_forwarded(body_bytes(e), out);
    if (type.starts_with("multipart/")) {
        // RFC 2046: in a digest, a part without a Content-Type is a mail.
        bool digest = type == "multipart/digest";
        for (const mimetic::MimeEntity* child : e.body().parts()) {
            if (is_signature(type_of(*child))) continue;
            if (digest && !child->header().hasField("Content-Type")) {
                walk_forwarded(body_bytes(*child), out);
                continue;
            }
            walk(*child, out);
        }
        return;
    }
    add_leaf(e, out);
}

std::vector<std::string> all_values(const mimetic::MimeEntity& e, std::string_view name) {
    std::vector<std::string> out;
    for (const auto& field : e.header())
        if (strcasecmp(field.name().c_str(), std::string(name).c_str()) == 0)
            out.push_back(trim(unfold(field.value())));
    return out;
}

}  // namespace

MailAddress parse_mailbox(std::string_view raw) {
    std::string value = trim(raw);
    MailAddress out;
    size_t lt = value.rfind('<');
    size_t gt = value.rfind('>');
    if (lt != std::string::npos && gt != std::string::npos && gt > lt) {
        out.address = trim(value.substr(lt + 1, gt - lt - 1));
        std::string name = trim(value.substr(0, lt));
        if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
            name = name.substr(1, name.size() - 2);
        out.name = trim(decode_header_text(name));
        return out;
    }
    size_t paren = value.find('(');
    if (paren != std::string::npos && value.back() == ')') {
        out.name = trim(decode_header_text(value.substr(paren + 1, value.size() - paren - 2)));
        value = trim(value.substr(0, paren));
    }
    out.address = value;
    return out;
}

ParsedMessage parse_message(std::string_view raw) {
    mimetic::MimeEntity entity(raw.begin(), raw.end());
    ParsedMessage out;
    out.message_id = header_value(entity, "Message-ID");
    out.from = parse_mailbox(header_value(entity, "From"));
    out.subject = decode_header_text(header_value(entity, "Subject"));
    out.date = header_value(entity, "Date");
    out.authentication_results = all_values(entity, "Authentication-Results");
    out.fax_options = header_value(entity, "X-Fax-Options");
    walk(entity, out);
    return out;
}

std::vector<std::string> parse_address_list(std::string_view value) {
    std::vector<std::string> out;
    std::string item;
    bool quoted = false;
    int angle = 0;
    auto flush = [&] {
        std::string address = parse_mailbox(item).address;
        if (!address.empty()) out.push_back(address);
        item.clear();
    };
    // Commas inside quotes or angle brackets do not separate addresses.
    for (char c : value) {
        if (c == '"') quoted = !quoted;
        if (!quoted && c == '<') ++angle;
        if (!quoted && c == '>' && angle > 0) --angle;
        if (c == ',' && !quoted && angle == 0) {
            flush();
        } else {
            item += c;
        }
    }
    flush();
    return out;
}

Envelope envelope_of(std::string_view raw_message) {
    Envelope envelope;
    try {
        mimetic::MimeEntity entity(raw_message.begin(), raw_message.end(), mimetic::imBody);
        envelope.sender = parse_mailbox(header_value(entity, "From")).address;
        for (const char* name : {"To", "Cc"})
            for (auto& a : parse_address_list(header_value(entity, name)))
                envelope.recipients.push_back(std::move(a));
    } catch (const std::exception&) {
        // An unparsable sample has no envelope; submit() will say why.
    }
    return envelope;
}

}  // namespace faxgw::mailgw
