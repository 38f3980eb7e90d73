#include "recipients.h"

#include "text.h"

#include <algorithm>
#include <cctype>

namespace faxgw::mailgw {
namespace {

bool all_digits(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](unsigned char c) { return std::isdigit(c) != 0; });
}

// Separators people put into numbers; none of them is dialled.
std::string strip_separators(std::string_view s) {
    std::string out;
    for (char c : s)
        if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') out += c;
    return out;
}

// The international digits (country code first) of a number of digits
// only, following the dial rules.
std::string international_digits(const std::string& digits, const DialRules& rules) {
    const std::string& intl = rules.international_prefix;
    const std::string& national = rules.national_prefix;
    if (!intl.empty() && digits.starts_with(intl)) return digits.substr(intl.size());
    if (!national.empty() && digits.starts_with(national)) {
        std::string rest = digits.substr(national.size());
        // NANP's national prefix is also its country code: "1555..." is only
        // national when a full 10-digit number follows it.
        if (rules.country_code != "1" || rest.size() == 10) return rules.country_code + rest;
    }
    return rules.country_code + digits;
}

struct SplitAddress {
    std::string local, domain;
};

SplitAddress split_address(std::string_view address) {
    std::string a = trim(address);
    if (a.size() >= 2 && a.front() == '<' && a.back() == '>') a = a.substr(1, a.size() - 2);
    size_t at = a.rfind('@');
    if (at == std::string::npos) return {a, {}};
    std::string local = a.substr(0, at);
    // Postfix quotes local parts with spaces or parentheses.
    if (local.size() >= 2 && local.front() == '"' && local.back() == '"')
        local = local.substr(1, local.size() - 2);
    return {local, a.substr(at + 1)};
}

bool is_fax_domain(const std::string& domain, const Settings& settings) {
    std::string d = lower(domain);
    return std::any_of(settings.fax_domains.begin(), settings.fax_domains.end(),
                       [&](const std::string& fd) { return lower(fd) == d; });
}

std::string joined_domains(const Settings& settings) {
    std::string out;
    for (const auto& d : settings.fax_domains) out += (out.empty() ? "" : ", ") + d;
    return out.empty() ? "(no fax domains configured)" : out;
}

}  // namespace

faxcore::Destination normalise_number(std::string_view written, const DialRules& rules) {
    std::string s = strip_separators(written);
    bool plus = !s.empty() && s.front() == '+';
    std::string digits = plus ? s.substr(1) : s;
    if (digits.empty()) throw RecipientError("the fax number is empty");
    if (!all_digits(digits)) throw RecipientError("the fax number has characters other than digits");
    if (static_cast<int>(digits.size()) < rules.min_digits)
        throw RecipientError("the fax number has fewer than " + std::to_string(rules.min_digits) +
                             " digits");
    std::string e164 = plus ? digits : international_digits(digits, rules);
    if (static_cast<int>(e164.size()) > rules.max_digits)
        throw RecipientError("the fax number has more than " + std::to_string(rules.max_digits) +
                             " digits");
    return {"+" + e164, e164};
}

std::vector<FaxRecipient> fax_recipients(const std::vector<std::string>& recipients,
                                         const Settings& settings) {
    std::vector<FaxRecipient> out;
    for (const auto& address : recipients) {
        SplitAddress a = split_address(address);
        if (!is_fax_domain(a.domain, settings)) continue;
        FaxRecipient r{trim(address), {}, {}};
        std::string number = a.local;
        if (size_t eq = a.local.find('='); eq != std::string::npos) {
            r.name = a.local.substr(0, eq);
            number = a.local.substr(eq + 1);
        }
        try {
            r.destination = normalise_number(number, settings.dial);
        } catch (const RecipientError& e) {
            throw RecipientError(r.address + ": " + e.what());
        }
        bool seen = std::any_of(out.begin(), out.end(), [&](const FaxRecipient& o) {
            return o.destination.number == r.destination.number;
        });
        if (!seen) out.push_back(std::move(r));
    }
    if (out.empty()) throw RecipientError("no fax recipient in " + joined_domains(settings));
    return out;
}

}  // namespace faxgw::mailgw
