#include "config.h"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

namespace faxgw {
namespace {

using Apply = std::function<void(const toml::node&, Config&)>;

// The values a number may take: anything outside makes no sense for the
// key (a call of 0 s, 100000 lines, a NaN) and is refused at load time.
struct Range {
    double min = -std::numeric_limits<double>::infinity();
    double max = std::numeric_limits<double>::infinity();
    bool bounded() const { return std::isfinite(min) || std::isfinite(max); }
};

// One configuration key: its place, its default as TOML, what it does.
struct Key {
    std::string path;  // "section.key"
    std::string default_toml;
    std::string doc;
    Apply apply;
    Range range = {};  // numbers only
};

[[noreturn]] void bad(const toml::node& n, const std::string& what) {
    const auto& src = n.source();
    std::ostringstream s;
    if (src.path) s << *src.path << ":";
    s << src.begin.line << ":" << src.begin.column << ": " << what;
    throw ConfigError(s.str());
}

std::string number_text(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

std::string range_text(const Range& r) {
    if (std::isfinite(r.min) && std::isfinite(r.max))
        return number_text(r.min) + " to " + number_text(r.max);
    return std::isfinite(r.min) ? "at least " + number_text(r.min)
                                : "at most " + number_text(r.max);
}

// A numeric value outside the key's range is an error at its place. NaN
// compares false with everything, so it fails here too.
void check_range(const toml::node& n, const Key& k) {
    if (!k.range.bounded()) return;
    std::optional<double> v = n.value<double>();
    if (!v) return;  // not a number: the key's own parser says so
    if (!(*v >= k.range.min && *v <= k.range.max))
        bad(n, k.path + " must be " + range_text(k.range) + ", not " + number_text(*v));
}

template <typename T>
T get(const toml::node& n, const char* type_name) {
    if (auto v = n.value<T>()) return *v;
    bad(n, std::string("expected ") + type_name);
}

std::string str(const toml::node& n) { return get<std::string>(n, "a string"); }
std::int64_t integer(const toml::node& n) { return get<std::int64_t>(n, "an integer"); }
double number(const toml::node& n) { return get<double>(n, "a number"); }
bool boolean(const toml::node& n) { return get<bool>(n, "true or false"); }

// T.30 station IDs (TSI/CSID) are 20 characters of printable ASCII.
std::string station_id(const toml::node& n) {
    std::string id = str(n);
    if (id.size() > 20) bad(n, "gateway.station_id has more than 20 characters (T.30 allows 20)");
    for (char ch : id)
        if (ch < 0x20 || ch > 0x7e)
            bad(n, "gateway.station_id must be printable ASCII (T.30 allows nothing else)");
    return id;
}

std::vector<std::string> strings(const toml::node& n) {
    const auto* arr = n.as_array();
    if (!arr) bad(n, "expected an array of strings");
    std::vector<std::string> out;
    for (const auto& e : *arr) out.push_back(str(e));
    return out;
}

// Calls `each` for every table in an array of tables.
void tables(const toml::node& n, const std::function<void(const toml::table&)>& each) {
    const auto* arr = n.as_array();
    if (!arr) bad(n, "expected an array of tables");
    for (const auto& e : *arr) {
        const auto* t = e.as_table();
        if (!t) bad(e, "expected a table");
        each(*t);
    }
}

std::string field(const toml::table& t, const char* name, const std::string& fallback = {}) {
    const auto* n = t.get(name);
    return n ? str(*n) : fallback;
}

// The dial rules so far must name a country (and region) libphonenumber
// knows; `n` is the key just read.
void checked_dial(const toml::node& n, const mailgw::DialRules& dial) {
    try {
        mailgw::home_region(dial);
    } catch (const std::invalid_argument& e) {
        bad(n, e.what());
    }
}

// An array of networks ("10.0.0.0/8", "::1"), each checked where it is written.
std::vector<std::string> networks(const toml::node& n) {
    auto out = strings(n);
    for (const auto& e : *n.as_array()) {
        try {
            mailgw::check_networks({str(e)});
        } catch (const std::invalid_argument& error) {
            bad(e, error.what());
        }
    }
    return out;
}

template <typename F>
F parsed(const toml::node& n, F (*parse)(std::string_view)) {
    try {
        return parse(str(n));
    } catch (const std::exception& e) {
        bad(n, e.what());
    }
}

faxcore::SimNumber sim_number(const toml::table& t) {
    faxcore::SimNumber n;
    n.number = field(t, "number");
    if (n.number.empty()) bad(t, "sim number needs number = \"+1...\"");
    auto behaviour = faxcore::parse_sim_behaviour(field(t, "behaviour", "receive"));
    if (!behaviour) bad(t, "behaviour must be receive, busy, no_answer or hangup");
    n.behaviour = *behaviour;
    if (const auto* k = t.get("hangup_after_pages")) n.hangup_after_pages = int(integer(*k));
    n.csid = field(t, "csid");
    if (const auto* k = t.get("b4")) n.b4 = boolean(*k);
    return n;
}

// "IP:port", checked where it is written (the SIP stack resolves no names).
std::string address(const toml::node& n) {
    auto a = str(n);
    auto colon = a.rfind(':');
    in6_addr ip{};
    const auto host = colon == std::string::npos ? a : a.substr(0, colon);
    const bool numeric =
        inet_pton(AF_INET, host.c_str(), &ip) == 1 || inet_pton(AF_INET6, host.c_str(), &ip) == 1;
    int port = 0;
    if (colon != std::string::npos) {
        auto digits = a.substr(colon + 1);
        if (!digits.empty() && digits.size() <= 5 &&
            digits.find_first_not_of("0123456789") == std::string::npos)
            port = std::stoi(digits);
    }
    if (!numeric || port < 1 || port > 65535) bad(n, "expected IP:port, e.g. \"127.0.0.1:5060\"");
    return a;
}

sip::Trunk trunk(const toml::table& t) {
    sip::Trunk k;
    for (const auto& [name, node] : t) {
        auto key = std::string(name.str());
        if (key == "name")
            k.name = str(node);
        else if (key == "proxy")
            k.proxy = address(node);
        else if (key == "domain")
            k.domain = str(node);
        else if (key == "user")
            k.user = str(node);
        else if (key == "password")
            k.password = str(node);
        else if (key == "register")
            k.register_with_proxy = boolean(node);
        else if (key == "register_seconds")
            k.register_seconds = int(integer(node));
        else if (key == "prefixes")
            k.prefixes = strings(node);
        else if (key == "transport") {
            const auto transport = str(node);
            if (transport != "udp" && transport != "tcp")
                bad(node, "a trunk's transport is \"udp\" or \"tcp\"");
            k.tcp = transport == "tcp";
        } else if (key == "t38")
            k.t38 = boolean(node);
        else
            bad(node, "unknown trunk field '" + key +
                          "' (known: name, proxy, domain, user, password, register, "
                          "register_seconds, prefixes, transport, t38)");
    }
    if (k.proxy.empty()) bad(t, "a trunk needs proxy = \"IP:port\"");
    if (k.name.empty()) k.name = k.proxy;
    return k;
}

// One [[lines.call_options]] table: where the retry ladder starts for some numbers.
faxcore::CallOptionsRule call_options_rule(const toml::table& t) {
    faxcore::CallOptionsRule r;
    for (const auto& [name, node] : t) {
        auto key = std::string(name.str());
        if (key == "number")
            r.number = str(node);
        else if (key == "t38")
            r.top.t38 = boolean(node);
        else if (key == "ecm")
            r.top.ecm = boolean(node);
        else if (key == "max_bit_rate") {
            r.top.max_bit_rate = int(integer(node));
            if (r.top.max_bit_rate != 14400 && r.top.max_bit_rate != 9600)
                bad(node, "max_bit_rate is 14400 or 9600");
        } else
            bad(node,
                "unknown call options field '" + key + "' (known: number, t38, max_bit_rate, ecm)");
    }
    if (r.number.empty()) bad(t, "call options need number = \"glob\", e.g. \"+44*\"");
    return r;
}

// One table of sip.caller_ids or ami.caller_ids: the caller ID of one
// sender or domain.
faxcore::CallerIdRule caller_id_rule(const toml::table& t) {
    faxcore::CallerIdRule r;
    for (const auto& [name, node] : t) {
        auto key = std::string(name.str());
        if (key == "sender")
            r.sender = str(node);
        else if (key == "domain")
            r.domain = str(node);
        else if (key == "number")
            r.number = str(node);
        else if (key == "name")
            r.name = str(node);
        else
            bad(node,
                "unknown caller ID field '" + key + "' (known: sender, domain, number, name)");
    }
    if (r.sender.empty() && r.domain.empty())
        bad(t, "a caller ID needs sender = \"glob\" or domain = \"example.org\"");
    if (r.number.empty() || r.number.find_first_of(" \t\"<>@;:") != std::string::npos)
        bad(t, "a caller ID needs number = \"+15550100\" (no spaces, quotes or <>@;:)");
    return r;
}

// One [[audiosocket.listeners]] table: a listener whose calls are for one DID.
audiosocket::DidListener did_listener(const toml::table& t) {
    audiosocket::DidListener l;
    for (const auto& [name, node] : t) {
        auto key = std::string(name.str());
        if (key == "listen")
            l.listen = address(node);
        else if (key == "did")
            l.did = str(node);
        else
            bad(node, "unknown audiosocket listener field '" + key + "' (known: listen, did)");
    }
    if (l.listen.empty() || l.did.empty())
        bad(t, "an AudioSocket listener needs listen = \"IP:port\" and did = \"+1...\"");
    return l;
}

// One [[imap.accounts]] table; checked where it is written.
imap::Account imap_account(const toml::table& t) {
    imap::Account a;
    for (const auto& [name, node] : t) {
        auto key = std::string(name.str());
        if (key == "url")
            a.url = str(node);
        else if (key == "user")
            a.user = str(node);
        else if (key == "password")
            a.password = str(node);
        else if (key == "password_file")
            a.password_file = str(node);
        else if (key == "folder")
            a.folder = str(node);
        else if (key == "processed_folder")
            a.processed_folder = str(node);
        else if (key == "rejected_folder")
            a.rejected_folder = str(node);
        else if (key == "tls")
            a.tls = str(node);
        else if (key == "ca_file")
            a.ca_file = str(node);
        else if (key == "sender_identity")
            a.sender_identity = str(node);
        else if (key == "poll_seconds")
            a.poll_seconds = int(integer(node));
        else
            bad(node, "unknown imap account field '" + key +
                          "' (known: url, user, password, password_file, folder, "
                          "processed_folder, rejected_folder, tls, ca_file, sender_identity, "
                          "poll_seconds)");
    }
    try {
        imap::check_account(a);
    } catch (const std::invalid_argument& e) {
        bad(t, e.what());
    }
    return a;
}

mailgw::SenderRule sender_rule(const toml::table& t) {
    mailgw::SenderRule r;
    for (const auto& [name, node] : t) {
        auto key = std::string(name.str());
        auto value = str(node);
        if (key == "sender")
            r.sender = value;
        else if (key == "from")
            r.from = value;
        else if (key == "auth")
            r.auth = value;
        else if (key == "client")
            r.client = value;
        else if (key == "spf")
            r.spf = value;
        else if (key == "dkim")
            r.dkim = value;
        else if (key == "dmarc")
            r.dmarc = value;
        else if (key == "number")
            r.number = value;
        else if (key == "region")
            r.region = value;
        else if (key == "type")
            r.type = value;
        else if (key == "reason")
            r.reason = value;
        else if (key == "action") {
            try {
                r.action = mailgw::parse_rule_action(value);
            } catch (const std::invalid_argument& e) {
                bad(node, e.what());
            }
        } else {
            bad(node, "unknown rule field '" + key +
                          "' (known: sender, from, auth, client, spf, dkim, dmarc, number, region, "
                          "type, action, reason)");
        }
    }
    // Patterns are compiled here, once: a bad regex or CIDR is an error
    // with its place, not a failure of every submit.
    try {
        mailgw::compile_rule(r);
    } catch (const mailgw::RuleError& e) {
        const auto* n = t.get(e.field());
        bad(n ? *n : t, e.what());
    }
    return r;
}

// The built-in rules, written as the TOML a mail admin would write: only the
// fields that differ from "match anything".
std::string rules_toml(const std::vector<mailgw::SenderRule>& rules) {
    const mailgw::SenderRule any;
    std::ostringstream out;
    out << "[\n";
    for (const auto& r : rules) {
        std::vector<std::string> fields;
        auto field = [&](const char* name, const std::string& value, const std::string& unset) {
            if (value != unset) fields.push_back(std::string(name) + " = \"" + value + "\"");
        };
        field("sender", r.sender, any.sender);
        field("from", r.from, any.from);
        field("auth", r.auth, any.auth);
        field("client", r.client, any.client);
        field("spf", r.spf, any.spf);
        field("dkim", r.dkim, any.dkim);
        field("dmarc", r.dmarc, any.dmarc);
        field("number", r.number, any.number);
        field("region", r.region, any.region);
        field("type", r.type, any.type);
        field("action", std::string(mailgw::to_string(r.action)), "");
        field("reason", r.reason, "");
        out << "  {";
        for (std::size_t i = 0; i < fields.size(); ++i) out << (i ? ", " : " ") << fields[i];
        out << " },\n";
    }
    out << "]";
    return out.str();
}

// One table of inbound.routes.
mailgw::InboundRoute inbound_route(const toml::table& t) {
    mailgw::InboundRoute r;
    r.did = field(t, "did", "*");
    r.caller = field(t, "caller", "*");
    r.csid = field(t, "csid", "*");
    if (const auto* a = t.get("address")) r.addresses.push_back(str(*a));
    if (const auto* a = t.get("addresses"))
        for (const auto& each : strings(*a)) r.addresses.push_back(each);
    const std::string action = field(t, "action", "deliver");
    if (action == "quarantine")
        r.action = mailgw::InboundRoute::Action::quarantine;
    else if (action != "deliver")
        bad(*t.get("action"), "action must be \"deliver\" or \"quarantine\"");
    const std::string format = field(t, "format", "pdf");
    if (format == "tiff")
        r.format = mailgw::InboundRoute::Format::tiff;
    else if (format == "both")
        r.format = mailgw::InboundRoute::Format::both;
    else if (format != "pdf")
        bad(*t.get("format"), "format must be \"pdf\", \"tiff\" or \"both\"");
    r.folder = field(t, "folder");
    if (r.action == mailgw::InboundRoute::Action::deliver && r.addresses.empty() &&
        r.folder.empty())
        bad(t, "a route needs an address, addresses or a folder");
    return r;
}

// ---- [notify]: notifications to senders ---------------------------------

// A TOML basic string holding `text` (for the default templates).
std::string toml_quoted(std::string_view text) {
    std::string out = "\"";
    for (char ch : text) {
        if (ch == '\\' || ch == '"')
            out += std::string("\\") + ch;
        else if (ch == '\n')
            out += "\\n";
        else
            out += ch;
    }
    return out + "\"";
}

// A template string, its placeholders checked where it is written.
std::string template_text(const toml::node& n) {
    auto text = str(n);
    try {
        mailgw::check_template(text);
    } catch (const std::invalid_argument& e) {
        bad(n, e.what());
    }
    return text;
}

mailgw::NotifyTemplate& template_of(Config& c, mailgw::NotifyKind kind) {
    auto& n = c.mail.notify;
    switch (kind) {
        case mailgw::NotifyKind::accepted:
            return n.accepted_text;
        case mailgw::NotifyKind::delayed:
            return n.delayed_text;
        case mailgw::NotifyKind::delivered:
            return n.delivered_text;
        case mailgw::NotifyKind::failed:
            break;
    }
    return n.failed_text;
}

// notify.<kind>_subject and notify.<kind>_body for each kind.
std::vector<Key> template_keys() {
    using mailgw::NotifyKind;
    std::vector<Key> out;
    for (auto kind :
         {NotifyKind::accepted, NotifyKind::delayed, NotifyKind::delivered, NotifyKind::failed}) {
        const std::string name(mailgw::to_string(kind));
        const auto text = mailgw::default_template(kind);
        out.push_back({"notify." + name + "_subject", toml_quoted(text.subject),
                       "Subject of the " + name + " report.", [kind](auto& n, Config& c) {
                           template_of(c, kind).subject = template_text(n);
                       }});
        out.push_back(
            {"notify." + name + "_body", toml_quoted(text.body), "Body of the " + name + " report.",
             [kind](auto& n, Config& c) { template_of(c, kind).body = template_text(n); }});
    }
    return out;
}

std::vector<Key> notify_keys() {
    std::vector<Key> out = {
        {"notify.delivered", "false",
         "Report a fax that reached every number (opt-in). A sender's notify=success or\n"
         "# notify=failure option (X-Fax-Options or [fax: ...] in the Subject) wins.",
         [](auto& n, Config& c) { c.mail.notify.delivered = boolean(n); }},
        {"notify.delayed", "true",
         "Report a call that failed and will be retried, with the next try time (once per mail).",
         [](auto& n, Config& c) { c.mail.notify.delayed = boolean(n); }},
        {"notify.accepted", "false",
         "Report each mail as soon as it is queued: its numbers, pages and first try time.",
         [](auto& n, Config& c) { c.mail.notify.accepted = boolean(n); }},
        {"notify.attach", R"("none")",
         "What a delivered report carries of the sent fax: \"none\", \"png\" (a small picture\n"
         "# of the first page) or \"pdf\" (the whole fax).",
         [](auto& n, Config& c) {
             auto v = str(n);
             if (v == "none")
                 c.mail.notify.attach = mailgw::NotifyAttachment::none;
             else if (v == "png")
                 c.mail.notify.attach = mailgw::NotifyAttachment::png;
             else if (v == "pdf")
                 c.mail.notify.attach = mailgw::NotifyAttachment::pdf;
             else
                 bad(n, "notify.attach must be \"none\", \"png\" or \"pdf\"");
         }},
    };
    auto templates = template_keys();
    templates.front().doc =
        "Templates: a subject and a body for each report (accepted, delayed, delivered,\n"
        "# failed), in any language; \\n ends a line. Placeholders: {to} the number, or \"3\n"
        "# numbers\"; {summary} \"sent (3 pages)\", \"1 sent, 1 failed\"; {subject} and {date} of\n"
        "# the sender's mail; {about} ` \"subject\" of date`; {details} what happened, number by\n"
        "# number, with each call's details; {numbers} all numbers; {pages}; {gateway} our\n"
        "# address. Failed, delayed and delivered reports add a machine-readable part\n"
        "# (RFC 3464) that templates do not change.\n"
        "# " +
        templates.front().doc;
    out.insert(out.end(), templates.begin(), templates.end());
    return out;
}

// Will-Retry-Until of a delayed report comes from the scheduler's limits.
void copy_retry_limits(Config& c) {
    c.mail.notify.max_attempts = c.gateway.retry.max_attempts;
    c.mail.notify.max_retry_delay = c.gateway.retry.max_delay;
    c.mail.notify.max_call_seconds = c.gateway.max_call_seconds;
}

// ---- end of [notify] ---------------------------------------------------

// libmilter's socket spec; the path of a unix socket is made absolute
// below paths.var when the configuration is loaded.
std::string milter_socket(const toml::node& n) {
    std::string spec = str(n);
    try {
        milter::check_socket_spec(spec);
    } catch (const std::invalid_argument& e) {
        bad(n, std::string("milter.socket: ") + e.what());
    }
    return spec;
}

// "127.0.0.1:9469" or "[::1]:9469": an address to bind, not a name to
// resolve, so that what is exposed is plain from the file.
Config::Metrics metrics_listen(const toml::node& n) {
    const std::string spec = str(n);
    if (spec.empty()) return {};
    const auto colon = spec.rfind(':');
    std::string host = colon == std::string::npos ? "" : spec.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    in6_addr address{};
    const bool is_address = inet_pton(AF_INET, host.c_str(), &address) == 1 ||
                            inet_pton(AF_INET6, host.c_str(), &address) == 1;
    int port = 0;
    const std::string port_text = colon == std::string::npos ? "" : spec.substr(colon + 1);
    const bool port_ok = !port_text.empty() && port_text.size() <= 5 &&
                         port_text.find_first_not_of("0123456789") == std::string::npos &&
                         (port = std::stoi(port_text)) >= 1 && port <= 65535;
    if (!is_address || !port_ok)
        bad(n,
            "metrics.listen: expected ADDRESS:PORT (\"127.0.0.1:9469\", \"[::1]:9469\"), not \"" +
                spec + "\"");
    return {host, port};
}

const std::vector<Key>& keys() {
    static const std::vector<Key> table = {
        {"paths.var", R"("var")",
         "State folder: queue database, spool, mailboxes. `--var DIR` overrides it.",
         [](auto& n, Config& c) { c.var = str(n); }},
        {"paths.outbox", R"("outbox")",
         "Maildir for notification mails to senders (relative paths are below paths.var).",
         [](auto& n, Config& c) { c.mail.outbox = str(n); }},
        {"paths.quarantine", R"("quarantine")",
         "Where received faxes of inbound routes with action = \"quarantine\" are kept (below\n"
         "# paths.var when relative).",
         [](auto& n, Config& c) { c.mail.quarantine = str(n); }},
        {"paths.inbound_maildir", R"("mail")",
         "Root of the Maildirs that received faxes are delivered to, one per address.",
         [](auto& n, Config& c) { c.mail.inbound_maildir = str(n); }},

        {"gateway.station_id", R"("faxgw")",
         "Our fax station ID (TSI/CSID), 20 characters at most.",
         [](auto& n, Config& c) {
             c.gateway.station_id = c.mail.header.station_id = station_id(n);
         }},
        {"gateway.dids", R"(["+15550100"])", "Numbers the gateway answers (its DIDs), E.164.",
         [](auto& n, Config& c) { c.gateway.dids = strings(n); }},
        {"gateway.address", R"("fax-gateway@localhost")",
         "From: address of mails the gateway writes.",
         [](auto& n, Config& c) { c.mail.gateway_address = str(n); }},

        {"lines.count",
         "4",
         "Number of lines: calls in progress at once.",
         [](auto& n, Config& c) { c.gateway.lines = int(integer(n)); },
         {1, 256}},
        {"lines.backend", R"("sim")",
         "Line backend: \"sim\" (the simulated telephone network of [sim]), \"sip\"\n"
         "# (SIP trunks of [sip]: G.711 audio and T.38) or \"audiosocket\" (an Asterisk PBX\n"
         "# carries the calls' audio over AudioSocket, see [audiosocket] and [ami]).",
         [](auto& n, Config& c) {
             c.line_backend = str(n);
             if (c.line_backend != "sim" && c.line_backend != "sip" &&
                 c.line_backend != "audiosocket")
                 bad(n, "lines.backend must be \"sim\", \"sip\" or \"audiosocket\"");
         }},
        {"lines.watchdog_seconds",
         "60",
         "Hang up a call that makes no T.30 progress for this long (T.30 itself waits\n"
         "# up to 35 s for the far end, so less than 10 s cuts working calls).",
         [](auto& n, Config& c) { c.gateway.watchdog_seconds = number(n); },
         {10, 3600}},
        {"lines.max_call_seconds",
         "3600",
         "No call lasts longer than this.",
         [](auto& n, Config& c) { c.gateway.max_call_seconds = number(n); },
         {30, 86400}},
        {"lines.call_options", R"([])",
         "Where the retry ladder (T.38 -> G.711, 14400 -> 9600 bit/s, ECM on -> off) starts\n"
         "# for matching numbers, whatever a number reached before: { number = glob on the\n"
         "# E.164 number (\"+44*\"), t38 = false, max_bit_rate = 9600, ecm = false }; first\n"
         "# match wins. Each number's own rung is remembered within that.",
         [](auto& n, Config& c) {
             c.gateway.call_options.clear();
             tables(n, [&](const toml::table& t) {
                 c.gateway.call_options.push_back(call_options_rule(t));
             });
         }},

        {"sip.listen", R"("127.0.0.1:5060")",
         "Our SIP address, IP:port, on UDP and TCP.\n"
         "# Trunks and PBXs send INVITEs for our DIDs here.",
         [](auto& n, Config& c) { c.sip.listen = address(n); }},
        {"sip.media_address", R"("")",
         "Address written into SDP for RTP and UDPTL; empty = sip.listen's. Behind NAT, the\n"
         "# public address (the media sockets still bind to sip.listen's address).",
         [](auto& n, Config& c) { c.sip.media_address = str(n); }},
        {"sip.media_port_min",
         "20000",
         "Lowest UDP port for RTP and UDPTL (each call takes three).",
         [](auto& n, Config& c) { c.sip.media_port_min = int(integer(n)); },
         {1024, 65535}},
        {"sip.media_port_max",
         "20999",
         "Highest UDP port for RTP and UDPTL.",
         [](auto& n, Config& c) { c.sip.media_port_max = int(integer(n)); },
         {1024, 65535}},
        {"sip.t38", "true",
         "Accept T.38 when the far end re-INVITEs to it (else answer 488 and stay on G.711).",
         [](auto& n, Config& c) { c.sip.t38 = boolean(n); }},
        {"sip.t38_request", "false",
         "Re-INVITE to T.38 ourselves once a call is answered (a refusal keeps G.711 audio).",
         [](auto& n, Config& c) { c.sip.t38_request = boolean(n); }},
        {"sip.t38_redundancy",
         "3",
         "Earlier T.38 packets repeated in each UDPTL packet, against packet loss.",
         [](auto& n, Config& c) { c.sip.t38_redundancy = int(integer(n)); },
         {0, 8}},
        {"sip.playout_delay_ms",
         "200",
         "G.711 audio: play received audio this long after its first packet. Absorbs that much\n"
         "# jitter or delay without a gap, which a fax modem does not survive; adds to the round "
         "trip.",
         [](auto& n, Config& c) { c.sip.playout_delay_ms = int(integer(n)); },
         {20, 1000}},
        {"sip.ring_seconds",
         "60",
         "Cancel an outgoing call nobody answered within this many seconds.",
         [](auto& n, Config& c) { c.sip.ring_seconds = number(n); },
         {5, 600}},
        {"sip.session_refresh_seconds",
         "0",
         "Re-INVITE with the same SDP this often during a call (session refresh); 0 = never.\n"
         "# The far end's refreshes are answered either way.",
         [](auto& n, Config& c) { c.sip.session_refresh_seconds = number(n); },
         {0, 86400}},
        {"sip.caller_id", R"("")",
         "Calling number of our INVITEs (From and P-Asserted-Identity) when no\n"
         "# sip.caller_ids rule matches; empty = the trunk's user.",
         [](auto& n, Config& c) { c.sip.caller_id = str(n); }},
        {"sip.caller_ids", R"([])",
         "Caller ID per sender or domain of the mail, first match wins: { sender = glob on\n"
         "# the envelope sender (\"sales-*@example.org\") and/or domain = \"example.org\" (and\n"
         "# its subdomains), number = the calling number (From and P-Asserted-Identity),\n"
         "# name = display name (default gateway.station_id) }. No match: sip.caller_id.",
         [](auto& n, Config& c) {
             c.sip.caller_ids.clear();
             tables(n,
                    [&](const toml::table& t) { c.sip.caller_ids.push_back(caller_id_rule(t)); });
         }},
        {"sip.user_agent", R"("faxgw")", "Our User-Agent and Server header.",
         [](auto& n, Config& c) { c.sip.user_agent = str(n); }},
        {"sip.trunks", R"([])",
         "SIP trunks, tried in order (a 503 or timeout moves to the next): { name, proxy =\n"
         "# \"IP:port\", domain (Request-URI host; default proxy), user, password (digest),\n"
         "# register = true (REGISTER and refresh), register_seconds, prefixes = [\"1\", ...] "
         "(dial\n"
         "# strings it takes; default all), transport = \"udp\" or \"tcp\" (signalling; default\n"
         "# udp), t38 = false (keep this trunk's calls on G.711) }.",
         [](auto& n, Config& c) {
             c.sip.trunks.clear();
             tables(n, [&](const toml::table& t) { c.sip.trunks.push_back(trunk(t)); });
         }},

        {"audiosocket.listen", R"("127.0.0.1:9092")",
         "Where Asterisk's AudioSocket connects (TCP), IP:port: outbound calls, and inbound\n"
         "# calls whose DID the dialplan sends over AMI (a UserEvent, see ami.did_event);\n"
         "# calls it does not name within 1 s go to the first of gateway.dids.",
         [](auto& n, Config& c) { c.audiosocket.listen = address(n); }},
        {"audiosocket.address", R"("")",
         "IP:port Asterisk reaches audiosocket.listen at, as written into Originate's Data;\n"
         "# empty = audiosocket.listen (set it when that is a wildcard address).",
         [](auto& n, Config& c) {
             c.audiosocket.address = str(n).empty() ? std::string() : address(n);
         }},
        {"audiosocket.listeners", R"([])",
         "Listeners whose every call is for one DID (written [[audiosocket.listeners]]):\n"
         "# { listen = \"IP:port\", did = \"+1...\" }. The dialplan's AudioSocket() for that\n"
         "# DID connects there.",
         [](auto& n, Config& c) {
             c.audiosocket.listeners.clear();
             tables(n, [&](const toml::table& t) {
                 c.audiosocket.listeners.push_back(did_listener(t));
             });
         }},

        {"ami.host", R"("127.0.0.1")", "Asterisk Manager Interface: host (name or address).",
         [](auto& n, Config& c) { c.audiosocket.ami.host = str(n); }},
        {"ami.port",
         "5038",
         "AMI port (manager.conf's port).",
         [](auto& n, Config& c) { c.audiosocket.ami.port = int(integer(n)); },
         {1, 65535}},
        {"ami.user", R"("faxgw")",
         "AMI user (a manager.conf section) with write = originate, read = call,user.",
         [](auto& n, Config& c) { c.audiosocket.ami.user = str(n); }},
        {"ami.secret", R"("")", "That user's secret.",
         [](auto& n, Config& c) { c.audiosocket.ami.secret = str(n); }},
        {"ami.channel", R"("PJSIP/{dial}@trunk")",
         "Originate's Channel for an outbound call; {dial} becomes the dialled digits.",
         [](auto& n, Config& c) {
             c.audiosocket.ami.channel = str(n);
             if (c.audiosocket.ami.channel.find("{dial}") == std::string::npos)
                 bad(n, "ami.channel must contain {dial}, e.g. \"PJSIP/{dial}@trunk\"");
         }},
        {"ami.ring_seconds",
         "60",
         "Originate's Timeout: how long an outbound call may ring before it is no answer.",
         [](auto& n, Config& c) { c.audiosocket.ami.ring_seconds = number(n); },
         {5, 600}},
        {"ami.caller_id", R"("")",
         "Originate's CallerID for outbound calls when no ami.caller_ids rule matches, e.g.\n"
         "# \"+15550100\"; empty = Asterisk's.",
         [](auto& n, Config& c) { c.audiosocket.ami.caller_id = str(n); }},
        {"ami.caller_ids", R"([])",
         "Caller ID per sender or domain of the mail, first match wins, as sip.caller_ids:\n"
         "# Originate's CallerID becomes \"name\" <number>. No match: ami.caller_id.",
         [](auto& n, Config& c) {
             c.audiosocket.ami.caller_ids.clear();
             tables(n, [&](const toml::table& t) {
                 c.audiosocket.ami.caller_ids.push_back(caller_id_rule(t));
             });
         }},
        {"ami.did_event", R"("FaxgwCall")",
         "Name of the UserEvent by which the dialplan tells the DID (and caller) of an\n"
         "# inbound AudioSocket call: UserEvent(FaxgwCall,Uuid: ...,Did: ...,Caller: ...).",
         [](auto& n, Config& c) { c.audiosocket.ami.did_event = str(n); }},

        {"imap.accounts", R"([])",
         "Mailboxes `faxgw poll` watches for fax mails (written [[imap.accounts]]): { url =\n"
         "# \"imaps://host:993\" or \"imap://host:143\" (STARTTLS), user, password or "
         "password_file\n"
         "# (its first line), folder = \"INBOX\", processed_folder = \"Processed\",\n"
         "# rejected_folder = \"Rejected\" (created when missing), tls = \"\" (TLS with the\n"
         "# certificate checked; \"none\": imap:// without TLS), ca_file = \"\" (PEM CAs to "
         "trust;\n"
         "# \"\" = the system's), sender_identity = \"\" (the SMTP AUTH user the rules see: \"\" "
         "=\n"
         "# user, the mailbox owner; \"none\" = unauthenticated), poll_seconds = 60 (between "
         "looks\n"
         "# without IDLE; longest IDLE) }. Folder names are ASCII. Fax recipients are the To and "
         "Cc\n"
         "# addresses in mail.fax_domains; the sender is From. Each mail goes through the same\n"
         "# rules as `faxgw submit`: anyone who can put mail into the mailbox faxes as its owner.",
         [](auto& n, Config& c) {
             c.imap_accounts.clear();
             tables(n, [&](const toml::table& t) { c.imap_accounts.push_back(imap_account(t)); });
         }},

        {"milter.socket", R"("inet:10029@127.0.0.1")",
         "Where `faxgw milter` listens for the MTA (smtpd_milters): \"inet:PORT@HOST\",\n"
         "# \"inet6:PORT@HOST\" or \"unix:PATH\" (relative: below paths.var). --socket overrides "
         "it.",
         [](auto& n, Config& c) { c.milter.socket = milter_socket(n); }},
        {"milter.renderers",
         "0",
         "Mails the milter renders at once, each in a worker process kept warm; 0 = one per\n"
         "# processor core. More fax mails wait for a worker; mail without fax recipients never "
         "does.",
         [](auto& n, Config& c) { c.milter.renderers = int(integer(n)); },
         {0, 256}},
        {"milter.max_message_mb",
         "64",
         "A fax mail larger than this is refused at the end of DATA (552 5.3.4) without being\n"
         "# kept in memory; Postfix's message_size_limit (10 MB by default) usually comes first.",
         [](auto& n, Config& c) {
             c.milter.max_message_bytes = static_cast<std::size_t>(integer(n)) << 20;
         },
         {1, 4096}},
        {"milter.decide_seconds",
         "600",
         "The longest a fax mail may take to render and queue, waiting for a worker included;\n"
         "# then the sender gets 451 4.3.0 and tries again. The MTA is kept waiting meanwhile\n"
         "# (milter progress), so its milter_content_timeout does not cut in.",
         [](auto& n, Config& c) { c.milter.decide_seconds = int(integer(n)); },
         {10, 7200}},

        {"submit.workers",
         "2",
         "Worker processes of `faxgw run`, kept warm, that `faxgw submit` hands its mail to\n"
         "# (the socket submit.socket in paths.var), so that a mail pays for no library's\n"
         "# start-up. A mail that finds them all busy, or no `faxgw run`, or a configuration\n"
         "# file other than its own, is decided by `faxgw submit` itself. 0 = no workers.\n"
         "# Read at start.",
         [](auto& n, Config& c) { c.submit.workers = int(integer(n)); },
         {0, 256}},

        {"logging.mask_numbers", "false",
         "Mask the last four digits of phone numbers in the daemons' log lines and journal\n"
         "# fields (\"+1555100xxxx\"): numbers are personal data. Job records keep them whole.",
         [](auto& n, Config& c) { c.logging.mask_numbers = boolean(n); }},
        {"logging.keep_t30_traces", "true",
         "Keep the T.30 protocol trace of every failed call (frames and phases, as HylaFAX's\n"
         "# session logs) in paths.var/spool/trace/J<job>-<attempt>.t30; retention removes it\n"
         "# with the job's documents.",
         [](auto& n, Config& c) { c.gateway.keep_failed_traces = boolean(n); }},
        {"metrics.listen", R"("")",
         "HOST:PORT where `faxgw run` serves /metrics (Prometheus text format) and /health\n"
         "# over HTTP, e.g. \"127.0.0.1:9469\"; empty = off. Anyone who can reach it sees\n"
         "# the queue's figures (no numbers, no addresses): keep it on loopback or a trusted net.",
         [](auto& n, Config& c) { c.metrics = metrics_listen(n); }},

        {"retry.max_attempts",
         "6",
         "Give up on a job after this many calls.",
         [](auto& n, Config& c) { c.gateway.retry.max_attempts = int(integer(n)); },
         {1, 100}},
        {"retry.busy_delay",
         "180",
         "Seconds before calling a busy number again.",
         [](auto& n, Config& c) { c.gateway.retry.busy_delay = integer(n); },
         {0, 86400}},
        {"retry.no_answer_delay",
         "600",
         "Seconds before calling a number that did not answer again.",
         [](auto& n, Config& c) { c.gateway.retry.no_answer_delay = integer(n); },
         {0, 86400}},
        {"retry.failure_delay",
         "300",
         "Seconds before retrying after a failed or interrupted call.",
         [](auto& n, Config& c) { c.gateway.retry.failure_delay = integer(n); },
         {0, 86400}},
        {"retry.backoff",
         "2.0",
         "Each further retry of a job waits this many times longer.",
         [](auto& n, Config& c) { c.gateway.retry.backoff = number(n); },
         {1, 10}},
        {"retry.max_delay",
         "3600",
         "Longest wait between two calls of a job, in seconds.",
         [](auto& n, Config& c) { c.gateway.retry.max_delay = integer(n); },
         {0, 604800}},

        {"retention.done_documents_days",
         "7",
         "Days the documents of a sent fax are kept after its last job ended (0 = forever).",
         [](auto& n, Config& c) { c.retention.done_documents_days = int(integer(n)); },
         {0, 36500}},
        {"retention.failed_documents_days",
         "30",
         "Days the documents of a failed or cancelled fax are kept, for `faxgw jobs --retry`\n"
         "# (0 = forever). A batch's documents go once every job of it may lose them.",
         [](auto& n, Config& c) { c.retention.failed_documents_days = int(integer(n)); },
         {0, 36500}},
        {"retention.delivered_inbound_days",
         "7",
         "Days a received fax is kept in the spool once its mail has left (0 = forever).",
         [](auto& n, Config& c) { c.retention.delivered_inbound_days = int(integer(n)); },
         {0, 36500}},
        {"retention.job_rows_days",
         "365",
         "Days jobs with their attempts, received faxes' records and sent mails stay in the\n"
         "# database, for accounting (0 = forever). Nothing still to do is ever purged.",
         [](auto& n, Config& c) { c.retention.job_rows_days = int(integer(n)); },
         {0, 36500}},
        {"retention.interval_seconds",
         "3600",
         "`faxgw run` purges at start-up and then this often.",
         [](auto& n, Config& c) { c.retention.interval_seconds = integer(n); },
         {60, 86400}},

        {"sim.speed",
         "0",
         "Pace of simulated calls: 0 = as fast as the CPU allows, 1 = real time.",
         [](auto& n, Config& c) { c.gateway.sim_speed = number(n); },
         {0, 1000}},
        {"sim.ring_seconds",
         "60",
         "Line time spent on a simulated call nobody answers.",
         [](auto& n, Config& c) { c.gateway.sim.ring_seconds = number(n); },
         {0, 600}},
        {"sim.busy_seconds",
         "5",
         "Line time spent on a simulated busy number.",
         [](auto& n, Config& c) { c.gateway.sim.busy_seconds = number(n); },
         {0, 600}},
        {"sim.remote_dir", R"("remote")",
         "Where the simulated remote fax machines file the pages they receive (below paths.var).",
         [](auto& n, Config& c) { c.gateway.sim.remote_dir = str(n); }},
        {"sim.numbers",
         R"([
  { number = "+15551001", behaviour = "receive", csid = "ACME SALES" },
  { number = "+15551002", behaviour = "receive", csid = "LAW OFFICE" },
  { number = "+15551003", behaviour = "busy" },
  { number = "+15551004", behaviour = "no_answer" },
  { number = "+15551005", behaviour = "hangup", hangup_after_pages = 1, csid = "FLAKY" },
  { number = "+15551006", behaviour = "receive", csid = "B4 PLOTTER", b4 = true },
])",
         "The simulated telephone network: what answers at each number (receive, busy,\n"
         "# no_answer, hangup after hangup_after_pages confirmed pages; b4 = true: also takes\n"
         "# B4 paper). Other numbers do not exist.",
         [](auto& n, Config& c) {
             c.gateway.sim.numbers.clear();
             tables(n,
                    [&](const toml::table& t) { c.gateway.sim.numbers.push_back(sim_number(t)); });
         }},

        {"mail.fax_domains", R"(["fax.example.com"])",
         "Mail domains whose recipients are fax numbers: 5551234@fax.example.com.",
         [](auto& n, Config& c) { c.mail.fax_domains = strings(n); }},
        {"mail.prefer_html", "false",
         "Of a mail written both as text and as HTML, fax the HTML (rendered with its pictures).",
         [](auto& n, Config& c) { c.mail.prefer_html = boolean(n); }},
        {"dial.country_code", R"("1")", "Country code of numbers written without one.",
         [](auto& n, Config& c) {
             c.mail.dial.country_code = str(n);
             checked_dial(n, c.mail.dial);
         }},
        {"dial.region", R"("")",
         "Home region (ISO 3166, \"CA\"): numbers of other regions are international, also\n"
         "# those of our country code (+1 876 is Jamaica). \"\" = the main region of "
         "country_code.",
         [](auto& n, Config& c) {
             c.mail.dial.region = str(n);
             checked_dial(n, c.mail.dial);
         }},
        {"dial.international_prefix", R"("011")", "Prefix that starts an international number.",
         [](auto& n, Config& c) { c.mail.dial.international_prefix = str(n); }},
        {"dial.national_prefix", R"("1")", "Prefix of a national number (trunk prefix).",
         [](auto& n, Config& c) { c.mail.dial.national_prefix = str(n); }},
        {"dial.min_digits", "3", "Shortest number accepted.",
         [](auto& n, Config& c) { c.mail.dial.min_digits = int(integer(n)); }},
        {"dial.max_digits", "15", "Longest number accepted (E.164 allows 15).",
         [](auto& n, Config& c) { c.mail.dial.max_digits = int(integer(n)); }},

        {"render.paper", R"("a4")",
         "Paper size of rendered pages: a4, letter, legal or b4. B4 pages are 2048\n"
         "# pixels wide; receivers that take no B4 get them scaled to 1728.",
         [](auto& n, Config& c) { c.mail.render.paper = parsed(n, &render::parse_paper); }},
        {"render.resolution", R"("fine")",
         "Fax resolution: standard (98 lpi), fine (196), superfine (391).",
         [](auto& n, Config& c) {
             c.mail.render.resolution = parsed(n, &render::parse_resolution);
         }},
        {"render.text_font", R"("DejaVu Sans Mono")", "Font for text bodies (a fontconfig name).",
         [](auto& n, Config& c) { c.mail.render.text_font = str(n); }},
        {"render.text_font_points",
         "10.5",
         "Size of the text font in points.",
         [](auto& n, Config& c) { c.mail.render.text_font_points = number(n); },
         {4, 72}},
        {"render.max_pages",
         "500",
         "Refuse documents with more pages than this.",
         [](auto& n, Config& c) { c.mail.render.max_pages = int(integer(n)); },
         {1, 10000}},

        {"render.wall_seconds",
         "60",
         "Each document is rendered in a child process that may take this long; a renderer\n"
         "# that runs out of time is the gateway's fault (busy machine): the mail is retried.",
         [](auto& n, Config& c) { c.mail.render.wall_seconds = int(integer(n)); },
         {1, 3600}},
        {"render.cpu_seconds",
         "60",
         "Processor time one document may use; more is refused as the document's fault.",
         [](auto& n, Config& c) { c.mail.render.cpu_seconds = int(integer(n)); },
         {1, 3600}},
        {"render.total_cpu_seconds",
         "300",
         "Processor time all the documents of one mail may use together; more is refused\n"
         "# as the mail's fault (at the document that crosses it).",
         [](auto& n, Config& c) { c.mail.render.total_cpu_seconds = int(integer(n)); },
         {1, 86400}},
        {"render.memory_mb",
         "512",
         "Memory one document's renderer may add, in MB; more is refused as the document's fault.",
         [](auto& n, Config& c) { c.mail.render.memory_mb = int(integer(n)); },
         {64, 65536}},

        {"render.header", "true",
         "Print the header line (date, station ID, page n of m) on top of every page, as US TCPA "
         "requires.",
         [](auto& n, Config& c) { c.mail.header.enabled = boolean(n); }},
        {"render.header_format", R"("{date}  {station}  page {page} of {pages}")",
         "The header line; {date}, {station} (gateway.station_id), {page} and {pages} are "
         "replaced.",
         [](auto& n, Config& c) { c.mail.header.format = str(n); }},
        {"cover.default", "false",
         "Put a cover page before every fax unless the sender asks \"nocover\".",
         [](auto& n, Config& c) { c.mail.cover.by_default = boolean(n); }},
        {"cover.template", R"("")",
         "Cover page text with {from} {to} {subject} {date} {pages}; \"\" = the standard layout.",
         [](auto& n, Config& c) { c.mail.cover.template_text = str(n); }},
        {"cover.logo", R"("")",
         "Picture (PNG, JPEG...) printed top right on cover pages; \"\" = none.",
         [](auto& n, Config& c) { c.mail.cover.logo = str(n); }},

        {"rules.default", R"("allow")", "What happens when no sender rule matches: allow or deny.",
         [](auto& n, Config& c) {
             auto v = str(n);
             if (v != "allow" && v != "deny") bad(n, "rules.default must be allow or deny");
             c.mail.default_allow = v == "allow";
         }},
        {"rules.trusted_networks", R"(["127.0.0.0/8", "::1/128"])",
         "SMTP clients in these networks count as trusted (client = \"trusted\" in rules).",
         [](auto& n, Config& c) { c.mail.trusted_networks = networks(n); }},
        {"rules.authserv_id", R"("")",
         "Trust Authentication-Results headers (SPF, DKIM, DMARC) written by this server\n"
         "# (your MTA's authserv-id) only; \"\" ignores them all.",
         [](auto& n, Config& c) { c.mail.authserv_id = str(n); }},
        {"rules.list", rules_toml(mailgw::default_rules()),
         "Sender rules; the first rule whose every field matches decides. Fields (default \"*\"):\n"
         "# sender, from: address pattern (\"@example.org\" domain, \"/regex/\" (RE2), glob, \"\" "
         "= null sender);\n"
         "# auth: \"none\", \"any\" or a glob on the SMTP AUTH user; client: \"trusted\", "
         "\"untrusted\"\n"
         "# or CIDRs; spf, dkim, dmarc: a verdict (\"pass\"...); number: glob or /regex/ on the "
         "E.164 number;\n"
         "# region: \"home\", \"abroad\" or ISO 3166 codes \"JM, DO\" (\"001\" = non-geographic);\n"
         "# type: number types (fixed_line, mobile, fixed_line_or_mobile, toll_free, "
         "premium_rate,\n"
         "# shared_cost, voip, personal_number, pager, uan, voicemail, unknown); action: allow, "
         "deny\n"
         "# or hold; reason: what the sender reads.",
         [](auto& n, Config& c) {
             c.mail.rules.clear();
             tables(n, [&](const toml::table& t) { c.mail.rules.push_back(sender_rule(t)); });
         }},
        {"limits.jobs_per_hour_per_sender",
         "0",
         "Fax jobs one envelope sender may queue per hour (0 = no limit).",
         [](auto& n, Config& c) { c.mail.limits.jobs_per_hour_per_sender = int(integer(n)); },
         {0, 1000000}},
        {"limits.pages_per_day_per_sender",
         "0",
         "Fax pages one envelope sender may queue per day (0 = no limit).",
         [](auto& n, Config& c) { c.mail.limits.pages_per_day_per_sender = int(integer(n)); },
         {0, 1000000}},
        {"limits.jobs_per_hour_per_domain",
         "0",
         "Fax jobs one sender domain may queue per hour (0 = no limit).",
         [](auto& n, Config& c) { c.mail.limits.jobs_per_hour_per_domain = int(integer(n)); },
         {0, 1000000}},
        {"limits.pages_per_day_per_domain",
         "0",
         "Fax pages one sender domain may queue per day (0 = no limit).",
         [](auto& n, Config& c) { c.mail.limits.pages_per_day_per_domain = int(integer(n)); },
         {0, 1000000}},

        {"smtp.url", R"("")",
         "The relay every mail faxgw writes goes through (received faxes, notifications):\n"
         "# \"smtp://host:587\" (STARTTLS), \"smtps://host:465\" (TLS), \"smtp://127.0.0.1:25\" (a "
         "local\n"
         "# Postfix, with tls = \"none\"). \"\" = no relay: mails are filed in the Maildirs below\n"
         "# paths.var (paths.outbox, paths.inbound_maildir). See conf/relays.md.",
         [](auto& n, Config& c) {
             c.mail.relay.url = str(n);
             const auto& url = c.mail.relay.url;
             if (!url.empty() && !url.starts_with("smtp://") && !url.starts_with("smtps://"))
                 bad(n, "smtp.url must start with smtp:// or smtps://");
         }},
        {"smtp.tls", R"("required")",
         "\"required\": an smtp:// relay must offer STARTTLS, or mail waits in the outbox;\n"
         "# \"none\": plain SMTP (a relay on this machine). smtps:// is always TLS.",
         [](auto& n, Config& c) {
             c.mail.relay.tls = str(n);
             if (c.mail.relay.tls != "required" && c.mail.relay.tls != "none")
                 bad(n, "smtp.tls must be \"required\" or \"none\"");
         }},
        {"smtp.user", R"("")", "User name for SMTP AUTH (\"\" = no AUTH).",
         [](auto& n, Config& c) { c.mail.relay.user = str(n); }},
        {"smtp.password", R"("")", "Password for SMTP AUTH; better in smtp.password_file.",
         [](auto& n, Config& c) { c.mail.relay.password = str(n); }},
        {"smtp.password_file", R"("")",
         "A file whose first line is the SMTP AUTH password (readable by faxgw only).",
         [](auto& n, Config& c) {
             if (str(n).empty()) return;
             std::ifstream in(str(n));
             std::string line;
             if (!in || !std::getline(in, line)) bad(n, "cannot read " + str(n));
             if (!line.empty() && line.back() == '\r') line.pop_back();
             c.mail.relay.password = line;
         }},
        {"smtp.ca_file", R"("")",
         "PEM file of the CA(s) that signed the relay's certificate (\"\" = the system's).",
         [](auto& n, Config& c) { c.mail.relay.ca_file = str(n); }},
        {"smtp.timeout_seconds",
         "60",
         "How long one mail may take to hand over to the relay.",
         [](auto& n, Config& c) { c.mail.relay.timeout_seconds = int(integer(n)); },
         {1, 3600}},
        {"smtp.retry_seconds",
         "60",
         "After a temporary failure (relay down, a 4xx answer) a mail is tried again after\n"
         "# this long, then after twice as long each time, at most every hour.",
         [](auto& n, Config& c) { c.mail.relay.retry_seconds = int(integer(n)); },
         {1, 3600}},
        {"smtp.give_up_hours",
         "120",
         "A mail the relay has not taken after this long fails for good (tries back off from 1\n"
         "# minute to 1 hour).",
         [](auto& n, Config& c) { c.mail.relay.give_up_hours = int(integer(n)); },
         {1, 10000}},

        {"inbound.refused_callers", "[]",
         "Junk fax senders: calls whose caller number matches one of these globs (\"+1900*\") are\n"
         "# refused unanswered (SIP 603 Decline). To receive and keep such faxes instead, use a\n"
         "# route with action = \"quarantine\" (it can match the CSID too).",
         [](auto& n, Config& c) { c.gateway.refused_callers = strings(n); }},
        {"inbound.routes",
         R"([
  { did = "+15550100", address = "frontdesk@localhost" },
  { did = "*", address = "postmaster@localhost" },
])",
         "Where received faxes go; the first route that matches decides (none: "
         "postmaster@localhost).\n"
         "# did: the number dialled (E.164 or as dialled, \"*\" any); caller, csid: globs on the\n"
         "# caller's number and the far end's station ID (default \"*\"); address or addresses: "
         "who\n"
         "# gets a mail (through the outbox: smtp.url, or their Maildir below "
         "paths.inbound_maildir);\n"
         "# format: \"pdf\" (default), \"tiff\" or \"both\"; folder: also file the fax there, "
         "named by\n"
         "# date, time and caller; action = \"quarantine\": a junk fax, kept in paths.quarantine "
         "and\n"
         "# mailed to nobody.",
         [](auto& n, Config& c) {
             c.mail.inbound_routes.clear();
             tables(n, [&](const toml::table& t) {
                 c.mail.inbound_routes.push_back(inbound_route(t));
             });
         }},
    };
    static const std::vector<Key> all = [] {
        auto keys = table;
        auto notify = notify_keys();
        keys.insert(keys.end(), notify.begin(), notify.end());
        return keys;
    }();
    return all;
}

std::string section_of(const std::string& path) { return path.substr(0, path.find('.')); }
std::string name_of(const std::string& path) { return path.substr(path.find('.') + 1); }

// The defaults as a TOML document, with or without the documentation.
std::string defaults_toml(bool with_docs) {
    std::ostringstream out;
    std::string section;
    for (const auto& k : keys()) {
        if (section_of(k.path) != section) {
            section = section_of(k.path);
            out << (out.tellp() > 0 ? "\n" : "") << "[" << section << "]\n";
        }
        if (with_docs) out << "# " << k.doc << "\n";
        if (with_docs && k.range.bounded()) out << "# Range: " << range_text(k.range) << ".\n";
        out << name_of(k.path) << " = " << k.default_toml << "\n";
    }
    return out.str();
}

void warn_unknown(const toml::table& user, Config& c) {
    for (const auto& [section, node] : user) {
        const auto* t = node.as_table();
        if (!t) {
            c.warnings.push_back("unknown top-level key '" + std::string(section.str()) +
                                 "' ignored");
            continue;
        }
        for (const auto& [name, value] : *t) {
            std::string path = std::string(section.str()) + "." + std::string(name.str());
            bool known = false;
            for (const auto& k : keys()) known = known || k.path == path;
            if (!known) c.warnings.push_back("unknown key '" + path + "' ignored");
        }
    }
}

// The simulated network is the whole telephone network of a demo: the
// numbers it answers are valid, whatever libphonenumber says of 555 numbers.
void fill_known_numbers(const toml::table& user, Config& c) {
    auto& known = c.mail.dial.known_numbers;
    known.clear();
    if (user["lines"]["backend"].value_or(std::string("sim")) != "sim") return;
    for (const auto& n : c.gateway.sim.numbers) known.push_back(n.number);
    known.insert(known.end(), c.gateway.dids.begin(), c.gateway.dids.end());
}

// The SIP and AudioSocket lines answer the gateway's DIDs with its station ID, on its
// lines and under its watchdog: one setting each, not two.
void copy_gateway_settings(Config& c) {
    c.sip.lines = c.gateway.lines;
    c.sip.dids = c.gateway.dids;
    c.sip.station_id = c.gateway.station_id;
    c.sip.watchdog_seconds = c.gateway.watchdog_seconds;
    c.sip.max_call_seconds = c.gateway.max_call_seconds;
    if (c.sip.media_port_min > c.sip.media_port_max)
        throw ConfigError("sip.media_port_min is above sip.media_port_max");
    c.audiosocket.lines = c.gateway.lines;
    c.audiosocket.dids = c.gateway.dids;
    c.audiosocket.station_id = c.gateway.station_id;
    c.audiosocket.watchdog_seconds = c.gateway.watchdog_seconds;
    c.audiosocket.max_call_seconds = c.gateway.max_call_seconds;
}

std::filesystem::path below(const std::filesystem::path& var, const std::filesystem::path& p) {
    return p.is_absolute() ? p : var / p;
}

}  // namespace

std::string milter_socket_below(const std::filesystem::path& var, const std::string& spec) {
    const auto path = milter::unix_socket_path(spec);
    return path ? "unix:" + below(var, *path).string() : spec;
}

std::string sample_config() {
    return "# faxgw configuration. Every key is shown with its built-in default;\n"
           "# a file needs only the keys it changes. Generated by `faxgw config --sample`.\n\n" +
           defaults_toml(true);
}

std::vector<KeyDoc> key_docs() {
    std::vector<KeyDoc> out;
    for (const auto& k : keys()) {
        // A doc of several lines continues each with "# " (the sample's
        // comment), which is no part of the text.
        std::string doc = k.doc;
        for (std::size_t at; (at = doc.find("\n# ")) != std::string::npos;) doc.erase(at + 1, 2);
        out.push_back({section_of(k.path), name_of(k.path), k.default_toml, doc,
                       k.range.bounded() ? range_text(k.range) : ""});
    }
    return out;
}

namespace {

// FILE's settings; none without one. A syntax error is a ConfigError at
// its place.
toml::table parse_file(const std::optional<std::filesystem::path>& file) {
    if (!file) return {};
    try {
        return toml::parse_file(file->string());
    } catch (const toml::parse_error& e) {
        std::ostringstream s;
        s << file->string() << ":" << e.source().begin.line << ":" << e.source().begin.column
          << ": " << e.description();
        throw ConfigError(s.str());
    }
}

}  // namespace

Config load_config(const std::optional<std::filesystem::path>& file,
                   const std::optional<std::filesystem::path>& var_override) {
    const std::string defaults_text = defaults_toml(false);
    toml::table defaults =
        toml::parse(std::string_view(defaults_text), std::string_view("built-in defaults"));
    const toml::table user = parse_file(file);
    Config c;
    for (const auto& k : keys()) {
        auto node = user.at_path(k.path);
        const toml::node& value = node ? *node.node() : *defaults.at_path(k.path).node();
        check_range(value, k);
        k.apply(value, c);
    }
    warn_unknown(user, c);
    if (var_override) c.var = *var_override;
    fill_known_numbers(user, c);
    c.mail.outbox = below(c.var, c.mail.outbox);
    c.mail.inbound_maildir = below(c.var, c.mail.inbound_maildir);
    c.mail.quarantine = below(c.var, c.mail.quarantine);
    c.mail.var = c.var;
    c.milter.socket = milter_socket_below(c.var, c.milter.socket);
    c.gateway.sim.remote_dir = below(c.var, c.gateway.sim.remote_dir);
    copy_gateway_settings(c);
    copy_retry_limits(c);
    return c;
}

Config load_submit_service_route(const std::optional<std::filesystem::path>& file,
                                 const std::optional<std::filesystem::path>& var_override) {
    const toml::table user = parse_file(file);
    Config c;
    for (const auto& k : keys()) {
        if (k.path != "paths.var" && k.path != "submit.workers") continue;
        if (auto node = user.at_path(k.path)) {
            check_range(*node.node(), k);
            k.apply(*node.node(), c);
        } else {
            const toml::table d = toml::parse("value = " + k.default_toml);
            k.apply(*d.get("value"), c);
        }
    }
    if (var_override) c.var = *var_override;
    return c;
}

}  // namespace faxgw
