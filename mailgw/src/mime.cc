#include "mime.h"

#include <faxgw/mailgw.h>
#include <mimetic/mimetic.h>
#include <strings.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <sstream>

#include "sniff.h"
#include "text.h"
#include "tnef.h"

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
        if (v[i] == '%' && i + 2 < v.size() && hex_digit(v[i + 1]) >= 0 &&
            hex_digit(v[i + 2]) >= 0) {
            bytes += static_cast<char>(hex_digit(v[i + 1]) * 16 + hex_digit(v[i + 2]));
            i += 2;
        } else {
            bytes += v[i];
        }
    }
    return to_utf8(bytes, v.substr(0, q1));
}

// RFC 2231 section 3 continuations: name*0*=utf-8''Rech; name*1*=nung%20M%C3%A4rz.pdf
// (segments with a trailing * are percent-encoded, the first one carries
// the charset). "" when there are none.
std::string param_continued(const mimetic::FieldParamList& params, const std::string& name) {
    std::map<int, std::pair<std::string, bool>> segments;  // number -> value, encoded
    for (const auto& p : params) {
        std::string n = lower(p.name());
        if (!n.starts_with(name + "*") || n.size() <= name.size() + 1) continue;
        std::string rest = n.substr(name.size() + 1);
        bool encoded = rest.ends_with("*");
        if (encoded) rest.pop_back();
        if (rest.empty() || rest.size() > 3 || !std::all_of(rest.begin(), rest.end(), ::isdigit))
            continue;
        segments[std::stoi(rest)] = {p.value(), encoded};
    }
    if (segments.empty() || segments.begin()->first != 0) return {};
    std::string charset, bytes;
    for (auto& [number, segment] : segments) {
        std::string_view v = segment.first;
        if (number == 0 && segment.second) {
            size_t q1 = v.find('\'');
            size_t q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
            if (q2 != std::string_view::npos) {
                charset = std::string(v.substr(0, q1));
                v = v.substr(q2 + 1);
            }
        }
        for (size_t i = 0; i < v.size(); ++i) {
            if (segment.second && v[i] == '%' && i + 2 < v.size() && hex_digit(v[i + 1]) >= 0 &&
                hex_digit(v[i + 2]) >= 0) {
                bytes += static_cast<char>(hex_digit(v[i + 1]) * 16 + hex_digit(v[i + 2]));
                i += 2;
            } else {
                bytes += v[i];
            }
        }
    }
    return to_utf8(bytes, charset);
}

std::string param(const mimetic::FieldParamList& params, const std::string& name) {
    for (const auto& p : params) {
        if (lower(p.name()) == name) return decode_header_text(p.value());
        if (lower(p.name()) == name + "*") return decode_rfc2231(p.value());
    }
    return param_continued(params, name);
}

std::string filename_of(const mimetic::MimeEntity& e) {
    const mimetic::Header& h = e.header();
    std::string name;
    if (h.hasField("Content-Disposition"))
        name = param(h.contentDisposition().paramList(), "filename");
    if (name.empty() && h.hasField("Content-Type"))
        name = param(h.contentType().paramList(), "name");
    return name;
}

std::string type_of(const mimetic::MimeEntity& e) {
    const mimetic::Header& h = e.header();
    // RFC 2045: no Content-Type means text/plain; us-ascii.
    if (!h.hasField("Content-Type") || h.contentType().type().empty()) return "text/plain";
    return lower(h.contentType().type() + "/" + h.contentType().subtype());
}

std::string content_type_param(const mimetic::MimeEntity& e, const std::string& name) {
    if (!e.header().hasField("Content-Type")) return {};
    return lower(trim(param(e.header().contentType().paramList(), name)));
}

// RFC 3676 format=flowed: a line that ends in a space goes on in the next
// line of the same quote depth; the writer's line breaks are undone so the
// fax page wraps the text at its own width. "-- " (signature) never flows;
// one leading space of a line is stuffing; with DelSp=yes the trailing
// space was added by the writer and goes again.
std::string unflow(const std::string& text, bool delsp) {
    std::istringstream in(text);
    std::string out, line, pending;
    int pending_depth = -1;
    auto flush = [&] {
        if (pending_depth < 0) return;
        if (pending_depth > 0) out += std::string(static_cast<size_t>(pending_depth), '>') + " ";
        out += pending + "\n";
        pending.clear();
        pending_depth = -1;
    };
    while (std::getline(in, line)) {
        int depth = 0;
        while (static_cast<size_t>(depth) < line.size() && line[static_cast<size_t>(depth)] == '>')
            ++depth;
        std::string content = line.substr(static_cast<size_t>(depth));
        if (content.starts_with(" ")) content.erase(0, 1);
        if (pending_depth >= 0 && pending_depth != depth) flush();
        bool flowed = content.ends_with(" ") && content != "-- ";
        if (flowed && delsp) content.pop_back();
        pending += content;
        pending_depth = depth;
        if (!flowed) flush();
    }
    flush();
    if (!text.ends_with("\n") && out.ends_with("\n")) out.pop_back();
    return out;
}

// Text parts without a file name that follow each other (a body and the
// footer a mailing list added, a forwarded mail's header block and its body)
// are one text: a footer gets no page of its own.
void add_text(std::string text, std::string filename, ParsedMessage& out) {
    if (is_blank(text)) return;
    if (filename.empty() && !out.parts.empty() && out.parts.back().kind == MailPart::Kind::text &&
        out.parts.back().filename.empty()) {
        std::string& previous = out.parts.back().content;
        if (!previous.ends_with("\n")) previous += "\n";
        previous += "\n" + text;
        return;
    }
    MailPart part;
    part.kind = MailPart::Kind::text;
    part.type = "text/plain";
    part.filename = std::move(filename);
    part.content = std::move(text);
    out.parts.push_back(std::move(part));
}

// A document (any part that is not text to lay out), typed by its bytes
// where its declared type is generic or wrong; render decides whether it
// can fax it.
void add_document(std::string type, std::string filename, std::string bytes, ParsedMessage& out);

// Outlook's winmail.dat: its attachments are the mail's, in order. A
// stream ytnef cannot read stays one attachment that render refuses by name.
void add_tnef(const std::string& filename, std::string bytes, ParsedMessage& out) {
    std::vector<TnefAttachment> inside;
    try {
        inside = tnef_attachments(bytes);
    } catch (const TnefError&) {
        MailPart part;
        part.type = "application/ms-tnef";
        part.filename = filename.empty() ? "winmail.dat" : filename;
        part.content = std::move(bytes);
        out.parts.push_back(std::move(part));
        return;
    }
    for (auto& a : inside) {
        std::string type = a.type.empty() ? "application/octet-stream" : a.type;
        add_document(std::move(type), std::move(a.filename), std::move(a.content), out);
    }
}

void add_document(std::string type, std::string filename, std::string bytes, ParsedMessage& out) {
    type = real_type(type, bytes);
    if (is_tnef_type(type)) return add_tnef(filename, std::move(bytes), out);
    MailPart part;
    part.type = std::move(type);
    part.filename = std::move(filename);
    part.kind = part.type == "application/pdf" ? MailPart::Kind::pdf : MailPart::Kind::other;
    part.content = std::move(bytes);
    out.parts.push_back(std::move(part));
}

void add_leaf(const mimetic::MimeEntity& e, ParsedMessage& out) {
    std::string declared = type_of(e);
    std::string filename = filename_of(e);
    std::string bytes = body_bytes(e);
    // What the bytes are decides, not the label: a "text/plain" PDF is a
    // PDF, and an octet-stream of text is text.
    std::string type = declared == "text/plain" || is_generic_type(declared)
                           ? real_type(declared, bytes)
                           : declared;
    if (type != "text/plain")
        return add_document(std::move(type), std::move(filename), std::move(bytes), out);
    std::string charset =
        declared == "text/plain" ? content_type_param(e, "charset") : std::string();
    std::string text = without_cr(to_utf8(bytes, charset));
    if (declared == "text/plain" && content_type_param(e, "format") == "flowed")
        text = unflow(text, content_type_param(e, "delsp") == "yes");
    add_text(std::move(text), std::move(filename), out);
}

void walk(const mimetic::MimeEntity& e, ParsedMessage& out);

// The documents below e, without its text/* parts (the rich text that the
// plain alternative already says).
void add_attachments_only(const mimetic::MimeEntity& e, ParsedMessage& out) {
    std::string type = type_of(e);
    if (type.starts_with("multipart/")) {
        for (const mimetic::MimeEntity* child : e.body().parts()) add_attachments_only(*child, out);
        return;
    }
    if (type.starts_with("text/") && filename_of(e).empty()) return;
    add_leaf(e, out);
}

// The sender's mail client wrote the same text several ways; a fax shows
// the plain one. Without one, the first alternative stands for the rest
// (and is most likely refused as unfaxable, which tells the sender why).
// Apple Mail puts attachments placed in rich text into the rich
// alternative only (text/plain beside multipart/mixed {html, pdf, html}):
// the documents of a multipart/mixed alternative follow the plain text.
// An HTML body and the pictures it shows by cid: reference (RFC 2392) are
// one document: rendered together, the pictures in their places.
bool add_html(const mimetic::MimeEntity& e, ParsedMessage& out) {
    const mimetic::MimeEntity* html = nullptr;
    std::map<std::string, std::string> images;
    if (type_of(e) == "text/html") html = &e;
    for (const mimetic::MimeEntity* child : e.body().parts()) {
        std::string type = type_of(*child);
        if (type == "text/html" && !html) {
            html = child;
        } else if (type.starts_with("image/") && child->header().hasField("Content-ID")) {
            std::string id = trim(child->header().field("Content-ID").value());
            if (id.size() > 2 && id.front() == '<' && id.back() == '>')
                id = id.substr(1, id.size() - 2);
            images[id] = body_bytes(*child);
        }
    }
    if (!html) return false;
    MailPart part;
    part.kind = MailPart::Kind::html;
    part.type = "text/html";
    std::string charset = html->header().hasField("Content-Type")
                              ? html->header().contentType().param("charset")
                              : std::string();
    part.content = to_utf8(body_bytes(*html), charset);
    part.inline_images = std::move(images);
    out.parts.push_back(std::move(part));
    return true;
}

void walk_alternative(const mimetic::MimeEntity& e, ParsedMessage& out) {
    const auto& parts = e.body().parts();
    if (parts.empty()) return;
    if (out.prefer_html)
        for (const mimetic::MimeEntity* child : parts) {
            std::string type = type_of(*child);
            if ((type == "text/html" || type == "multipart/related") && add_html(*child, out))
                return;
        }
    auto plain = std::find_if(parts.begin(), parts.end(), [](const mimetic::MimeEntity* child) {
        return type_of(*child) == "text/plain";
    });
    if (plain == parts.end()) return walk(*parts.front(), out);
    add_leaf(**plain, out);
    for (const mimetic::MimeEntity* child : parts)
        if (type_of(*child) == "multipart/mixed") add_attachments_only(*child, out);
}

// A detached signature proves who wrote the mail; it is no page of the fax.
bool is_signature(const std::string& type) {
    return type == "application/pkcs7-signature" || type == "application/x-pkcs7-signature" ||
           type == "application/pgp-signature";
}

// A forwarded mail is faxed as its header block (From, To, Date, Subject)
// followed by its own body and attachments.
void walk_forwarded(const mimetic::MimeEntity& inner, ParsedMessage& out) {
    std::string headers;
    for (const char* name : {"From", "To", "Cc", "Date", "Subject"}) {
        std::string value = header_value(inner, name);
        if (!value.empty()) headers += std::string(name) + ": " + decode_header_text(value) + "\n";
    }
    if (!headers.empty()) add_text("---------- Forwarded message ----------\n" + headers, {}, out);
    walk(inner, out);
}

void walk_forwarded(const std::string& raw, ParsedMessage& out) {
    mimetic::MimeEntity inner(raw.begin(), raw.end());
    walk_forwarded(inner, out);
}

void walk(const mimetic::MimeEntity& e, ParsedMessage& out) {
    std::string type = type_of(e);
    if (type == "multipart/alternative") return walk_alternative(e, out);
    if ((type == "multipart/related" || type == "text/html") && add_html(e, out)) return;
    if (type == "message/rfc822") {
        // mimetic parses an attached mail into the part's one child.
        if (!e.body().parts().empty()) return walk_forwarded(*e.body().parts().front(), out);
        return walk_forwarded(body_bytes(e), out);
    }
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

ParsedMessage parse_message(std::string_view raw, bool prefer_html) {
    mimetic::MimeEntity entity(raw.begin(), raw.end());
    ParsedMessage out;
    out.prefer_html = prefer_html;
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
