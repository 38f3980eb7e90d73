#include "text.h"

#include <iconv.h>
#include <mimetic/mimetic.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <iterator>

namespace faxgw::mailgw {
namespace {

bool is_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x80; });
}

std::string latin1_to_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size() * 2);
    for (unsigned char c : s) {
        if (c < 0x80) {
            out += static_cast<char>(c);
        } else {
            out += static_cast<char>(0xC0 | (c >> 6));
            out += static_cast<char>(0x80 | (c & 0x3F));
        }
    }
    return out;
}

// Converts the whole input with iconv; false when the charset is unknown
// or the bytes are invalid in it, so the caller can fall back.
bool iconv_to_utf8(std::string_view in, const std::string& charset, std::string& out) {
    iconv_t cd = iconv_open("UTF-8", charset.c_str());
    if (cd == reinterpret_cast<iconv_t>(-1)) return false;
    std::string buffer(in.size() * 4 + 16, '\0');
    char* src = const_cast<char*>(in.data());
    size_t src_left = in.size();
    char* dst = buffer.data();
    size_t dst_left = buffer.size();
    bool ok = true;
    while (src_left > 0) {
        if (iconv(cd, &src, &src_left, &dst, &dst_left) != static_cast<size_t>(-1)) break;
        if (errno != E2BIG) {
            ok = false;
            break;
        }
        size_t used = buffer.size() - dst_left;
        buffer.resize(buffer.size() * 2);
        dst = buffer.data() + used;
        dst_left = buffer.size() - used;
    }
    // Flush any shift state (stateful encodings such as ISO-2022-JP).
    if (ok && iconv(cd, nullptr, nullptr, &dst, &dst_left) == static_cast<size_t>(-1)) ok = false;
    iconv_close(cd);
    if (ok) out.assign(buffer.data(), buffer.size() - dst_left);
    return ok;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// RFC 2047 "Q": like quoted-printable, but "_" is a space.
std::string decode_q(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '_') {
            out += ' ';
        } else if (s[i] == '=' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
                   hex_value(s[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string decode_b(std::string_view s) {
    std::string out;
    mimetic::Base64::Decoder decoder;
    mimetic::decode(s.begin(), s.end(), decoder, std::back_inserter(out));
    return out;
}

struct EncodedWord {
    size_t begin = 0, end = 0;  // [begin, end) in the value
    std::string utf8;
};

// Finds the next well-formed encoded word at or after `from`. The end
// found for one candidate serves the next ones until they pass it: looking
// for it afresh from each "=?" made "=?a?x?..." repeated quadratic.
bool next_encoded_word(std::string_view v, size_t from, EncodedWord& word) {
    size_t stop = 0;  // the first "?=" at or after the last candidate's text; 0: not looked
    for (size_t start = v.find("=?", from); start != std::string_view::npos;
         start = v.find("=?", start + 2)) {
        size_t q1 = v.find('?', start + 2);
        if (q1 == std::string_view::npos || q1 + 2 >= v.size() || v[q1 + 2] != '?') continue;
        if (stop < q1 + 3) stop = v.find("?=", q1 + 3);
        if (stop == std::string_view::npos) return false;
        std::string charset(v.substr(start + 2, q1 - start - 2));
        charset = charset.substr(0, charset.find('*'));  // RFC 2231 language suffix
        char encoding = static_cast<char>(std::toupper(static_cast<unsigned char>(v[q1 + 1])));
        if (encoding != 'B' && encoding != 'Q') continue;
        std::string_view text = v.substr(q1 + 3, stop - q1 - 3);
        std::string bytes = encoding == 'B' ? decode_b(text) : decode_q(text);
        word = {start, stop + 2, to_utf8(bytes, charset)};
        return true;
    }
    return false;
}

// Bytes of the UTF-8 sequence starting at s[i], or 0 if none starts there.
std::size_t utf8_length(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80                ? 1
                          : c >= 0xC2 && c < 0xE0 ? 2
                          : c >= 0xE0 && c < 0xF0 ? 3
                          : c >= 0xF0 && c < 0xF5 ? 4
                                                  : 0;
    if (n == 0 || i + n > s.size()) return 0;
    return valid_utf8(s.substr(i, n)) ? n : 0;
}

char32_t code_point(std::string_view seq) {
    const auto byte = [&](std::size_t k) { return static_cast<char32_t>(seq[k]) & 0xFF; };
    if (seq.size() == 1) return byte(0);
    char32_t cp = byte(0) & (0x7F >> seq.size());
    for (std::size_t k = 1; k < seq.size(); ++k) cp = (cp << 6) | (byte(k) & 0x3F);
    return cp;
}

bool is_unsafe(char32_t cp) {
    return (cp < 0x20 && cp != '\t') || (cp >= 0x7F && cp < 0xA0) || cp == 0x200E || cp == 0x200F ||
           (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

bool valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        size_t extra = c < 0x80                ? 0
                       : c >= 0xC2 && c < 0xE0 ? 1
                       : c >= 0xE0 && c < 0xF0 ? 2
                       : c >= 0xF0 && c < 0xF5 ? 3
                                               : 4;
        if (extra == 4 || i + extra >= s.size() + (extra == 0)) return false;
        for (size_t k = 1; k <= extra; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += extra + 1;
    }
    return true;
}

std::string to_utf8(std::string_view bytes, std::string_view charset) {
    std::string cs = lower(trim(charset));
    if (is_ascii(bytes)) return std::string(bytes);
    if (cs == "utf-8" || cs == "utf8" || cs.empty() || cs == "us-ascii" || cs == "ascii" ||
        cs == "unknown-8bit") {
        // 8-bit bytes under an ASCII label: UTF-8 if they form it, else Latin-1.
        return valid_utf8(bytes) ? std::string(bytes) : latin1_to_utf8(bytes);
    }
    std::string out;
    if (iconv_to_utf8(bytes, cs, out)) return out;
    return valid_utf8(bytes) ? std::string(bytes) : latin1_to_utf8(bytes);
}

std::string decode_header_text(std::string_view value) {
    std::string out;
    size_t pos = 0;
    bool after_word = false;
    EncodedWord word;
    while (next_encoded_word(value, pos, word)) {
        std::string_view between = value.substr(pos, word.begin - pos);
        // White space between two encoded words is not part of the text.
        if (!(after_word && is_blank(between))) out += to_utf8(between, "");
        out += word.utf8;
        pos = word.end;
        after_word = true;
    }
    out += to_utf8(value.substr(pos), "");
    return out;
}

std::string unfold(std::string_view value) {
    // Folding is a line end before white space; that white space stays.
    std::string out;
    for (char c : value)
        if (c != '\r' && c != '\n') out += c;
    return out;
}

std::string trim(std::string_view s) {
    const char* ws = " \t\r\n";
    size_t b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    size_t e = s.find_last_not_of(ws);
    return std::string(s.substr(b, e - b + 1));
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_blank(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

std::string printable(std::string_view text, std::size_t max_bytes) {
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = utf8_length(text, i);
        char escaped[16];
        std::string_view piece;
        if (n == 0) {
            std::snprintf(escaped, sizeof escaped, "\\x%02X", static_cast<unsigned char>(text[i]));
            piece = escaped;
        } else if (const char32_t cp = code_point(text.substr(i, n)); is_unsafe(cp)) {
            std::snprintf(escaped, sizeof escaped, cp < 0x100 ? "\\x%02X" : "\\u%04X",
                          static_cast<unsigned>(cp));
            piece = escaped;
        } else {
            piece = text.substr(i, n);
        }
        if (out.size() + piece.size() > max_bytes) return out + "...";
        out += piece;
        i += n == 0 ? 1 : n;
    }
    return out;
}

}  // namespace faxgw::mailgw
