#define BOOST_TEST_MODULE mailgw outgoing
#include <faxgw/mailgw.h>
#include <mimetic/mimetic.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
//@@SPLIT@@
#include <optional>
#include <sstream>

#include "header_field.h"
#include "inbound.h"
#include "maildir.h"
#include "notify.h"
#include "test_support.h"

using namespace faxgw;

namespace {

using faxgw::test::TempDir;

// Hands out the reports and received faxes a test sets up, and records
// what mailgw acknowledges.
class FakeQueue : public faxcore::Queue {
public:
    std::vector<faxcore::Report> reports;
    std::vector<faxcore::InboundFax> inbound;
    std::vector<std::pair<std::string, faxcore::ReportKind>> reported;
    std::vector<std::pair<std::int64_t, std::string>> delivered;

    faxcore::EnqueueResult enqueue(const faxcore::Submission&) override { return {}; }
    std::optional<faxcore::BatchDocument> find_batch(const std::string&) override {
        return std::nullopt;
    }
    bool cancel(std::int64_t) override { return false; }
    bool release(std::int64_t) override { return false; }
    bool retry(std::int64_t) override { return false; }
    void check_quotas(const std::vector<faxcore::Quota>&, int, int) override {}
    std::optional<faxcore::Job> job(std::int64_t) override { return std::nullopt; }
    std::vector<faxcore::Job> jobs() override { return {}; }
    std::vector<faxcore::Job> find_jobs(const faxcore::JobFilter&) override { return {}; }
    std::vector<faxcore::Report> pending_reports() override { return reports; }
    void mark_reported(const std::string& batch, faxcore::ReportKind kind) override {
        reported.emplace_back(batch, kind);
    }
    std::vector<faxcore::InboundFax> undelivered_inbound() override { return inbound; }
    void mark_inbound_delivered(std::int64_t id, const std::string& where) override {
        delivered.emplace_back(id, where);
    }
    std::filesystem::path scratch_dir() const override { return "/nonexistent"; }
};

std::string read(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    BOOST_TEST_REQUIRE(in.good(), "cannot open " << p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string field(const mimetic::MimeEntity& e, const std::string& name) {
    return e.header().hasField(name) ? e.header().field(name).value() : std::string("(missing)");
}

bool all_crlf(const std::string& mail) {
    for (std::size_t i = 0; i < mail.size(); ++i)
        if (mail[i] == '\n' && (i == 0 || mail[i - 1] != '\r')) return false;
    return true;
}

faxcore::Attempt attempt(faxcore::Outcome outcome, int confirmed) {
    faxcore::Attempt a;
    a.number = 1;
    a.outcome = outcome;
    a.pages_confirmed = confirmed;
    return a;
}

faxcore::Job job(const std::string& number, faxcore::JobState state, int pages, int confirmed,
                 std::vector<faxcore::Attempt> attempts) {
    faxcore::Job j;
    j.number = number;
    j.state = state;
    j.pages = pages;
    j.pages_confirmed = confirmed;
    j.attempts = std::move(attempts);
    return j;
}

std::string origin(const std::string& sender) {
    return nlohmann::json{{"message_id", "<m1@example.org>"},
                          {"sender", sender},
                          {"subject", "Quarterly figures"},
                          {"recipients", {{{"number", "+15551002"}, {"name", "jane.doe"}}}}}
        .dump();
}

// Python's email package reads a written mail: an independent parser says
// what a mail client or a script would see. It prints JSON: the top type,
// the report-type, the parts' types, the first text/plain part decoded, the
// per-message and per-recipient fields of message/delivery-status, every
// defect found, and the attachments (saved into `dir`).
const char* const python_reader = R"py(
import email, email.policy, json, os, struct, sys, zlib

def read_png(data):
    # Every chunk's CRC, the header, and the pixel data inflated whole:
    # one byte of filter type per row, then the row.
    assert data[:8] == bytes([137, 80, 78, 71, 13, 10, 26, 10]), 'no PNG signature'
    at, idat, header = 8, b'', None
    while at < len(data):
        length, = struct.unpack('>I', data[at:at + 4])
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        crc, = struct.unpack('>I', data[at + 8 + length:at + 12 + length])
        assert zlib.crc32(kind + body) == crc, 'bad CRC'
        if kind == b'IHDR': header = struct.unpack('>IIBBBBB', body)
        if kind == b'IDAT': idat += body
        at += 12 + length
    width, height, depth, colour = header[:4]
    pixels = zlib.decompress(idat)
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    ok = len(pixels) == height * (1 + width * channels * depth // 8)
    return {'width': width, 'height': height, 'complete': ok}
with open(sys.argv[1], 'rb') as f:
    msg = email.message_from_binary_file(f, policy=email.policy.default)
out = {'type': msg.get_content_type(), 'report_type': msg.get_param('report-type'),
       'subject': str(msg['subject']), 'to': str(msg['to']), 'parts': [], 'text': None,
       'per_message': {}, 'recipients': [], 'defects': [], 'attachments': [], 'headers': None}
if msg.is_multipart():
    out['parts'] = [p.get_content_type() for p in msg.get_payload()]
for part in msg.walk():
    out['defects'] += [type(d).__name__ for d in part.defects]
    kind = part.get_content_type()
    if kind == 'message/delivery-status':
        blocks = part.get_payload()
        out['per_message'] = {k: str(v) for k, v in blocks[0].items()}
        out['recipients'] = [{k: str(v) for k, v in b.items()} for b in blocks[1:]]
    elif kind == 'text/rfc822-headers':
        out['headers'] = part.get_payload(decode=True).decode('utf-8', 'replace')
    elif part.get_content_disposition() == 'attachment':
        name = os.path.join(sys.argv[2], part.get_filename())
        with open(name, 'wb') as f:
            f.write(part.get_payload(decode=True))
        entry = {'type': kind, 'file': name}
        if kind == 'image/png':
            entry.update(read_png(part.get_payload(decode=True)))
        out['attachments'].append(entry)
    elif kind == 'text/plain' and out['text'] is None:
        # A base64 text part holds CRLF line ends (canonical form).
        out['text'] = part.get_content().replace('\r\n', '\n')
print(json.dumps(out))
)py";

nlohmann::json read_with_python(const std::filesystem::path& mail,
                                const std::filesystem::path& dir) {
    auto script = dir / "read_mail.py";
    std::ofstream(script) << python_reader;
    std::string command =
        "python3 '" + script.string() + "' '" + mail.string() + "' '" + dir.string() + "'";
    std::FILE* pipe = ::popen(command.c_str(), "r");
    BOOST_TEST_REQUIRE(pipe != nullptr);
    std::string out;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
        out.append(buffer, n);
    BOOST_TEST_REQUIRE(::pclose(pipe) == 0, "python3 could not read " << mail);
    return nlohmann::json::parse(out);
}

// Files the outbox's mail into the Maildirs (no relay is configured) and
// returns the file of the mail posted with `key`, or a path that does not
// exist.
std::filesystem::path filed(const mailgw::Settings& settings, const std::string& key) {
    mailgw::Outbox(settings.var).deliver_due({});
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(settings.outbox / "new", ec))
        if (e.path().filename().string().find("." + mailgw::safe_file_name(key) + "_") !=
            std::string::npos)
            return e.path();
    return settings.outbox / "new" / ("none-" + key);
}

struct NotifyFixture {
    TempDir dir;
    FakeQueue queue;
    mailgw::Settings settings;
    NotifyFixture() {
        settings.outbox = dir.path / "outbox";
        settings.var = dir.path / "var";
        settings.gateway_address = "fax-gateway@gw.example.org";
        settings.notify.delivered = true;  // what reports say, delivered ones included
    }
    std::filesystem::path file(const std::string& batch, faxcore::ReportKind kind) {
        return filed(settings, mailgw::notification_file_name(batch, kind));
    }
    std::string written(const std::string& batch, faxcore::ReportKind kind) {
        return read(file(batch, kind));
    }
    nlohmann::json parsed(const std::string& batch, faxcore::ReportKind kind) {
        return read_with_python(file(batch, kind), dir.path);
    }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(notification_for_one_sent_fax, NotifyFixture) {
    using faxcore::JobState;
    queue.reports.push_back(
        {"b1",
         faxcore::ReportKind::final,
         origin("alice@example.org"),
         {job("+15551002", JobState::done, 3, 3, {attempt(faxcore::Outcome::ok, 3)})}});
    BOOST_TEST(mailgw::write_notifications(queue, settings) == 1);
    BOOST_TEST_REQUIRE(queue.reported.size() == 1u);
    BOOST_TEST(queue.reported[0].first == "b1");
    BOOST_TEST((queue.reported[0].second == faxcore::ReportKind::final));

    std::string raw = written("b1", faxcore::ReportKind::final);
    BOOST_TEST(all_crlf(raw));
    mimetic::MimeEntity mail(raw.begin(), raw.end());
    BOOST_TEST(field(mail, "Subject") == "Fax to +15551002: sent (3 pages)");
    BOOST_TEST(field(mail, "To") == "alice@example.org");
    BOOST_TEST(field(mail, "From") == "fax-gateway@gw.example.org");
    BOOST_TEST(field(mail, "In-Reply-To") == "<m1@example.org>");
    BOOST_TEST(field(mail, "References") == "<m1@example.org>");
    BOOST_TEST(field(mail, "Auto-Submitted") == "auto-replied");
    BOOST_TEST(field(mail, "Date") != "(missing)");
    BOOST_TEST(field(mail, "Message-ID") != "(missing)");
    auto report = parsed("b1", faxcore::ReportKind::final);
    BOOST_TEST(report["defects"].empty(), report["defects"].dump());
    std::string body = report["text"].get<std::string>();
    BOOST_TEST(body.find("+15551002 (jane.doe): sent") != std::string::npos);
    BOOST_TEST(body.find("Pages confirmed: 3 of 3") != std::string::npos);
    BOOST_TEST(body.find(std::string(faxcore::describe(faxcore::Outcome::ok).text)) !=
               std::string::npos);
    BOOST_TEST(body.find("Quarterly figures") != std::string::npos);
}

// Data in an origin (from an envelope, a mail) can never end a header
// field of the notification and start one of its own.
BOOST_FIXTURE_TEST_CASE(notification_headers_hold_no_data_line_breaks, NotifyFixture) {
    using faxcore::JobState;
    auto forged = nlohmann::json::parse(origin("a@x\r\nBcc: victim@example.net"));
    forged["message_id"] = "<m1@example.org>\nBcc: other@example.net";
    queue.reports.push_back(
        {"b1",
         faxcore::ReportKind::final,
         forged.dump(),
         {job("+15551002", JobState::done, 1, 1, {attempt(faxcore::Outcome::ok, 1)})}});
    BOOST_TEST(mailgw::write_notifications(queue, settings) == 1);
    std::string raw = written("b1", faxcore::ReportKind::final);
    BOOST_TEST(all_crlf(raw));
    BOOST_TEST(raw.find("\nBcc:") == std::string::npos, raw);
    mimetic::MimeEntity mail(raw.begin(), raw.end());
    BOOST_TEST(!mail.header().hasField("Bcc"), raw);
    BOOST_TEST(field(mail, "To") == "a@x  Bcc: victim@example.net");
}

BOOST_FIXTURE_TEST_CASE(notification_for_two_numbers, NotifyFixture) {
    using faxcore::JobState;
    using faxcore::Outcome;
    queue.reports.push_back({"b2",
                             faxcore::ReportKind::final,
                             origin("alice@example.org"),
                             {job("+15551001", JobState::done, 2, 2, {attempt(Outcome::ok, 2)}),
                              job("+15551003", JobState::failed, 2, 0,
                                  {attempt(Outcome::busy, 0), attempt(Outcome::busy, 0)})}});
    BOOST_TEST(mailgw::write_notifications(queue, settings) == 1);
    std::string raw = written("b2", faxcore::ReportKind::final);
    mimetic::MimeEntity mail(raw.begin(), raw.end());
    BOOST_TEST(field(mail, "Subject") == "Fax to 2 numbers: 1 sent, 1 failed");
    auto report = parsed("b2", faxcore::ReportKind::final);
    std::string body = report["text"].get<std::string>();
    BOOST_TEST(body.find("+15551003: failed") != std::string::npos);
    BOOST_TEST(body.find("Attempts: 2") != std::string::npos);
    BOOST_TEST(body.find(std::string(faxcore::describe(Outcome::busy).text)) != std::string::npos);
    BOOST_TEST(body.find("What to do:") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(delayed_report_and_rewrite, NotifyFixture) {
    queue.reports.push_back({"b3",
                             faxcore::ReportKind::delayed,
                             origin("bob@example.org"),
                             {job("+15551003", faxcore::JobState::retry_wait, 1, 0,
                                  {attempt(faxcore::Outcome::busy, 0)})}});
    BOOST_TEST(mailgw::write_notifications(queue, settings) == 1);
    // Offered again (a crash before mark_reported): the same mail, not a second.
    BOOST_TEST(mailgw::write_notifications(queue, settings) == 1);
    mailgw::Outbox(settings.var).deliver_due({});
    auto files = std::distance(std::filesystem::directory_iterator(settings.outbox / "new"),
                               std::filesystem::directory_iterator());
    BOOST_TEST(files == 1);
    BOOST_TEST(std::filesystem::is_directory(settings.outbox / "cur"));
    BOOST_TEST(std::filesystem::is_directory(settings.outbox / "tmp"));
    std::string raw = written("b3", faxcore::ReportKind::delayed);
    mimetic::MimeEntity mail(raw.begin(), raw.end());
    BOOST_TEST(field(mail, "Subject") == "Fax to +15551003: delayed, will retry");
}

BOOST_FIXTURE_TEST_CASE(null_sender_is_marked_but_not_written, NotifyFixture) {
    queue.reports.push_back({"b4",
                             faxcore::ReportKind::final,
                             origin(""),
                             {job("+15551001", faxcore::JobState::done, 1, 1, {})}});
    BOOST_TEST(mailgw::write_notifications(queue, settings) == 0);
    BOOST_TEST(queue.reported.size() == 1u);
    BOOST_TEST(!std::filesystem::exists(
        filed(settings, mailgw::notification_file_name("b4", faxcore::ReportKind::final))));
}

faxcore::InboundFax received(const std::string& did, const std::string& caller = "",
                             const std::string& csid = "") {
    faxcore::InboundFax fax;
    fax.did = did;
    fax.caller = caller;
    fax.remote_csid = csid;
    return fax;
}

mailgw::InboundRoute route(const std::string& did, const std::string& address,
                           const std::string& caller = "*", const std::string& csid = "*") {
    mailgw::InboundRoute r;
    r.did = did;
    r.caller = caller;
    r.csid = csid;
    r.addresses = {address};
    return r;
}

std::string routed(const faxcore::InboundFax& fax, const mailgw::Settings& s) {
    const auto& r = mailgw::inbound_route(fax, s);
    return r.action == mailgw::InboundRoute::Action::quarantine ? "quarantine" : r.addresses.at(0);
}

BOOST_AUTO_TEST_CASE(inbound_routes_first_match_by_did_caller_and_csid) {
    mailgw::Settings s;
    BOOST_TEST(routed(received("+15550100"), s) == "postmaster@localhost");
    auto junk = route("*", "", "+1900*");
    junk.action = mailgw::InboundRoute::Action::quarantine;
    s.inbound_routes = {junk, route("*", "sales@example.org", "*", "ACME*"),
                        route("+15550100", "office@example.org"),
                        route("5550199", "lab@example.org"), route("*", "all@example.org")};
    BOOST_TEST(routed(received("+15550100"), s) == "office@example.org");
    BOOST_TEST(routed(received("15550100"), s) == "office@example.org");  // same digits
    BOOST_TEST(routed(received("5550199"), s) == "lab@example.org");
    BOOST_TEST(routed(received("+15550123"), s) == "all@example.org");
    BOOST_TEST(routed(received("+15550100", "+19005551234"), s) == "quarantine");
    BOOST_TEST(routed(received("+15550100", "+15551001", " acme corp  "), s) ==
               "sales@example.org");  // trimmed, any case
}

// The mails the outbox filed in `maildir`/new.
std::vector<std::string> filed_mails(const std::filesystem::path& maildir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(maildir / "new", ec))
        out.push_back(read(e.path()));
    return out;
}

BOOST_AUTO_TEST_CASE(inbound_fax_becomes_mail_with_pdf) {
    TempDir dir;
    mailgw::Settings settings;
    settings.inbound_maildir = dir.path / "mail";
    settings.inbound_routes = {route("+15550100", "office@example.org")};
    mailgw::Outbox outbox(dir.path / "var");
    auto tiff = dir.path / "in.tif";
    render::write_fax_tiff(render::render_text("Hello from the far end\f2nd page", settings.render),
                           tiff);

    FakeQueue queue;
    faxcore::InboundFax fax;
    fax.id = 7;
    fax.did = "+15550100";
    fax.caller = "+15551001";
    fax.remote_csid = "SAMPLE CSID";
    fax.pages = render::count_tiff_pages(tiff);
    fax.complete = true;
    fax.t30_text = "OK";
    fax.line_seconds = 21.4;
    fax.bit_rate = 14400;
    fax.received_at = 1741000000;
    fax.tiff = tiff;
    faxcore::InboundFax missing = fax;
    missing.id = 8;
    missing.tiff = dir.path / "gone.tif";
    queue.inbound = {fax, missing};

    // The broken one is reported, the good one delivered anyway.
    BOOST_CHECK_THROW(mailgw::deliver_inbound(queue, outbox, settings), std::exception);
    BOOST_TEST_REQUIRE(queue.delivered.size() == 1u);
    BOOST_TEST(queue.delivered[0].first == 7);
    BOOST_TEST(queue.delivered[0].second == "outbox: office@example.org");
    BOOST_TEST(outbox.deliver_due(mailgw::RelaySettings{}).sent == 1);
    auto maildir = settings.inbound_maildir / "office@example.org";
    BOOST_TEST(std::filesystem::is_empty(maildir / "tmp"));
    const auto mails = filed_mails(maildir);
    BOOST_TEST_REQUIRE(mails.size() == 1u);

    std::string raw = mails[0];
    BOOST_TEST(all_crlf(raw));
    mimetic::MimeEntity mail(raw.begin(), raw.end());
    BOOST_TEST(field(mail, "MIME-Version") == "1.0");
    BOOST_TEST(field(mail, "Subject") ==
               "Fax from +15551001 (" + std::to_string(fax.pages) + " pages)");
    BOOST_TEST(field(mail, "To") == "office@example.org");
    const auto& parts = mail.body().parts();
    BOOST_TEST_REQUIRE(parts.size() == 2u);
    const mimetic::MimeEntity& text = *parts.front();
    const mimetic::MimeEntity& pdf = *parts.back();
    std::string report(text.body().begin(), text.body().end());
    BOOST_TEST(report.find("SAMPLE CSID") != std::string::npos);
    BOOST_TEST(report.find("14400") != std::string::npos);
    BOOST_TEST(pdf.header().contentType().subtype() == "pdf");
    BOOST_TEST(pdf.header().contentDisposition().param("filename") ==
               "fax-20250303-110640-15551001.pdf");
    std::string bytes;
    mimetic::Base64::Decoder decoder;
    mimetic::decode(pdf.body().begin(), pdf.body().end(), decoder, std::back_inserter(bytes));
    BOOST_TEST(bytes.starts_with("%PDF-"));

    // Delivering again (the mark was lost) posts nothing new.
    queue.inbound = {fax};
    BOOST_TEST(mailgw::deliver_inbound(queue, outbox, settings) == 1);
    BOOST_TEST(outbox.deliver_due(mailgw::RelaySettings{}).sent == 0);
    BOOST_TEST(filed_mails(maildir).size() == 1u);
}

BOOST_AUTO_TEST_CASE(inbound_routes_mail_several_addresses_in_tiff_and_file_and_quarantine) {
    TempDir dir;
    mailgw::Settings settings;
    settings.inbound_maildir = dir.path / "mail";
    settings.quarantine = dir.path / "quarantine";
    auto both = route("+15550100", "office@example.org");
    both.addresses.push_back("boss@example.org");
    both.format = mailgw::InboundRoute::Format::tiff;
    both.folder = dir.path / "archive";
    auto junk = route("*", "", "+1900*");
    junk.action = mailgw::InboundRoute::Action::quarantine;
    settings.inbound_routes = {junk, both};
    mailgw::Outbox outbox(dir.path / "var");
    auto tiff = dir.path / "in.tif";
    render::write_fax_tiff(render::render_text("Hello", settings.render), tiff);
    FakeQueue queue;
    faxcore::InboundFax fax = received("+15550100", "+15551001");
    fax.id = 1;
    fax.pages = 1;
    fax.received_at = 1741000000;
    fax.tiff = tiff;
    faxcore::InboundFax spam = received("+15550100", "+19005550000");
    spam.id = 2;
    spam.received_at = 1741000100;
    spam.tiff = tiff;
    queue.inbound = {fax, fax, spam};  // the first twice: two faxes at the same second
    queue.inbound[1].id = 3;
    BOOST_TEST(mailgw::deliver_inbound(queue, outbox, settings) == 3);
    BOOST_TEST(outbox.deliver_due(mailgw::RelaySettings{}).sent == 4);  // 2 faxes x 2 addresses
    for (const char* who : {"office@example.org", "boss@example.org"}) {
        const auto mails = filed_mails(settings.inbound_maildir / who);
        BOOST_TEST_REQUIRE(mails.size() == 2u);
        mimetic::MimeEntity mail(mails[0].begin(), mails[0].end());
        BOOST_TEST(field(mail, "To") == who);
        const auto& parts = mail.body().parts();
        BOOST_TEST_REQUIRE(parts.size() == 2u);  // text and TIFF, no PDF
        BOOST_TEST(parts.back()->header().contentType().type() == "image");
        BOOST_TEST(parts.back()->header().contentType().subtype() == "tiff");
    }
    // Filed twice under names that do not collide.
    std::set<std::string> archived;
    for (const auto& e : std::filesystem::directory_iterator(dir.path / "archive"))
        archived.insert(e.path().filename().string());
    BOOST_TEST(archived == (std::set<std::string>{"fax-20250303-110640-15551001.tif",
                                                  "fax-20250303-110640-15551001-2.tif"}));
    // The junk fax is kept, mailed to nobody.
    BOOST_TEST(queue.delivered.back().second.starts_with("quarantine: "));
    BOOST_TEST(
        std::filesystem::exists(settings.quarantine / "fax-20250303-110820-19005550000.tif"));
}

namespace {

faxcore::Attempt call(int number, faxcore::Outcome outcome, int first_page, int confirmed) {
    faxcore::Attempt a;
    a.number = number;
    a.started_at = 1741000000 + number * 600;
    a.outcome = outcome;
    a.first_page = first_page;
    a.pages_confirmed = confirmed;
    if (confirmed > 0) {
        a.line_seconds = 42.3;
        a.bit_rate = 14400;
        a.ecm = true;
        a.compression = "T.6";
        a.remote_csid = "LAW OFFICE";
        a.t30_code = outcome == faxcore::Outcome::ok ? 0 : 8;
        a.t30_text = outcome == faxcore::Outcome::ok ? "OK" : "call dropped";
        a.transport = "t38";
    }
    return a;
}

std::string rich_origin(const std::string& sender, std::optional<bool> notify_success) {
    nlohmann::json o = {
        {"message_id", "<m1@example.org>"},
        {"sender", sender},
        {"subject", "Quarterly figures"},
        {"date", "Mon, 3 Mar 2025 09:30:00 +0100"},
        {"headers",
         "From: Alice <alice@example.org>\r\nSubject: Quarterly figures\r\n"
         "Message-ID: <m1@example.org>\r\n"},
        {"recipients",
         {{{"number", "+15551002"},
           {"name", "jane.doe"},
           {"address", "jane.doe=5551002@fax.example.com"}},
          {{"number", "+15551003"}, {"name", ""}, {"address", "5551003@fax.example.com"}},
          {{"number", "+15551005"}, {"name", ""}, {"address", "5551005@fax.example.com"}}}}};
    o["notify_success"] = notify_success ? nlohmann::json(*notify_success) : nlohmann::json();
    return o.dump();
}

faxcore::Job timed(faxcore::Job j) {
    j.created_at = 1741000000;
    return j;
}

const nlohmann::json& recipient(const nlohmann::json& report, const std::string& final_recipient) {
    for (const auto& r : report["recipients"])
        if (r.value("Final-Recipient", "") == final_recipient) return r;
    BOOST_FAIL("no recipient " << final_recipient << " in " << report["recipients"].dump());
    throw std::logic_error("unreachable");
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

// A failed mail to three numbers: one went through, one hung up part-way,
// one stayed busy. Python's email package reads a multipart/report whose
// delivery-status part gives each number its own Action and Status.
BOOST_FIXTURE_TEST_CASE(a_failed_job_is_a_dsn_per_recipient, NotifyFixture) {
    using faxcore::JobState;
    using faxcore::Outcome;
    queue.reports.push_back(
        {"b5",
         faxcore::ReportKind::final,
         rich_origin("alice@example.org", std::nullopt),
         {timed(job("+15551002", JobState::done, 3, 3, {call(1, Outcome::ok, 1, 3)})),
          timed(job("+15551003", JobState::failed, 3, 0,
                    {call(1, Outcome::busy, 1, 0), call(2, Outcome::busy, 1, 0),
                     call(3, Outcome::busy, 1, 0)})),
          timed(job("+15551005", JobState::failed, 5, 2,
                    {call(1, Outcome::hangup, 1, 2), call(2, Outcome::hangup, 3, 0)}))}});
    BOOST_TEST(mailgw::write_notifications(queue, settings) == 1);
    BOOST_TEST(all_crlf(written("b5", faxcore::ReportKind::final)));
    auto report = parsed("b5", faxcore::ReportKind::final);
    BOOST_TEST_INFO(report.dump(2));
    BOOST_TEST(report["defects"].empty());
    BOOST_TEST(report["type"] == "multipart/report");
    BOOST_TEST(report["report_type"] == "delivery-status");
    BOOST_TEST(report["parts"] ==
               nlohmann::json({"text/plain", "message/delivery-status", "text/rfc822-headers"}));
    BOOST_TEST(report["subject"] == "Fax to 3 numbers: 1 sent, 2 failed");
    BOOST_TEST(report["per_message"]["Reporting-MTA"] == "dns; gw.example.org");
    BOOST_TEST(report["per_message"].contains("Arrival-Date"));
    BOOST_TEST_REQUIRE(report["recipients"].size() == 3u);

    const auto& sent = recipient(report, "rfc822; jane.doe=5551002@fax.example.com");
    BOOST_TEST(sent["Action"] == "delivered");
    BOOST_TEST(sent["Status"] == "2.0.0");
    const auto& busy = recipient(report, "rfc822; 5551003@fax.example.com");
    BOOST_TEST(busy["Action"] == "failed");
    BOOST_TEST(busy["Status"] == "5.4.1");
    BOOST_TEST(busy["Diagnostic-Code"] ==
               "X-Fax; " + std::string(faxcore::describe(Outcome::busy).text));
    BOOST_TEST(busy.contains("Last-Attempt-Date"));
    BOOST_TEST(!busy.contains("Will-Retry-Until"));
    const auto& hung_up = recipient(report, "rfc822; 5551005@fax.example.com");
    BOOST_TEST(hung_up["Action"] == "failed");
    BOOST_TEST(hung_up["Status"] == "5.4.2");

    // In words, per number, with the technical details of each call.
    std::string text = report["text"].get<std::string>();
    BOOST_TEST(has(text, "+15551003: failed\n  What happened: busy after 3 tries\n"));
    BOOST_TEST(has(text, "What happened: the far end hung up after page 2 of 5 (2 tries)"));
    BOOST_TEST(has(text, "What happened: delivered, 3 of 3 pages confirmed by \"LAW OFFICE\""));
    BOOST_TEST(has(text,
                   "Try 1: 2025-03-03 11:16:40 UTC to 2025-03-03 11:17:22 UTC, hangup; "
                   "pages 1 to 2 confirmed; line time 42 s; 14400 bit/s; ECM on; "
                   "compression T.6; remote CSID \"LAW OFFICE\"; T.30 code 8 (call "
                   "dropped); by t38"));
    BOOST_TEST(has(report["headers"].get<std::string>(), "Subject: Quarterly figures"));

    // The envelope: to the sender, from the null sender (RFC 3464 2.1).
    auto mail = mailgw::report_mail(queue.reports[0], settings, 1741003000);
    BOOST_TEST_REQUIRE(mail.has_value());
    BOOST_TEST(mail->sender == "");
    BOOST_TEST((mail->recipients == std::vector<std::string>{"alice@example.org"}));
    BOOST_TEST(mail->key == mailgw::notification_file_name("b5", faxcore::ReportKind::final));

    // After `faxgw jobs --retry`, the batch's second final report is a mail
    // of its own: another key and Message-ID, not a duplicate the outbox drops.
    auto retried = queue.reports[0];
    retried.jobs[0].attempts_before_retry = 3;
    auto again = mailgw::report_mail(retried, settings, 1741003000);
    BOOST_TEST_REQUIRE(again.has_value());
    BOOST_TEST(again->key == mail->key + "-retry3");
    BOOST_TEST(mailgw::header_value(again->message, "Message-ID") !=
               mailgw::header_value(mail->message, "Message-ID"));
}

// Each outcome's status code, one place: the class from the job's state,
// the detail from how its last call ended.
BOOST_AUTO_TEST_CASE(status_codes_per_outcome) {
    using faxcore::JobState;
    using faxcore::Outcome;
    const std::vector<std::pair<Outcome, std::string>> expected = {
        {Outcome::busy, "4.1"},           {Outcome::no_answer, "4.1"},
        {Outcome::hangup, "4.2"},         {Outcome::watchdog, "4.2"},
        {Outcome::protocol_error, "5.0"}, {Outcome::incompatible, "6.0"},
        {Outcome::bad_document, "6.0"},   {Outcome::no_route, "1.1"},
        {Outcome::network_error, "4.0"},  {Outcome::interrupted, "3.0"}};
    for (const auto& [outcome, detail] : expected) {
        BOOST_TEST_INFO(faxcore::describe(outcome).name);
        auto failed = mailgw::recipient_status(
            job("+15551003", JobState::failed, 1, 0, {attempt(outcome, 0)}));
        BOOST_TEST(failed.action == "failed");
        BOOST_TEST(failed.status == "5." + detail);
        auto waiting = mailgw::recipient_status(
            job("+15551003", JobState::retry_wait, 1, 0, {attempt(outcome, 0)}));
        BOOST_TEST(waiting.action == "delayed");
        BOOST_TEST(waiting.status == "4." + detail);
    }
    // Delivered means every page confirmed: a job "done" short of pages is not.
    auto whole =
        mailgw::recipient_status(job("+1", JobState::done, 2, 2, {attempt(Outcome::ok, 2)}));
    BOOST_TEST(whole.action == "delivered");
    BOOST_TEST(whole.status == "2.0.0");
    auto short_of_pages =
        mailgw::recipient_status(job("+1", JobState::done, 3, 2, {attempt(Outcome::ok, 2)}));
    BOOST_TEST(short_of_pages.action == "failed");
    BOOST_TEST(short_of_pages.status.starts_with("5."));
    faxcore::Report report{"b",
                           faxcore::ReportKind::final,
                           "{}",
                           {job("+1", JobState::done, 3, 2, {attempt(Outcome::ok, 2)})}};
    BOOST_TEST((mailgw::kind_of(report) == mailgw::NotifyKind::failed));
    BOOST_TEST(mailgw::recipient_status(job("+1", JobState::cancelled, 1, 0, {})).status ==
               "5.0.0");
}

BOOST_FIXTURE_TEST_CASE(delayed_report_says_when_and_until_when, NotifyFixture) {
    auto waiting = timed(job("+15551003", faxcore::JobState::retry_wait, 2, 0,
                             {call(1, faxcore::Outcome::busy, 1, 0)}));
    waiting.next_attempt_at = 1741003600;
    queue.reports.push_back({"b6",
                             faxcore::ReportKind::delayed,
                             rich_origin("bob@example.org", std::nullopt),
                             {waiting}});
    settings.notify.max_attempts = 3;
    settings.notify.max_retry_delay = 600;
    settings.notify.max_call_seconds = 100;
    BOOST_TEST(mailgw::write_notifications(queue, settings) == 1);
    auto report = parsed("b6", faxcore::ReportKind::delayed);
    BOOST_TEST_INFO(report.dump(2));
    BOOST_TEST(report["type"] == "multipart/report");
    BOOST_TEST_REQUIRE(report["recipients"].size() == 1u);
    const auto& r = report["recipients"][0];
    BOOST_TEST(r["Action"] == "delayed");
    BOOST_TEST(r["Status"] == "4.4.1");
    // Next try, one more try after it (3 in all): each at most 600 s apart
    // and 100 s long.
    BOOST_TEST(r["Will-Retry-Until"] == mailgw::rfc5322_date(1741003600 + 600 + 100 + 100));
    std::string text = report["text"].get<std::string>();
    BOOST_TEST(has(text, "Next try: 2025-03-03 12:06:40 UTC"));
    BOOST_TEST(has(text, "The gateway keeps trying"));

    // Turned off: nothing written, and the report is acknowledged all the same.
    queue.reports[0].batch = "b7";
    queue.reported.clear();
    settings.notify.delayed = false;
    BOOST_TEST(mailgw::write_notifications(queue, settings) == 0);
    BOOST_TEST(queue.reported.size() == 1u);
    BOOST_TEST(!std::filesystem::exists(file("b7", faxcore::ReportKind::delayed)));
}

// Whether a fax that went through is reported: the mail's notify= option
// when it gave one, else notify.delivered.
BOOST_FIXTURE_TEST_CASE(delivered_report_is_opt_in, NotifyFixture) {
    auto sent = timed(
        job("+15551002", faxcore::JobState::done, 3, 3, {call(1, faxcore::Outcome::ok, 1, 3)}));
    struct Case {
        bool configured;
        std::optional<bool> option;
        bool written;
    };
    int n = 0;
    for (auto c : {Case{true, std::nullopt, true}, Case{false, std::nullopt, false},
                   Case{false, true, true}, Case{true, false, false}}) {
        std::string batch = "d" + std::to_string(++n);
        settings.notify.delivered = c.configured;
        queue.reports = {{batch,
                          faxcore::ReportKind::final,
                          rich_origin("alice@example.org", c.option),
                          {sent}}};
        BOOST_TEST_INFO("case " << n);
        BOOST_TEST(mailgw::write_notifications(queue, settings) == (c.written ? 1 : 0));
        BOOST_TEST(std::filesystem::exists(file(batch, faxcore::ReportKind::final)) == c.written);
    }
    // Who received it, when, how long and how many pages.
    auto report = parsed("d1", faxcore::ReportKind::final);
    BOOST_TEST_INFO(report.dump(2));
    BOOST_TEST(report["type"] == "multipart/report");
    BOOST_TEST(report["subject"] == "Fax to +15551002: sent (3 pages)");
    BOOST_TEST(report["recipients"][0]["Action"] == "delivered");
    std::string text = report["text"].get<std::string>();
    BOOST_TEST(has(text, "Received by: LAW OFFICE\n"));
    BOOST_TEST(has(text, "Time: 2025-03-03 11:16:40 UTC\n"));
    BOOST_TEST(has(text, "Duration: 42 s\n"));
    BOOST_TEST(has(text, "Pages confirmed: 3 of 3\n"));
}

// The sent fax on a delivered report: the first page as a PNG, or the
// whole fax as a PDF, each read back by a program of its own.
BOOST_FIXTURE_TEST_CASE(delivered_report_attaches_the_fax, NotifyFixture) {
    auto tiff = dir.path / "sent.tif";
    render::Options fine;
    render::write_fax_tiff(render::render_text("First page\fSecond page", fine), tiff);
    auto sent = timed(
        job("+15551002", faxcore::JobState::done, 2, 2, {call(1, faxcore::Outcome::ok, 1, 2)}));
    sent.document = tiff;

    settings.notify.attach = mailgw::NotifyAttachment::png;
    queue.reports = {
        {"p1", faxcore::ReportKind::final, rich_origin("a@example.org", std::nullopt), {sent}}};
    BOOST_TEST(mailgw::write_notifications(queue, settings) == 1);
    auto report = parsed("p1", faxcore::ReportKind::final);
    BOOST_TEST_INFO(report.dump(2));
    BOOST_TEST(report["defects"].empty());
    BOOST_TEST(report["parts"][0] == "multipart/mixed");
    BOOST_TEST(has(report["text"].get<std::string>(), "Received by: LAW OFFICE"));
    BOOST_TEST_REQUIRE(report["attachments"].size() == 1u);
    const auto& png = report["attachments"][0];
    BOOST_TEST(png["type"] == "image/png");
    BOOST_TEST(png["complete"] == true);
    BOOST_TEST(png["width"] == render::fax_width_px / 4);
    // An A4 page, 297 by 210 mm, stays an A4 page.
    const double aspect = png["height"].get<double>() / png["width"].get<double>();
    BOOST_TEST(std::abs(aspect - 297.0 / 210.0) < 0.05, "aspect " << aspect);
    BOOST_TEST(std::filesystem::file_size(png["file"].get<std::string>()) < 100'000u);

    settings.notify.attach = mailgw::NotifyAttachment::pdf;
    queue.reports[0].batch = "p2";
    BOOST_TEST(mailgw::write_notifications(queue, settings) == 1);
    report = parsed("p2", faxcore::ReportKind::final);
    BOOST_TEST_REQUIRE(report["attachments"].size() == 1u);
    BOOST_TEST(report["attachments"][0]["type"] == "application/pdf");
    std::string command =
        "pdfinfo '" + report["attachments"][0]["file"].get<std::string>() + "' 2>&1";
    std::FILE* pipe = ::popen(command.c_str(), "r");
    BOOST_TEST_REQUIRE(pipe != nullptr);
    std::string info;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
        info.append(buffer, n);
    BOOST_TEST(::pclose(pipe) == 0, info);
    auto pages = info.find("Pages:");
    BOOST_TEST_REQUIRE(pages != std::string::npos, info);
    BOOST_TEST(std::stoi(info.substr(pages + 6)) == 2, info);

    // A document gone from the spool: the report goes out without the copy.
    sent.document = dir.path / "gone.tif";
    queue.reports = {
        {"p3", faxcore::ReportKind::final, rich_origin("a@example.org", std::nullopt), {sent}}};
    BOOST_TEST(mailgw::write_notifications(queue, settings) == 1);
    report = parsed("p3", faxcore::ReportKind::final);
    BOOST_TEST(report["attachments"].empty());
    BOOST_TEST(has(report["text"].get<std::string>(), "could not be attached"));
}

BOOST_FIXTURE_TEST_CASE(templates_shape_subject_and_body, NotifyFixture) {
    settings.notify.failed_text = {
        "Faxfehler für {to}: {summary}",
        "Grüße vom Faxgateway zu „{subject}“.\n\n{details}-- {gateway}\n"};
    queue.reports = {{"t1",
                      faxcore::ReportKind::final,
                      rich_origin("alice@example.org", std::nullopt),
                      {timed(job("+15551003", faxcore::JobState::failed, 1, 0,
                                 {call(1, faxcore::Outcome::no_answer, 1, 0)}))}}};
    BOOST_TEST(mailgw::write_notifications(queue, settings) == 1);
    std::string raw = written("t1", faxcore::ReportKind::final);
    BOOST_TEST(all_crlf(raw));
    BOOST_TEST(has(raw, "Subject: =?UTF-8?B?"));  // RFC 2047: headers stay ASCII
    auto report = parsed("t1", faxcore::ReportKind::final);
    BOOST_TEST_INFO(report.dump(2));
    BOOST_TEST(report["defects"].empty());
    BOOST_TEST(report["subject"] == "Faxfehler für +15551003: failed");
    std::string text = report["text"].get<std::string>();
    BOOST_TEST(
        text.starts_with("Grüße vom Faxgateway zu „Quarterly figures“.\n\n+15551003: failed\n"));
    BOOST_TEST(has(text, "What happened: no answer\n"));
    BOOST_TEST(has(text, "-- fax-gateway@gw.example.org\n"));
    // The machine-readable part does not change with the words.
    BOOST_TEST(report["recipients"][0]["Status"] == "5.4.1");

    BOOST_CHECK_NO_THROW(
        mailgw::check_template(mailgw::default_template(mailgw::NotifyKind::delayed).body));
    BOOST_CHECK_THROW(mailgw::check_template("Fax to {numbre}"), std::invalid_argument);
    BOOST_TEST(mailgw::fill_template("{to} {unknown} {", {{"to", "+1"}}) == "+1 {unknown} {");
}

BOOST_FIXTURE_TEST_CASE(accepted_report_names_pages_and_first_try, NotifyFixture) {
    auto queued = job("+15551002", faxcore::JobState::queued, 4, 0, {});
    queued.id = 41;
    queued.next_attempt_at = 1741003600;
    auto held = job("+15551003", faxcore::JobState::held, 4, 0, {});
    held.id = 42;
    auto origin = rich_origin("alice@example.org", std::nullopt);
    BOOST_TEST(!mailgw::accepted_mail("b8", origin, {queued, held}, settings, 1741000000));
    settings.notify.accepted = true;
    auto mail = mailgw::accepted_mail("b8", origin, {queued, held}, settings, 1741000000);
    BOOST_TEST_REQUIRE(mail.has_value());
    BOOST_TEST((mail->recipients == std::vector<std::string>{"alice@example.org"}));
    BOOST_TEST(mail->sender == "");
    mailgw::send_notification(*mail, settings);
    auto report = read_with_python(filed(settings, mail->key), dir.path);
    BOOST_TEST_INFO(report.dump(2));
    BOOST_TEST(report["type"] == "text/plain");
    BOOST_TEST(report["subject"] == "Fax to 2 numbers: 2 queued");
    std::string text = report["text"].get<std::string>();
    BOOST_TEST(has(text, "It is queued for sending."));
    BOOST_TEST(has(text,
                   "+15551002 (jane.doe): queued\n  What happened: not tried yet\n"
                   "  Pages: 4\n  First try: 2025-03-03 12:06:40 UTC\n"));
    BOOST_TEST(has(text, "+15551003: queued\n  What happened: held for an administrator\n"));
    // Another delivery of the same mail, for other numbers: a mail of its own.
    auto other = mailgw::accepted_mail("b8", origin, {held}, settings, 1741000000);
    BOOST_TEST(other->key != mail->key);
}
