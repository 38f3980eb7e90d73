// The verdict table, and the checks on an envelope as it enters mailgw.
#include <arpa/inet.h>
#include <faxgw/mailgw.h>

#include <array>

namespace faxgw::mailgw {
namespace {

// One row per Verdict, in the enum's order. Postfix maps sysexits to the
// same enhanced codes (its sys_exits table) where the two meet; the
// configuration row is 75 because Postfix bounces EX_CONFIG (78) for good,
// and one wrong line of configuration must not bounce every fax mail.
// A limit reached for now is 450 4.7.1, as rate limiters answer: the
// window frees up, so the mail waits in the sender's MTA rather than bounce.
constexpr std::array<VerdictInfo, 11> verdicts = {{
    {ExitCode::ok, "2.0.0", 250, ImapAction::done, "queued"},
    {ExitCode::data_error, "5.6.0", 554, ImapAction::reject, "the message cannot be faxed"},
    {ExitCode::data_error, "5.6.1", 554, ImapAction::reject, "an attachment cannot be faxed"},
    {ExitCode::data_error, "5.3.4", 552, ImapAction::reject, "over the size or page limit"},
    {ExitCode::data_error, "5.1.7", 553, ImapAction::reject, "bad sender address"},
    {ExitCode::no_user, "5.1.1", 550, ImapAction::reject, "bad fax number"},
    {ExitCode::no_perm, "5.7.1", 550, ImapAction::reject, "refused by the sender rules"},
    {ExitCode::no_perm, "5.7.1", 550, ImapAction::reject, "over the sender's fax limit"},
    {ExitCode::temp_fail, "4.7.1", 450, ImapAction::retry, "the sender's fax limit is reached"},
    {ExitCode::temp_fail, "4.3.0", 451, ImapAction::retry, "fax gateway temporary failure"},
    {ExitCode::temp_fail, "4.3.5", 451, ImapAction::retry, "fax gateway configuration error"},
}};

bool is_control(char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

// RFC 5321 limits a path to 256 octets; SASL names are short in practice.
constexpr std::size_t max_field = 256;

void check_text(const std::string& value, const std::string& field, Verdict verdict) {
    if (value.size() > max_field)
        throw EnvelopeError(verdict,
                            field + " is longer than " + std::to_string(max_field) + " characters");
    for (char c : value)
        if (is_control(c)) throw EnvelopeError(verdict, field + " contains a control character");
}

// local@domain, or "" / "<>" for the null sender. Only what an MTA can
// hand over: the MTA has parsed the address already, this is not RFC 5321.
void check_address(const std::string& address, const std::string& field, Verdict verdict) {
    check_text(address, field, verdict);
    if (address.empty() || address == "<>") return;
    auto at = address.rfind('@');
    if (at == std::string::npos || at == 0 || at + 1 == address.size())
        throw EnvelopeError(verdict, field + " '" + address + "' is not an address");
    // A quoted local part ("+1 (555) 100-1"@fax...) may hold spaces and
    // the like: Postfix hands such recipients over quoted.
    const std::string_view local = std::string_view(address).substr(0, at);
    const bool quoted = local.size() >= 2 && local.front() == '"' && local.back() == '"';
    for (char c : std::string_view(address).substr(quoted ? at : 0))
        if (c == ' ' || c == '<' || c == '>' || c == ',')
            throw EnvelopeError(verdict, field + " '" + address + "' is not an address");
}

bool is_ip_address(const std::string& text) {
    unsigned char buffer[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
           inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

}  // namespace

const VerdictInfo& describe(Verdict verdict) {
    return verdicts.at(static_cast<std::size_t>(verdict));
}

std::string mta_reply(Verdict verdict, std::string_view message) {
    std::string line(describe(verdict).enhanced_status);
    line += ' ';
    for (char c : message) {
        if (!is_control(c)) {
            line += c;
            continue;
        }
        static const char hex[] = "0123456789abcdef";
        auto u = static_cast<unsigned char>(c);
        line += "\\x";
        line += hex[u >> 4];
        line += hex[u & 15];
    }
    return line;
}

void check_envelope(const Envelope& envelope) {
    check_address(envelope.sender, "envelope sender", Verdict::bad_sender);
    // Postfix hands ${client_address} as "unknown" when it has none.
    if (!envelope.client_address.empty() && envelope.client_address != "unknown" &&
        !is_ip_address(envelope.client_address))
        throw EnvelopeError(Verdict::configuration,
                            "client address '" + envelope.client_address.substr(0, max_field) +
                                "' is not an IP address");
    check_text(envelope.sasl_user, "SASL user", Verdict::configuration);
    for (const auto& r : envelope.recipients) check_address(r, "recipient", Verdict::bad_recipient);
}

}  // namespace faxgw::mailgw
