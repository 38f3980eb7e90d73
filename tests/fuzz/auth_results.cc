// Fuzz target "auth_results": the Authentication-Results parser (RFC 8601)
// that the sender rules trust for SPF, DKIM and DMARC verdicts.
// Input: the first line is the authserv-id to trust, each further line one
// unfolded header value, as parse_message collects them.
#include <algorithm>
#include <string>
#include <vector>

#include "fuzz_target.h"
#include "rules.h"

namespace {

// A verdict is compared with the rules' words: empty or a lower-case token.
// RFC 8601 results are keywords (RFC 5321 Ldh-str), read lower-cased.
bool is_verdict_word(const std::string& v) {
    return std::all_of(v.begin(), v.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

std::vector<std::string> lines_of(std::string_view text) {
    std::vector<std::string> lines;
    while (!text.empty()) {
        const auto end = text.find('\n');
        lines.emplace_back(text.substr(0, end));
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    }
    return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> headers = lines_of(faxgw::fuzz::bytes_of(data, size));
    if (headers.empty()) return 0;
    const std::string authserv_id = headers.front();
    headers.erase(headers.begin());
    const auto verdicts = faxgw::mailgw::read_authentication_results(headers, authserv_id);
    for (const std::string* v : {&verdicts.spf, &verdicts.dkim, &verdicts.dmarc})
        faxgw::fuzz::require(is_verdict_word(*v), "a verdict is empty or a lower-case keyword");
    return 0;
}
