// The IMAP poller: the second way mail comes in. It watches a folder of
// each configured mailbox, hands every message to mailgw::submit() (the
// same rules and dedupe as `faxgw submit` and the milter) and files it:
// processed_folder once its jobs are committed, rejected_folder when the
// gateway refuses it (and the sender is told why), or left where it is for
// the next round when the gateway cannot take it now.
//
// Exactly once: (account, UIDVALIDITY, UID) is recorded after submit()
// committed the jobs and before the message is moved, so a poller that dies
// between the two only finishes the move next time. submit()'s own dedupe
// (sender, Message-ID, content) is the second line of defence.
//
// libetpan stays inside this library: nothing here includes it.
#pragma once

#include <faxgw/faxcore.h>
#include <faxgw/mailgw.h>
#include <faxgw/submit_worker.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace faxgw::imap {

// One mailbox to watch ([[imap.accounts]] in the configuration).
struct Account {
    // imaps://host[:993] (TLS from the start) or imap://host[:143]
    // (STARTTLS, required unless tls = "none").
    std::string url;
    std::string user;
    std::string password;                 // or:
    std::filesystem::path password_file;  // its first line is the password
    std::string folder = "INBOX";
    std::string processed_folder = "Processed";
    std::string rejected_folder = "Rejected";
    // "" = TLS with the server's certificate checked; "none" = no TLS at
    // all (imap:// only: the password crosses the network in clear).
    std::string tls;
    // PEM file of the CA(s) to trust instead of the system's.
    std::filesystem::path ca_file;
    // Whose rules apply: the SMTP AUTH user the rules see (auth = ...).
    // "" = the mailbox owner (user): a mail in one's own mailbox is as
    // authenticated as SMTP AUTH; "none" = nobody (the rules judge the
    // mail as unauthenticated mail from outside).
    std::string sender_identity;
    // Seconds between two looks at the folder when the server has no IDLE,
    // and the longest IDLE before looking again when it has.
    int poll_seconds = 60;
};

// Where a URL points. Throws std::invalid_argument for anything but
// imap:// and imaps:// with a host.
struct ServerAddress {
    bool implicit_tls = false;  // imaps://
    std::string host;
    std::uint16_t port = 0;
};
ServerAddress parse_url(const std::string& url);

// Checks what the configuration can check (URL, tls value, a password
// source, distinct folders); throws std::invalid_argument saying what is wrong.
void check_account(const Account& account);

// "alice@mail.example.org:993/INBOX": names the account in logs and keys
// its records (UIDs are per mailbox).
std::string account_key(const Account& account);

// What became of a message, as recorded.
enum class Disposition { processed, rejected };

// The record of messages whose outcome is committed (account key,
// UIDVALIDITY, UID). Kept behind this interface so that the queue's own
// mail store can take it over.
class SeenMessages {
public:
    virtual ~SeenMessages() = default;
    virtual std::optional<Disposition> find(const std::string& account, std::uint32_t uidvalidity,
                                            std::uint32_t uid) = 0;
    // Durable when it returns.
    virtual void remember(const std::string& account, std::uint32_t uidvalidity, std::uint32_t uid,
                          Disposition disposition) = 0;
};

// The record as a table imap_messages in <var>/queue.sqlite.
std::unique_ptr<SeenMessages> open_seen_messages(const std::filesystem::path& var);

// A refusal mail, ready to send: RFC 5322 text with CRLF line ends.
struct RefusalMail {
    std::string to;           // the refused message's sender
    std::string text;         // headers and body
    std::string in_reply_to;  // the refused message's Message-ID, "" when it has none
};
// Hands a refusal to the gateway's outbox; throwing leaves the message in
// place, to be tried again.
using SendRefusal = std::function<void(const RefusalMail&)>;
using Log = std::function<void(const std::string& line)>;

// Points in the handling of one message where a test may stop the poller
// (by throwing from the hook), to play a crash there.
// Where the poller is, for tests: a message submitted, its record written;
// the server has confirmed IDLE (mail appended from now on is announced).
enum class Step { submitted, remembered, idling };

// Decides a fetched mail as submit() does: its verdict and message.
using Decide = std::function<mailgw::WorkerReply(const mailgw::WorkerRequest&)>;

// What the poller needs from the gateway.
struct Services {
    std::filesystem::path var;  // the state folder: queue and records
    mailgw::Settings mail;      // fax domains, rules, render settings ...
    // Empty: mailgw::submit() in this process, which is right for a single
    // thread (`faxgw poll --once`). A watch runs a thread per account beside
    // the caller's own, and rendering forks isolated children, which a
    // process full of threads must not do (a child can be left a lock that
    // another thread held): it hands its mails to warm worker processes
    // (mailgw/submit_worker.h) through this.
    Decide decide;
    SendRefusal send_refusal;        // empty: refusals are only logged
    Log log;                         // one line per event; empty: stderr
    std::function<void(Step)> hook;  // tests only
    // Reconnection waits: first, doubling up to max (seconds).
    double backoff_first = 1;
    double backoff_max = 300;
};

// What one look at an account did.
struct PollCounts {
    int processed = 0;  // submitted and filed in processed_folder
    int rejected = 0;   // refused and filed in rejected_folder
    int retried = 0;    // left in place for later
};

// Connects, handles every message waiting in the folder, logs out.
// Throws std::runtime_error (connection, TLS, login) saying what failed.
PollCounts poll_once(const Account& account, Services& services);

// Watches one account until `stop`: IDLE when the server offers it, a look
// every poll_seconds otherwise; reconnects with backoff. Never throws.
void watch(const Account& account, Services& services, std::stop_token stop);

// Watches every account, each on a thread of its own, until `stop`.
void watch_all(const std::vector<Account>& accounts, Services& services, std::stop_token stop);

// The refusal of `message` (raw RFC 5322) for `reason`, from `gateway_address`;
// nothing when the message must not be answered (null or unparsable sender,
// an automatic mail, a mail from the gateway itself).
std::optional<RefusalMail> refusal_for(std::string_view message, const std::string& reason,
                                       const std::string& gateway_address);

// The envelope an MTA would have given a polled message: sender from From
// (Sender when From has none), recipients the To and Cc addresses in the
// fax domains, the SMTP AUTH user from sender_identity, and a client
// address that is no trusted network.
mailgw::Envelope envelope_for(std::string_view message, const Account& account,
                              const mailgw::Settings& settings);

}  // namespace faxgw::imap
