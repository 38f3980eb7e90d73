#include "sniff.h"

#include <magic.h>

#include <algorithm>
#include <memory>

namespace faxgw::mailgw {
namespace {

// libmagic examines the start of a document; a megabyte is more than any
// of its tests reads and keeps a large attachment cheap.
constexpr std::size_t sniff_bytes = 1u << 20;

struct MagicCloser {
    void operator()(magic_set* m) const { magic_close(m); }
};
using Magic = std::unique_ptr<magic_set, MagicCloser>;

// A magic_t is not thread-safe: one per thread and flag set, loaded once
// with the system database (libmagic-mgc). nullptr if that fails.
magic_t open_magic(int flags) {
    Magic m(magic_open(flags | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS));
    if (!m || magic_load(m.get(), nullptr) != 0) return nullptr;
    return m.release();
}

magic_t type_magic() {
    thread_local Magic m(open_magic(MAGIC_MIME_TYPE));
    return m.get();
}

magic_t encoding_magic() {
    thread_local Magic m(open_magic(MAGIC_MIME_ENCODING));
    return m.get();
}

std::string ask(magic_t m, std::string_view bytes) {
    if (!m) return {};
    const char* r = magic_buffer(m, bytes.data(), std::min(bytes.size(), sniff_bytes));
    return r ? std::string(r) : std::string();
}

bool is_faxable_type(std::string_view t) {
    return t == "application/pdf" || t == "application/postscript" || t.starts_with("image/");
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
    return ask(type_magic(), bytes);
}

bool sniff_is_text(std::string_view bytes) {
    if (bytes.empty()) return true;
    std::string encoding = ask(encoding_magic(), bytes);
    if (encoding.empty()) return bytes.find('\0') == std::string_view::npos;
    return encoding != "binary";
}

std::string real_type(std::string_view declared, std::string_view bytes) {
    std::string sniffed = sniff_type(bytes);
    bool known = !sniffed.empty() && sniffed != "application/octet-stream" &&
                 !sniffed.starts_with("inode/") && sniffed != "application/x-empty";
    if (declared.starts_with("text/")) {
        // A PDF is mostly ASCII to libmagic's encoding test; its type says it.
        if (is_faxable_type(sniffed)) return sniffed;
        if (!sniff_is_text(bytes)) return known ? sniffed : "application/octet-stream";
        return std::string(declared);
    }
    if (is_generic_type(declared)) return known ? sniffed : std::string(declared);
    if (is_faxable_type(sniffed) && sniffed != declared) return sniffed;
    return std::string(declared);
}

}  // namespace faxgw::mailgw
