#include "tnef.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "faxgw/render.h"
#include "text.h"

// libytnef's headers define BYTE, WORD, DWORD and ULONG as macros and
// declare a global to_utf8(); they come last and stay in this file.
extern "C" {
#include <tnef-errors.h>
#include <ytnef.h>
}

namespace faxgw::mailgw {
namespace {

class Parsed {
public:
    Parsed() { TNEFInitialize(&tnef_); }
    ~Parsed() { TNEFFree(&tnef_); }
    Parsed(const Parsed&) = delete;
    Parsed& operator=(const Parsed&) = delete;
    TNEFStruct& get() { return tnef_; }

private:
    TNEFStruct tnef_;
};

const variableLength* property(Attachment& a, unsigned type, unsigned id) {
    variableLength* v = MAPIFindProperty(&a.MAPI, PROP_TAG(type, id));
    return v == MAPI_UNDEFINED || v == nullptr || v->data == nullptr || v->size <= 0 ? nullptr : v;
}

// A NUL-terminated string as ytnef keeps it, without the terminator.
std::string_view c_string(const BYTE* data, int size) {
    std::string_view s(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size));
    return s.substr(0, s.find('\0'));
}

// UTF-16LE (PT_UNICODE as Outlook writes it) -> UTF-8.
std::string utf16le_to_utf8(const BYTE* data, int size) {
    std::string out;
    for (int i = 0; i + 1 < size; i += 2) {
        unsigned c = data[i] | (data[i + 1] << 8);
        if (c == 0) break;
        if (c >= 0xD800 && c <= 0xDBFF && i + 3 < size) {
            unsigned lo = data[i + 2] | (data[i + 3] << 8);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                i += 2;
            }
        }
        if (c < 0x80) {
            out += static_cast<char>(c);
        } else if (c < 0x800) {
            out += static_cast<char>(0xC0 | (c >> 6));
            out += static_cast<char>(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            out += static_cast<char>(0xE0 | (c >> 12));
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (c & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (c >> 18));
            out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (c & 0x3F));
        }
    }
    return out;
}

// The long name (PR_ATTACH_LONG_FILENAME, Unicode or 8-bit), else the
// 8.3 title of attAttachTitle. 8-bit names are in the stream's code page;
// Outlook in western Europe writes cp1252, which to_utf8 reads as Latin-1.
std::string filename_of(Attachment& a) {
    if (const variableLength* v = property(a, PT_UNICODE, PR_ATTACH_LONG_FILENAME)) {
        // libytnef 2.0 hands PT_UNICODE strings over as UTF-8 already (in a
        // buffer of the UTF-16 size); UTF-16 (a NUL as second byte) is
        // converted here in case it does not.
        std::string_view s = c_string(v->data, v->size);
        if (s.size() <= 1 && v->size > 2) return trim(utf16le_to_utf8(v->data, v->size));
        return trim(to_utf8(s, "utf-8"));
    }
    if (const variableLength* v = property(a, PT_STRING8, PR_ATTACH_LONG_FILENAME))
        return trim(to_utf8(c_string(v->data, v->size), "windows-1252"));
    if (a.Title.data && a.Title.size > 0)
        return trim(to_utf8(c_string(a.Title.data, a.Title.size), "windows-1252"));
    return {};
}

}  // namespace

bool is_tnef_type(std::string_view type) {
    return type == "application/ms-tnef" || type == "application/vnd.ms-tnef";
}

namespace {

std::vector<TnefAttachment> parse_in_process(std::string_view bytes) {
    // ytnef reads through a non-const pointer; it gets its own copy.
    std::vector<BYTE> copy(bytes.begin(), bytes.end());
    Parsed parsed;
    TNEFStruct& tnef = parsed.get();
    tnef.Debug = 0;
    int rc = copy.empty() ? YTNEF_NOT_TNEF_STREAM
                          : TNEFParseMemory(copy.data(), static_cast<long>(copy.size()), &tnef);
    if (rc == YTNEF_NOT_TNEF_STREAM) throw TnefError("not a TNEF stream");
    if (rc != 0) throw TnefError("damaged TNEF stream (libytnef error " + std::to_string(rc) + ")");

    std::vector<TnefAttachment> out;
    for (Attachment* a = tnef.starting_attach.next; a != nullptr; a = a->next) {
        TnefAttachment item;
        item.filename = filename_of(*a);
        if (const variableLength* v = property(*a, PT_STRING8, PR_ATTACH_MIME_TAG))
            item.type = lower(trim(c_string(v->data, v->size)));
        if (a->FileData.data && a->FileData.size > 0)
            item.content.assign(reinterpret_cast<const char*>(a->FileData.data),
                                static_cast<std::size_t>(a->FileData.size));
        // ytnef starts an attachment at every attAttachRendData; one with
        // neither name nor bytes is no attachment.
        if (item.filename.empty() && item.content.empty()) continue;
        out.push_back(std::move(item));
    }
    return out;
}

// The child's answer on the pipe: 'O' and per attachment three
// length-prefixed strings, or 'E' and the error message.
void put(std::string& out, std::string_view s) {
    std::uint64_t n = s.size();
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    out.append(s);
}

bool get(std::string_view& in, std::string& s) {
    std::uint64_t n = 0;
    if (in.size() < sizeof n) return false;
    std::memcpy(&n, in.data(), sizeof n);
    in.remove_prefix(sizeof n);
    if (in.size() < n) return false;
    s.assign(in.substr(0, n));
    in.remove_prefix(n);
    return true;
}

// Runs in render's isolated child (run_isolated_bytes): no file of the
// gateway visible, no network, bounded memory, processor and wall-clock
// time, as for every renderer. libytnef has had memory-safety bugs, and it
// prints its complaints to stdout, which is the MTA's bounce text for
// `faxgw submit`: both stay in the child.
std::string parse_in_child(std::string_view bytes) {
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, STDOUT_FILENO);
        ::dup2(null, STDERR_FILENO);
    }
    std::string answer;
    try {
        const auto attachments = parse_in_process(bytes);
        answer = "O";
        for (const auto& a : attachments) {
            put(answer, a.filename);
            put(answer, a.type);
            put(answer, a.content);
        }
    } catch (const TnefError& e) {
        answer = "E";
        put(answer, e.what());
    }
    return answer;
}

}  // namespace

render::Options tnef_child_limits() {
    render::Options limits;
    limits.memory_mb = 1024;
    limits.cpu_seconds = 20;
    limits.wall_seconds = 60;
    return limits;
}

std::vector<TnefAttachment> tnef_attachments(std::string_view bytes) {
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    // A fuzzing build reads the stream in its own process: the sanitizers
    // watch libytnef there, and a fork per input would slow the campaign
    // several times over. Never in a build that reads real mail.
    return parse_in_process(bytes);
#endif
    std::string answer;
    try {
        answer = render::run_isolated_bytes(
            "winmail.dat", [&] { return parse_in_child(bytes); }, tnef_child_limits());
    } catch (const render::Error&) {
        // Crashed, or over its memory or processor time: the stream's doing.
        throw TnefError("damaged TNEF stream (the reader failed)");
    }
    std::string_view in = answer;
    if (in.empty()) throw TnefError("damaged TNEF stream (the reader failed)");
    const char kind = in.front();
    in.remove_prefix(1);
    if (kind == 'E') {
        std::string message;
        get(in, message);
        throw TnefError(message);
    }
    std::vector<TnefAttachment> out;
    while (!in.empty()) {
        TnefAttachment a;
        if (!get(in, a.filename) || !get(in, a.type) || !get(in, a.content))
            throw TnefError("damaged TNEF stream (the reader failed)");
        out.push_back(std::move(a));
    }
    return out;
}

}  // namespace faxgw::mailgw
