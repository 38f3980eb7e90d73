// Public interface of mailgw/: what a mail means for the fax gateway.
// One place decides which numbers a mail goes to, whether its sender may fax
// them, and which pages it becomes; the pipe transport (`faxgw submit`), the
// milter and the IMAP poller all call submit(). mailgw also writes the
// mails going back: notifications to the sender and received faxes.
#pragma once

#include <faxgw/faxcore.h>
#include <faxgw/outbox.h>
#include <faxgw/render.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace faxgw::mailgw {

// sysexits(3) codes, the contract with Postfix's pipe(8) and Sendmail.
enum class ExitCode : int {
    ok = 0,
    data_error = 65,  // EX_DATAERR: the message cannot be faxed
    no_user = 67,     // EX_NOUSER: bad fax number / recipient
    software = 70,    // never returned by submit(); internal use
    temp_fail = 75,   // EX_TEMPFAIL: try again later
    no_perm = 77,     // EX_NOPERM: the sender rules refuse
};

// What became of a mail, one row per kind of result for every front end:
// the pipe transport (`faxgw submit`) exits with the sysexits code and
// prints the enhanced status code first, the milter answers with the SMTP
// reply, the IMAP poller does the IMAP action. Only properties of the
// message are permanent; the gateway's own faults are retried.
enum class Verdict {
    queued,
    bad_message,    // the mail itself is damaged, or its fax options are wrong
    unfaxable,      // a part cannot be faxed (its type, a damaged document, no pages)
    too_big,        // over the gateway's size or page limits
    bad_sender,     // the envelope sender is not an address
    bad_recipient,  // not a fax number, or no fax recipient
    refused,        // the sender rules refuse
    over_quota,     // the mail alone is more than a per-sender or per-domain limit
    rate_limited,   // a per-sender or per-domain limit is reached for now
    try_later,      // a resource fault: disk full, queue busy, renderer timed out ...
    configuration,  // the gateway is configured wrongly (or called wrongly)
};

// What an IMAP poller does with the mail: file it as done, answer the
// sender with the reason and file it as refused, or leave it for next time.
enum class ImapAction { done, reject, retry };

struct VerdictInfo {
    ExitCode exit;
    std::string_view enhanced_status;  // RFC 3463, e.g. "5.6.0"
    int smtp_reply;                    // RFC 5321, e.g. 554
    ImapAction imap;
    std::string_view name;
};
const VerdictInfo& describe(Verdict verdict);

struct DialRules {
    std::string country_code = "1";  // E.164 country of numbers without one
    std::string international_prefix = "011";
    std::string national_prefix = "1";
    int min_digits = 3;
    int max_digits = 15;
    // The home region (ISO 3166, "US"): numbers elsewhere are international,
    // even when they share our country code (+1 876 is Jamaica). "" = the
    // main region of country_code.
    std::string region;
    // Numbers (E.164) that count as valid, national fixed-line numbers
    // whatever libphonenumber says: those the simulated telephone network
    // answers, which in a demo is the whole telephone network. The default
    // is the built-in simulated network and its DID; the configuration
    // replaces it (empty unless lines.backend is "sim").
    std::vector<std::string> known_numbers = {"+15551001", "+15551002", "+15551003", "+15551004",
                                              "+15551005", "+15551006", "+15550100"};
};

// The home region of `dial`. Throws std::invalid_argument for a country code
// or region libphonenumber does not know, or a region outside the country.
std::string home_region(const DialRules& dial);

// Kinds of numbers, as libphonenumber tells them apart.
enum class NumberType {
    fixed_line,
    mobile,
    fixed_line_or_mobile,  // NANP numbers: the number alone does not tell
    toll_free,
    premium_rate,
    shared_cost,
    voip,
    personal_number,
    pager,
    uan,  // universal access (company) numbers
    voicemail,
    unknown,
};
std::string_view to_string(NumberType t);

// What an E.164 number is, by libphonenumber's metadata.
struct NumberInfo {
    bool valid = false;
    std::string problem;  // why it is not valid, for the sender
    std::string region;   // "US", "JM"; "001" for non-geographic numbers
    bool home = false;    // region is the home region
    NumberType type = NumberType::unknown;
};
NumberInfo describe_number(std::string_view e164, const DialRules& dial);

enum class RuleAction { allow, deny, hold };

struct CompiledRule;

// One sender rule; the first rule whose every condition matches decides.
// Address patterns (sender, from): "*" anything; "@example.org" that domain
// and its subdomains; "/regex/" an RE2 regular expression, found anywhere in
// the address and run in time linear in it however long a hostile From is;
// otherwise a glob (fnmatch: * ? [...]) on the whole address; all
// case-insensitive. "" matches only the null sender <>.
struct SenderRule {
    std::string sender = "*";  // the envelope sender
    std::string from = "*";    // the address in From:
    std::string auth = "*";    // SMTP AUTH: "*", "none", "any" or a glob on the user name
    std::string client =
        "*";  // SMTP client: "*", "trusted", "untrusted", or CIDRs "10.0.0.0/8, ::1"
    // Verdicts from Authentication-Results headers of our own MTA
    // (rules.authserv_id): "*" or e.g. "pass", "fail", "none".
    std::string spf = "*";
    std::string dkim = "*";
    std::string dmarc = "*";
    // The E.164 number: a glob ("+1900*") or "/regex/"; "international"
    // and "national" are region = "abroad" and "home".
    std::string number = "*";
    // The number's region: "*", "home" (DialRules::region), "abroad", or
    // regions "JM, DO" (ISO 3166; "001" non-geographic numbers).
    std::string region = "*";
    // The number's type: "*" or types "premium_rate, shared_cost" (see
    // NumberType); "fixed_line" and "mobile" also match
    // fixed_line_or_mobile, which may be either.
    std::string type = "*";
    RuleAction action = RuleAction::allow;
    std::string reason;  // what a refused sender reads
    // The patterns above, parsed and compiled by compile_rule(); decide()
    // compiles a rule without them on each call. Compile again after
    // changing a field.
    std::shared_ptr<const CompiledRule> compiled;
};

// A rule field that cannot be compiled; field() names it ("from").
class RuleError : public std::invalid_argument {
public:
    RuleError(std::string field, const std::string& what)
        : std::invalid_argument(what), field_(std::move(field)) {}
    const std::string& field() const { return field_; }

private:
    std::string field_;
};

// Parses and compiles every pattern of `rule` once, as the configuration
// loads. Throws RuleError for a bad regex, CIDR, region, type or verdict.
void compile_rule(SenderRule& rule);

// Throws std::invalid_argument naming the first entry of `cidrs` that is
// no address or network ("10.0.0.0/8", "::1").
void check_networks(const std::vector<std::string>& cidrs);

// The built-in sender rules, which stop toll fraud and mail loops: refuse
// the null sender and *.invalid senders (reports to them cannot be
// delivered), unauthenticated mail from outside the trusted networks,
// numbers outside the home region, and the number types that cost more
// than a call or cannot take a fax (see rules.cc). Compiled.
std::vector<SenderRule> default_rules();

// Per-sender and per-domain limits; 0 = no limit.
struct Limits {
    int jobs_per_hour_per_sender = 0;
    int pages_per_day_per_sender = 0;
    int jobs_per_hour_per_domain = 0;
    int pages_per_day_per_domain = 0;
};

struct CoverSettings {
    bool by_default = false;     // a cover page unless the sender says "nocover"
    std::string template_text;   // "" = the standard layout; else text with {from} {to} {subject}
                                 // {date} {pages}
    std::filesystem::path logo;  // "" = none; a picture drawn top right
};

// Where a received fax goes. Patterns are globs (fnmatch: * ? [...]),
// case-insensitive; "*" matches anything, the empty caller or CSID too.
struct InboundRoute {
    std::string did = "*";     // the number dialled: as written, or the same digits
    std::string caller = "*";  // the caller's number as the line gave it
    std::string csid = "*";    // the far end's station ID (TSI), spaces trimmed
    enum class Action { deliver, quarantine } action = Action::deliver;
    std::vector<std::string> addresses;                          // deliver: one mail to each
    enum class Format { pdf, tiff, both } format = Format::pdf;  // the attachment(s)
    // Also file the fax (in `format`) in this folder, named by date, time
    // and caller; "" = no.
    std::filesystem::path folder;
};

// The four kinds of mail that tell a sender what became of a submitted
// mail; each covers every number of the mail.
enum class NotifyKind {
    accepted,   // queued: pages and first try time (written by submit())
    delayed,    // a call failed and will be retried: the next try time
    delivered,  // every number received every page
    failed,     // some number will not get the fax (an RFC 3464 DSN)
};
std::string_view to_string(NotifyKind kind);

// Subject and body of one kind of notification. Placeholders in braces
// are replaced (see notify_placeholders()); the rest is kept as written,
// so an administrator may write them in any language.
struct NotifyTemplate {
    std::string subject;
    std::string body;
};
NotifyTemplate default_template(NotifyKind kind);
// The placeholders templates may use, e.g. "{summary}".
const std::vector<std::string_view>& notify_placeholders();
// Throws std::invalid_argument naming the first {word} that is no
// placeholder (a typo would otherwise reach every sender).
void check_template(std::string_view text);

// What a delivered report carries of the fax that was sent.
enum class NotifyAttachment { none, png, pdf };

struct NotifySettings {
    bool delivered = false;  // report faxes that went through (a mail's notify= option wins)
    bool delayed = true;     // report a first failed call that will be retried
    bool accepted = false;   // report each mail when it is queued
    NotifyAttachment attach = NotifyAttachment::none;  // on delivered reports
    NotifyTemplate accepted_text = default_template(NotifyKind::accepted);
    NotifyTemplate delayed_text = default_template(NotifyKind::delayed);
    NotifyTemplate delivered_text = default_template(NotifyKind::delivered);
    NotifyTemplate failed_text = default_template(NotifyKind::failed);
    // The scheduler's retry limits, copied from its settings: a delayed
    // report's Will-Retry-Until is the latest time the last try can start.
    int max_attempts = 6;
    std::int64_t max_retry_delay = 3600;
    double max_call_seconds = 3600;
};

struct Settings {
    std::vector<std::string> fax_domains = {"fax.example.com"};
    bool prefer_html = false;  // of text and HTML alternatives, fax the HTML
    DialRules dial;
    std::vector<SenderRule> rules = default_rules();
    bool default_allow = true;  // when no rule matches
    std::vector<std::string> trusted_networks = {"127.0.0.0/8", "::1/128"};
    std::string authserv_id;  // trust Authentication-Results of this server only; "" = none
    Limits limits;
    render::Options render;
    render::HeaderInfo header;  // the line on top of every page (station ID, date, page n of m)
    CoverSettings cover;
    std::filesystem::path var;     // the state folder, whose queue database holds the outbox
    RelaySettings relay;           // where mail goes out; no url: the Maildirs below
    std::filesystem::path outbox;  // Maildir for notifications to senders
    NotifySettings notify;
    std::string gateway_address = "fax-gateway@localhost";  // From: of mails we write
    // Inbound: the first route that matches a received fax decides; with
    // none, it goes to postmaster@localhost.
    std::vector<InboundRoute> inbound_routes;
    std::filesystem::path inbound_maildir;  // root: one Maildir per address below it
    std::filesystem::path quarantine;       // where faxes of "quarantine" routes are kept
};

// What the rules look at for one destination number.
struct RuleInput {
    std::string sender;            // envelope sender, "" = null sender
    std::string from;              // address in From:
    std::string sasl_user;         // "" = not authenticated
    std::string client_address;    // "" = submitted locally (trusted)
    std::string spf, dkim, dmarc;  // verdicts, "" = none given
    std::string number;            // E.164
};

struct RuleDecision {
    RuleAction action = RuleAction::allow;
    int rule = 0;                    // 1-based index of the rule that decided; 0 = the default
    std::string reason;              // for deny and hold
    std::vector<std::string> trace;  // why each rule did or did not match
};

RuleDecision decide(const RuleInput& input, const Settings& settings);
std::string_view to_string(RuleAction a);
RuleAction parse_rule_action(std::string_view name);  // throws std::invalid_argument

struct Envelope {
    std::string sender;                   // ${sender}
    std::string client_address;           // ${client_address}
    std::string sasl_user;                // ${sasl_username}
    std::vector<std::string> recipients;  // ${recipient}...
};

struct SubmitResult {
    Verdict verdict = Verdict::queued;
    ExitCode code = ExitCode::ok;  // describe(verdict).exit
    std::string message;           // one line: what happened or what is wrong
    faxcore::EnqueueResult enqueued;
    bool rendered = false;  // false: the document of an earlier recipient was reused
};

// The line an MTA reads: the enhanced status code of the verdict first,
// always, then the message with control characters escaped. Postfix's
// pipe(8) lets a leading 4.X.X or 5.X.X of the output override the exit
// status, so the output must never begin with text from the mail.
std::string mta_reply(Verdict verdict, std::string_view message);

// An envelope that cannot have come from an MTA: control characters (a
// CR/LF would become a header of the notification), an address without a
// domain, an overlong field, a client address that is no IP address.
// Throws EnvelopeError naming the field; submit() checks every envelope.
class EnvelopeError : public std::runtime_error {
public:
    EnvelopeError(Verdict verdict, const std::string& what)
        : std::runtime_error(what), verdict_(verdict) {}
    Verdict verdict() const { return verdict_; }

private:
    Verdict verdict_;
};
void check_envelope(const Envelope& envelope);

// A recipient or number that cannot be a fax number; what() says why in
// one line (submit() answers it with ExitCode::no_user).
class RecipientError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A number as a person writes it ("+1 (555) 212-4567", "2125550123",
// "011 49 30 1234567") -> E.164 for records and the digits the line dials.
// Throws RecipientError, also for a number libphonenumber calls invalid
// (unless it is one of rules.known_numbers).
faxcore::Destination normalise_number(std::string_view written, const DialRules& rules);

// The envelope a mail would have had in an MTA: sender from From:,
// recipients from To: and Cc:. For samples and tests; never throws.
Envelope envelope_of(std::string_view raw_message);

// The gateway's configuration, not the mail, is wrong (e.g. the cover logo
// cannot be read): retried, with a 4.3.5 text, never refused.
class ConfigurationError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One part of a fax to be: a mail body or attachment, or a file given to
// `faxgw send`.
struct DocumentPart {
    enum class Kind { text, html, document };
    Kind kind = Kind::document;
    std::string content;  // text, html: UTF-8; document: the bytes (render sniffs them)
    std::string type;     // MIME type, a hint for documents
    std::string name;     // file name, names the part in errors; may be empty
    std::map<std::string, std::string> inline_images;  // html: Content-ID -> picture bytes
};

struct ComposeOptions {
    render::Options render;
    render::HeaderInfo header;  // the line on top of every page
    // One document per cover, each first in its document (a cover names one
    // receiver); their page counts are filled in. None: one document.
    std::vector<render::CoverInfo> covers;
    std::string what = "message";  // names the fax in errors: "message has ..."
};

// A fax document in the queue's scratch folder, ready for enqueue(); the
// files are removed with this object, so hand them over (enqueue() moves
// them into the spool) before it goes.
class ComposedFax {
public:
    explicit ComposedFax(const std::filesystem::path& scratch_dir);
    ~ComposedFax();
    ComposedFax(const ComposedFax&) = delete;
    ComposedFax& operator=(const ComposedFax&) = delete;
    std::filesystem::path document;
    std::filesystem::path narrow_document;  // empty: no page is wider than 1728 pixels
    int pages = 0;
    double render_seconds = 0;  // wall time compose_fax() took for it, for the metrics
};

// A cover page as the settings draw it (template, logo), for the caller to
// fill in the fields. Throws ConfigurationError when the logo cannot be read.
render::CoverInfo cover_of(const CoverSettings& settings);

// THE fax-document builder of every front end (submit, `faxgw send`, the
// milter, the poller): renders each part once into a scratch file of its
// own, then for each cover (or once without) joins the cover and the parts
// page by page (one page in memory at a time) stamping the header line
// numbered over the whole fax, and adds the narrow copy for receivers
// without B4. Returns the documents in the order of options.covers. Throws
// render::Error for what is wrong with a part (a document part without
// pages is refused by name, as is a fax over render.max_pages) and
// render::ResourceError when the gateway fails (disk full, renderer timed
// out or missing).
std::vector<std::unique_ptr<ComposedFax>> compose_fax(const std::vector<DocumentPart>& parts,
                                                      const ComposeOptions& options,
                                                      const std::filesystem::path& scratch_dir);

// Parses one RFC 5322 message, applies the sender rules, renders it and
// queues one job per fax number. Never throws: every failure is a code and
// a line of text.
SubmitResult submit(std::string_view raw_message, const Envelope& envelope,
                    const Settings& settings, faxcore::Queue& queue);

// What a front end that sees the recipients one by one (a milter at RCPT
// TO) can decide before the message has come. fax: `address` is in a fax
// domain; then verdict queued accepts it, anything else refuses it with
// `message`: a bad number, a sender rule that refuses this envelope (rules
// that look at From: or Authentication-Results wait for the message), or
// a sender's limit with no room left for this mail's
// `earlier_fax_recipients` + 1 jobs. submit() checks all of it again with
// the message, so an accepted recipient can still be refused there.
struct RecipientCheck {
    bool fax = false;
    Verdict verdict = Verdict::queued;
    std::string message;
    std::string number;  // E.164, when fax
};
RecipientCheck check_recipient(const std::string& address, const Envelope& envelope,
                               int earlier_fax_recipients, const Settings& settings,
                               faxcore::Queue& queue);

// The notification for one report of the queue (envelope sender <>, as
// RFC 3464 section 5.2 wants; key: the same for the same report), or nullopt when nobody is
// to be told (null sender, a kind the configuration or the mail turned off).
// `now` dates the mail. A configured copy of the fax that cannot be made
// (document gone from the spool) is left out and the text says so.
std::optional<OutgoingMail> report_mail(const faxcore::Report& report, const Settings& settings,
                                        std::int64_t now);

// Posts a notification mail to the outbox (in settings.var) for every
// pending report. Returns the number of mails posted.
int write_notifications(faxcore::Queue& queue, const Settings& settings);

// Posts every undelivered received fax to the outbox, as a mail with a PDF
// attached to the address its DID routes to (filed in that address's
// Maildir below settings.inbound_maildir when there is no relay). Returns
// the faxes handed over.
int deliver_inbound(faxcore::Queue& queue, Outbox& outbox, const Settings& settings);

// The envelope sender of the mail a job came from, read from the job's
// origin (mailgw writes it there); "" for the null sender or none known.
std::string origin_sender(std::string_view origin);

}  // namespace faxgw::mailgw
