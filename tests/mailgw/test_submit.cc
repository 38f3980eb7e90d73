#define BOOST_TEST_MODULE mailgw submit
#include <faxgw/mailgw.h>
#include <faxgw/render.h>
#include <mimetic/mimetic.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ocr.h"
#include "test_support.h"

using namespace faxgw;
using mailgw::ExitCode;
using mailgw::Verdict;

namespace {

using faxgw::test::TempDir;
std::string sample(const std::string& name) { return faxgw::test::sample_mail(name); }

// A real queue in a temp dir, the default sender rules, the sample domain.
struct Fixture {
    TempDir dir;
    std::unique_ptr<faxcore::Queue> queue = faxcore::Queue::open(dir.path / "var");
    mailgw::Settings settings;
    Fixture() {
        settings.rules = mailgw::default_rules();
        settings.var = dir.path / "var";  // the outbox of notices
    }

    mailgw::SubmitResult submit(const std::string& raw, const std::string& sender,
                                std::vector<std::string> recipients) {
        mailgw::Envelope envelope{sender, "127.0.0.1", "", std::move(recipients)};
        return mailgw::submit(raw, envelope, settings, *queue);
    }
    bool scratch_empty() const {
        auto dir = queue->scratch_dir();
        return !std::filesystem::exists(dir) || std::filesystem::is_empty(dir);
    }
};

std::string mail(const std::string& headers, const std::string& body) {
    return "From: a@example.org\nTo: 5551001@fax.example.com\nSubject: t\n"
           "Date: Mon, 3 Mar 2025 09:30:00 +0100\n" +
           headers + "\n" + body;
}

// A multipart/mixed mail with boundary B of `parts` (each opening with its
// "--B" line), closed; `headers` go before the MIME ones.
std::string multipart(const std::string& parts, const std::string& headers = "") {
    return mail(headers + "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n",
                parts + "--B--\n");
}

// One MIME part of a multipart/mixed body with boundary B, base64 encoded.
std::string attachment(const std::string& type, const std::string& name, const std::string& bytes) {
    std::string encoded;
    mimetic::Base64::Encoder encoder;
    mimetic::encode(bytes.begin(), bytes.end(), encoder, std::back_inserter(encoded));
    return "--B\nContent-Type: " + type + "; name=" + name +
           "\nContent-Transfer-Encoding: base64\n\n" + encoded + "\n";
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(submit, Fixture)

BOOST_AUTO_TEST_CASE(plain_text_is_queued) {
    auto r = submit(sample("plain-text.eml"), "juergen@example.org", {"5551001@fax.example.com"});
    BOOST_TEST_INFO(r.message);
    BOOST_TEST((r.code == ExitCode::ok));
    BOOST_TEST(r.enqueued.jobs.size() == 1u);
    BOOST_TEST(r.enqueued.created == 1);
    BOOST_TEST(r.message.starts_with("queued 1 fax job ("));
    BOOST_TEST(r.message.ends_with(") for +15551001"));

    auto jobs = queue->jobs();
    BOOST_TEST_REQUIRE(jobs.size() == 1u);
    BOOST_TEST(jobs[0].number == "+15551001");
    BOOST_TEST(jobs[0].dial == "15551001");
    BOOST_TEST(jobs[0].pages >= 1);
    // The Message-ID, then a hash of envelope sender, Message-ID and content.
    BOOST_TEST(jobs[0].origin_key.starts_with("<plain-text.sample@example.org> sha256:"));
    BOOST_TEST(jobs[0].origin_key.size() == 32u + 7u + 64u);
    auto origin = nlohmann::json::parse(jobs[0].origin);
    BOOST_TEST(origin["sender"] == "juergen@example.org");
    BOOST_TEST(origin["from"]["name"] == "Jürgen Müller");
    BOOST_TEST(origin["subject"] == "Grüße aus München");
    BOOST_TEST(origin["client_address"] == "127.0.0.1");
    BOOST_TEST(origin["recipients"][0]["number"] == "+15551001");
    BOOST_TEST(scratch_empty());
}

BOOST_AUTO_TEST_CASE(pdf_attachment_pages_add_up) {
    auto r = submit(sample("pdf-attachment.eml"), "max@example.org",
                    {"jane.doe=5551002@fax.example.com"});
    BOOST_TEST_INFO(r.message);
    BOOST_TEST_REQUIRE((r.code == ExitCode::ok));
    auto jobs = queue->jobs();
    BOOST_TEST_REQUIRE(jobs.size() == 1u);
    BOOST_TEST(jobs[0].pages == 4);  // one page of text, three of PDF
    BOOST_TEST(r.message == "queued 1 fax job (4 pages) for +15551002");
    auto origin = nlohmann::json::parse(jobs[0].origin);
    BOOST_TEST(origin["recipients"][0]["name"] == "jane.doe");
}

BOOST_AUTO_TEST_CASE(two_numbers_two_jobs_and_dedup) {
    std::string raw = sample("two-numbers.eml");
    std::vector<std::string> to = {"5551001@fax.example.com", "5551002@fax.example.com"};
    auto first = submit(raw, "alice@example.org", to);
    BOOST_TEST_INFO(first.message);
    BOOST_TEST_REQUIRE((first.code == ExitCode::ok));
    BOOST_TEST(first.enqueued.jobs.size() == 2u);
    BOOST_TEST(first.enqueued.created == 2);
    BOOST_TEST(first.message.ends_with("for +15551001, +15551002"));

    // The MTA delivering the same message again must not fax it twice.
    auto again = submit(raw, "alice@example.org", to);
    BOOST_TEST((again.code == ExitCode::ok));
    BOOST_TEST(again.enqueued.created == 0);
    BOOST_TEST(again.enqueued.jobs == first.enqueued.jobs);
    BOOST_TEST(again.enqueued.batch == first.enqueued.batch);
    BOOST_TEST(queue->jobs().size() == 2u);
    BOOST_TEST(scratch_empty());
}

BOOST_AUTO_TEST_CASE(without_message_id_the_key_is_a_hash) {
    std::string raw = mail("", "hello\n");
    BOOST_TEST_REQUIRE(
        (submit(raw, "a@example.org", {"5551001@fax.example.com"}).code == ExitCode::ok));
    BOOST_TEST_REQUIRE(
        (submit(raw, "a@example.org", {"5551001@fax.example.com"}).code == ExitCode::ok));
    auto jobs = queue->jobs();
    BOOST_TEST_REQUIRE(jobs.size() == 1u);
    BOOST_TEST(jobs[0].origin_key.starts_with("sha256:"));
    BOOST_TEST(jobs[0].origin_key.size() == 7u + 64u);
    BOOST_TEST((submit(mail("", "other\n"), "a@example.org", {"5551001@fax.example.com"}).code ==
                ExitCode::ok));
    BOOST_TEST(queue->jobs().size() == 2u);
}

BOOST_AUTO_TEST_CASE(sender_rules_refuse_with_77) {
    auto r =
        submit(sample("refused-sender.eml"), "offers@spammer.invalid", {"5551001@fax.example.com"});
    BOOST_TEST((r.code == ExitCode::no_perm));
    BOOST_TEST(r.message.find("sender domain .invalid cannot receive a fax report") !=
               std::string::npos);
    r = submit(sample("busy.eml"), "<>", {"5551003@fax.example.com"});
    BOOST_TEST((r.code == ExitCode::no_perm));
    BOOST_TEST(r.message.find("bounces and auto-replies") != std::string::npos);
    // One denied number refuses the whole message.
    r = submit(sample("busy.eml"), "bob@example.org",
               {"5551003@fax.example.com", "19005551234@fax.example.com"});
    BOOST_TEST((r.code == ExitCode::no_perm));
    BOOST_TEST(r.message.find("+19005551234") != std::string::npos);
    BOOST_TEST(queue->jobs().empty());
}

BOOST_AUTO_TEST_CASE(bad_recipients_are_67) {
    auto r = submit(sample("busy.eml"), "bob@example.org", {"bob@example.org"});
    BOOST_TEST((r.code == ExitCode::no_user));
    BOOST_TEST(r.message == "no fax recipient in fax.example.com");
    r = submit(sample("busy.eml"), "bob@example.org", {"fax-me@fax.example.com"});
    BOOST_TEST((r.code == ExitCode::no_user));
    BOOST_TEST(r.message.find("fax-me@fax.example.com") != std::string::npos);
    BOOST_TEST(queue->jobs().empty());
}

BOOST_AUTO_TEST_CASE(unfaxable_messages_are_65) {
    std::string zip =
        mail("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n",
             "--B\nContent-Type: text/plain\n\nsee picture\n--B\n"
             "Content-Type: application/zip; name=report.zip\nContent-Transfer-Encoding: base64\n\n"
             "UEsDBAoAAAAAAA==\n--B--\n");
    auto r = submit(zip, "a@example.org", {"5551001@fax.example.com"});
    BOOST_TEST((r.code == ExitCode::data_error));
    BOOST_TEST(r.message == "attachment report.zip (application/zip) cannot be faxed", r.message);

    r = submit(mail("", "  \n\t\n"), "a@example.org", {"5551001@fax.example.com"});
    BOOST_TEST((r.code == ExitCode::data_error));
    BOOST_TEST(r.message == "message has nothing to fax");

    std::string broken_pdf = mail(
        "MIME-Version: 1.0\nContent-Type: application/pdf; name=x.pdf\nContent-Transfer-Encoding: "
        "base64\n",
        "JVBERi0xLjQKZ2FyYmFnZQo=\n");
    r = submit(broken_pdf, "a@example.org", {"5551001@fax.example.com"});
    BOOST_TEST_INFO(r.message);
    BOOST_TEST((r.code == ExitCode::data_error));
    BOOST_TEST(!r.message.empty());
    BOOST_TEST(queue->jobs().empty());
    BOOST_TEST(scratch_empty());
}

// What the demo does: every sample, sender and recipients from its headers.
BOOST_AUTO_TEST_CASE(every_sample_like_the_demo) {
    struct Row {
        const char* file;
        const char* sender;
        std::vector<std::string> to;
        ExitCode code;
        std::size_t jobs;
    };
    const Row rows[] = {
        {"plain-text.eml", "juergen@example.org", {"5551001@fax.example.com"}, ExitCode::ok, 1},
        {"pdf-attachment.eml",
         "max@example.org",
         {"jane.doe=5551002@fax.example.com"},
         ExitCode::ok,
         1},
        {"two-numbers.eml",
         "alice@example.org",
         {"5551001@fax.example.com", "5551002@fax.example.com"},
         ExitCode::ok,
         2},
        {"busy.eml", "bob@example.org", {"5551003@fax.example.com"}, ExitCode::ok, 1},
        {"no-answer.eml", "carol@example.org", {"5551004@fax.example.com"}, ExitCode::ok, 1},
        {"to-own-did.eml", "dave@example.org", {"5550100@fax.example.com"}, ExitCode::ok, 1},
        {"refused-sender.eml",
         "offers@spammer.invalid",
         {"5551001@fax.example.com"},
         ExitCode::no_perm,
         0},
    };
    std::size_t total = 0;
    for (const Row& row : rows) {
        auto r = submit(sample(row.file), row.sender, row.to);
        BOOST_TEST_INFO(row.file << ": " << r.message);
        BOOST_TEST((r.code == row.code));
        BOOST_TEST(r.enqueued.jobs.size() == row.jobs);
        total += row.jobs;
    }
    BOOST_TEST(queue->jobs().size() == total);
}

// A mail of several parts is rendered part by part into scratch files and
// joined page by page (never all pages in memory). The fax must be what
// rendering everything at once and stamping it would give, page for page.
BOOST_AUTO_TEST_CASE(parts_are_joined_page_by_page_with_one_numbering) {
    const std::string pdf =
        faxgw::test::slurp(faxgw::test::source_dir / "samples/docs/three-pages.pdf");
    const std::string tif = faxgw::test::slurp(faxgw::test::source_dir / "samples/docs/scan.tif");
    std::string raw = mail(
        "MIME-Version: 1.0\nMessage-ID: <joined@example.org>\n"
        "Content-Type: multipart/mixed; boundary=B\n",
        "--B\nContent-Type: text/plain\n\nThree attachments follow.\n" +
            attachment("application/pdf", "a.pdf", pdf) +
            attachment("image/tiff", "scan.tif", tif) +
            attachment("application/pdf", "b.pdf", pdf) + "--B--\n");
    settings.header.time = 1741000000;  // one date on every page, here and below
    settings.header.station_id = "+1 555 0100";
    settings.cover.by_default = true;
    auto r = submit(raw, "a@example.org", {"5551001@fax.example.com"});
    BOOST_TEST_INFO(r.message);
    BOOST_TEST_REQUIRE((r.code == ExitCode::ok));
    auto jobs = queue->jobs();
    BOOST_TEST_REQUIRE(jobs.size() == 1u);

    // Expected: everything rendered at once, a stand-in where the cover goes.
    render::Options options = settings.render;
    options.isolate = false;
    std::vector<render::Page> expected = {render::Page::blank(
        render::page_height_px(options.paper, options.resolution), options.resolution)};
    auto append = [&](std::vector<render::Page> pages) {
        std::move(pages.begin(), pages.end(), std::back_inserter(expected));
    };
    append(render::render_text("Three attachments follow.\n", options));
    append(render::render_document(pdf, "application/pdf", "a.pdf", options));
    append(render::render_document(tif, "image/tiff", "scan.tif", options));
    append(render::render_document(pdf, "application/pdf", "b.pdf", options));
    render::stamp_header(expected, settings.header);

    const std::vector<render::Page> sent = render::read_fax_tiff(jobs[0].document);
    BOOST_TEST_REQUIRE(sent.size() == expected.size());
    BOOST_TEST(jobs[0].pages == static_cast<int>(expected.size()));
    BOOST_TEST(!(sent[0] == expected[0]), "page 1 is the cover");
    for (std::size_t i = 1; i < sent.size(); ++i)
        BOOST_TEST((sent[i] == expected[i]), "page " << i + 1 << " differs");
    BOOST_TEST(scratch_empty());
}

// [fax: b4] gives 2048-pixel pages and, beside them in the spool, the same
// pages 1728 wide for receivers without B4; an A4 fax has no such copy.
BOOST_AUTO_TEST_CASE(a_b4_fax_is_queued_with_its_narrow_copy) {
    auto r = submit(mail("Message-ID: <b4@example.org>\n", "Plans attached.\n"), "a@example.org",
                    {"5551001@fax.example.com"});
    BOOST_TEST_REQUIRE((r.code == ExitCode::ok));
    std::string b4 = mail("Message-ID: <b4-too@example.org>\n", "Plans attached.\n");
    b4.replace(b4.find("Subject: t"), 10, "Subject: plans [fax: b4]");
    r = submit(b4, "a@example.org", {"5551001@fax.example.com"});
    BOOST_TEST_INFO(r.message);
    BOOST_TEST_REQUIRE((r.code == ExitCode::ok));
    auto jobs = queue->jobs();
    BOOST_TEST_REQUIRE(jobs.size() == 2u);
    const bool a4_first = jobs[0].origin_key.starts_with("<b4@example.org> ");
    const auto& a4_job = a4_first ? jobs[0] : jobs[1];
    const auto& b4_job = a4_first ? jobs[1] : jobs[0];
    BOOST_TEST(a4_job.narrow_document.empty());
    BOOST_TEST_REQUIRE(!b4_job.narrow_document.empty());
    const auto wide = render::read_fax_tiff(b4_job.document);
    const auto narrow = render::read_fax_tiff(b4_job.narrow_document);
    BOOST_TEST_REQUIRE(wide.size() == narrow.size());
    BOOST_TEST(wide[0].width == 2048);
    BOOST_TEST(narrow[0].width == 1728);
    BOOST_TEST(scratch_empty());
}

BOOST_AUTO_TEST_CASE(outsiders_must_log_in) {
    std::string raw = sample("plain-text.eml");
    mailgw::Envelope outsider{"anna@example.org", "198.51.100.7", "", {"5551001@fax.example.com"}};
    auto r = mailgw::submit(raw, outsider, settings, *queue);
    BOOST_TEST((r.code == ExitCode::no_perm));
    BOOST_TEST(r.message.find("SMTP AUTH") != std::string::npos, r.message);
    outsider.sasl_user = "anna";
    r = mailgw::submit(raw, outsider, settings, *queue);
    BOOST_TEST((r.code == ExitCode::ok), r.message);
}

BOOST_AUTO_TEST_CASE(a_hold_rule_queues_held_jobs) {
    mailgw::SenderRule hold;
    hold.sender = "@example.org";
    hold.action = mailgw::RuleAction::hold;
    settings.rules.insert(settings.rules.begin(), hold);
    auto r = submit(sample("plain-text.eml"), "anna@example.org", {"5551001@fax.example.com"});
    BOOST_TEST((r.code == ExitCode::ok), r.message);
    BOOST_TEST(r.message.find("held for an administrator") != std::string::npos, r.message);
    auto job = queue->job(r.enqueued.jobs.at(0));
    BOOST_TEST((job->state == faxcore::JobState::held));
    BOOST_TEST(queue->release(job->id));
    BOOST_TEST((queue->job(job->id)->state == faxcore::JobState::queued));
}

BOOST_AUTO_TEST_CASE(options_from_header_and_subject_tag) {
    auto r = submit(mail("Message-ID: <opt1@x>\nX-Fax-Options: standard, letter\n", "hello\n"),
                    "a@example.org", {"5551001@fax.example.com"});
    BOOST_REQUIRE((r.code == ExitCode::ok));
    auto pages = render::read_fax_tiff(queue->job(r.enqueued.jobs.at(0))->document);
    BOOST_TEST((pages.at(0).resolution == render::Resolution::standard));
    BOOST_TEST(pages.at(0).height ==
               render::page_height_px(render::Paper::letter, render::Resolution::standard));

    r = submit(
        "From: a@example.org\nSubject: Invoice [fax: superfine at=2030-01-02T03:04Z]\n"
        "Message-ID: <opt2@x>\n\nhello\n",
        "a@example.org", {"5551001@fax.example.com"});
    BOOST_REQUIRE_MESSAGE((r.code == ExitCode::ok), r.message);
    auto job = queue->job(r.enqueued.jobs.at(0));
    BOOST_TEST(job->next_attempt_at == 1893553440);  // 2030-01-02T03:04:00Z
    BOOST_TEST(job->origin.find("\"subject\":\"Invoice\"") != std::string::npos, job->origin);

    r = submit(mail("X-Fax-Options: sparkle\n", "hello\n"), "a@example.org",
               {"5551001@fax.example.com"});
    BOOST_TEST((r.code == ExitCode::data_error));
    BOOST_TEST(r.message.find("unknown fax option 'sparkle'") != std::string::npos, r.message);
}

BOOST_AUTO_TEST_CASE(limits_refuse_with_a_clear_reason) {
    settings.limits.jobs_per_hour_per_sender = 2;
    for (int i = 0; i < 2; ++i) {
        auto r = submit(mail("Message-ID: <lim" + std::to_string(i) + "@x>\n", "hi\n"),
                        "a@example.org", {"5551001@fax.example.com"});
        BOOST_TEST((r.code == ExitCode::ok), r.message);
    }
    auto r = submit(mail("Message-ID: <lim2@x>\n", "hi\n"), "A@Example.org",
                    {"5551001@fax.example.com"});
    // The window frees up: deferred (450 4.7.1), not bounced, and told
    // before anything is rendered.
    BOOST_TEST((r.verdict == Verdict::rate_limited));
    BOOST_TEST((r.code == ExitCode::temp_fail));
    BOOST_TEST(!r.rendered);
    BOOST_TEST(r.message == "sender a@example.org has reached the limit of 2 fax jobs per hour",
               r.message);
    // A repeated delivery of a queued mail is not a new job and passes.
    r = submit(mail("Message-ID: <lim1@x>\n", "hi\n"), "a@example.org",
               {"5551001@fax.example.com"});
    BOOST_TEST((r.code == ExitCode::ok), r.message);
    BOOST_TEST(queue->jobs().size() == 2u);
    // A mail that alone is more than the limit would never fit: refused.
    settings.limits.jobs_per_hour_per_sender = 0;
    settings.limits.jobs_per_hour_per_domain = 2;
    r = submit(mail("Message-ID: <lim3@x>\n", "hi\n"), "b@other.example",
               {"5551001@fax.example.com", "5551002@fax.example.com", "5551003@fax.example.com"});
    BOOST_TEST((r.verdict == Verdict::over_quota), r.message);
    BOOST_TEST((r.code == ExitCode::no_perm));
    BOOST_TEST(mailgw::describe(r.verdict).smtp_reply == 550);
}

// Message-IDs are public (every reply quotes them): a mail that copies
// another's Message-ID must never join, replace or suppress its batch.
BOOST_AUTO_TEST_CASE(two_senders_with_one_message_id_never_share_a_batch) {
    const std::string id = "Message-ID: <public@example.org>\n";
    std::string alice_mail = mail(id, "Alice writes one line.\n");
    std::string bob_mail = mail(id, "Bob writes\nthree\nlines.\n\fand a second page\n");
    auto alice = submit(alice_mail, "alice@example.org", {"5551001@fax.example.com"});
    auto bob = submit(bob_mail, "bob@example.org", {"5551002@fax.example.com"});
    BOOST_TEST_REQUIRE((alice.code == ExitCode::ok), alice.message);
    BOOST_TEST_REQUIRE((bob.code == ExitCode::ok), bob.message);
    BOOST_TEST(bob.enqueued.created == 1);
    BOOST_TEST(alice.enqueued.batch != bob.enqueued.batch);
    auto alice_job = queue->job(alice.enqueued.jobs.at(0));
    auto bob_job = queue->job(bob.enqueued.jobs.at(0));
    BOOST_TEST(alice_job->document != bob_job->document);
    BOOST_TEST(render::read_fax_tiff(bob_job->document).size() == 2u);  // Bob's letter
    BOOST_TEST(nlohmann::json::parse(bob_job->origin)["sender"] == "bob@example.org");

    // Mallory sends Alice's very mail to Alice's number: a fax of his own,
    // reported to him, which does not suppress hers.
    auto mallory = submit(alice_mail, "mallory@example.org", {"5551001@fax.example.com"});
    BOOST_TEST_REQUIRE((mallory.code == ExitCode::ok), mallory.message);
    BOOST_TEST(mallory.enqueued.created == 1);
    BOOST_TEST(mallory.enqueued.batch != alice.enqueued.batch);
    // The same sender and Message-ID with other content is another mail too.
    auto alice_again = submit(mail(id, "Alice changed her mind.\n"), "alice@example.org",
                              {"5551001@fax.example.com"});
    BOOST_TEST(alice_again.enqueued.created == 1);
    BOOST_TEST(queue->jobs().size() == 4u);
}

// What the MTA adds for each delivery (pipe flags D, R, O) or each hop of a
// client's retry (Received) does not make the same mail another one.
BOOST_AUTO_TEST_CASE(trace_headers_of_a_delivery_do_not_change_the_key) {
    auto delivery = [&](const std::string& n, const std::string& hop) {
        return "Return-Path: <a@example.org>\nDelivered-To: " + n +
               "@fax.example.com\nX-Original-To: " + n + "@fax.example.com\nReceived: from " + hop +
               " by mx.example.com with ESMTP id " + hop + "\n\tfor <" + n +
               "@fax.example.com>; Mon, 3 Mar 2025 09:30:0" + hop.substr(0, 1) + " +0100\n" +
               mail("Message-ID: <trace@example.org>\n", "hello\n");
    };
    auto first = submit(delivery("5551001", "1a"), "a@example.org", {"5551001@fax.example.com"});
    auto retry = submit(delivery("5551001", "2b"), "a@example.org", {"5551001@fax.example.com"});
    BOOST_TEST_REQUIRE((first.code == ExitCode::ok), first.message);
    BOOST_TEST_REQUIRE((retry.code == ExitCode::ok), retry.message);
    BOOST_TEST(retry.enqueued.created == 0);
    BOOST_TEST(retry.enqueued.batch == first.enqueued.batch);
    BOOST_TEST(queue->jobs().size() == 1u);
}

// Files created in a folder while `during` runs (inotify: what the kernel
// saw, whatever the code under test believes it did).
int files_created_in(const std::filesystem::path& dir, const std::function<void()>& during) {
    std::filesystem::create_directories(dir);
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    BOOST_TEST_REQUIRE(fd >= 0);
    BOOST_TEST_REQUIRE(inotify_add_watch(fd, dir.c_str(), IN_CREATE) >= 0);
    during();
    int created = 0;
    alignas(inotify_event) char buffer[4096];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;)
        for (char* p = buffer; p < buffer + n;) {
            auto* event = reinterpret_cast<inotify_event*>(p);
            created += (event->mask & IN_CREATE) != 0;
            p += sizeof(inotify_event) + event->len;
        }
    ::close(fd);
    return created;
}

// Postfix with recipient_limit = 1 calls submit once per number; the
// second number joins the batch of the first and its rendered document.
BOOST_AUTO_TEST_CASE(later_recipients_reuse_the_rendered_document) {
    auto delivery = [](const std::string& n) {
        return "Delivered-To: " + n + "@fax.example.com\n" +
               mail("Message-ID: <twice@example.org>\n", "one letter, two numbers\n");
    };
    mailgw::SubmitResult first, second;
    int first_files = files_created_in(queue->scratch_dir(), [&] {
        first = submit(delivery("5551001"), "a@example.org", {"5551001@fax.example.com"});
    });
    int second_files = files_created_in(queue->scratch_dir(), [&] {
        second = submit(delivery("5551002"), "a@example.org", {"5551002@fax.example.com"});
    });
    BOOST_TEST_REQUIRE((first.code == ExitCode::ok), first.message);
    BOOST_TEST_REQUIRE((second.code == ExitCode::ok), second.message);
    BOOST_TEST(first_files > 0);
    BOOST_TEST(second_files == 0, "the second recipient rendered the mail again");
    BOOST_TEST(first.rendered);
    BOOST_TEST(!second.rendered);
    BOOST_TEST(second.enqueued.created == 1);
    BOOST_TEST(second.enqueued.batch == first.enqueued.batch);
    BOOST_TEST(second.message == "queued 1 fax job (1 page) for +15551002");
    auto jobs = queue->jobs();
    BOOST_TEST_REQUIRE(jobs.size() == 2u);
    BOOST_TEST(jobs[0].document == jobs[1].document);
    BOOST_TEST(jobs[1].pages == jobs[0].pages);
    BOOST_TEST(scratch_empty());
}

// A cover page names the recipients of its delivery, so with a cover each
// delivery of a mail gets its own document: no number reads another's cover.
BOOST_AUTO_TEST_CASE(deliveries_with_a_cover_do_not_share_a_document) {
    settings.cover.by_default = true;
    auto delivery = [](const std::string& n) {
        return "Delivered-To: " + n + "@fax.example.com\n" +
               mail("Message-ID: <covered@example.org>\n", "one letter, two numbers\n");
    };
    auto first = submit(delivery("5551001"), "a@example.org", {"5551001@fax.example.com"});
    auto second = submit(delivery("5551002"), "a@example.org", {"5551002@fax.example.com"});
    BOOST_TEST_REQUIRE((first.code == ExitCode::ok), first.message);
    BOOST_TEST_REQUIRE((second.code == ExitCode::ok), second.message);
    BOOST_TEST(first.rendered);
    BOOST_TEST(second.rendered);
    BOOST_TEST(second.enqueued.batch != first.enqueued.batch);
    auto jobs = queue->jobs();
    BOOST_TEST_REQUIRE(jobs.size() == 2u);
    BOOST_TEST(jobs[0].document != jobs[1].document);
    // The same delivery again (a retry) is still one job.
    auto again = submit(delivery("5551002"), "a@example.org", {"5551002@fax.example.com"});
    BOOST_TEST((again.code == ExitCode::ok), again.message);
    BOOST_TEST(queue->jobs().size() == 2u);
}

// One mail to two numbers with a cover page: one batch (one report), but
// each number's cover names that number alone (read back with Tesseract);
// the pages after the cover are the same for both.
BOOST_AUTO_TEST_CASE(each_number_reads_only_its_own_number_on_the_cover) {
    settings.cover.by_default = true;
    auto r = submit(mail("Message-ID: <two-covers@example.org>\n", "one letter, two numbers\n"),
                    "a@example.org", {"5551001@fax.example.com", "5551002@fax.example.com"});
    BOOST_TEST_REQUIRE((r.code == ExitCode::ok), r.message);
    auto jobs = queue->jobs();
    BOOST_TEST_REQUIRE(jobs.size() == 2u);
    BOOST_TEST(jobs[0].batch == jobs[1].batch);
    std::map<std::string, std::vector<render::Page>> pages;
    for (const auto& j : jobs) pages[j.number] = render::read_fax_tiff(j.document);
    const auto& first = pages["+15551001"];
    const auto& second = pages["+15551002"];
    BOOST_TEST_REQUIRE(first.size() == second.size());
    for (std::size_t i = 1; i < first.size(); ++i) BOOST_TEST((first[i] == second[i]));
    for (const auto& [number, own] : pages) {
        const std::string other = number == "+15551001" ? "5551002" : "5551001";
        const std::string cover = render::ocr::read_pages({own[0]}, dir.path);
        BOOST_TEST_INFO("cover for " << number << " reads:\n" << cover);
        BOOST_TEST(cover.find(number.substr(2)) != std::string::npos);
        BOOST_TEST(cover.find(other) == std::string::npos);
    }
    BOOST_TEST(scratch_empty());
}

// With a cover page each number gets a document of its own, but the parts
// are rendered once for all: a mail to three numbers costs the renderers
// about what the same mail to one number does, not three times as much.
// (The attachment is a fixed amount of Ghostscript work, about 1 s.)
BOOST_AUTO_TEST_CASE(own_covers_render_the_parts_once) {
    settings.cover.by_default = true;
    const std::string slow =
        attachment("application/postscript", "slow.ps",
                   "%!PS\n0 1 50000000 { pop } for\n"
                   "/Helvetica findfont 24 scalefont setfont 72 720 moveto (slow) show showpage\n");
    auto renderers_cpu = [&](const std::string& id, std::vector<std::string> numbers) {
        const double before = render::children_cpu_seconds();
        auto r = submit(multipart(slow, "Message-ID: <" + id + "@example.org>\n"), "a@example.org",
                        std::move(numbers));
        BOOST_TEST_REQUIRE((r.code == ExitCode::ok), r.message);
        return render::children_cpu_seconds() - before;
    };
    const double one = renderers_cpu("one", {"5551001@fax.example.com"});
    const double three = renderers_cpu(
        "three", {"5551001@fax.example.com", "5551002@fax.example.com", "5551003@fax.example.com"});
    BOOST_TEST(queue->jobs().size() == 4u);
    BOOST_TEST(three < 2 * one, "renderers: " << one << " s for one number, " << three
                                              << " s for three: the part was rendered again");
    BOOST_TEST(scratch_empty());
}

// A document part the sender attached must be faxed or refused by name,
// never dropped while the text beside it goes out.
BOOST_AUTO_TEST_CASE(an_empty_pdf_beside_a_text_body_is_refused_by_name) {
    for (const std::string empty_pdf : {"", "  \n"}) {
        std::string raw = multipart("--B\nContent-Type: text/plain\n\nThe contract is attached.\n" +
                                    attachment("application/pdf", "contract.pdf", empty_pdf));
        auto r = submit(raw, "a@example.org", {"5551001@fax.example.com"});
        BOOST_TEST_INFO("PDF of " << empty_pdf.size() << " bytes");
        BOOST_TEST((r.code == ExitCode::data_error), r.message);
        BOOST_TEST(r.message.find("contract.pdf") != std::string::npos, r.message);
    }
    BOOST_TEST(queue->jobs().empty());
    BOOST_TEST(scratch_empty());
}

// A cover logo that cannot be read is the gateway's configuration: the
// MTA keeps the mail (75, 4.3.5) until the administrator fixes it.
BOOST_AUTO_TEST_CASE(a_missing_cover_logo_is_a_configuration_error) {
    settings.cover.by_default = true;
    settings.cover.logo = dir.path / "no-such-logo.png";
    auto r = submit(mail("", "hello\n"), "a@example.org", {"5551001@fax.example.com"});
    BOOST_TEST((r.verdict == mailgw::Verdict::configuration), r.message);
    BOOST_TEST((r.code == ExitCode::temp_fail));
    BOOST_TEST(r.message.find("no-such-logo.png") != std::string::npos, r.message);
    BOOST_TEST(mailgw::mta_reply(r.verdict, r.message).starts_with("4.3.5 "));
    BOOST_TEST(queue->jobs().empty());
}

// The envelope enters mailgw here for every front end: nothing in it may
// carry a line break into the mails the gateway writes.
BOOST_AUTO_TEST_CASE(envelopes_with_control_characters_are_refused) {
    const std::string raw = mail("", "hello\n");
    auto r = submit(raw, "a@x\r\nBcc: victim@example.net", {"5551001@fax.example.com"});
    BOOST_TEST((r.verdict == mailgw::Verdict::bad_sender), r.message);
    BOOST_TEST((r.code == ExitCode::data_error));
    BOOST_TEST(r.message == "envelope sender contains a control character");
    r = submit(raw, "a@example.org", {"5551001@fax.example.com\nBcc: v@example.net"});
    BOOST_TEST((r.code == ExitCode::no_user), r.message);
    mailgw::Envelope envelope{"a@example.org", "10.0.0.1\r\nX: y", "", {"5551001@fax.example.com"}};
    r = mailgw::submit(raw, envelope, settings, *queue);
    BOOST_TEST((r.verdict == mailgw::Verdict::configuration), r.message);
    envelope.client_address = "::1";
    envelope.sasl_user = "anna\r\nBcc: v@example.net";
    r = mailgw::submit(raw, envelope, settings, *queue);
    BOOST_TEST((r.verdict == mailgw::Verdict::configuration), r.message);
    r = submit(raw, "not an address", {"5551001@fax.example.com"});
    BOOST_TEST((r.verdict == mailgw::Verdict::bad_sender), r.message);
    BOOST_TEST(queue->jobs().empty());
    // The null sender, as Postfix (null_sender=) and tests write it, passes.
    BOOST_TEST((submit(raw, "", {"5551001@fax.example.com"}).verdict == mailgw::Verdict::refused));
    BOOST_TEST(
        (submit(raw, "<>", {"5551001@fax.example.com"}).verdict == mailgw::Verdict::refused));
}

// notify.accepted: one notice per submitted mail, once its jobs are
// committed, naming its numbers and pages; a second delivery of the same
// mail that adds no job tells nobody again. Off by default.
BOOST_AUTO_TEST_CASE(accepted_notice_after_enqueue_when_configured) {
    settings.outbox = dir.path / "outbox";
    std::string raw = sample("two-numbers.eml");
    std::vector<std::string> to = {"5551001@fax.example.com", "5551002@fax.example.com"};
    auto off = submit(raw, "alice@example.org", {to[0]});
    BOOST_TEST_REQUIRE((off.code == ExitCode::ok), off.message);
    BOOST_TEST(!std::filesystem::exists(settings.outbox / "new"));

    settings.notify.accepted = true;
    auto on = submit(raw, "alice@example.org", to);  // adds +15551002 to the batch
    BOOST_TEST_REQUIRE((on.code == ExitCode::ok), on.message);
    BOOST_TEST(on.message.find("notice") == std::string::npos, on.message);
    auto again = submit(raw, "alice@example.org", to);  // nothing new
    BOOST_TEST_REQUIRE((again.code == ExitCode::ok), again.message);

    mailgw::Outbox(settings.var).deliver_due({});  // filed in settings.outbox: no relay
    std::vector<std::filesystem::path> notices;
    for (const auto& e : std::filesystem::directory_iterator(settings.outbox / "new"))
        notices.push_back(e.path());
    BOOST_TEST_REQUIRE(notices.size() == 1u);
    BOOST_TEST(notices[0].filename().string().find(".faxgw-" + on.enqueued.batch + "-accepted-") !=
               std::string::npos);
    std::string text = faxgw::test::slurp(notices[0]);
    mimetic::MimeEntity mail(text.begin(), text.end());
    BOOST_TEST(mail.header().field("To").value() == "alice@example.org");
    BOOST_TEST(mail.header().field("Subject").value() == "Fax to 2 numbers: 2 queued");
    std::string body(mail.body().begin(), mail.body().end());
    const int pages = queue->jobs().front().pages;
    BOOST_TEST(body.find("+15551002: queued\r\n  What happened: not tried yet\r\n  Pages: " +
                         std::to_string(pages) + "\r\n  First try: ") != std::string::npos,
               body);
}

// What a milter asks at RCPT TO, before the message: the recipient's
// number, the rules on the envelope and the limits.
BOOST_AUTO_TEST_CASE(recipients_are_checked_before_the_message) {
    using mailgw::check_recipient;
    mailgw::Envelope outside{"anna@example.org", "192.0.2.7", "", {}};
    mailgw::Envelope authenticated{"anna@example.org", "192.0.2.7", "anna", {}};

    auto other = check_recipient("bob@example.org", outside, 0, settings, *queue);
    BOOST_TEST(!other.fax);
    BOOST_TEST((other.verdict == Verdict::queued));

    auto bad = check_recipient("55x1@fax.example.com", authenticated, 0, settings, *queue);
    BOOST_TEST(bad.fax);
    BOOST_TEST((bad.verdict == Verdict::bad_recipient));
    BOOST_TEST(bad.message.starts_with("55x1@fax.example.com: "), bad.message);

    // The built-in rules refuse unauthenticated mail from outside the
    // trusted networks; SMTP AUTH lets it through.
    auto refused = check_recipient("5551001@fax.example.com", outside, 0, settings, *queue);
    BOOST_TEST((refused.verdict == Verdict::refused), refused.message);
    BOOST_TEST(refused.message.starts_with("fax to +15551001 refused: "), refused.message);
    auto allowed = check_recipient("5551001@fax.example.com", authenticated, 0, settings, *queue);
    BOOST_TEST((allowed.verdict == Verdict::queued), allowed.message);
    BOOST_TEST(allowed.number == "+15551001");

    // A rule that looks at From: cannot decide before the message: the
    // recipient passes, and submit() decides with the message.
    mailgw::SenderRule by_from;
    by_from.from = "@example.org";
    by_from.action = mailgw::RuleAction::deny;
    by_from.reason = "no faxes from From: example.org";
    settings.rules.insert(settings.rules.begin(), by_from);
    auto open = check_recipient("5551001@fax.example.com", authenticated, 0, settings, *queue);
    BOOST_TEST((open.verdict == Verdict::queued), open.message);
    mailgw::Envelope full = authenticated;
    full.recipients = {"5551001@fax.example.com"};
    auto later = mailgw::submit(mail("", "hi\n"), full, settings, *queue);
    BOOST_TEST((later.verdict == Verdict::refused), later.message);
    BOOST_TEST(later.message.find("no faxes from From: example.org") != std::string::npos);

    // ... unless every way the message could go ends the same: both the
    // From: rule and the built-in rule against outsiders deny.
    auto outsider = check_recipient("5551001@fax.example.com", outside, 0, settings, *queue);
    BOOST_TEST((outsider.verdict == Verdict::refused), outsider.message);

    // A rule on the envelope alone decides at once, with its reason.
    settings.rules.front().from = "*";
    settings.rules.front().sender = "@example.org";
    settings.rules.front().reason = "no faxes from example.org";
    mailgw::compile_rule(settings.rules.front());
    auto denied = check_recipient("5551001@fax.example.com", authenticated, 0, settings, *queue);
    BOOST_TEST((denied.verdict == Verdict::refused), denied.message);
    BOOST_TEST(denied.message == "fax to +15551001 refused: no faxes from example.org");
}

BOOST_AUTO_TEST_CASE(a_reached_limit_is_told_at_rcpt) {
    settings.limits.jobs_per_hour_per_sender = 2;
    auto first = submit(mail("", "hi\n"), "a@example.org", {"5551001@fax.example.com"});
    BOOST_TEST_REQUIRE((first.verdict == Verdict::queued), first.message);
    mailgw::Envelope envelope{"a@example.org", "127.0.0.1", "", {}};
    // One more job fits in the hour, a second of the same mail does not:
    // the window frees up, so try later (450 4.7.1).
    auto one = mailgw::check_recipient("5551002@fax.example.com", envelope, 0, settings, *queue);
    BOOST_TEST((one.verdict == Verdict::queued), one.message);
    auto two = mailgw::check_recipient("5551003@fax.example.com", envelope, 1, settings, *queue);
    BOOST_TEST((two.verdict == Verdict::rate_limited), two.message);
    BOOST_TEST(mailgw::describe(two.verdict).smtp_reply == 450);
    BOOST_TEST(mailgw::describe(two.verdict).enhanced_status == "4.7.1");
    // Three jobs of one mail never fit a limit of two: 550 5.7.1.
    auto three = mailgw::check_recipient("5551004@fax.example.com", envelope, 2, settings, *queue);
    BOOST_TEST((three.verdict == Verdict::over_quota), three.message);
    BOOST_TEST(mailgw::describe(three.verdict).smtp_reply == 550);
}

BOOST_AUTO_TEST_CASE(a_fax_over_the_page_limit_is_too_big) {
    settings.render.max_pages = 1;
    std::string body;
    for (int i = 0; i < 200; ++i) body += "line " + std::to_string(i) + "\n";
    auto r = submit(mail("", body), "a@example.org", {"5551001@fax.example.com"});
    BOOST_TEST((r.verdict == Verdict::too_big), r.message);
    BOOST_TEST(mailgw::describe(r.verdict).enhanced_status == "5.3.4");
    BOOST_TEST(mailgw::describe(r.verdict).smtp_reply == 552);
    BOOST_TEST(r.message.find("longer than 1 pages") != std::string::npos, r.message);
}

// Each part may have max_pages of its own: the sum is refused at the part
// that crosses the limit, before the parts after it are rendered. The last
// part here never ends; rendered, it would defer the mail after 20 s.
BOOST_AUTO_TEST_CASE(the_page_limit_stops_at_the_part_that_crosses_it) {
    settings.render.max_pages = 3;
    settings.render.wall_seconds = 20;
    const std::string pdf =
        faxgw::test::slurp(faxgw::test::source_dir / "samples" / "docs" / "three-pages.pdf");
    auto r =
        submit(multipart("--B\nContent-Type: text/plain\n\nSee the letter.\n" +
                         attachment("application/pdf", "letter.pdf", pdf) +
                         attachment("application/postscript", "endless.ps", "%!PS\n{} loop\n")),
               "a@example.org", {"5551001@fax.example.com"});
    BOOST_TEST((r.verdict == Verdict::too_big), r.message);
    BOOST_TEST(r.message.find("at least 4 pages, more than the limit of 3") != std::string::npos,
               r.message);
    BOOST_TEST(scratch_empty());
}

// Each part may use render.cpu_seconds; all of them together may use
// render.total_cpu_seconds, and the parts after the one that crosses it are
// never rendered (the endless last one would defer the mail after 30 s).
BOOST_AUTO_TEST_CASE(the_processor_time_of_a_whole_mail_is_bounded) {
    settings.render.total_cpu_seconds = 2;
    settings.render.wall_seconds = 30;
    // A page after 1.2 s of Ghostscript's processor time (usertime: ms).
    const std::string slow =
        "%!PS\n/t0 usertime def { usertime t0 sub 1200 gt { exit } if } loop\n"
        "/Helvetica findfont 24 scalefont setfont 72 720 moveto (slow) show showpage\n";
    auto r =
        submit(multipart(attachment("application/postscript", "one.ps", slow) +
                         attachment("application/postscript", "two.ps", slow) +
                         attachment("application/postscript", "endless.ps", "%!PS\n{} loop\n")),
               "a@example.org", {"5551001@fax.example.com"});
    BOOST_TEST((r.verdict == Verdict::too_big), r.message);
    BOOST_TEST(r.message.find("message needs more than 2 s of processor time to render (limit "
                              "reached at two.ps)") != std::string::npos,
               r.message);
    BOOST_TEST(scratch_empty());
}

BOOST_AUTO_TEST_SUITE_END()

// The rows agree with themselves: the class of the enhanced status code
// (2, 4, 5) is that of the SMTP reply, of the exit status Postfix acts on
// (0; 75 retries; the rest bounce) and of the IMAP action.
BOOST_AUTO_TEST_CASE(the_verdict_table_is_consistent) {
    using mailgw::Verdict;
    for (int i = 0; i <= static_cast<int>(Verdict::configuration); ++i) {
        const auto& row = mailgw::describe(static_cast<Verdict>(i));
        BOOST_TEST_INFO(row.name);
        char cls = row.enhanced_status.at(0);
        BOOST_TEST(row.smtp_reply / 100 == cls - '0');
        BOOST_TEST((row.exit == ExitCode::ok) == (cls == '2'));
        BOOST_TEST((row.exit == ExitCode::temp_fail) == (cls == '4'));
        BOOST_TEST((row.imap == mailgw::ImapAction::retry) == (cls == '4'));
        BOOST_TEST((row.imap == mailgw::ImapAction::done) == (cls == '2'));
    }
    BOOST_TEST(mailgw::describe(Verdict::configuration).enhanced_status == "4.3.5");
}

// Postfix's pipe(8) takes a leading 4.X.X or 5.X.X of the output for the
// status: the verdict's code always comes first, whatever the text says.
BOOST_AUTO_TEST_CASE(the_reply_begins_with_the_verdicts_code) {
    using mailgw::Verdict;
    BOOST_TEST(mailgw::mta_reply(Verdict::bad_message, "4.2.0 invoice.pdf: PDF is damaged") ==
               "5.6.0 4.2.0 invoice.pdf: PDF is damaged");
    BOOST_TEST(mailgw::mta_reply(Verdict::try_later, "5.7.1 a.pdf: took too long") ==
               "4.3.0 5.7.1 a.pdf: took too long");
    BOOST_TEST(mailgw::mta_reply(Verdict::bad_message, std::string("a\0b\nc", 5)) ==
               "5.6.0 a\\x00b\\x0ac");
}

namespace {

// A queue that fails the way a busy or broken queue does.
class FailingQueue : public faxcore::Queue {
public:
    FailingQueue(std::filesystem::path scratch, bool temporary)
        : scratch_(std::move(scratch)), temporary_(temporary) {}
    faxcore::EnqueueResult enqueue(const faxcore::Submission&) override {
        if (temporary_) throw faxcore::TemporaryError("queue is locked");
        throw std::logic_error("boom");
    }
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
    std::vector<faxcore::Report> pending_reports() override { return {}; }
    void mark_reported(const std::string&, faxcore::ReportKind) override {}
    std::vector<faxcore::InboundFax> undelivered_inbound() override { return {}; }
    void mark_inbound_delivered(std::int64_t, const std::string&) override {}
    std::filesystem::path scratch_dir() const override { return scratch_; }

private:
    std::filesystem::path scratch_;
    bool temporary_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(queue_failures_are_75) {
    TempDir dir;
    mailgw::Settings settings;
    mailgw::Envelope envelope{"a@example.org", "", "", {"5551001@fax.example.com"}};
    std::string raw = mail("", "hello\n");

    FailingQueue locked(dir.path, true);
    auto r = mailgw::submit(raw, envelope, settings, locked);
    BOOST_TEST((r.code == ExitCode::temp_fail));
    BOOST_TEST(r.message == "queue is locked");

    FailingQueue broken(dir.path, false);
    r = mailgw::submit(raw, envelope, settings, broken);
    BOOST_TEST((r.code == ExitCode::temp_fail));
    BOOST_TEST(r.message == "internal error: boom");
    BOOST_TEST(std::filesystem::is_empty(dir.path));  // no scratch file left behind

    FailingQueue missing(dir.path / "does-not-exist", true);
    r = mailgw::submit(raw, envelope, settings, missing);
    BOOST_TEST((r.code == ExitCode::temp_fail));
    BOOST_TEST(r.message.starts_with("cannot create a scratch file in "), r.message);
}
