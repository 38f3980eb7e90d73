// deliver_inbound(): received faxes become mails with a PDF attached.
#include "inbound.h"

#include <faxgw/faxcore/line.h>
#include <fnmatch.h>
#include <mimetic/mimetic.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include "maildir.h"
#include "text.h"

namespace faxgw::mailgw {
namespace {

using faxcore::digits_of;

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

// "fax-20261202-064512-5551234.pdf": when and from whom, as a file name.
std::string attachment_name(const faxcore::InboundFax& fax, std::string_view extension) {
    const std::string caller = digits_of(fax.caller);
    return "fax-" + utc_time(fax.received_at, "%Y%m%d-%H%M%S") +
           (caller.empty() ? "" : "-" + caller) + "." + std::string(extension);
}

// One file attached to the mail (and filed), named as the attachment.
struct FaxFile {
    std::filesystem::path path;
    std::string subtype;  // "pdf", "tiff"
};

std::string inbound_mail(const faxcore::InboundFax& fax, const std::string& to,
                         const std::vector<FaxFile>& files, const Settings& settings) {
    mimetic::MultipartMixed mail;
    mimetic::Header& h = mail.header();
    h.push_back(mimetic::Field("From", settings.gateway_address));
    h.push_back(mimetic::Field("To", to));
    h.push_back(mimetic::Field("Subject", "Fax from " + who_sent(fax) + " (" +
                                              std::to_string(fax.pages) +
                                              (fax.pages == 1 ? " page)" : " pages)")));
    h.push_back(mimetic::Field("Date", rfc5322_date(std::time(nullptr))));
    // Unique beyond this queue's ids, which start again in a new queue.
    h.push_back(mimetic::Field("Message-ID", "<faxgw-inbound-" + std::to_string(fax.id) + "." +
                                                 std::to_string(fax.received_at) + "." +
                                                 safe_file_name(to) + "@" +
                                                 domain_of(settings.gateway_address) + ">"));
    h.push_back(mimetic::Field("Auto-Submitted", "auto-generated"));
    h.push_back(mimetic::Field("MIME-Version", "1.0"));
    // The mail owns its parts and deletes them.
    mail.body().parts().push_back(new mimetic::TextPlain(report_text(fax), "us-ascii"));
    for (const auto& file : files) {
        auto* attachment = new mimetic::Attachment(
            file.path.string(), mimetic::ContentType("application", file.subtype),
            mimetic::Base64::Encoder());
        if (file.subtype == "tiff") attachment->header().contentType().type("image");
        mail.body().parts().push_back(attachment);
        if (!attachment->isValid()) throw std::runtime_error("cannot read " + file.path.string());
    }
    std::ostringstream out;
    out << mail;
    return with_crlf(out.str());
}

// A folder of its own for the attachments, named as the attachments should
// be (mimetic takes the file's name), removed with them.
class ScratchFolder {
public:
    ScratchFolder() {
        std::string templ = (std::filesystem::temp_directory_path() / "faxgw-inbound-XXXXXX");
        if (!::mkdtemp(templ.data())) throw std::runtime_error("cannot make a scratch folder");
        path_ = templ;
    }
    ~ScratchFolder() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    ScratchFolder(const ScratchFolder&) = delete;
    ScratchFolder& operator=(const ScratchFolder&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

bool glob_matches(const std::string& pattern, const std::string& value) {
    return pattern == "*" || ::fnmatch(pattern.c_str(), value.c_str(), FNM_CASEFOLD) == 0;
}

bool did_matches(const std::string& key, std::string_view did) {
    const std::string digits = digits_of(did);
    return key == "*" || key == did || (!digits.empty() && digits_of(key) == digits);
}

// Puts a copy of `file` into `folder` under `name`, or "name-2", "name-3"
// ... when taken: link() never replaces a file, so two gateways filing at
// once cannot overwrite each other. Returns the path.
std::filesystem::path file_into(const std::filesystem::path& folder, const std::string& name,
                                const std::filesystem::path& file) {
    std::filesystem::create_directories(folder);
    const auto staged = folder / ("." + name + ".part");
    std::ifstream in(file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in) throw std::runtime_error("cannot read " + file.string());
    faxcore::write_file_durably(staged, bytes);
    const auto stem = std::filesystem::path(name).stem().string();
    const auto extension = std::filesystem::path(name).extension().string();
    for (int n = 1;; ++n) {
        const auto target = folder / (n == 1 ? name : stem + "-" + std::to_string(n) + extension);
        if (::link(staged.c_str(), target.c_str()) == 0) {
            std::filesystem::remove(staged);
            return target;
        }
        if (errno != EEXIST) {
            const std::string why = std::strerror(errno);
            std::filesystem::remove(staged);
            throw std::runtime_error("cannot file the fax in " + folder.string() + ": " + why);
        }
    }
}

// The received fax in the route's format(s), in `scratch`.
std::vector<FaxFile> fax_files(const faxcore::InboundFax& fax, InboundRoute::Format format,
                               const std::filesystem::path& scratch) {
    std::vector<FaxFile> files;
    if (format != InboundRoute::Format::tiff) {
        files.push_back({scratch / attachment_name(fax, "pdf"), "pdf"});
        render::fax_tiff_to_pdf(fax.tiff, files.back().path);
    }
    if (format != InboundRoute::Format::pdf) {
        files.push_back({scratch / attachment_name(fax, "tif"), "tiff"});
        std::filesystem::copy_file(fax.tiff, files.back().path);
    }
    return files;
}

void deliver_one(faxcore::Queue& queue, Outbox& outbox, const faxcore::InboundFax& fax,
                 const Settings& settings) {
    const InboundRoute& route = inbound_route(fax, settings);
    if (route.action == InboundRoute::Action::quarantine) {
        const auto kept = file_into(settings.quarantine, attachment_name(fax, "tif"), fax.tiff);
        queue.mark_inbound_delivered(fax.id, "quarantine: " + kept.string());
        return;
    }
    const ScratchFolder scratch;
    const auto files = fax_files(fax, route.format, scratch.path());
    if (!route.folder.empty())
        for (const auto& file : files) file_into(route.folder, file.path.filename(), file.path);
    std::string where;
    for (const auto& address : route.addresses) {
        OutgoingMail mail;
        // housekeeping.cc reads the fax id back from this key.
        mail.key = "inbound:" + std::to_string(fax.id) + ":" + std::to_string(fax.received_at) +
                   ":" + address;
        mail.sender = settings.gateway_address;
        mail.recipients = {address};
        mail.message = inbound_mail(fax, address, files, settings);
        mail.local_maildir = settings.inbound_maildir / safe_file_name(address);
        outbox.post(mail);
        where += (where.empty() ? "" : ", ") + address;
    }
    if (!route.folder.empty()) where += (where.empty() ? "" : ", ") + route.folder.string();
    queue.mark_inbound_delivered(fax.id, "outbox: " + where);
}

}  // namespace

const InboundRoute& inbound_route(const faxcore::InboundFax& fax, const Settings& settings) {
    for (const auto& route : settings.inbound_routes)
        if (did_matches(route.did, fax.did) && glob_matches(route.caller, fax.caller) &&
            glob_matches(route.csid, trim(fax.remote_csid)))
            return route;
    static const InboundRoute postmaster = [] {
        InboundRoute r;
        r.addresses = {"postmaster@localhost"};
        return r;
    }();
    return postmaster;
}

int deliver_inbound(faxcore::Queue& queue, Outbox& outbox, const Settings& settings) {
    int delivered = 0;
    std::string errors;
    // One unreadable fax must not hold up the others; report them together.
    for (const faxcore::InboundFax& fax : queue.undelivered_inbound()) {
        try {
            deliver_one(queue, outbox, fax, settings);
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
