#include "sniff.h"

#include <magic.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "text.h"

namespace faxgw::mailgw {
namespace {

// libmagic examines the start of a document; a megabyte is more than any
// of its tests reads and keeps a large attachment cheap.
constexpr std::size_t sniff_bytes = 1u << 20;

struct MagicCloser {
    void operator()(magic_set* m) const { magic_close(m); }
};
using Magic = std::unique_ptr<magic_set, MagicCloser>;

// A magic_t is not thread-safe: one per thread, loaded once with the
// system database (libmagic-mgc). nullptr if that fails.
magic_t open_magic(int flags) {
    Magic m(magic_open(flags | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS));
    if (!m || magic_load(m.get(), nullptr) != 0) return nullptr;
    return m.release();
}

// Type and encoding come from one pass of libmagic (MAGIC_MIME answers
// "text/plain; charset=us-ascii", the same two answers MAGIC_MIME_TYPE and
// MAGIC_MIME_ENCODING give apart): a pass over a text part runs hundreds
// of tests and compiles their regular expressions, and loading the
// database is paid once instead of twice.
struct Sniffed {
    std::string type;      // "" when libmagic cannot be used
    std::string encoding;  // "binary" for data that is not text
};

// This thread's magic_t. The main thread's is never closed: closing frees
// every test of the database one by one, a millisecond at each exit of
// `faxgw submit`, and the process's end frees it anyway. Other threads
// (the milter's) close theirs when they end.
magic_t thread_magic() {
    if (::gettid() == ::getpid()) {
        static const magic_t main_thread_magic = open_magic(MAGIC_MIME);
        return main_thread_magic;
    }
    thread_local Magic m(open_magic(MAGIC_MIME));
    return m.get();
}

Sniffed sniff(std::string_view bytes) {
    magic_t m = thread_magic();
    if (!m) return {};
    const char* r = magic_buffer(m, bytes.data(), std::min(bytes.size(), sniff_bytes));
    if (!r) return {};
    const std::string_view answer(r);
    const std::size_t semicolon = answer.find(';');
    Sniffed s{std::string(answer.substr(0, semicolon)), {}};
    constexpr std::string_view charset = "charset=";
    if (const std::size_t at = answer.find(charset, semicolon); at != std::string_view::npos)
        s.encoding = answer.substr(at + charset.size());
    return s;
}

bool is_text(const Sniffed& sniffed, std::string_view bytes) {
    if (sniffed.encoding.empty()) return bytes.find('\0') == std::string_view::npos;
    return sniffed.encoding != "binary";
}

bool is_faxable_type(std::string_view t) {
    return t == "application/pdf" || t == "application/postscript" || t.starts_with("image/");
}

// Whether a part declared text/* is plain text on its face: UTF-8 (ASCII
// included), no control character but tab, line feed, carriage return and
// form feed, and no '%' in its first kilobyte, where a PDF or PostScript
// file (what a text part may really be, and a fax can show) has its
// header. Such a part is taken as the sender declared it, without
// libmagic: its pass over a text runs seventy regular expressions,
// compiled each time (about 2 ms of a 28 ms `faxgw submit`), to tell C from
// JavaScript. A picture format written in text (SVG, XPM, PNM) declared as
// text is so faxed as the text it is.
bool is_plain_text(std::string_view bytes) {
    if (bytes.substr(0, 1024).find('%') != std::string_view::npos) return false;
    for (unsigned char c : bytes)
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') || c == 0x7f)
            return false;
    return valid_utf8(bytes);
}

}  // namespace

bool is_generic_type(std::string_view t) {
    return t.empty() || t == "application/octet-stream" || t == "binary/octet-stream" ||
           t == "application/x-download" || t == "application/download" ||
           t == "application/force-download" || t == "application/unknown" ||
           t == "application/x-unknown" || t == "application/binary";
}

std::string sniff_type(std::string_view bytes) {
    if (bytes.empty()) return {};
    return sniff(bytes).type;
}

bool sniff_is_text(std::string_view bytes) {
    if (bytes.empty()) return true;
    return is_text(sniff(bytes), bytes);
}

std::string real_type(std::string_view declared, std::string_view bytes) {
    if (bytes.empty()) return std::string(declared);  // nothing to sniff
    if (declared.starts_with("text/") && is_plain_text(bytes)) return std::string(declared);
    const Sniffed sniffed = sniff(bytes);
    const std::string& type = sniffed.type;
    bool known = !type.empty() && type != "application/octet-stream" &&
                 !type.starts_with("inode/") && type != "application/x-empty";
    if (declared.starts_with("text/")) {
        // A PDF is mostly ASCII to libmagic's encoding test; its type says it.
        if (is_faxable_type(type)) return type;
        if (!is_text(sniffed, bytes)) return known ? type : "application/octet-stream";
        return std::string(declared);
    }
    if (is_generic_type(declared)) return known ? type : std::string(declared);
    if (is_faxable_type(type) && type != declared) return type;
    return std::string(declared);
}

}  // namespace faxgw::mailgw
