// write_notifications(): tells senders what became of their faxes.
#include "notify.h"

#include <faxgw/mailgw.h>

#include <algorithm>
#include <ctime>
#include <stdexcept>

#include "header_field.h"
#include "maildir.h"
#include "origin.h"

namespace faxgw::mailgw {
namespace {

std::string_view kind_name(faxcore::ReportKind kind) {
    return kind == faxcore::ReportKind::final ? "final" : "delayed";
}

// The word a sender reads for a job's state.
std::string state_word(faxcore::JobState state) {
    switch (state) {
        case faxcore::JobState::done:
            return "sent";
        case faxcore::JobState::failed:
            return "failed";
        case faxcore::JobState::cancelled:
            return "cancelled";
        default:
            return "delayed";
    }
}

std::string plural(std::size_t n, const std::string& word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

std::string subject_for(const faxcore::Report& report) {
    const auto& jobs = report.jobs;
    if (jobs.size() == 1) {
        const faxcore::Job& job = jobs.front();
        std::string state = state_word(job.state);
        if (state == "sent")
            state += " (" + plural(static_cast<std::size_t>(job.pages), "page") + ")";
        if (state == "delayed") state += ", will retry";
        return "Fax to " + job.number + ": " + state;
    }
    std::string counts;
    for (const char* word : {"sent", "failed", "cancelled", "delayed"}) {
        std::size_t n = 0;
        for (const auto& job : jobs) n += state_word(job.state) == word;
        if (n > 0) counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + word;
    }
    return "Fax to " + std::to_string(jobs.size()) + " numbers: " + counts;
}

// Advice for a job that will not be retried, by how its last call ended.
std::string advice(const faxcore::Job& job) {
    if (job.state == faxcore::JobState::cancelled) return "The fax was cancelled at the gateway.";
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

std::string job_text(const faxcore::Job& job, const OriginInfo& origin) {
    std::string name = origin.name_of(job.number);
    std::string text = job.number + (name.empty() ? "" : " (" + name + ")") + ": " +
                       state_word(job.state) + "\r\n";
    text += "  Pages confirmed: " + std::to_string(job.pages_confirmed) + " of " +
            std::to_string(job.pages) + "\r\n";
    text += "  Attempts: " + std::to_string(job.attempts.size()) + "\r\n";
    if (!job.attempts.empty()) {
        const auto& info = faxcore::describe(job.attempts.back().outcome);
        text +=
            "  Last outcome: " + std::string(info.name) + " - " + std::string(info.text) + "\r\n";
    }
    if (!job.reason.empty()) text += "  Reason: " + job.reason + "\r\n";
    if (job.state == faxcore::JobState::failed || job.state == faxcore::JobState::cancelled)
        text += "  What to do: " + advice(job) + "\r\n";
    return text;
}

std::string body_for(const faxcore::Report& report, const OriginInfo& origin) {
    std::string body = "This is the fax gateway, about your mail";
    if (!origin.subject.empty()) body += " \"" + origin.subject + "\"";
    if (!origin.date.empty()) body += " of " + origin.date;
    body += ".\r\n\r\n";
    for (const auto& job : report.jobs) body += job_text(job, origin) + "\r\n";
    if (report.kind == faxcore::ReportKind::delayed)
        body += "The gateway keeps trying; you will get another mail when it is done.\r\n";
    return body;
}

std::string notification_mail(const faxcore::Report& report, const OriginInfo& origin,
                              const Settings& settings) {
    std::string id = "<faxgw-" + safe_file_name(report.batch) + "-" +
                     std::string(kind_name(report.kind)) + "@" +
                     domain_of(settings.gateway_address) + ">";
    std::string mail;
    auto header = [&](const std::string& name, const std::string& value) {
        mail += header_field(name, value);
    };
    header("From", settings.gateway_address);
    header("To", origin.sender);
    header("Subject", encode_header_text(subject_for(report)));
    header("Date", rfc5322_date(std::time(nullptr)));
    header("Message-ID", id);
    if (!origin.message_id.empty()) {
        header("In-Reply-To", origin.message_id);
        header("References", origin.message_id);
    }
    header("Auto-Submitted", "auto-replied");
    header("MIME-Version", "1.0");
    header("Content-Type", "text/plain; charset=utf-8");
    header("Content-Transfer-Encoding", "8bit");
    return mail + "\r\n" + body_for(report, origin);
}

}  // namespace

std::string notification_file_name(const std::string& batch, faxcore::ReportKind kind) {
    return "faxgw-" + safe_file_name(batch) + "-" + std::string(kind_name(kind));
}

int write_notifications(faxcore::Queue& queue, const Settings& settings) {
    int written = 0;
    for (const faxcore::Report& report : queue.pending_reports()) {
        OriginInfo origin = read_origin(report.origin);
        // Nobody can receive a report to the null sender; a sender who asked
        // for failures only gets no news of a fax that went through.
        bool all_sent =
            std::all_of(report.jobs.begin(), report.jobs.end(),
                        [](const faxcore::Job& j) { return j.state == faxcore::JobState::done; });
        bool wanted =
            origin.notify_success || !(report.kind == faxcore::ReportKind::final && all_sent);
        if (!origin.sender.empty() && wanted) {
            deliver_to_maildir(settings.outbox, notification_file_name(report.batch, report.kind),
                               notification_mail(report, origin, settings));
            ++written;
        }
        queue.mark_reported(report.batch, report.kind);
    }
    return written;
}

}  // namespace faxgw::mailgw
