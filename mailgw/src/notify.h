// Private pieces of the notification writer, for submit() and tests.
#pragma once

#include <faxgw/faxcore.h>
#include <faxgw/mailgw.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace faxgw::mailgw {

// Maildir file name of a report: the same for the same batch and kind, so
// writing it again after a crash replaces the first copy.
std::string notification_file_name(const std::string& batch, faxcore::ReportKind kind);

// How one job appears in a delivery status notification (RFC 3464).
struct RecipientStatus {
    std::string action;      // "delivered", "delayed" or "failed"
    std::string status;      // RFC 3463 code, e.g. "5.4.1"
    std::string diagnostic;  // the words after "X-Fax; "
};
// THE mapping from a job's state and its last call's outcome to an RFC 3463
// status code; see the table in notify.cc.
RecipientStatus recipient_status(const faxcore::Job& job);

// What a sender reads about one number, in words: "busy after 3 tries",
// "the far end hung up after page 2 of 5".
std::string what_happened(const faxcore::Job& job);

// Which kind of notification a report is.
NotifyKind kind_of(const faxcore::Report& report);

// The "accepted" notification of one submitted mail, written by submit()
// after its jobs are committed: `jobs` are the jobs of this submission.
// nullopt when not configured or there is nobody to tell.
std::optional<OutgoingMail> accepted_mail(const std::string& batch, const std::string& origin,
                                          const std::vector<faxcore::Job>& jobs,
                                          const Settings& settings, std::int64_t now);

// The one place a finished notification leaves mailgw.
void send_notification(const OutgoingMail& mail, const Settings& settings);

// Fills a template's {placeholders}; unknown ones are left as written.
std::string fill_template(std::string_view text,
                          const std::vector<std::pair<std::string, std::string>>& values);

// A PNG picture of a fax page, width/4 pixels wide and its height scaled
// to the same aspect as the paper, in grey.
std::string page_thumbnail_png(const render::Page& page);

}  // namespace faxgw::mailgw
