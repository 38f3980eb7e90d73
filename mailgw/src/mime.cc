#include "mime.h"

#include <faxgw/mailgw.h>
#include <mimetic/mimetic.h>
#include <strings.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>

#include "sniff.h"
#include "text.h"
#include "tnef.h"

namespace faxgw::mailgw {
namespace {

// One MIME entity as parse_entity splits it. The structure is read here
// rather than by mimetic's parser: mimetic recurses once per nesting level
// (50,000 nested multiparts overflowed the stack), grows a header value 128
// bytes at a time (quadratic), and matches a boundary anywhere in a line,
// so a multipart without one was split at every "--". Here every level,
// part and header is counted against the limits in mime.h before it is
// read. mimetic still reads what is inside a header field (parameters,
// RFC 2231) and decodes base64 and quoted-printable.
struct Entity {
    mimetic::Header header;
    std::string_view body;  // as sent (transfer encoding not undone); empty for containers
    std::vector<std::unique_ptr<Entity>> parts;  // of a multipart; an attached mail's one
    std::string owned;          // the bytes an attached mail was parsed from, when decoded
    bool implied_mail = false;  // a digest's part without a Content-Type (RFC 2046 5.1.5)
};

// What one mail may still use of the limits in mime.h.
struct Budget {
    int parts = max_mime_parts;
    std::size_t decoded_bytes = max_decoded_bytes;

    void count_part() {
        if (--parts < 0)
            throw MessageLimitError("message has more than " + std::to_string(max_mime_parts) +
                                    " MIME parts");
    }
    void count_bytes(std::size_t n) {
        if (n > decoded_bytes)
            throw MessageLimitError("message is too large: more than " +
                                    std::to_string(max_decoded_bytes >> 20) + " MB decoded");
        decoded_bytes -= n;
    }
};

std::string header_value(const Entity& e, const std::string& name) {
    const mimetic::Header& h = e.header;
    if (!h.hasField(name)) return {};
    return trim(unfold(h.field(name).value()));
}

// The next line of `text` at `pos`, without its line end; pos moves past it.
std::string_view next_line(std::string_view text, std::size_t& pos) {
    const std::size_t nl = text.find('\n', pos);
    const std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(pos, end - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.ends_with('\r')) line.remove_suffix(1);
    return line;
}

// "Name: value": the length of the name, or 0 when the line is no field.
std::size_t field_name_length(std::string_view line) {
    const std::size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return 0;
    std::size_t end = colon;
    while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t')) --end;  // "Name :"
    for (std::size_t i = 0; i < end; ++i)
        if (line[i] <= 32 || line[i] >= 127) return 0;
    return end;
}

// Reads the header section of `raw` into e.header; returns where the body
// starts. A line that is neither a field nor a folded continuation ends
// the header (mail without the empty line), as mimetic did.
std::size_t read_header(std::string_view raw, Entity& e) {
    std::size_t pos = 0;
    if (raw.starts_with("From ")) next_line(raw, pos);  // an mbox separator line
    std::string name, value;
    auto flush = [&] {
        if (!name.empty()) e.header.push_back(mimetic::Field(name, value));
        name.clear();
        value.clear();
    };
    while (pos < raw.size()) {
        const std::size_t line_start = pos;
        const std::string_view line = next_line(raw, pos);
        if (line.empty()) break;  // the empty line between header and body
        const bool folded = (line[0] == ' ' || line[0] == '\t') && !name.empty();
        const std::size_t n = folded ? 0 : field_name_length(line);
        if (!folded && n == 0) {
            pos = line_start;  // the body starts here
            break;
        }
        if (pos > max_header_bytes)
            throw MessageError("message has a header section larger than " +
                               std::to_string(max_header_bytes >> 10) + " KB");
        if (folded) {
            value += line;  // unfolded: the line end goes, the white space stays
            continue;
        }
        flush();
        name = line.substr(0, n);
        value = trim(line.substr(line.find(':') + 1));
    }
    flush();
    return pos;
}

// The body's parts between "--boundary" delimiter lines (RFC 2046 5.1.1:
// the delimiter is a line of its own, "--" closes, white space may follow;
// the line end before a delimiter belongs to it). Preamble and epilogue
// are dropped; without a closing delimiter the last part runs to the end.
std::vector<std::string_view> split_multipart(std::string_view body, std::string_view boundary) {
    std::vector<std::string_view> parts;
    std::size_t part_start = std::string_view::npos;  // npos: in the preamble
    std::size_t pos = 0;
    while (pos < body.size()) {
        const std::size_t line_start = pos;
        const std::string_view line = next_line(body, pos);
        if (!line.starts_with("--") || line.substr(2, boundary.size()) != boundary) continue;
        std::string_view rest = line.substr(2 + boundary.size());
        const bool closing = rest.starts_with("--");
        if (closing) rest.remove_prefix(2);
        if (!is_blank(rest)) continue;
        if (part_start != std::string_view::npos) {
            std::size_t end = line_start;
            if (end > part_start && body[end - 1] == '\n') --end;
            if (end > part_start && body[end - 1] == '\r') --end;
            parts.push_back(body.substr(part_start, end - part_start));
        }
        if (closing) return parts;
        part_start = pos;
    }
    if (part_start != std::string_view::npos) parts.push_back(body.substr(part_start));
    return parts;
}

std::string type_of(const Entity& e);
std::string body_bytes(const Entity& e, Budget& budget);

// Splits `raw` into an entity and, below it, the parts of a multipart and
// the mail a message/rfc822 part carries, `depth` levels down from the
// mail itself. Recursion is bounded by max_mime_depth.
std::unique_ptr<Entity> parse_entity(std::string_view raw, int depth, Budget& budget,
                                     bool in_digest = false) {
    if (depth > max_mime_depth)
        throw MessageError("message is nested more than " + std::to_string(max_mime_depth) +
                           " levels deep");
    budget.count_part();
    auto e = std::make_unique<Entity>();
    e->body = raw.substr(read_header(raw, *e));
    e->implied_mail = in_digest && !e->header.hasField("Content-Type");
    const std::string type = type_of(*e);
    if (type.starts_with("multipart/")) {
        std::string boundary = trim(e->header.contentType().param("boundary"));
        if (boundary.size() >= 2 && boundary.front() == '"' && boundary.back() == '"')
            boundary = boundary.substr(1, boundary.size() - 2);
        if (boundary.empty())
            throw MessageError("message has a " + type + " part without a boundary parameter");
        for (std::string_view part : split_multipart(e->body, boundary))
            e->parts.push_back(parse_entity(part, depth + 1, budget, type == "multipart/digest"));
        e->body = {};
    } else if (type == "message/rfc822" || e->implied_mail) {
        // Undone if a client base64-encoded the attached mail after all.
        e->owned = body_bytes(*e, budget);
        e->parts.push_back(parse_entity(e->owned, depth + 1, budget));
        e->body = {};
    }
    return e;
}

std::string body_bytes(const Entity& e, Budget& budget) {
    const std::string_view body = e.body;
    budget.count_bytes(body.size());  // decoding never makes it longer
    std::string encoding;
    if (e.header.hasField("Content-Transfer-Encoding"))
        encoding = lower(trim(e.header.contentTransferEncoding().mechanism()));
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

// Printable (text.h) at most this long: a file name reaches refusals.
constexpr std::size_t max_name_bytes = 1000;

std::string filename_of(const Entity& e) {
    const mimetic::Header& h = e.header;
    std::string name;
    if (h.hasField("Content-Disposition"))
        name = param(h.contentDisposition().paramList(), "filename");
    if (name.empty() && h.hasField("Content-Type"))
        name = param(h.contentType().paramList(), "name");
    return printable(name, max_name_bytes);
}

std::string type_of(const Entity& e) {
    const mimetic::Header& h = e.header;
    // RFC 2045: no Content-Type means text/plain; us-ascii.
    if (!h.hasField("Content-Type") || h.contentType().type().empty()) return "text/plain";
    return printable(lower(h.contentType().type() + "/" + h.contentType().subtype()), 100);
}

std::string content_type_param(const Entity& e, const std::string& name) {
    if (!e.header.hasField("Content-Type")) return {};
    return lower(trim(param(e.header.contentType().paramList(), name)));
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

bool is_signature(const std::string& type) {
    return type == "application/pkcs7-signature" || type == "application/x-pkcs7-signature" ||
           type == "application/pgp-signature";
}

std::vector<std::string> all_values(const Entity& e, std::string_view name) {
    std::vector<std::string> out;
    for (const auto& field : e.header)
        if (strcasecmp(field.name().c_str(), std::string(name).c_str()) == 0)
            out.push_back(trim(unfold(field.value())));
    return out;
}

// Turns the entity tree into the parts of a ParsedMessage, within the
// budget the tree was parsed with.
class Walker {
public:
    Walker(ParsedMessage& out, Budget& budget) : out_(out), budget_(budget) {}

    void walk(const Entity& e) {
        std::string type = type_of(e);
        if (type == "multipart/alternative") return walk_alternative(e);
        if ((type == "multipart/related" || type == "text/html") && add_html(e)) return;
        // parse_entity read an attached mail into the part's one child.
        if (type == "message/rfc822" || e.implied_mail) return walk_forwarded(*e.parts.front());
        if (type.starts_with("multipart/")) {
            for (const auto& child : e.parts)
                if (!is_signature(type_of(*child))) walk(*child);
            return;
        }
        add_leaf(e);
    }

private:
    ParsedMessage& out_;
    Budget& budget_;

    // Text parts without a file name that follow each other (a body and the
    // footer a mailing list added, a forwarded mail's header block and its
    // body) are one text: a footer gets no page of its own.
    void add_text(std::string text, std::string filename) {
        if (is_blank(text)) return;
        if (filename.empty() && !out_.parts.empty() &&
            out_.parts.back().kind == MailPart::Kind::text && out_.parts.back().filename.empty()) {
            std::string& previous = out_.parts.back().content;
            if (!previous.ends_with("\n")) previous += "\n";
            previous += "\n";
            previous += text;
            return;
        }
        MailPart part;
        part.kind = MailPart::Kind::text;
        part.type = "text/plain";
        part.filename = std::move(filename);
        part.content = std::move(text);
        out_.parts.push_back(std::move(part));
    }

    // Outlook's winmail.dat: its attachments are the mail's, in order,
    // each counted as a part. A stream ytnef cannot read stays one
    // attachment that render refuses by name.
    void add_tnef(const std::string& filename, std::string bytes) {
        std::vector<TnefAttachment> inside;
        try {
            inside = tnef_attachments(bytes);
        } catch (const TnefError&) {
            MailPart part;
            part.type = "application/ms-tnef";
            part.filename = filename.empty() ? "winmail.dat" : filename;
            part.content = std::move(bytes);
            out_.parts.push_back(std::move(part));
            return;
        }
        for (auto& a : inside) {
            budget_.count_part();
            budget_.count_bytes(a.content.size());
            std::string type = a.type.empty() ? "application/octet-stream" : printable(a.type, 100);
            add_document(std::move(type), printable(a.filename, max_name_bytes),
                         std::move(a.content));
        }
    }

    // A document (any part that is not text to lay out), typed by its bytes
    // where its declared type is generic or wrong; render decides whether
    // it can fax it.
    void add_document(std::string type, std::string filename, std::string bytes) {
        type = real_type(type, bytes);
        if (is_tnef_type(type)) return add_tnef(filename, std::move(bytes));
        MailPart part;
        part.type = std::move(type);
        part.filename = std::move(filename);
        part.kind = part.type == "application/pdf" ? MailPart::Kind::pdf : MailPart::Kind::other;
        part.content = std::move(bytes);
        out_.parts.push_back(std::move(part));
    }

    void add_leaf(const Entity& e) {
        std::string declared = type_of(e);
        std::string filename = filename_of(e);
        std::string bytes = body_bytes(e, budget_);
        // What the bytes are decides, not the label: a "text/plain" PDF is a
        // PDF, and an octet-stream of text is text.
        std::string type = declared == "text/plain" || is_generic_type(declared)
                               ? real_type(declared, bytes)
                               : declared;
        if (type != "text/plain")
            return add_document(std::move(type), std::move(filename), std::move(bytes));
        std::string charset =
            declared == "text/plain" ? content_type_param(e, "charset") : std::string();
        std::string text = without_cr(to_utf8(bytes, charset));
        if (declared == "text/plain" && content_type_param(e, "format") == "flowed")
            text = unflow(text, content_type_param(e, "delsp") == "yes");
        add_text(std::move(text), std::move(filename));
    }

    // The documents below e, without its text/* parts (the rich text that
    // the plain alternative already says).
    void add_attachments_only(const Entity& e) {
        std::string type = type_of(e);
        if (type.starts_with("multipart/")) {
            for (const auto& child : e.parts) add_attachments_only(*child);
            return;
        }
        if (type.starts_with("text/") && filename_of(e).empty()) return;
        add_leaf(e);
    }

    // An HTML body and the pictures it shows by cid: reference (RFC 2392)
    // are one document: rendered together, the pictures in their places.
    bool add_html(const Entity& e) {
        const Entity* html = nullptr;
        std::map<std::string, std::string> images;
        if (type_of(e) == "text/html") html = &e;
        for (const auto& child : e.parts) {
            std::string type = type_of(*child);
            if (type == "text/html" && !html) {
                html = child.get();
            } else if (type.starts_with("image/") && child->header.hasField("Content-ID")) {
                std::string id = trim(child->header.field("Content-ID").value());
                if (id.size() > 2 && id.front() == '<' && id.back() == '>')
                    id = id.substr(1, id.size() - 2);
                images[id] = body_bytes(*child, budget_);
            }
        }
        if (!html) return false;
        MailPart part;
        part.kind = MailPart::Kind::html;
        part.type = "text/html";
        std::string charset = content_type_param(*html, "charset");
        part.content = to_utf8(body_bytes(*html, budget_), charset);
        part.inline_images = std::move(images);
        out_.parts.push_back(std::move(part));
        return true;
    }

    // The sender's mail client wrote the same text several ways; a fax
    // shows the plain one. Without one, the first alternative stands for
    // the rest (and is most likely refused as unfaxable, which tells the
    // sender why). Apple Mail puts attachments placed in rich text into the
    // rich alternative only (text/plain beside multipart/mixed {html, pdf,
    // html}): the documents of a multipart/mixed alternative follow the
    // plain text.
    void walk_alternative(const Entity& e) {
        const auto& parts = e.parts;
        if (parts.empty()) return;
        if (out_.prefer_html)
            for (const auto& child : parts) {
                std::string type = type_of(*child);
                if ((type == "text/html" || type == "multipart/related") && add_html(*child))
                    return;
            }
        auto plain = std::find_if(parts.begin(), parts.end(), [](const auto& child) {
            return type_of(*child) == "text/plain";
        });
        if (plain == parts.end()) return walk(*parts.front());
        add_leaf(**plain);
        for (const auto& child : parts)
            if (type_of(*child) == "multipart/mixed") add_attachments_only(*child);
    }

    // A forwarded mail is faxed as its header block (From, To, Date,
    // Subject) followed by its own body and attachments.
    void walk_forwarded(const Entity& inner) {
        std::string headers;
        for (const char* name : {"From", "To", "Cc", "Date", "Subject"}) {
            std::string value = header_value(inner, name);
            if (!value.empty())
                headers += std::string(name) + ": " + decode_header_text(value) + "\n";
        }
        if (!headers.empty()) add_text("---------- Forwarded message ----------\n" + headers, {});
        walk(inner);
    }
};

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
    Budget budget;
    const std::unique_ptr<Entity> entity = parse_entity(raw, 0, budget);
    ParsedMessage out;
    out.prefer_html = prefer_html;
    out.message_id = header_value(*entity, "Message-ID");
    out.from = parse_mailbox(header_value(*entity, "From"));
    out.from.name = printable(out.from.name, max_name_bytes);
    out.subject =
        printable(decode_header_text(header_value(*entity, "Subject")), std::string::npos);
    out.date = header_value(*entity, "Date");
    out.authentication_results = all_values(*entity, "Authentication-Results");
    out.fax_options = header_value(*entity, "X-Fax-Options");
    Walker(out, budget).walk(*entity);
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
        Entity entity;  // the header is all it needs
        read_header(raw_message, entity);
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
