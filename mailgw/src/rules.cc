#include "rules.h"

#include "text.h"

#include <fnmatch.h>

namespace faxgw::mailgw {
namespace {

bool glob(const std::string& pattern, std::string_view value) {
    return fnmatch(pattern.c_str(), std::string(value).c_str(), FNM_CASEFOLD) == 0;
}

}  // namespace

std::vector<SenderRule> default_rules() {
    return {
        {"", "*", false, "bounces and auto-replies cannot send faxes"},
        {"*.invalid", "*", false, "sender domain .invalid cannot receive a fax report"},
        {"*", "+1900*", false, "premium-rate numbers are not allowed"},
        {"*", "+1976*", false, "premium-rate numbers are not allowed"},
    };
}

std::string rule_sender(std::string_view envelope_sender) {
    std::string s = trim(envelope_sender);
    if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
    return s;
}

std::optional<std::string> refusal(std::string_view sender, std::string_view number,
                                   const std::vector<SenderRule>& rules, bool default_allow) {
    for (const SenderRule& rule : rules) {
        if (!glob(rule.sender, sender) || !glob(rule.number, number)) continue;
        if (rule.allow) return std::nullopt;
        return rule.reason.empty() ? "sender rules do not allow faxing " + std::string(number)
                                   : rule.reason;
    }
    if (default_allow) return std::nullopt;
    return "sender " + std::string(sender) + " may not fax " + std::string(number);
}

}  // namespace faxgw::mailgw
