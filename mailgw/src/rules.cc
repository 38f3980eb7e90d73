#include "rules.h"

#include <fnmatch.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <regex>
#include <sstream>

#include "text.h"

namespace faxgw::mailgw {
namespace {

bool glob(const std::string& pattern, std::string_view value) {
    return fnmatch(pattern.c_str(), std::string(value).c_str(), FNM_CASEFOLD) == 0;
}

bool is_regex(const std::string& p) { return p.size() >= 2 && p.front() == '/' && p.back() == '/'; }

bool regex_match(const std::string& p, std::string_view value) {
    std::regex re(p.substr(1, p.size() - 2), std::regex::extended | std::regex::icase);
    return std::regex_search(std::string(value), re);
}

std::string domain_of(std::string_view address) {
    auto at = address.rfind('@');
    return at == std::string_view::npos ? "" : lower(address.substr(at + 1));
}

bool address_matches(const std::string& pattern, std::string_view address) {
    if (pattern == "*") return true;
    if (pattern.empty()) return address.empty();
    if (is_regex(pattern)) return regex_match(pattern, address);
    if (pattern.front() == '@') {
        std::string want = lower(pattern.substr(1)), have = domain_of(address);
        return have == want || (have.size() > want.size() && have.ends_with("." + want));
    }
    return glob(pattern, address);
}

bool number_matches(const std::string& pattern, const std::string& number, const DialRules& dial) {
    bool national = number.starts_with("+" + dial.country_code);
    if (pattern == "international") return !national;
    if (pattern == "national") return national;
    if (is_regex(pattern)) return regex_match(pattern, number);
    return glob(pattern, number);
}

bool auth_matches(const std::string& pattern, const std::string& user) {
    if (pattern == "*") return true;
    if (pattern == "none") return user.empty();
    if (pattern == "any") return !user.empty();
    return !user.empty() && glob(pattern, user);
}

bool in_network(const std::string& cidr, const std::string& address) {
    namespace ip = boost::asio::ip;
    boost::system::error_code ec;
    auto addr = ip::make_address(address, ec);
    if (ec) return false;
    std::string net = trim(cidr);
    if (net.find('/') == std::string::npos) net += addr.is_v4() ? "/32" : "/128";
    if (addr.is_v4()) {
        auto n = ip::make_network_v4(net, ec);
        return !ec &&
               ip::make_network_v4(addr.to_v4(), n.prefix_length()).canonical() == n.canonical();
    }
    auto n = ip::make_network_v6(net, ec);
    return !ec && ip::make_network_v6(addr.to_v6(), n.prefix_length()).canonical() == n.canonical();
}

bool in_any(const std::vector<std::string>& cidrs, const std::string& address) {
    for (const auto& c : cidrs)
        if (in_network(c, address)) return true;
    return false;
}

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string item; std::getline(in, item, ',');)
        if (!trim(item).empty()) out.push_back(trim(item));
    return out;
}

// Mail submitted locally (no client address) comes from a trusted place.
bool client_matches(const std::string& pattern, const std::string& client, const Settings& s) {
    if (pattern == "*") return true;
    bool trusted = client.empty() || in_any(s.trusted_networks, client);
    if (pattern == "trusted") return trusted;
    if (pattern == "untrusted") return !trusted;
    return !client.empty() && in_any(split_list(pattern), client);
}

bool verdict_matches(const std::string& pattern, const std::string& verdict) {
    return pattern == "*" || lower(pattern) == (verdict.empty() ? "none" : lower(verdict));
}

// The first condition of `rule` that `in` fails, or "" when all hold.
std::string first_mismatch(const SenderRule& rule, const RuleInput& in, const Settings& s) {
    if (!address_matches(rule.sender, in.sender))
        return "sender <" + in.sender + "> does not match '" + rule.sender + "'";
    if (!address_matches(rule.from, in.from))
        return "From " + in.from + " does not match '" + rule.from + "'";
    if (!auth_matches(rule.auth, in.sasl_user))
        return "SMTP AUTH '" + in.sasl_user + "' does not match '" + rule.auth + "'";
    if (!client_matches(rule.client, in.client_address, s))
        return "client " +
               (in.client_address.empty() ? std::string("(local)") : in.client_address) +
               " does not match '" + rule.client + "'";
    if (!verdict_matches(rule.spf, in.spf)) return "SPF '" + in.spf + "' is not '" + rule.spf + "'";
    if (!verdict_matches(rule.dkim, in.dkim))
        return "DKIM '" + in.dkim + "' is not '" + rule.dkim + "'";
    if (!verdict_matches(rule.dmarc, in.dmarc))
        return "DMARC '" + in.dmarc + "' is not '" + rule.dmarc + "'";
    if (!number_matches(rule.number, in.number, s.dial))
        return "number " + in.number + " does not match '" + rule.number + "'";
    return {};
}

std::string default_reason(const RuleInput& in, RuleAction a) {
    return a == RuleAction::hold ? "fax to " + in.number + " is held for an administrator"
                                 : "sender rules do not allow faxing " + in.number;
}

}  // namespace

std::vector<SenderRule> default_rules() {
    auto deny = [](SenderRule r, std::string reason) {
        r.action = RuleAction::deny;
        r.reason = std::move(reason);
        return r;
    };
    SenderRule null_sender, invalid, outsider, premium_900, premium_976, abroad;
    null_sender.sender = "";
    invalid.sender = "*.invalid";
    outsider.auth = "none";
    outsider.client = "untrusted";
    premium_900.number = "+1900*";
    premium_976.number = "+1976*";
    abroad.number = "international";
    return {
        deny(null_sender, "bounces and auto-replies cannot send faxes"),
        deny(invalid, "sender domain .invalid cannot receive a fax report"),
        deny(outsider, "log in (SMTP AUTH) or send from a trusted network to use the fax gateway"),
        deny(premium_900, "premium-rate numbers are not allowed"),
        deny(premium_976, "premium-rate numbers are not allowed"),
        deny(abroad, "international fax numbers are not allowed"),
    };
}

std::string_view to_string(RuleAction a) {
    switch (a) {
        case RuleAction::allow:
            return "allow";
        case RuleAction::deny:
            return "deny";
        case RuleAction::hold:
            return "hold";
    }
    return "allow";
}

RuleAction parse_rule_action(std::string_view name) {
    for (auto a : {RuleAction::allow, RuleAction::deny, RuleAction::hold})
        if (to_string(a) == name) return a;
    throw std::invalid_argument("action must be allow, deny or hold, not '" + std::string(name) +
                                "'");
}

std::string rule_sender(std::string_view envelope_sender) {
    std::string s = trim(envelope_sender);
    if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
    return s;
}

RuleDecision decide(const RuleInput& in, const Settings& s) {
    RuleDecision d;
    for (std::size_t i = 0; i < s.rules.size(); ++i) {
        const SenderRule& rule = s.rules[i];
        std::string label = "rule " + std::to_string(i + 1);
        std::string miss = first_mismatch(rule, in, s);
        if (!miss.empty()) {
            d.trace.push_back(label + ": no match: " + miss);
            continue;
        }
        d.action = rule.action;
        d.rule = static_cast<int>(i + 1);
        d.reason = rule.action == RuleAction::allow ? ""
                   : rule.reason.empty()            ? default_reason(in, rule.action)
                                                    : rule.reason;
        d.trace.push_back(label + ": matches: " + std::string(to_string(rule.action)));
        return d;
    }
    d.action = s.default_allow ? RuleAction::allow : RuleAction::deny;
    if (!s.default_allow) d.reason = default_reason(in, d.action);
    d.trace.push_back(std::string("no rule matches: the default is ") +
                      (s.default_allow ? "allow" : "deny"));
    return d;
}

AuthVerdicts read_authentication_results(const std::vector<std::string>& headers,
                                         std::string_view authserv_id) {
    AuthVerdicts v;
    if (authserv_id.empty()) return v;
    static const std::regex result(R"((spf|dkim|dmarc)\s*=\s*([A-Za-z]+))", std::regex::icase);
    for (const auto& h : headers) {
        auto semi = h.find(';');
        std::string id = trim(h.substr(0, semi));
        if (auto space = id.find_first_of(" \t"); space != std::string::npos)
            id = id.substr(0, space);
        if (lower(id) != lower(authserv_id) || semi == std::string::npos) continue;
        std::string rest = h.substr(semi + 1);
        for (std::sregex_iterator it(rest.begin(), rest.end(), result), end; it != end; ++it) {
            std::string method = lower((*it)[1].str()), verdict = lower((*it)[2].str());
            std::string& slot = method == "spf" ? v.spf : method == "dkim" ? v.dkim : v.dmarc;
            if (slot.empty() || (method == "dkim" && verdict == "pass")) slot = verdict;
        }
    }
    return v;
}

}  // namespace faxgw::mailgw
