#include "maildir.h"

#include <faxgw/faxcore.h>
#include <mimetic/mimetic.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iterator>

namespace faxgw::mailgw {

void ensure_maildir(const std::filesystem::path& dir) {
    for (const char* sub : {"tmp", "new", "cur"}) std::filesystem::create_directories(dir / sub);
}

std::filesystem::path deliver_to_maildir(const std::filesystem::path& dir, const std::string& name,
                                         std::string_view mail) {
    ensure_maildir(dir);
    // Written in tmp/ and only then moved to new/, as Maildir wants: a
    // process killed while writing leaves its part-file where no mail
    // reader looks.
    std::filesystem::path written = dir / "tmp" / name;
    std::filesystem::path path = dir / "new" / name;
    faxcore::write_file_durably(written, mail);
    faxcore::move_file_durably(written, path);
    return path;
}

std::string safe_file_name(std::string_view s) {
    std::string out;
    for (unsigned char c : s)
        out += std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '+' || c == '@'
                   ? static_cast<char>(c)
                   : '_';
    if (out.empty() || out.front() == '.') out.insert(out.begin(), '_');
    return out;
}

std::string rfc5322_date(std::time_t t) {
    std::tm tm{};
    localtime_r(&t, &tm);
    char buffer[64];
    // The C locale's day and month names are the English ones RFC 5322 needs.
    static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    long offset = tm.tm_gmtoff / 60;
    char sign = offset < 0 ? '-' : '+';
    offset = std::labs(offset);
    std::snprintf(buffer, sizeof buffer, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
                  days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
                  tm.tm_min, tm.tm_sec, sign, offset / 60, offset % 60);
    return buffer;
}

std::string utc_time(std::int64_t t, const char* format) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buffer[64];
    std::strftime(buffer, sizeof buffer, format, &tm);
    return buffer;
}

std::string domain_of(std::string_view address) {
    size_t at = address.rfind('@');
    std::string domain =
        at == std::string_view::npos ? std::string() : std::string(address.substr(at + 1));
    domain.erase(std::remove(domain.begin(), domain.end(), '>'), domain.end());
    return domain.empty() ? "localhost" : domain;
}

std::string with_crlf(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 64);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
        out += text[i];
    }
    return out;
}

std::string encode_header_text(std::string_view utf8) {
    bool ascii = std::all_of(utf8.begin(), utf8.end(),
                             [](unsigned char c) { return c < 0x80 && c >= 0x20; });
    if (ascii) return std::string(utf8);
    std::string b64;
    mimetic::Base64::Encoder encoder(0);  // 0: one line, no breaks
    mimetic::encode(utf8.begin(), utf8.end(), encoder, std::back_inserter(b64));
    return "=?UTF-8?B?" + b64 + "?=";
}

}  // namespace faxgw::mailgw
