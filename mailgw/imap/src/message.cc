// What a polled message means before submit(): its envelope, and the mail
// that answers a refusal. Also the account's URL and key.

#include <faxgw/imap.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <random>
#include <stdexcept>

#include "header_field.h"
#include "maildir.h"

namespace faxgw::imap {
namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// The address of one mailbox field ("Ann <ann@example.org>"), through
// mailgw's own parser.
std::string address_of(const std::string& field_value) {
    if (field_value.empty()) return {};
    return mailgw::envelope_of("From: " + field_value + "\r\n\r\n").sender;
}

std::string domain_of(const std::string& address) {
    auto at = address.rfind('@');
    return at == std::string::npos ? "" : lower(address.substr(at + 1));
}

// Text safe on one header line: no control characters, bounded.
std::string one_line(const std::string& s, std::size_t max = 200) {
    std::string out;
    for (char c : s) {
        if (out.size() >= max) break;
        out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
    }
    return out;
}

std::string random_hex(int bytes) {
    std::random_device rd;
    std::string out;
    static const char* digits = "0123456789abcdef";
    for (int i = 0; i < bytes; ++i) {
        unsigned v = rd() & 0xff;
        out += digits[v >> 4];
        out += digits[v & 15];
    }
    return out;
}

}  // namespace

ServerAddress parse_url(const std::string& url) {
    ServerAddress a;
    std::string rest;
    if (url.rfind("imaps://", 0) == 0) {
        a.implicit_tls = true;
        rest = url.substr(8);
        a.port = 993;
    } else if (url.rfind("imap://", 0) == 0) {
        rest = url.substr(7);
        a.port = 143;
    } else {
        throw std::invalid_argument("IMAP url must start with imaps:// or imap://: '" + url + "'");
    }
    if (!rest.empty() && rest.back() == '/') rest.pop_back();
    if (rest.find_first_of("/@?# ") != std::string::npos)
        throw std::invalid_argument(
            "IMAP url must be imap[s]://host[:port], without user or path: '" + url + "'");
    std::string host = rest;
    if (!rest.empty() && rest.front() == '[') {  // [::1]:993
        auto close = rest.find(']');
        if (close == std::string::npos)
            throw std::invalid_argument("bad IPv6 address in '" + url + "'");
        host = rest.substr(1, close - 1);
        rest = rest.substr(close + 1);
        if (!rest.empty() && rest.front() != ':')
            throw std::invalid_argument("bad IMAP url '" + url + "'");
        rest = rest.empty() ? "" : rest.substr(1);
    } else {
        auto colon = rest.rfind(':');
        host = rest.substr(0, colon);
        rest = colon == std::string::npos ? "" : rest.substr(colon + 1);
    }
    if (!rest.empty()) {
        if (rest.size() > 5 || rest.find_first_not_of("0123456789") != std::string::npos ||
            std::stoi(rest) < 1 || std::stoi(rest) > 65535)
            throw std::invalid_argument("bad port in IMAP url '" + url + "'");
        a.port = static_cast<std::uint16_t>(std::stoi(rest));
    }
    if (host.empty()) throw std::invalid_argument("IMAP url has no host: '" + url + "'");
    a.host = host;
    return a;
}

void check_account(const Account& account) {
    auto server = parse_url(account.url);
    if (account.tls != "" && account.tls != "none")
        throw std::invalid_argument("imap tls must be \"\" (TLS, certificate checked) or \"none\"");
    if (account.tls == "none" && server.implicit_tls)
        throw std::invalid_argument("imap tls = \"none\" needs an imap:// url, not imaps://");
    if (account.user.empty()) throw std::invalid_argument("an IMAP account needs user");
    if (account.password.empty() == account.password_file.empty())
        throw std::invalid_argument(
            "an IMAP account needs password or password_file (one of them)");
    if (account.folder.empty() || account.processed_folder.empty() ||
        account.rejected_folder.empty())
        throw std::invalid_argument("IMAP folder names must not be empty");
    if (account.processed_folder == account.folder || account.rejected_folder == account.folder)
        throw std::invalid_argument(
            "IMAP processed_folder and rejected_folder must differ from folder");
    if (account.poll_seconds < 1)
        throw std::invalid_argument("IMAP poll_seconds must be at least 1");
}

std::string account_key(const Account& account) {
    auto server = parse_url(account.url);
    return account.user + "@" + server.host + ":" + std::to_string(server.port) + "/" +
           account.folder;
}

mailgw::Envelope envelope_for(std::string_view message, const Account& account,
                              const mailgw::Settings& settings) {
    mailgw::Envelope parsed = mailgw::envelope_of(message);
    mailgw::Envelope e;
    e.sender =
        parsed.sender.empty() ? address_of(mailgw::header_value(message, "Sender")) : parsed.sender;
    for (const auto& r : parsed.recipients) {
        const auto d = domain_of(r);
        bool fax = std::any_of(settings.fax_domains.begin(), settings.fax_domains.end(),
                               [&](const std::string& f) { return lower(f) == d; });
        if (fax && std::find(e.recipients.begin(), e.recipients.end(), r) == e.recipients.end())
            e.recipients.push_back(r);
    }
    e.sasl_user = account.sender_identity == "none" ? ""
                  : account.sender_identity.empty() ? account.user
                                                    : account.sender_identity;
    // Postfix's word for a client without an address: never "trusted"
    // (an empty address would mean a local submission, which is).
    e.client_address = "unknown";
    return e;
}

std::optional<RefusalMail> refusal_for(std::string_view message, const std::string& reason,
                                       const std::string& gateway_address) {
    const std::string to = mailgw::envelope_of(message).sender.empty()
                               ? address_of(mailgw::header_value(message, "Sender"))
                               : mailgw::envelope_of(message).sender;
    if (to.empty() || to.find('@') == std::string::npos) return std::nullopt;
    if (lower(to) == lower(gateway_address)) return std::nullopt;
    // RFC 3834: never answer an automatic mail (loops, bounces of bounces).
    const std::string automatic = lower(mailgw::header_value(message, "Auto-Submitted"));
    if (!automatic.empty() && automatic.rfind("no", 0) != 0) return std::nullopt;
    const std::string precedence = lower(mailgw::header_value(message, "Precedence"));
    if (precedence == "bulk" || precedence == "list" || precedence == "junk") return std::nullopt;

    const std::string id = one_line(mailgw::header_value(message, "Message-ID"), 900);
    const std::string subject = one_line(mailgw::header_value(message, "Subject"));
    const std::string domain = mailgw::domain_of(gateway_address);
    std::string text;
    text += "From: " + gateway_address + "\r\n";
    text += "To: " + to + "\r\n";
    text += "Subject: Fax not sent: " + (subject.empty() ? std::string("(no subject)") : subject) +
            "\r\n";
    text += "Date: " + mailgw::rfc5322_date(std::time(nullptr)) + "\r\n";
    text += "Message-ID: <faxgw." + random_hex(12) + "@" + domain + ">\r\n";
    if (!id.empty()) {
        text += "In-Reply-To: " + id + "\r\n";
        text += "References: " + id + "\r\n";
    }
    text += "Auto-Submitted: auto-replied\r\n";
    text += "MIME-Version: 1.0\r\n";
    text += "Content-Type: text/plain; charset=utf-8\r\n";
    text += "Content-Transfer-Encoding: 8bit\r\n";
    text += "\r\n";
    text += "Your mail" + (subject.empty() ? std::string() : " \"" + subject + "\"") +
            " was not faxed.\r\n\r\n";
    text += "Reason: " + one_line(reason, 2000) + "\r\n\r\n";
    text += "Nothing was sent to any fax number. Please correct the mail and send it again.\r\n";
    return RefusalMail{to, text, id};
}

}  // namespace faxgw::imap
