#define BOOST_TEST_MODULE mailgw outgoing
#include <faxgw/mailgw.h>
#include <mimetic/mimetic.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "inbound.h"
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
    std::optional<faxcore::Job> job(std::int64_t) override { return std::nullopt; }
    std::vector<faxcore::Job> jobs() override { return {}; }
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
import email, email.policy, json, os, sys
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
        out['attachments'].append({'type': kind, 'file': name})
    elif kind == 'text/plain' and out['text'] is None:
        out['text'] = part.get_content()
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
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
    BOOST_TEST_REQUIRE(::pclose(pipe) == 0, "python3 could not read " << mail);
    return nlohmann::json::parse(out);
}

struct NotifyFixture {
    TempDir dir;
    FakeQueue queue;
    mailgw::Settings settings;
    NotifyFixture() {
        settings.outbox = dir.path / "outbox";
        settings.gateway_address = "fax-gateway@gw.example.org";
    }
    std::filesystem::path file(const std::string& batch, faxcore::ReportKind kind) {
        return settings.outbox / "new" / mailgw::notification_file_name(batch, kind);
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
    // Offered again (a crash before mark_reported): the same file, not a second.
    BOOST_TEST(mailgw::write_notifications(queue, settings) == 1);
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
    BOOST_TEST(
        !std::filesystem::exists(settings.outbox / "new" /
                                 mailgw::notification_file_name("b4", faxcore::ReportKind::final)));
}

BOOST_AUTO_TEST_CASE(inbound_routes) {
    mailgw::Settings s;
    BOOST_TEST(mailgw::inbound_address("+15550100", s) == "postmaster@localhost");
    s.inbound_routes = {{"+15550100", "office@example.org"},
                        {"5550199", "lab@example.org"},
                        {"*", "all@example.org"}};
    BOOST_TEST(mailgw::inbound_address("+15550100", s) == "office@example.org");
    BOOST_TEST(mailgw::inbound_address("15550100", s) == "office@example.org");
    BOOST_TEST(mailgw::inbound_address("5550199", s) == "lab@example.org");
    BOOST_TEST(mailgw::inbound_address("+15550123", s) == "all@example.org");
}

BOOST_AUTO_TEST_CASE(inbound_fax_becomes_mail_with_pdf) {
    TempDir dir;
    mailgw::Settings settings;
    settings.inbound_maildir = dir.path / "mail";
    settings.inbound_routes = {{"+15550100", "office@example.org"}};
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
    BOOST_CHECK_THROW(mailgw::deliver_inbound(queue, settings), std::exception);
    BOOST_TEST_REQUIRE(queue.delivered.size() == 1u);
    BOOST_TEST(queue.delivered[0].first == 7);
    auto maildir = settings.inbound_maildir / "office@example.org";
    BOOST_TEST(queue.delivered[0].second ==
               (maildir / "new" / mailgw::inbound_file_name(7)).string());
    BOOST_TEST(std::filesystem::is_empty(maildir / "tmp"));

    std::string raw = read(queue.delivered[0].second);
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
    BOOST_TEST(pdf.header().contentDisposition().param("filename") == "fax-7.pdf");
    std::string bytes;
    mimetic::Base64::Decoder decoder;
    mimetic::decode(pdf.body().begin(), pdf.body().end(), decoder, std::back_inserter(bytes));
    BOOST_TEST(bytes.starts_with("%PDF-"));

    // Delivering again (the mark was lost) replaces the same file.
    queue.inbound = {fax};
    BOOST_TEST(mailgw::deliver_inbound(queue, settings) == 1);
    auto files = std::distance(std::filesystem::directory_iterator(maildir / "new"),
                               std::filesystem::directory_iterator());
    BOOST_TEST(files == 1);
}
