// The outbox against a real Postfix relay on 127.0.0.1 (postfix.h): mail
// arrives once, waits while the relay is down and arrives once when it is
// back, a 5xx fails it for good, and STARTTLS is not given up silently.
#define BOOST_TEST_MODULE postfix relay
#include <faxgw/outbox.h>

#include <boost/test/unit_test.hpp>
#include <map>
#include <thread>

#include "dovecot.h"
#include "postfix.h"
#include "test_support.h"

using namespace faxgw;
using faxgw::test::TempDir;

namespace {

test::Postfix& postfix() {
    static test::Postfix instance(test::PostfixOptions{});
    return instance;
}

mailgw::RelaySettings plain_relay() {
    mailgw::RelaySettings relay;
    relay.url = "smtp://127.0.0.1:" + std::to_string(postfix().port);
    relay.tls = "none";
    relay.retry_seconds = 1;
    relay.timeout_seconds = 20;
    return relay;
}

mailgw::OutgoingMail mail(const std::string& key, const std::string& to = "office@example.org") {
    mailgw::OutgoingMail m;
    m.key = key;
    m.sender = "fax-gateway@example.org";
    m.recipients = {to};
    m.message = "From: fax-gateway@example.org\r\nTo: " + to + "\r\nSubject: mail " + key +
                "\r\nMessage-ID: <" + key +
                "@faxgw.test>\r\n\r\nline one\r\n.line starting "
                "with a dot\r\n";
    return m;
}

// How many mails with each Subject ("mail KEY") Postfix has delivered.
std::map<std::string, int> delivered_subjects() {
    std::map<std::string, int> out;
    for (const auto& m : postfix().mails()) {
        const auto at = m.find("Subject: mail ");
        if (at == std::string::npos) continue;
        std::string subject = m.substr(at + 14, m.find('\n', at) - at - 14);
        if (!subject.empty() && subject.back() == '\r') subject.pop_back();
        ++out[subject];
    }
    return out;
}

bool arrived(const std::map<std::string, int>& want) {
    return test::eventually([&] { return delivered_subjects() == want; }, std::chrono::seconds(20));
}

}  // namespace

BOOST_AUTO_TEST_CASE(mail_goes_through_the_relay_and_arrives_once_unchanged) {
    const TempDir var;
    mailgw::Outbox outbox(var.path);
    for (const char* key : {"a1", "a2", "a3"}) outbox.post(mail(key));
    const auto counts = outbox.deliver_due(plain_relay());
    BOOST_TEST(counts.sent == 3);
    BOOST_TEST(arrived({{"a1", 1}, {"a2", 1}, {"a3", 1}}), postfix().maillog());
    const auto mails = postfix().mails();
    bool dot_kept = false;
    for (const auto& m : mails)
        dot_kept = dot_kept || m.find("\n.line starting") != std::string::npos;
    BOOST_TEST(dot_kept);  // dot-stuffed on the way, unstuffed at the end
    for (const auto& m : outbox.list(true)) BOOST_TEST(m.result.starts_with("accepted (250)"));
}

BOOST_AUTO_TEST_CASE(mail_waits_while_the_relay_is_down_and_arrives_once_after) {
    const TempDir var;
    mailgw::Outbox outbox(var.path);
    postfix().stop();
    outbox.post(mail("b1"));
    outbox.post(mail("b2"));
    std::vector<std::string> log;
    const auto down =
        outbox.deliver_due(plain_relay(), [&](const std::string& l) { log.push_back(l); });
    BOOST_TEST(down.deferred == 2);
    BOOST_TEST(log.size() == 2u);
    BOOST_TEST(outbox.list().size() == 2u);
    postfix().start();
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // retry_seconds
    const auto up = outbox.deliver_due(plain_relay());
    BOOST_TEST(up.sent == 2);
    // A third run finds nothing to send: nothing arrives twice.
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    BOOST_TEST(outbox.deliver_due(plain_relay()).sent == 0);
    BOOST_TEST(arrived({{"a1", 1}, {"a2", 1}, {"a3", 1}, {"b1", 1}, {"b2", 1}}),
               postfix().maillog());
}

BOOST_AUTO_TEST_CASE(a_permanent_refusal_fails_the_mail_with_the_relays_words) {
    const TempDir var;
    mailgw::Outbox outbox(var.path);
    outbox.post(mail("c1", "refused@example.org"));
    std::vector<std::string> log;
    const auto counts =
        outbox.deliver_due(plain_relay(), [&](const std::string& l) { log.push_back(l); });
    BOOST_TEST(counts.failed == 1);
    const auto mails = outbox.list();
    BOOST_TEST_REQUIRE(mails.size() == 1u);
    BOOST_TEST(mailgw::to_string(mails[0].state) == "failed");
    BOOST_TEST(mails[0].result.find("550") != std::string::npos, mails[0].result);
    BOOST_TEST_REQUIRE(log.size() == 1u);
    BOOST_TEST(log[0].find("failed for good") != std::string::npos, log[0]);
}

BOOST_AUTO_TEST_CASE(a_relay_without_starttls_is_not_used_when_tls_is_required) {
    const TempDir var;
    mailgw::Outbox outbox(var.path);
    outbox.post(mail("d1"));
    auto relay = plain_relay();
    relay.tls = "required";  // this Postfix offers no STARTTLS
    const auto counts = outbox.deliver_due(relay);
    BOOST_TEST(counts.deferred == 1);
    BOOST_TEST(counts.sent == 0);
    const auto mails = outbox.list();
    BOOST_TEST_REQUIRE(mails.size() == 1u);
    BOOST_TEST(!mails[0].result.empty());
    BOOST_TEST(delivered_subjects().count("d1") == 0u);
}

// A relay as providers run them (STARTTLS, then AUTH, nothing without it):
// the right user and password get the mail through, TLS checked against
// the relay's CA; a wrong password or another CA keep it queued.
BOOST_AUTO_TEST_CASE(starttls_and_auth_as_a_providers_relay_wants_them) {
    const TempDir dir;
    test::Dovecot dovecot(test::DovecotOptions{});  // the SASL service
    const auto certificates = test::TestCertificates::make(dir.path / "relay-tls", "relay");
    test::PostfixOptions options;
    options.tls_cert = certificates.server_cert;
    options.tls_key = certificates.server_key;
    options.dovecot_sasl = "inet:127.0.0.1:" + std::to_string(dovecot.auth_port());
    test::Postfix relay_server(options);

    mailgw::RelaySettings relay;
    relay.url = "smtp://127.0.0.1:" + std::to_string(relay_server.port);
    relay.tls = "required";
    relay.ca_file = certificates.ca_cert;
    relay.user = "alice";
    relay.password = "alice-secret";
    relay.retry_seconds = 1;
    relay.timeout_seconds = 20;

    auto outcome = [&](const mailgw::RelaySettings& r, const std::string& key) {
        return mailgw::send_by_smtp(r, "fax-gateway@example.org", {"office@example.org"},
                                    mail(key).message);
    };
    const auto sent = outcome(relay, "e1");
    BOOST_TEST((sent.kind == mailgw::RelayOutcome::Kind::sent), sent.text);

    auto wrong = relay;
    wrong.password = "not-her-password";
    const auto refused = outcome(wrong, "e2");
    BOOST_TEST((refused.kind == mailgw::RelayOutcome::Kind::temporary), refused.text);
    BOOST_TEST(refused.text.find("535") != std::string::npos, refused.text);

    auto anonymous = relay;
    anonymous.user.clear();
    const auto unauthenticated = outcome(anonymous, "e3");
    BOOST_TEST((unauthenticated.kind != mailgw::RelayOutcome::Kind::sent), unauthenticated.text);

    auto other_ca = relay;
    other_ca.ca_file = test::TestCertificates::make(dir.path / "other-tls", "other").ca_cert;
    const auto untrusted = outcome(other_ca, "e4");
    BOOST_TEST((untrusted.kind == mailgw::RelayOutcome::Kind::temporary), untrusted.text);
    BOOST_TEST(untrusted.text.find("certificate") != std::string::npos, untrusted.text);

    // Only the authenticated mail arrives.
    std::map<std::string, int> subjects;
    BOOST_TEST(test::eventually(
                   [&] {
                       subjects.clear();
                       for (const auto& m : relay_server.mails())
                           for (const char* key : {"e1", "e2", "e3", "e4"})
                               if (m.find("Subject: mail " + std::string(key)) != std::string::npos)
                                   ++subjects[key];
                       return !subjects.empty();
                   },
                   std::chrono::seconds(20)),
               relay_server.maillog());
    BOOST_TEST((subjects == std::map<std::string, int>{{"e1", 1}}));
}
