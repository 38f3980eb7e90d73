#define BOOST_TEST_MODULE mailgw outgoing
#include <faxgw/mailgw.h>
#include <mimetic/mimetic.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
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

struct NotifyFixture {
    TempDir dir;
    FakeQueue queue;
    mailgw::Settings settings;
    NotifyFixture() {
        settings.outbox = dir.path / "outbox";
        settings.gateway_address = "fax-gateway@gw.example.org";
    }
    std::string written(const std::string& batch, faxcore::ReportKind kind) {
        return read(settings.outbox / "new" / mailgw::notification_file_name(batch, kind));
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
    std::string body(mail.body().begin(), mail.body().end());
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
    std::string body(mail.body().begin(), mail.body().end());
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
