// deliver_inbound(): received faxes become mails with a PDF attached.
#include "inbound.h"

#include <mimetic/mimetic.h>

#include <algorithm>
#include <cctype>
#include <sstream>
#include <stdexcept>

#include "maildir.h"
#include "text.h"

namespace faxgw::mailgw {
namespace {

std::string digits_of(std::string_view s) {
    std::string out;
    for (char c : s)
        if (std::isdigit(static_cast<unsigned char>(c))) out += c;
    return out;
}

// Station IDs come from the far end's machine: keep them to printable ASCII
// so they cannot break headers.
std::string printable(std::string_view s) {
    std::string out;
    for (unsigned char c : s) out += c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?';
    return trim(out);
}

std::string who_sent(const faxcore::InboundFax& fax) {
    if (!fax.caller.empty()) return printable(fax.caller);
    if (!trim(fax.remote_csid).empty()) return printable(fax.remote_csid);
    return "unknown";
}

std::string utc_time(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buffer;
}

std::string report_text(const faxcore::InboundFax& fax) {
    std::ostringstream text;
    text << "A fax was received for " << printable(fax.did) << ".\r\n\r\n"
         << "From:      " << (fax.caller.empty() ? "unknown" : printable(fax.caller)) << "\r\n"
         << "Station:   " << (fax.remote_csid.empty() ? "unknown" : printable(fax.remote_csid))
         << "\r\n"
         << "Pages:     " << fax.pages << "\r\n"
         << "Line time: " << static_cast<long>(fax.line_seconds + 0.5) << " s\r\n"
         << "Bit rate:  " << fax.bit_rate << " bit/s\r\n"
         << "Result:    " << (fax.complete ? "complete" : "incomplete")
         << (fax.t30_text.empty() ? "" : " (" + printable(fax.t30_text) + ")") << "\r\n"
         << "Received:  " << utc_time(fax.received_at) << "\r\n";
    if (!fax.complete) text << "\r\nThe call ended early: the fax may be missing pages.\r\n";
    return text.str();
}

std::string inbound_mail(const faxcore::InboundFax& fax, const std::string& to,
                         const std::filesystem::path& pdf, const Settings& settings) {
    mimetic::MultipartMixed mail;
    mimetic::Header& h = mail.header();
    h.push_back(mimetic::Field("From", settings.gateway_address));
    h.push_back(mimetic::Field("To", to));
    h.push_back(mimetic::Field("Subject", "Fax from " + who_sent(fax) + " (" +
                                              std::to_string(fax.pages) +
                                              (fax.pages == 1 ? " page)" : " pages)")));
    h.push_back(mimetic::Field("Date", rfc5322_date(std::time(nullptr))));
    h.push_back(mimetic::Field("Message-ID", "<faxgw-inbound-" + std::to_string(fax.id) + "@" +
                                                 domain_of(settings.gateway_address) + ">"));
    h.push_back(mimetic::Field("Auto-Submitted", "auto-generated"));
    h.push_back(mimetic::Field("MIME-Version", "1.0"));
    // The mail owns its parts and deletes them.
    mail.body().parts().push_back(new mimetic::TextPlain(report_text(fax), "us-ascii"));
    auto* attachment = new mimetic::Attachment(
        pdf.string(), mimetic::ContentType("application", "pdf"), mimetic::Base64::Encoder());
    mail.body().parts().push_back(attachment);
    if (!attachment->isValid()) throw std::runtime_error("cannot read " + pdf.string());
    std::ostringstream out;
    out << mail;
    return with_crlf(out.str());
}

void deliver_one(faxcore::Queue& queue, const faxcore::InboundFax& fax, const Settings& settings) {
    std::string address = inbound_address(fax.did, settings);
    std::filesystem::path maildir = settings.inbound_maildir / safe_file_name(address);
    ensure_maildir(maildir);
    // Named as the attachment should be: mimetic takes the file's name.
    std::filesystem::path pdf = maildir / "tmp" / ("fax-" + std::to_string(fax.id) + ".pdf");
    render::fax_tiff_to_pdf(fax.tiff, pdf);
    std::string mail;
    try {
        mail = inbound_mail(fax, address, pdf, settings);
    } catch (...) {
        std::filesystem::remove(pdf);
        throw;
    }
    std::filesystem::remove(pdf);
    auto path = deliver_to_maildir(maildir, inbound_file_name(fax.id), mail);
    queue.mark_inbound_delivered(fax.id, path.string());
}

}  // namespace

std::string inbound_address(std::string_view did, const Settings& settings) {
    std::string digits = digits_of(did);
    for (const auto& [key, address] : settings.inbound_routes)
        if (key != "*" && (key == did || (!digits.empty() && digits_of(key) == digits)))
            return address;
    for (const auto& [key, address] : settings.inbound_routes)
        if (key == "*") return address;
    return "postmaster@localhost";
}

std::string inbound_file_name(std::int64_t id) { return "faxgw-inbound-" + std::to_string(id); }

int deliver_inbound(faxcore::Queue& queue, const Settings& settings) {
    int delivered = 0;
    std::string errors;
    // One unreadable fax must not hold up the others; report them together.
    for (const faxcore::InboundFax& fax : queue.undelivered_inbound()) {
        try {
            deliver_one(queue, fax, settings);
            ++delivered;
        } catch (const std::exception& e) {
            errors += (errors.empty() ? "" : "; ") +
                      ("inbound fax " + std::to_string(fax.id) + ": " + e.what());
        }
    }
    if (!errors.empty()) throw std::runtime_error(errors);
    return delivered;
}

}  // namespace faxgw::mailgw
