#include <faxgw/faxcore/caller_id.h>
#include <fnmatch.h>

#include <cctype>

namespace faxgw::faxcore {
namespace {

std::string lower(std::string text) {
    for (auto& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return text;
}

// Whether `rule` is for mail from `sender`: its glob matches the whole
// address and its domain is the address's domain or one above it.
bool rule_matches(const CallerIdRule& rule, const std::string& sender) {
    if (sender.empty() || (rule.sender.empty() && rule.domain.empty())) return false;
    if (!rule.sender.empty() && ::fnmatch(rule.sender.c_str(), sender.c_str(), FNM_CASEFOLD) != 0)
        return false;
    if (rule.domain.empty()) return true;
    const auto at = sender.rfind('@');
    if (at == std::string::npos) return false;
    const std::string domain = lower(sender.substr(at + 1)), wanted = lower(rule.domain);
    return domain == wanted || domain.ends_with("." + wanted);
}

}  // namespace

const CallerIdRule* caller_id_rule_for(const std::vector<CallerIdRule>& rules,
                                       const SenderOf& sender_of, const Job& job) {
    if (rules.empty() || !sender_of) return nullptr;
    const std::string sender = sender_of(job);
    for (const auto& rule : rules)
        if (rule_matches(rule, sender)) return &rule;
    return nullptr;
}

}  // namespace faxgw::faxcore
