// libre's headers, as this backend includes them: re_types.h needs
// HAVE_INTTYPES_H for the fixed-width integer types (the build sets it), and
// the headers come in through -isystem (re_mem.h trips C++20's -Wvolatile).
#pragma once

#include <re.h>

#include <string>

namespace faxgw::sip {

inline std::string to_string(const pl& p) { return p.p ? std::string(p.p, p.l) : std::string(); }

// A libre mbuf holding `text`, positioned at its start.
inline mbuf* make_mbuf(std::string_view text) {
    mbuf* mb = mbuf_alloc(text.size() + 1);
    if (!mb) return nullptr;
    mbuf_write_mem(mb, reinterpret_cast<const uint8_t*>(text.data()), text.size());
    mb->pos = 0;
    return mb;
}

inline std::string mbuf_text(const mbuf* mb) {
    return mb ? std::string(reinterpret_cast<const char*>(mb->buf + mb->pos), mb->end - mb->pos)
              : std::string();
}

}  // namespace faxgw::sip
