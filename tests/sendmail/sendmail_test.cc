// The lines of conf/sendmail/ in a real Sendmail on 127.0.0.1 (sendmail.h),
// mails sent by an SMTP client: the faxgw mailer queues fax mail through
// `faxgw submit` and bounces a bad number with the status faxgw gives; the
// milter answers a bad number at RCPT TO and queues a good fax before the 250.
#define BOOST_TEST_MODULE sendmail
#include "sendmail.h"

#include <boost/test/unit_test.hpp>
#include <memory>

#include "e2e.h"
#include "smtp.h"
#include "test_support.h"

using namespace faxgw;
using namespace std::chrono_literals;

namespace {

std::string mail(const std::string& id, const std::string& to) {
    return "From: anna@example.org\nTo: " + to + "\nSubject: sendmail " + id +
           "\nDate: Mon, 3 Mar 2025 09:30:00 +0100\nMessage-ID: <" + id +
           "@example.org>\n\nPlease fax this line.\n";
}

// The jobs of the faxgw mailer's state folder, read as the delivery user.
nlohmann::json mailer_jobs(const test::Sendmail& sendmail) {
    auto o = sendmail.run_as_delivery_user(
        {test::faxgw_binary, "jobs", "--json", "--var", sendmail.var.string()});
    if (o.code != 0) throw std::runtime_error("faxgw jobs failed: " + o.err);
    return nlohmann::json::parse(o.out);
}

// The bounces delivered so far, one after the other (for failure messages).
std::string all_bounces(const test::Sendmail& sendmail) {
    std::string out;
    for (const auto& m : sendmail.mails()) out += m + "\n";
    return out;
}

// The bounce that mentions `text`, once it has been delivered; "" if none came.
std::string bounce_with(const test::Sendmail& sendmail, const std::string& text) {
    std::string found;
    test::eventually(
        [&] {
            for (const auto& m : sendmail.mails())
                if (m.find(text) != std::string::npos) found = m;
            return !found.empty();
        },
        20s);
    return found;
}

bool queue_empty(const test::Sendmail& sendmail) {
    return std::filesystem::is_empty(sendmail.queue);
}

// `faxgw milter` on a port of 127.0.0.1, with a state folder of its own.
struct Milter {
    test::TempDir dir;
    std::filesystem::path var = dir.path / "var";
    int port = test::free_loopback_port();
    test::Process process{{test::faxgw_binary, "milter", "--var", var.string(), "--socket",
                           "inet:" + std::to_string(port) + "@127.0.0.1"},
                          dir.path};
    Milter() {
        if (!test::eventually([&] { return test::accepts_connections(port); }, 20s))
            throw std::runtime_error("faxgw milter does not listen: " + process.stderr_so_far());
    }
    nlohmann::json jobs() const { return test::jobs_json(var, dir.path); }
};

test::SendmailOptions options(int milter_port = 0) {
    test::SendmailOptions o;
    o.faxgw_binary = test::faxgw_binary;
    o.milter_port = milter_port;
    return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_mailer_queues_fax_mail_and_bounces_a_bad_number) {
    test::Sendmail sendmail(options());
    test::SmtpClient smtp(sendmail.port);

    // Through mailertable to the faxgw mailer: `faxgw submit` queues the job.
    auto good = smtp.attempt("anna@example.org", {"5551001@fax.example.com"},
                             mail("good", "5551001@fax.example.com"));
    BOOST_TEST_REQUIRE(good.accepted(), good.end);
    nlohmann::json jobs;
    test::eventually(
        [&] {
            jobs = mailer_jobs(sendmail);
            return !jobs.empty();
        },
        20s);
    BOOST_TEST_REQUIRE(jobs.size() == 1u, "the faxgw mailer queued no job; bounces:\n"
                                              << all_bounces(sendmail));
    BOOST_TEST(jobs[0]["number"] == "+15551001");
    BOOST_TEST(jobs[0]["state"] == "queued");

    // A bad number: the mailer exits 67 with faxgw's 5.1.1 line, which the
    // bounce to the sender carries, with Status: 5.1.1.
    auto bad =
        smtp.attempt("anna@example.org", {"12@fax.example.com"}, mail("bad", "12@fax.example.com"));
    BOOST_TEST_REQUIRE(bad.accepted(), bad.end);  // the mailer decides after the 250
    const std::string bounce = bounce_with(sendmail, "Subject: sendmail bad");
    BOOST_TEST_REQUIRE(!bounce.empty(), sendmail.log());
    BOOST_TEST(bounce.find("5.1.1 12@fax.example.com: the fax number has fewer than 3 digits") !=
                   std::string::npos,
               bounce);
    BOOST_TEST(bounce.find("Status: 5.1.1") != std::string::npos, bounce);
    BOOST_TEST(bounce.find("Final-Recipient: rfc822; 12@fax.example.com") != std::string::npos,
               bounce);

    BOOST_TEST(mailer_jobs(sendmail).size() == 1u);
    // The good mail, delivered before, bounced nowhere: one bounce in all.
    BOOST_TEST(sendmail.mails().size() == 1u, sendmail.log());
}

BOOST_AUTO_TEST_CASE(the_milter_answers_at_rcpt_to_and_queues_before_the_250) {
    Milter milter;
    test::Sendmail sendmail(options(milter.port));
    test::SmtpClient smtp(sendmail.port);

    // A bad number: 550 5.1.1 at RCPT TO, saying what is wrong.
    auto bad =
        smtp.attempt("anna@example.org", {"12@fax.example.com"}, mail("bad", "12@fax.example.com"));
    BOOST_TEST_REQUIRE(bad.rcpt.size() == 1u);
    BOOST_TEST(bad.rcpt[0].starts_with("550 5.1.1 "), bad.rcpt[0]);
    BOOST_TEST(bad.rcpt[0].find("fewer than 3 digits") != std::string::npos, bad.rcpt[0]);

    // A good fax mail: 250 once its job is queued by the milter.
    auto good = smtp.attempt("anna@example.org", {"5551001@fax.example.com"},
                             mail("good", "5551001@fax.example.com"));
    BOOST_TEST_REQUIRE(good.accepted(),
                       good.mail + good.rcpt.at(0) + good.data + good.end + sendmail.log());
    auto jobs = milter.jobs();
    BOOST_TEST_REQUIRE(jobs.size() == 1u, milter.process.stderr_so_far());
    BOOST_TEST(jobs[0]["number"] == "+15551001");

    // The milter took the fax recipient out of the delivery: once sendmail
    // is done with the mail, the mailer has queued nothing and nothing bounced.
    BOOST_TEST(test::eventually([&] { return queue_empty(sendmail); }, 20s), sendmail.log());
    BOOST_TEST(mailer_jobs(sendmail).empty(), sendmail.log());
    BOOST_TEST(sendmail.mails().empty(), sendmail.log());
}
