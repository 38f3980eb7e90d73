#include "rules.h"

#include <fnmatch.h>
#include <re2/re2.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <cctype>
#include <set>
#include <sstream>
#include <variant>

#include "phone_numbers.h"
#include "text.h"

namespace faxgw::mailgw {

// One text condition of a rule, compiled. A /regex/ is an RE2 program,
// which matches in time linear in the text and uses no stack per
// character: std::regex recursed per character, and a 40,000-character
// From crashed it.
struct TextPattern {
    enum Kind { anything, nothing_but_empty, in_domain, glob, regex } kind = anything;
    std::string text;               // the domain of "@example.org" (lower case), or the glob
    std::shared_ptr<const RE2> re;  // RE2 cannot be copied
    bool matches(std::string_view value) const;
};

using Network = std::variant<boost::asio::ip::network_v4, boost::asio::ip::network_v6>;

struct RegionCondition {
    enum Kind { any, home, abroad, listed } kind = any;
    std::set<std::string> regions;  // for listed
};

struct CompiledRule {
    TextPattern sender, from, auth_user, number;
    enum class Auth { any, none, authenticated, user } auth = Auth::any;
    enum class Client { any, trusted, untrusted, networks } client = Client::any;
    std::vector<Network> networks;
    RegionCondition number_region;  // number = "international" / "national"
    RegionCondition region;
    std::set<NumberType> types;  // empty = any
};

namespace {

std::string domain_of(std::string_view address) {
    auto at = address.rfind('@');
    return at == std::string_view::npos ? "" : lower(address.substr(at + 1));
}

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string item; std::getline(in, item, ',');)
        if (!trim(item).empty()) out.push_back(trim(item));
    return out;
}

bool is_regex(const std::string& p) { return p.size() >= 2 && p.front() == '/' && p.back() == '/'; }

std::shared_ptr<const RE2> compile_re2(const std::string& expression, const std::string& field) {
    RE2::Options options;
    options.set_case_sensitive(false);
    options.set_log_errors(false);
    auto re = std::make_shared<const RE2>(expression, options);
    if (!re->ok()) throw RuleError(field, field + ": bad regular expression: " + re->error());
    return re;
}

TextPattern glob_or_regex(const std::string& pattern, const std::string& field) {
    TextPattern p;
    if (pattern == "*") return p;
    if (is_regex(pattern)) {
        p.kind = TextPattern::regex;
        p.re = compile_re2(pattern.substr(1, pattern.size() - 2), field);
    } else {
        p.kind = TextPattern::glob;
        p.text = pattern;
    }
    return p;
}

TextPattern address_pattern(const std::string& pattern, const std::string& field) {
    TextPattern p;
    if (pattern.empty()) {
        p.kind = TextPattern::nothing_but_empty;
    } else if (pattern.front() == '@') {
        p.kind = TextPattern::in_domain;
        p.text = lower(pattern.substr(1));
    } else {
        p = glob_or_regex(pattern, field);
    }
    return p;
}

// An address ("10.1.2.3", "::1") is a network of one.
Network parse_network(const std::string& written) {
    namespace ip = boost::asio::ip;
    boost::system::error_code ec;
    std::string net = trim(written);
    auto slash = net.find('/');
    auto address = ip::make_address(net.substr(0, slash), ec);
    if (ec) throw std::invalid_argument("'" + net + "' is no IP address or network");
    if (slash == std::string::npos) net += address.is_v4() ? "/32" : "/128";
    Network n;
    if (address.is_v4())
        n = ip::make_network_v4(net, ec);
    else
        n = ip::make_network_v6(net, ec);
    if (ec) throw std::invalid_argument("'" + net + "' is no IP network (address/prefix length)");
    return n;
}

bool contains(const Network& network, const boost::asio::ip::address& a) {
    namespace ip = boost::asio::ip;
    if (const auto* v4 = std::get_if<ip::network_v4>(&network))
        return a.is_v4() &&
               ip::make_network_v4(a.to_v4(), v4->prefix_length()).canonical() == v4->canonical();
    const auto& v6 = std::get<ip::network_v6>(network);
    return a.is_v6() &&
           ip::make_network_v6(a.to_v6(), v6.prefix_length()).canonical() == v6.canonical();
}

std::vector<Network> parse_networks(const std::vector<std::string>& written) {
    std::vector<Network> out;
    for (const auto& w : written) out.push_back(parse_network(w));
    return out;
}

bool in_any(const std::vector<Network>& networks, const std::string& address) {
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(address, ec);
    return !ec && std::any_of(networks.begin(), networks.end(),
                              [&](const Network& n) { return contains(n, a); });
}

RegionCondition region_condition(const std::string& pattern) {
    RegionCondition c;
    if (pattern == "*") return c;
    if (pattern == "home" || pattern == "abroad") {
        c.kind = pattern == "home" ? RegionCondition::home : RegionCondition::abroad;
        return c;
    }
    c.kind = RegionCondition::listed;
    static const std::set<std::string> known = [] {
        std::set<std::string> all;
        for (const auto& r : supported_regions()) all.insert(r);
        all.insert("001");  // libphonenumber's region of non-geographic numbers (+800, +882)
        return all;
    }();
    for (const auto& r : split_list(pattern)) {
        std::string upper = r;
        for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (!known.contains(upper))
            throw RuleError("region", "region: '" + r +
                                          "' is no region code (\"home\", \"abroad\" or ISO "
                                          "3166 codes such as \"JM, DO\")");
        c.regions.insert(upper);
    }
    return c;
}

std::set<NumberType> type_condition(const std::string& pattern) {
    std::set<NumberType> types;
    if (pattern == "*") return types;
    for (const auto& name : split_list(pattern)) {
        auto t = parse_number_type(name);
        if (!t) {
            std::string all;
            for (int i = 0; i <= static_cast<int>(NumberType::unknown); ++i)
                all += (i ? ", " : "") + std::string(to_string(static_cast<NumberType>(i)));
            throw RuleError("type", "type: '" + name + "' is no number type (" + all + ")");
        }
        types.insert(*t);
    }
    return types;
}

// The results RFC 8601 registers for SPF, DKIM and DMARC.
void check_verdict(const std::string& pattern, const std::string& field) {
    static const std::set<std::string> results = {"pass", "fail",      "softfail",  "neutral",
                                                  "none", "temperror", "permerror", "policy"};
    if (pattern != "*" && !results.contains(lower(pattern)))
        throw RuleError(field, field + ": '" + pattern +
                                   "' is no verdict (pass, fail, softfail, neutral, none, "
                                   "temperror, permerror, policy or \"*\")");
}

CompiledRule compiled_rule(const SenderRule& rule) {
    CompiledRule c;
    c.sender = address_pattern(rule.sender, "sender");
    c.from = address_pattern(rule.from, "from");
    if (rule.auth == "none")
        c.auth = CompiledRule::Auth::none;
    else if (rule.auth == "any")
        c.auth = CompiledRule::Auth::authenticated;
    else if (rule.auth != "*") {
        c.auth = CompiledRule::Auth::user;
        c.auth_user = glob_or_regex(rule.auth, "auth");
    }
    if (rule.client == "trusted")
        c.client = CompiledRule::Client::trusted;
    else if (rule.client == "untrusted")
        c.client = CompiledRule::Client::untrusted;
    else if (rule.client != "*") {
        c.client = CompiledRule::Client::networks;
        try {
            c.networks = parse_networks(split_list(rule.client));
        } catch (const std::invalid_argument& e) {
            throw RuleError("client", std::string("client: ") + e.what());
        }
        if (c.networks.empty()) throw RuleError("client", "client: no network given");
    }
    check_verdict(rule.spf, "spf");
    check_verdict(rule.dkim, "dkim");
    check_verdict(rule.dmarc, "dmarc");
    if (rule.number == "international" || rule.number == "national")
        c.number_region.kind =
            rule.number == "national" ? RegionCondition::home : RegionCondition::abroad;
    else
        c.number = glob_or_regex(rule.number, "number");
    c.region = region_condition(rule.region);
    c.types = type_condition(rule.type);
    return c;
}

// Mail submitted locally (no client address) comes from a trusted place.
bool client_matches(const CompiledRule& c, const std::string& client, const Settings& s) {
    if (c.client == CompiledRule::Client::any) return true;
    if (c.client == CompiledRule::Client::networks)
        return !client.empty() && in_any(c.networks, client);
    bool trusted = client.empty() || in_any(parse_networks(s.trusted_networks), client);
    return trusted == (c.client == CompiledRule::Client::trusted);
}

bool auth_matches(const CompiledRule& c, const std::string& user) {
    switch (c.auth) {
        case CompiledRule::Auth::any:
            return true;
        case CompiledRule::Auth::none:
            return user.empty();
        case CompiledRule::Auth::authenticated:
            return !user.empty();
        case CompiledRule::Auth::user:
            return !user.empty() && c.auth_user.matches(user);
    }
    return false;
}

bool region_matches(const RegionCondition& c, const NumberInfo& number) {
    switch (c.kind) {
        case RegionCondition::any:
            return true;
        case RegionCondition::home:
            return number.home;
        case RegionCondition::abroad:
            return !number.home;
        case RegionCondition::listed:
            return c.regions.contains(number.region);
    }
    return false;
}

bool type_matches(const std::set<NumberType>& types, NumberType t) {
    if (types.empty() || types.contains(t)) return true;
    // NANP numbers do not tell fixed lines from mobiles: either may match.
    return t == NumberType::fixed_line_or_mobile &&
           (types.contains(NumberType::fixed_line) || types.contains(NumberType::mobile));
}

bool verdict_matches(const std::string& pattern, const std::string& verdict) {
    return pattern == "*" || lower(pattern) == (verdict.empty() ? "none" : lower(verdict));
}

std::string region_name(const NumberInfo& n) { return n.region.empty() ? "unknown" : n.region; }

// The first condition of `rule` that `in` fails, or "" when all hold.
// Without the message (message_known false), From: and the verdicts are
// not compared.
std::string first_mismatch(const SenderRule& rule, const CompiledRule& c, const RuleInput& in,
                           const NumberInfo& number, const Settings& s, bool message_known) {
    if (!c.sender.matches(in.sender))
        return "sender <" + in.sender + "> does not match '" + rule.sender + "'";
    if (message_known && !c.from.matches(in.from))
        return "From " + in.from + " does not match '" + rule.from + "'";
    if (!auth_matches(c, in.sasl_user))
        return "SMTP AUTH '" + in.sasl_user + "' does not match '" + rule.auth + "'";
    if (!client_matches(c, in.client_address, s))
        return "client " +
               (in.client_address.empty() ? std::string("(local)") : in.client_address) +
               " does not match '" + rule.client + "'";
    if (message_known && !verdict_matches(rule.spf, in.spf))
        return "SPF '" + in.spf + "' is not '" + rule.spf + "'";
    if (message_known && !verdict_matches(rule.dkim, in.dkim))
        return "DKIM '" + in.dkim + "' is not '" + rule.dkim + "'";
    if (message_known && !verdict_matches(rule.dmarc, in.dmarc))
        return "DMARC '" + in.dmarc + "' is not '" + rule.dmarc + "'";
    if (!c.number.matches(in.number) || !region_matches(c.number_region, number))
        return "number " + in.number + " (region " + region_name(number) + ") does not match '" +
               rule.number + "'";
    if (!region_matches(c.region, number))
        return "region " + region_name(number) + " of " + in.number + " does not match '" +
               rule.region + "'";
    if (!type_matches(c.types, number.type))
        return "type " + std::string(to_string(number.type)) + " of " + in.number +
               " does not match '" + rule.type + "'";
    return {};
}

std::string default_reason(const RuleInput& in, RuleAction a) {
    return a == RuleAction::hold ? "fax to " + in.number + " is held for an administrator"
                                 : "sender rules do not allow faxing " + in.number;
}

}  // namespace

bool TextPattern::matches(std::string_view value) const {
    switch (kind) {
        case anything:
            return true;
        case nothing_but_empty:
            return value.empty();
        case in_domain: {
            std::string have = domain_of(value);
            return have == text || (have.size() > text.size() && have.ends_with("." + text));
        }
        case glob:
            return fnmatch(text.c_str(), std::string(value).c_str(), FNM_CASEFOLD) == 0;
        case regex:
            return RE2::PartialMatch(value, *re);
    }
    return false;
}

void compile_rule(SenderRule& rule) {
    rule.compiled = std::make_shared<const CompiledRule>(compiled_rule(rule));
}

void check_networks(const std::vector<std::string>& cidrs) { parse_networks(cidrs); }

std::vector<SenderRule> default_rules() {
    auto deny = [](SenderRule r, std::string reason) {
        r.action = RuleAction::deny;
        r.reason = std::move(reason);
        compile_rule(r);
        return r;
    };
    SenderRule null_sender, invalid, outsider, abroad, costly, no_fax;
    null_sender.sender = "";
    invalid.sender = "*.invalid";
    outsider.auth = "none";
    outsider.client = "untrusted";
    // By region, not by prefix: +1 876 (Jamaica), +1 809 (Dominican
    // Republic) and the other Caribbean NANP countries share our country
    // code and are the classic toll-fraud destinations, as are satellite
    // and other non-geographic numbers (region "001").
    abroad.region = "abroad";
    // Inside the home region, the types whose calls cost more than a call
    // or pay the callee: premium rate and shared cost (revenue-sharing
    // fraud), personal numbers (the UK's 070 numbers look like mobiles and
    // cost more) and universal access numbers (charged at rates the
    // gateway cannot know, up to premium rate in some countries).
    costly.type = "premium_rate, shared_cost, personal_number, uan";
    // And the types that cannot answer a fax at all: calling them only
    // costs money (voicemail access numbers are also a route to abuse
    // badly protected mailboxes). Toll-free, VoIP, fixed and mobile numbers
    // stay allowed.
    no_fax.type = "voicemail, pager";
    return {
        deny(null_sender, "bounces and auto-replies cannot send faxes"),
        deny(invalid, "sender domain .invalid cannot receive a fax report"),
        deny(outsider, "log in (SMTP AUTH) or send from a trusted network to use the fax gateway"),
        deny(costly,
             "premium-rate, shared-cost, personal and universal access numbers are not "
             "allowed"),
        deny(no_fax, "voicemail and pager numbers cannot receive a fax"),
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

namespace {

// A rule that looks at what only the message tells: From: and the
// Authentication-Results verdicts.
bool looks_at_message(const SenderRule& rule) {
    return rule.from != "*" || rule.spf != "*" || rule.dkim != "*" || rule.dmarc != "*";
}

// The first rule that matches decides. Without the message
// (message_known false) its fields are not compared, and a rule that would
// need them leaves the decision open (nullopt).
std::optional<RuleDecision> first_matching_rule(const RuleInput& in, const Settings& s,
                                                bool message_known) {
    RuleDecision d;
    // An invalid number has no region and counts as abroad: refused by a
    // region rule rather than let through.
    NumberInfo number = describe_number(in.number, s.dial);
    // Without the message: the actions of rules that may match, depending
    // on what the message says. The decision stands only if they all agree
    // with the rule that matches on the envelope.
    std::vector<RuleAction> possible;
    auto decided = [&](const RuleDecision& d) -> std::optional<RuleDecision> {
        for (RuleAction a : possible)
            if (a != d.action) return std::nullopt;  // the message decides
        return d;
    };
    for (std::size_t i = 0; i < s.rules.size(); ++i) {
        const SenderRule& rule = s.rules[i];
        std::string label = "rule " + std::to_string(i + 1);
        std::shared_ptr<const CompiledRule> compiled = rule.compiled;
        if (!compiled) compiled = std::make_shared<const CompiledRule>(compiled_rule(rule));
        std::string miss = first_mismatch(rule, *compiled, in, number, s, message_known);
        if (miss.empty() && !message_known && looks_at_message(rule)) {
            possible.push_back(rule.action);
            d.trace.push_back(label + ": may match, as the message says");
            continue;
        }
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
        return decided(d);
    }
    d.action = s.default_allow ? RuleAction::allow : RuleAction::deny;
    if (!s.default_allow) d.reason = default_reason(in, d.action);
    d.trace.push_back(std::string("no rule matches: the default is ") +
                      (s.default_allow ? "allow" : "deny"));
    return decided(d);
}

}  // namespace

RuleDecision decide(const RuleInput& in, const Settings& s) {
    return *first_matching_rule(in, s, true);
}

std::optional<RuleDecision> decide_on_envelope(const RuleInput& in, const Settings& s) {
    return first_matching_rule(in, s, false);
}

}  // namespace faxgw::mailgw
