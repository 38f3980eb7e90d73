// The outbox: the one way out for every mail faxgw writes (received faxes,
// notifications and reports to senders, refusals of polled mail).
//
// A mail is first posted: committed to tables of its own in the queue
// database (<var>/queue.sqlite), so that it survives a crash or a kill -9
// from then on. Delivery comes after, by whoever runs deliver_due() (`faxgw
// run` on a thread of its own, `faxgw demo` once at the end):
//   - with a relay (smtp.url), over SMTP with libcurl, STARTTLS or TLS and
//     AUTH as configured; a temporary failure (no connection, a 4xx) is
//     tried again with a backoff that doubles from smtp.retry_seconds (one
//     minute) to an hour,
//     until smtp.give_up_hours; a permanent one (5xx) is recorded at once;
//   - without one, as a file in the mail's local Maildir, as in the demo.
// A mail is delivered at least once: it is marked sent as soon as the relay
// has accepted it, so only a kill between the relay's "250" and that mark
// sends it twice. The Maildir file name comes from the outbox row, so filing
// it again after such a kill replaces the file instead of adding a copy.
//
// The tables live in the queue's database, but faxcore knows nothing of
// them (faxcore knows nothing of mail): mailgw creates and reads them with a
// connection of its own.
#pragma once

#include <faxgw/faxcore.h>
#include <faxgw/faxcore/retention.h>
#include <faxgw/faxcore/snapshot.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace faxgw::mailgw {

struct OutgoingMail {
    // Unique per mail and purpose ("report:<batch>:final"): posting a key
    // again does nothing, so a poster killed after post() and before it
    // noted so simply posts again.
    std::string key;
    std::string sender;                   // envelope sender; "" = the null sender <>
    std::vector<std::string> recipients;  // envelope recipients
    std::string message;                  // RFC 5322, CRLF line ends
    // Where the mail is filed when no relay is configured (a Maildir).
    std::filesystem::path local_maildir;
};

// How to reach the relay (the [smtp] table of the configuration).
struct RelaySettings {
    std::string url;  // "smtp://host:587", "smtps://host:465"; "" = no relay, use Maildirs
    // "required": STARTTLS or the mail stays queued (smtp://); "none": plain
    // SMTP, for a relay on the same machine or network. smtps:// is TLS
    // from the first byte either way.
    std::string tls = "required";
    std::string user;               // "" = no AUTH
    std::string password;           // read from smtp.password_file when that is given
    std::filesystem::path ca_file;  // "" = the system's trusted CAs
    int timeout_seconds = 60;       // per mail: connection, dialogue and data
    int retry_seconds = 60;         // first wait after a temporary failure; doubles to an hour
    int give_up_hours = 120;        // a mail still not delivered after this fails (Postfix: 5 days)
};

enum class MailState { queued, sent, failed };
std::string_view to_string(MailState state);

struct OutboxEntry {
    std::int64_t id = 0;
    std::string key;
    std::string sender;
    std::vector<std::string> recipients;
    std::string subject;  // read from the message, for listings
    MailState state = MailState::queued;
    int attempts = 0;
    std::int64_t created_at = 0;
    std::int64_t next_try_at = 0;
    std::int64_t done_at = 0;  // sent or failed
    // The relay's last reply or the error ("connection refused"); for a
    // mail filed in a Maildir, the file.
    std::string result;
};

struct DeliveryCounts {
    int sent = 0;      // accepted by the relay or filed
    int deferred = 0;  // to be tried again
    int failed = 0;    // given up: a permanent refusal or too old
};

// How many mails the outbox holds, by state.
struct OutboxCounts {
    std::int64_t queued = 0;  // not delivered yet: the backlog
    std::int64_t sent = 0;
    std::int64_t failed = 0;
    std::optional<std::int64_t> oldest_queued_age;  // seconds, when any is queued
};

class Outbox {
public:
    // Opens (and, the first time, creates) the outbox tables in
    // <var>/queue.sqlite. Throws faxcore::TemporaryError while the database
    // is locked for long, std::runtime_error when it cannot be used.
    // read_only: creates nothing (see faxcore::Access); a queue without an
    // outbox yet reads as an empty one.
    explicit Outbox(const std::filesystem::path& var,
                    faxcore::Access access = faxcore::Access::read_write);
    ~Outbox();
    Outbox(const Outbox&) = delete;
    Outbox& operator=(const Outbox&) = delete;

    // Commits the mail. False when a mail with the same key was posted before.
    bool post(const OutgoingMail& mail);

    // Delivers every mail that is due now, one after the other, as `relay`
    // says; `log` hears of every failure (one line each). Two processes may
    // deliver at once: each claims a mail before sending it.
    DeliveryCounts deliver_due(const RelaySettings& relay,
                               const std::function<void(const std::string&)>& log = {});

    // When the next queued mail is due (unix time), if any is queued.
    std::optional<std::int64_t> next_due();

    // Mails not yet delivered and mails that failed, oldest first; with
    // `all`, the sent ones too.
    std::vector<OutboxEntry> list(bool all = false);

    OutboxCounts counts(std::int64_t now);

    // Deletes the rows of mails sent or given up on at or before
    // `ended_before` (queued ones never); returns how many (in a dry run:
    // would go).
    int purge(std::int64_t ended_before, bool dry_run);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// How a relay answered one mail.
struct RelayOutcome {
    enum class Kind { sent, temporary, permanent } kind = Kind::temporary;
    std::string text;  // the relay's reply or what went wrong, one line
};

// Sends one mail over SMTP as `relay` says (libcurl). Never throws.
RelayOutcome send_by_smtp(const RelaySettings& relay, const std::string& sender,
                          const std::vector<std::string>& recipients, const std::string& message);

// Everything `faxgw status` and the metrics endpoint show, read at one
// moment: the queue's numbers (faxcore/snapshot.h) and the outbox's.
struct GatewaySnapshot {
    faxcore::QueueSnapshot queue;
    OutboxCounts outbox;
};
GatewaySnapshot take_snapshot(faxcore::Queue& queue, Outbox& outbox, std::int64_t now);

// Retention over the whole state folder: the queue's purge
// (faxcore/retention.h), keeping every received fax whose mail is still
// queued or was given up on, and the outbox rows of mails sent or given up
// on longer ago than settings.job_rows_days.
struct PurgeReport {
    faxcore::PurgeReport queue;
    int outbox_rows = 0;
};
PurgeReport purge_expired(faxcore::Queue& queue, Outbox& outbox,
                          const faxcore::RetentionSettings& settings, std::int64_t now,
                          bool dry_run);

}  // namespace faxgw::mailgw
