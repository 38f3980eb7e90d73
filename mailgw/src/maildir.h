// Writing mails mailgw makes: Maildir delivery and RFC 5322 header bits.
#pragma once

#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>

namespace faxgw::mailgw {

// Creates DIR/tmp, DIR/new and DIR/cur as needed.
void ensure_maildir(const std::filesystem::path& dir);

// Writes a mail durably to DIR/new/NAME and returns its path. NAME is
// deterministic for the caller's purpose, so delivering again after a crash
// replaces the file instead of adding a second copy.
std::filesystem::path deliver_to_maildir(const std::filesystem::path& dir, const std::string& name,
                                         std::string_view mail);

// Characters safe in a Maildir file name (no '/', no ':').
std::string safe_file_name(std::string_view s);

std::string rfc5322_date(std::time_t t);

// "2026-12-02 06:45:12 UTC" (format "%Y-%m-%d %H:%M:%S UTC"): a time for
// people in mails; with another strftime format, that.
std::string utc_time(std::int64_t t, const char* format = "%Y-%m-%d %H:%M:%S UTC");

// "fax-gateway@example.org" -> "example.org" (for Message-IDs).
std::string domain_of(std::string_view address);

// Every line end as CRLF (mimetic ends base64 lines with a bare LF).
std::string with_crlf(std::string_view text);

// Header text as RFC 2047 encoded word when it is not plain ASCII.
std::string encode_header_text(std::string_view utf8);

}  // namespace faxgw::mailgw
