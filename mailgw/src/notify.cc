// write_notifications(): tells senders what became of their faxes. Every
// report is a delivery status notification (RFC 3464, multipart/report):
// a part in words for people, a message/delivery-status part for programs,
// and the header of the sender's mail when it was kept.
#include "notify.h"

#include <faxgw/mailgw.h>
#include <mimetic/mimetic.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "header_field.h"
#include "maildir.h"
#include "origin.h"

namespace faxgw::mailgw {
namespace {

using faxcore::JobState;

std::string_view kind_name(faxcore::ReportKind kind) {
    return kind == faxcore::ReportKind::final ? "final" : "delayed";
}

// The word a sender reads for a job's state.
std::string state_word(const faxcore::Job& job) {
    switch (job.state) {
        case JobState::done:
            return "sent";
        case JobState::failed:
            return "failed";
        case JobState::cancelled:
            return "cancelled";
        case JobState::queued:
        case JobState::held:
            return "queued";
        default:
            return "delayed";
    }
}

std::string plural(std::size_t n, const std::string& word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// Text from a far end's machine or a mail, fit for one line of the report.
std::string one_line(std::string_view s) {
    std::string out;
    for (unsigned char c : s) out += c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c);
    return out;
}

// A delivery-status field value: RFC 3464 fields are US-ASCII.
std::string ascii(std::string_view s) {
    std::string out;
    for (unsigned char c : s) out += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?';
    return out;
}

std::string summary_of(const std::vector<faxcore::Job>& jobs, NotifyKind kind) {
    if (jobs.size() == 1) {
        const faxcore::Job& job = jobs.front();
        std::string state = state_word(job);
        if (state == "sent" || state == "queued")
            state += " (" + plural(static_cast<std::size_t>(job.pages), "page") + ")";
        if (state == "delayed") state += ", will retry";
        if (kind == NotifyKind::accepted && job.state == JobState::held)
            state += ", held for an administrator";
        return state;
    }
    std::string counts;
    for (const char* word : {"sent", "failed", "cancelled", "delayed", "queued"}) {
        std::size_t n = 0;
        for (const auto& job : jobs) n += state_word(job) == word;
        if (n > 0) counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + word;
    }
    return counts;
}

// Advice for a job that will not be retried, by how its last call ended.
std::string advice(const faxcore::Job& job) {
    if (job.state == JobState::cancelled) return "The fax was cancelled at the gateway.";
    if (job.attempts.empty()) return "Check the number and the document, then send the mail again.";
    switch (faxcore::describe(job.attempts.back().outcome).retry) {
        case faxcore::RetryClass::busy:
        case faxcore::RetryClass::no_answer:
            return "Check the number, or send the mail again later.";
        case faxcore::RetryClass::permanent:
            return "Sending the same mail again will fail the same way: check the number and the "
                   "document.";
        default:
            return "Send the mail again later; if it keeps failing, ask the recipient to check "
                   "their fax machine.";
    }
}

// One call in one line: when, how it ended, and what the line knew of it.
std::string attempt_line(const faxcore::Attempt& a) {
    std::string line = "  Try " + std::to_string(a.number) + ": " + utc_time(a.started_at) +
                       " to " + utc_time(a.started_at + static_cast<std::int64_t>(a.line_seconds)) +
                       ", " + std::string(faxcore::describe(a.outcome).name);
    auto add = [&](const std::string& item) { line += "; " + item; };
    if (a.pages_confirmed > 0 || a.bit_rate > 0)
        add("pages " + std::to_string(a.first_page) + " to " +
            std::to_string(a.first_page + a.pages_confirmed - 1) + " confirmed");
    if (a.line_seconds > 0)
        add("line time " + std::to_string(static_cast<long>(a.line_seconds + 0.5)) + " s");
    if (a.bit_rate > 0) add(std::to_string(a.bit_rate) + " bit/s");
    if (a.bit_rate > 0) add(std::string("ECM ") + (a.ecm ? "on" : "off"));
    if (!a.compression.empty()) add("compression " + one_line(a.compression));
    if (!a.remote_csid.empty()) add("remote CSID \"" + one_line(a.remote_csid) + "\"");
    if (a.t30_code != 0 || !a.t30_text.empty())
        add("T.30 code " + std::to_string(a.t30_code) +
            (a.t30_text.empty() ? "" : " (" + one_line(a.t30_text) + ")"));
    if (!a.transport.empty()) add("by " + one_line(a.transport));
    if (a.sip_status > 0) add("SIP " + std::to_string(a.sip_status));
    if (!a.detail.empty()) add(one_line(a.detail));
    return line + "\r\n";
}

// Who received a fax that went through, when, and how long it took.
std::string receipt_lines(const faxcore::Job& job) {
    if (job.attempts.empty()) return "";
    const faxcore::Attempt& a = job.attempts.back();
    std::string text = "  Received by: " +
                       (a.remote_csid.empty() ? "(no station ID given)" : one_line(a.remote_csid)) +
                       "\r\n";
    text += "  Time: " + utc_time(a.started_at) + "\r\n";
    text += "  Duration: " + std::to_string(static_cast<long>(a.line_seconds + 0.5)) + " s\r\n";
    return text;
}

std::string job_text(const faxcore::Job& job, const OriginInfo& origin, NotifyKind kind) {
    std::string name = origin.name_of(job.number);
    std::string text =
        job.number + (name.empty() ? "" : " (" + name + ")") + ": " + state_word(job) + "\r\n";
    text += "  What happened: " + one_line(what_happened(job)) + "\r\n";
    if (kind == NotifyKind::accepted) {
        text += "  Pages: " + std::to_string(job.pages) + "\r\n";
        if (job.state != JobState::held)
            text += "  First try: " + utc_time(job.next_attempt_at) + "\r\n";
        return text;
    }
    text += "  Pages confirmed: " + std::to_string(job.pages_confirmed) + " of " +
            std::to_string(job.pages) + "\r\n";
    if (job.state == JobState::done) text += receipt_lines(job);
    text += "  Attempts: " + std::to_string(job.attempts.size()) + "\r\n";
    if (!job.attempts.empty()) {
        const auto& info = faxcore::describe(job.attempts.back().outcome);
        text +=
            "  Last outcome: " + std::string(info.name) + " - " + std::string(info.text) + "\r\n";
    }
    if (!job.reason.empty()) text += "  Reason: " + one_line(job.reason) + "\r\n";
    if (job.state == JobState::retry_wait)
        text += "  Next try: " + utc_time(job.next_attempt_at) + "\r\n";
    if (job.state == JobState::failed || job.state == JobState::cancelled)
        text += "  What to do: " + advice(job) + "\r\n";
    for (const auto& a : job.attempts) text += attempt_line(a);
    return text;
}

const NotifyTemplate& template_of(NotifyKind kind, const NotifySettings& notify) {
    switch (kind) {
        case NotifyKind::accepted:
            return notify.accepted_text;
        case NotifyKind::delayed:
            return notify.delayed_text;
        case NotifyKind::delivered:
            return notify.delivered_text;
        case NotifyKind::failed:
            break;
    }
    return notify.failed_text;
}

// The values of the placeholders (see notify_placeholders()).
std::vector<std::pair<std::string, std::string>> placeholders(const std::vector<faxcore::Job>& jobs,
                                                              const OriginInfo& origin,
                                                              NotifyKind kind,
                                                              const Settings& settings) {
    std::string to, numbers, details;
    for (const auto& job : jobs) {
        numbers += (numbers.empty() ? "" : ", ") + job.number;
        details += job_text(job, origin, kind) + "\r\n";
    }
    if (jobs.size() == 1)
        to = jobs.front().number;
    else
        to = std::to_string(jobs.size()) + " numbers";
    std::string about;
    if (!origin.subject.empty()) about += " \"" + origin.subject + "\"";
    if (!origin.date.empty()) about += " of " + origin.date;
    return {{"to", to},
            {"summary", summary_of(jobs, kind)},
            {"subject", origin.subject},
            {"date", origin.date},
            {"about", about},
            {"details", details},
            {"numbers", numbers},
            {"pages", jobs.empty() ? "0" : std::to_string(jobs.front().pages)},
            {"gateway", settings.gateway_address}};
}

// ---- MIME --------------------------------------------------------------

bool is_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x80; });
}

// A leaf part; `body` is stored as given (already encoded when `encoding`
// says so: mimetic writes a body as it holds it).
mimetic::MimeEntity* leaf(const std::string& type, const std::string& subtype,
                          const std::string& body, const std::string& encoding) {
    auto* part = new mimetic::MimeEntity;
    part->header().contentType(mimetic::ContentType(type, subtype));
    part->header().contentTransferEncoding().mechanism(encoding);
    part->body().set(body);
    return part;
}

// Text for people: UTF-8, in base64 when it is not plain ASCII, so it
// passes relays without 8BITMIME (mimetic's quoted-printable encoder
// escapes every space and line end, which reads worse than base64).
mimetic::MimeEntity* text_part(const std::string& text) {
    if (is_ascii(text)) {
        auto* part = leaf("text", "plain", text, "7bit");
        part->header().contentType().param("charset", "us-ascii");
        return part;
    }
    std::string encoded;
    mimetic::Base64::Encoder encoder;
    mimetic::encode(text.begin(), text.end(), encoder, std::back_inserter(encoded));
    auto* part = leaf("text", "plain", encoded, "base64");
    part->header().contentType().param("charset", "utf-8");
    return part;
}

mimetic::MimeEntity* file_part(const std::string& type, const std::string& subtype,
                               const std::string& name, const std::string& bytes) {
    std::string encoded;
    mimetic::Base64::Encoder encoder;
    mimetic::encode(bytes.begin(), bytes.end(), encoder, std::back_inserter(encoded));
    auto* part = leaf(type, subtype, encoded, "base64");
    part->header().contentType().param("name", name);
    part->header().contentDisposition().type("attachment");
    part->header().contentDisposition().param("filename", name);
    return part;
}

// The message/delivery-status part (RFC 3464 section 2): one block for the
// report, then one per number.
std::string delivery_status(const faxcore::Report& report, const OriginInfo& origin,
                            const Settings& settings) {
    std::int64_t arrival = 0;
    for (const auto& job : report.jobs)
        if (job.created_at > 0 && (arrival == 0 || job.created_at < arrival))
            arrival = job.created_at;
    std::string text = header_field("Reporting-MTA", "dns; " + domain_of(settings.gateway_address));
    if (arrival > 0) text += header_field("Arrival-Date", rfc5322_date(arrival));
    for (const auto& job : report.jobs) {
        const RecipientStatus status = recipient_status(job);
        std::string address = origin.address_of(job.number);
        // The fax address the sender wrote when the origin kept it; else
        // the number itself, typed as a telephone number would be.
        text += "\r\n";
        text += header_field("Final-Recipient", address.empty() ? "X-Fax; " + ascii(job.number)
                                                                : "rfc822; " + ascii(address));
        text += header_field("Action", status.action);
        text += header_field("Status", status.status);
        text += header_field("Diagnostic-Code", "X-Fax; " + ascii(status.diagnostic));
        if (!job.attempts.empty())
            text += header_field("Last-Attempt-Date", rfc5322_date(job.attempts.back().started_at));
        if (status.action == "delayed") {
            const int tried = static_cast<int>(job.attempts.size());
            const int after_next = std::max(0, settings.notify.max_attempts - tried - 1);
            const auto call = static_cast<std::int64_t>(settings.notify.max_call_seconds);
            const std::int64_t until =
                job.next_attempt_at + after_next * (settings.notify.max_retry_delay + call) + call;
            text += header_field("Will-Retry-Until", rfc5322_date(until));
        }
    }
    return text;
}

// A first page picture or the whole fax, for a delivered report.
mimetic::MimeEntity* fax_attachment(const faxcore::Job& job, NotifyAttachment kind) {
    if (kind == NotifyAttachment::png) {
        render::FaxTiffReader reader(job.document);
        auto page = reader.next();
        if (!page) throw render::Error("the sent fax has no page");
        return file_part("image", "png", "fax-page-1.png", page_thumbnail_png(*page));
    }
    std::string pattern = (std::filesystem::temp_directory_path() / "faxgw-report-XXXXXX").string();
    int fd = ::mkstemp(pattern.data());
    if (fd < 0) throw std::runtime_error("cannot make a temporary file");
    ::close(fd);
    std::filesystem::path pdf = pattern;
    std::string bytes;
    try {
        render::fax_tiff_to_pdf(job.document, pdf);
        std::ifstream in(pdf, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    } catch (...) {
        std::filesystem::remove(pdf);
        throw;
    }
    std::filesystem::remove(pdf);
    return file_part("application", "pdf", "fax.pdf", bytes);
}

// The part for people: the text, and in a delivered report the fax when
// configured (RFC 6522 lets this first part be of any type).
mimetic::MimeEntity* human_part(std::string text, const faxcore::Report& report, NotifyKind kind,
                                const Settings& settings) {
    const auto attach = settings.notify.attach;
    if (kind != NotifyKind::delivered || attach == NotifyAttachment::none || report.jobs.empty())
        return text_part(text);
    mimetic::MimeEntity* file = nullptr;
    try {
        file = fax_attachment(report.jobs.front(), attach);
    } catch (const std::exception& e) {
        // The report matters more than its attachment: send it without.
        return text_part(
            text + "(The copy of the fax could not be attached: " + one_line(e.what()) + ")\r\n");
    }
    auto* mixed = new mimetic::MultipartMixed;
    mixed->body().parts().push_back(text_part(text));
    mixed->body().parts().push_back(file);
    return mixed;
}

std::string serialised(const mimetic::MimeEntity& entity) {
    std::ostringstream out;
    out << entity;
    return with_crlf(out.str());
}

// The header fields every notification has; `content` (a MIME entity
// written by mimetic, its own Content-Type first) follows them.
std::string mail_text(const std::string& id, const std::string& subject, const OriginInfo& origin,
                      const Settings& settings, std::int64_t now, const std::string& content) {
    std::string mail;
    auto header = [&](const std::string& name, const std::string& value) {
        mail += header_field(name, value);
    };
    header("From", settings.gateway_address);
    header("To", origin.sender);
    header("Subject", encode_header_text(one_line(subject)));
    header("Date", rfc5322_date(static_cast<std::time_t>(now)));
    header("Message-ID", id);
    if (!origin.message_id.empty()) {
        header("In-Reply-To", origin.message_id);
        header("References", origin.message_id);
    }
    header("Auto-Submitted", "auto-replied");
    header("MIME-Version", "1.0");
    return mail + content;
}

std::string message_id(const std::string& local, const Settings& settings) {
    return "<" + local + "@" + domain_of(settings.gateway_address) + ">";
}

bool wanted(NotifyKind kind, const OriginInfo& origin, const Settings& settings) {
    // Nobody can receive a report to the null sender.
    if (origin.sender.empty()) return false;
    switch (kind) {
        case NotifyKind::failed:
            return true;
        case NotifyKind::delivered:
            return origin.notify_success.value_or(settings.notify.delivered);
        case NotifyKind::delayed:
            return settings.notify.delayed;
        case NotifyKind::accepted:
            return settings.notify.accepted;
    }
    return true;
}

}  // namespace

NotifyKind kind_of(const faxcore::Report& report) {
    if (report.kind == faxcore::ReportKind::delayed) return NotifyKind::delayed;
    bool all_delivered = std::all_of(report.jobs.begin(), report.jobs.end(), [](const auto& job) {
        return recipient_status(job).action == "delivered";
    });
    return all_delivered ? NotifyKind::delivered : NotifyKind::failed;
}

std::string notification_file_name(const std::string& batch, faxcore::ReportKind kind) {
    return "faxgw-" + safe_file_name(batch) + "-" + std::string(kind_name(kind));
}

std::optional<OutgoingMail> report_mail(const faxcore::Report& report, const Settings& settings,
                                        std::int64_t now) {
    OriginInfo origin = read_origin(report.origin);
    const NotifyKind kind = kind_of(report);
    if (!wanted(kind, origin, settings)) return std::nullopt;

    const auto values = placeholders(report.jobs, origin, kind, settings);
    const NotifyTemplate& words = template_of(kind, settings.notify);
    mimetic::MultipartEntity dsn;
    dsn.header().contentType().set("multipart", "report");
    dsn.header().contentType().param("report-type", "delivery-status");
    dsn.body().parts().push_back(
        human_part(with_crlf(fill_template(words.body, values)), report, kind, settings));
    dsn.body().parts().push_back(
        leaf("message", "delivery-status", delivery_status(report, origin, settings), "7bit"));
    if (!origin.headers.empty())
        dsn.body().parts().push_back(leaf("text", "rfc822-headers", origin.headers,
                                          is_ascii(origin.headers) ? "7bit" : "8bit"));

    // A job an administrator retried ends a second time: that report is a
    // mail of its own (the outbox posts a key once), named by the retry.
    int retried_after = 0;
    for (const auto& job : report.jobs)
        retried_after = std::max(retried_after, job.attempts_before_retry);
    const std::string name = notification_file_name(report.batch, report.kind) +
                             (retried_after ? "-retry" + std::to_string(retried_after) : "");
    const std::string id = message_id(name, settings);
    OutgoingMail mail;
    mail.recipients = {origin.sender};
    mail.local_maildir = settings.outbox;  // where it is filed without a relay
    mail.key = name;
    mail.message =
        mail_text(id, fill_template(words.subject, values), origin, settings, now, serialised(dsn));
    return mail;
}

std::optional<OutgoingMail> accepted_mail(const std::string& batch, const std::string& origin_json,
                                          const std::vector<faxcore::Job>& jobs,
                                          const Settings& settings, std::int64_t now) {
    OriginInfo origin = read_origin(origin_json);
    if (!wanted(NotifyKind::accepted, origin, settings) || jobs.empty()) return std::nullopt;
    const auto values = placeholders(jobs, origin, NotifyKind::accepted, settings);
    const NotifyTemplate& words = settings.notify.accepted_text;
    // A mail delivered once per number adds jobs to one batch: each such
    // delivery is told of its own numbers, under a name of its own.
    std::string ids;
    for (const auto& job : jobs) ids += std::to_string(job.id) + ",";
    const std::string local =
        "faxgw-" + safe_file_name(batch) + "-accepted-" + sha256_hex(ids).substr(0, 16);
    OutgoingMail mail;
    mail.recipients = {origin.sender};
    mail.local_maildir = settings.outbox;  // where it is filed without a relay
    mail.key = local;
    mail.message = mail_text(message_id(local, settings), fill_template(words.subject, values),
                             origin, settings, now,
                             serialised(*std::unique_ptr<mimetic::MimeEntity>(
                                 text_part(with_crlf(fill_template(words.body, values))))));
    return mail;
}

void send_notification(const OutgoingMail& mail, const Settings& settings) {
    Outbox(settings.var).post(mail);
}

int write_notifications(faxcore::Queue& queue, const Settings& settings) {
    int written = 0;
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    std::optional<Outbox> outbox;  // opened once, when there is a mail to post
    for (const faxcore::Report& report : queue.pending_reports()) {
        if (auto mail = report_mail(report, settings, now)) {
            if (!outbox) outbox.emplace(settings.var);
            outbox->post(*mail);
            ++written;
        }
        queue.mark_reported(report.batch, report.kind);
    }
    return written;
}

}  // namespace faxgw::mailgw
