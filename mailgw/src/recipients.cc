#include "recipients.h"

#include <algorithm>
#include <cctype>

#include "text.h"

namespace faxgw::mailgw {
namespace {

bool all_digits(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
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

// A number with an extension, as people write it:
//   5551234x22  5551234 X 22  5551234ext22  5551234 ext. 22  (x, ext, ext.)
//   5551234;ext=22                                           (RFC 3966)
//   5551234,,22                                              (a dial string)
// The extension (1 to 8 digits) is no part of the E.164 number, which
// records, rules and duplicates go by; the line dials the number, waits two
// pauses (",," about two seconds each) for the far end's menu and dials the
// extension: 5551234x22 -> +15551234, dialled 15551234,,22.
struct Extension {
    std::string number, extension;
};

Extension split_extension(std::string_view written) {
    std::string w = lower(written);
    for (std::string_view marker : {";ext=", "ext.", "ext", "x", ","}) {
        size_t at = w.find(marker);
        if (at == std::string::npos) continue;
        std::string number = w.substr(0, at);
        std::string ext = w.substr(at + marker.size());
        if (marker == ",") ext.erase(0, ext.find_first_not_of(','));
        ext = strip_separators(ext);
        if (ext.empty() || !all_digits(ext))
            throw RecipientError("the extension after '" + std::string(marker) +
                                 "' must be digits");
        if (ext.size() > 8) throw RecipientError("the extension has more than 8 digits");
        return {number, ext};
    }
    return {std::string(written), {}};
}

}  // namespace

faxcore::Destination normalise_number(std::string_view written, const DialRules& rules) {
    Extension parts = split_extension(written);
    std::string s = strip_separators(parts.number);
    bool plus = !s.empty() && s.front() == '+';
    std::string digits = plus ? s.substr(1) : s;
    if (digits.empty()) throw RecipientError("the fax number is empty");
    if (!all_digits(digits))
        throw RecipientError("the fax number has characters other than digits");
    if (static_cast<int>(digits.size()) < rules.min_digits)
        throw RecipientError("the fax number has fewer than " + std::to_string(rules.min_digits) +
                             " digits");
    std::string e164 = plus ? digits : international_digits(digits, rules);
    // "011" alone is an international prefix with no number after it.
    if (static_cast<int>(e164.size()) < rules.min_digits)
        throw RecipientError("the fax number has fewer than " + std::to_string(rules.min_digits) +
                             " digits after its prefix");
    if (static_cast<int>(e164.size()) > rules.max_digits)
        throw RecipientError("the fax number has more than " + std::to_string(rules.max_digits) +
                             " digits");
    // Refused here, in the sender's words, rather than queued to fail at
    // dial time.
    if (auto info = describe_number("+" + e164, rules); !info.valid)
        throw RecipientError("the fax number " + info.problem);
    if (!parts.extension.empty()) return {"+" + e164, e164 + ",," + parts.extension};
    return {"+" + e164, e164};
}

bool in_fax_domain(const std::string& address, const Settings& settings) {
    return is_fax_domain(split_address(address).domain, settings);
}

std::optional<FaxRecipient> fax_recipient(const std::string& address, const Settings& settings) {
    SplitAddress a = split_address(address);
    if (!is_fax_domain(a.domain, settings)) return std::nullopt;
    FaxRecipient r{trim(address), {}, {}};
    std::string number = a.local;
    // name=number; the '=' of ";ext=" is the number's.
    size_t eq = a.local.find('=');
    while (eq != std::string::npos && lower(a.local.substr(0, eq)).ends_with(";ext"))
        eq = a.local.find('=', eq + 1);
    if (eq != std::string::npos) {
        r.name = a.local.substr(0, eq);
        number = a.local.substr(eq + 1);
    }
    try {
        r.destination = normalise_number(number, settings.dial);
    } catch (const RecipientError& e) {
        throw RecipientError(r.address + ": " + e.what());
    }
    return r;
}

std::vector<FaxRecipient> fax_recipients(const std::vector<std::string>& recipients,
                                         const Settings& settings) {
    std::vector<FaxRecipient> out;
    for (const auto& address : recipients) {
        auto found = fax_recipient(address, settings);
        if (!found) continue;
        FaxRecipient& r = *found;
        auto seen = std::find_if(out.begin(), out.end(), [&](const FaxRecipient& o) {
            return o.destination.number == r.destination.number;
        });
        // One job per number and mail: two extensions of one number would
        // silently become one fax.
        if (seen != out.end() && seen->destination.dial != r.destination.dial)
            throw RecipientError(
                r.address + ": " + seen->address +
                " is the same number with another extension; send one mail per extension");
        if (seen == out.end()) out.push_back(std::move(r));
    }
    if (out.empty()) throw RecipientError("no fax recipient in " + joined_domains(settings));
    return out;
}

}  // namespace faxgw::mailgw
