// The outbox without a relay server: posting is durable and idempotent, mail
// is filed in Maildirs under names no other queue reuses, and a relay that
// cannot be reached defers mail with a backoff until it gives up. The relay
// itself (a real Postfix) is in tests/postfix/relay_test.cc.
#define BOOST_TEST_MODULE mailgw outbox
#include <arpa/inet.h>
#include <faxgw/outbox.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <ctime>
#include <set>

#include "test_support.h"

namespace fs = std::filesystem;
using namespace faxgw;
using faxgw::test::TempDir;

namespace {

mailgw::OutgoingMail mail_to(const fs::path& maildir, const std::string& key,
                             const std::string& subject = "Fax from 5551234 (1 page)") {
    mailgw::OutgoingMail m;
    m.key = key;
    m.sender = "fax-gateway@example.org";
    m.recipients = {"office@example.org"};
    m.message = "From: fax-gateway@example.org\r\nTo: office@example.org\r\nSubject: " + subject +
                "\r\n\r\nHello\r\n";
    m.local_maildir = maildir;
    return m;
}

std::vector<fs::path> files_in(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path());
    return out;
}

// A port on 127.0.0.1 where nothing listens: bound, then closed.
int closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_key_is_posted_once_and_survives_a_reopen) {
    const TempDir dir;
    {
        mailgw::Outbox outbox(dir.path);
        BOOST_TEST(outbox.post(mail_to(dir.path / "mail", "inbound:1")));
        BOOST_TEST(!outbox.post(mail_to(dir.path / "mail", "inbound:1", "another subject")));
        BOOST_TEST(outbox.post(mail_to(dir.path / "mail", "inbound:2")));
    }
    mailgw::Outbox reopened(dir.path);
    const auto mails = reopened.list();
    BOOST_TEST_REQUIRE(mails.size() == 2u);
    BOOST_TEST(mails[0].key == "inbound:1");
    BOOST_TEST(mails[0].subject == "Fax from 5551234 (1 page)");
    BOOST_TEST(mailgw::to_string(mails[0].state) == "queued");
    BOOST_TEST((mails[0].recipients == std::vector<std::string>{"office@example.org"}));
    BOOST_TEST(reopened.next_due().has_value());
}

BOOST_AUTO_TEST_CASE(without_a_relay_mail_is_filed_in_its_maildir_once) {
    const TempDir dir;
    const fs::path maildir = dir.path / "mail" / "office@example.org";
    mailgw::Outbox outbox(dir.path);
    outbox.post(mail_to(maildir, "inbound:1"));
    const auto counts = outbox.deliver_due(mailgw::RelaySettings{});
    BOOST_TEST(counts.sent == 1);
    BOOST_TEST(counts.deferred == 0);
    const auto files = files_in(maildir / "new");
    BOOST_TEST_REQUIRE(files.size() == 1u);
    BOOST_TEST(test::slurp(files[0]).find("Subject: Fax from 5551234") != std::string::npos);
    BOOST_TEST(files_in(maildir / "tmp").empty());  // written there, then moved
    // Delivered mail is done: a second run delivers nothing.
    BOOST_TEST(outbox.deliver_due(mailgw::RelaySettings{}).sent == 0);
    BOOST_TEST(files_in(maildir / "new").size() == 1u);
    const auto all = outbox.list(true);
    BOOST_TEST_REQUIRE(all.size() == 1u);
    BOOST_TEST(mailgw::to_string(all[0].state) == "sent");
    BOOST_TEST(all[0].result == files[0].string());
    BOOST_TEST(outbox.list().empty());
    BOOST_TEST(!outbox.next_due().has_value());
}

BOOST_AUTO_TEST_CASE(a_new_queue_never_overwrites_an_unread_mail) {
    // Two state folders (a queue re-created after a loss starts its ids
    // again) file mails with the same key into one Maildir.
    const TempDir first, second, mail;
    for (const auto* var : {&first, &second}) {
        mailgw::Outbox outbox(var->path);
        outbox.post(mail_to(mail.path, "inbound:1"));
        outbox.deliver_due(mailgw::RelaySettings{});
    }
    BOOST_TEST(files_in(mail.path / "new").size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_relay_that_cannot_be_reached_defers_with_a_backoff) {
    const TempDir dir;
    mailgw::Outbox outbox(dir.path);
    outbox.post(mail_to(dir.path / "mail", "report:b1:final"));
    mailgw::RelaySettings relay;
    relay.url = "smtp://127.0.0.1:" + std::to_string(closed_port());
    relay.tls = "none";
    relay.retry_seconds = 120;
    std::vector<std::string> logged;
    const auto before = std::time(nullptr);
    const auto counts =
        outbox.deliver_due(relay, [&](const std::string& line) { logged.push_back(line); });
    BOOST_TEST(counts.deferred == 1);
    BOOST_TEST(counts.sent == 0);
    const auto mails = outbox.list();
    BOOST_TEST_REQUIRE(mails.size() == 1u);
    BOOST_TEST(mailgw::to_string(mails[0].state) == "queued");
    BOOST_TEST(mails[0].attempts == 1);
    BOOST_TEST(mails[0].next_try_at >= before + 120);
    BOOST_TEST(mails[0].result.find("onnect") != std::string::npos, mails[0].result);
    BOOST_TEST_REQUIRE(logged.size() == 1u);
    BOOST_TEST(logged[0].find("deferred (try 1)") != std::string::npos, logged[0]);
    // Not due again yet: nothing is tried.
    BOOST_TEST(outbox.deliver_due(relay).deferred == 0);
    BOOST_TEST(!files_in(dir.path / "mail" / "new").size());
}

BOOST_AUTO_TEST_CASE(mail_the_relay_never_takes_fails_after_give_up_hours) {
    const TempDir dir;
    mailgw::Outbox outbox(dir.path);
    outbox.post(mail_to(dir.path / "mail", "report:b1:final"));
    mailgw::RelaySettings relay;
    relay.url = "smtp://127.0.0.1:" + std::to_string(closed_port());
    relay.give_up_hours = 0;  // every failure is too late
    const auto counts = outbox.deliver_due(relay);
    BOOST_TEST(counts.failed == 1);
    const auto mails = outbox.list();
    BOOST_TEST_REQUIRE(mails.size() == 1u);
    BOOST_TEST(mailgw::to_string(mails[0].state) == "failed");
    BOOST_TEST(!outbox.next_due().has_value());
}

// Retention of the outbox: the rows of mails sent (or given up on) long
// ago go; a mail still to deliver stays, however old.
BOOST_AUTO_TEST_CASE(only_old_delivered_mails_are_purged_and_counts_agree) {
    const TempDir dir;
    mailgw::Outbox outbox(dir.path);
    outbox.post(mail_to(dir.path / "mail" / "a", "report:1"));
    outbox.deliver_due(mailgw::RelaySettings{});                // sent
    outbox.post(mail_to(dir.path / "mail" / "b", "report:2"));  // queued
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    auto c = outbox.counts(now + 60);
    BOOST_TEST(c.queued == 1);
    BOOST_TEST(c.sent == 1);
    BOOST_TEST(c.failed == 0);
    BOOST_TEST(c.oldest_queued_age.value_or(0) >= 60);
    BOOST_TEST(outbox.purge(now - 1, false) == 0);  // sent just now: too young
    BOOST_TEST(outbox.purge(now + 10, true) == 1);  // a dry run counts...
    BOOST_TEST(outbox.list(true).size() == 2u);     // ...and deletes nothing
    BOOST_TEST(outbox.purge(now + 10, false) == 1);
    const auto left = outbox.list(true);
    BOOST_TEST_REQUIRE(left.size() == 1u);
    BOOST_TEST(left[0].key == "report:2");
    BOOST_TEST(outbox.purge(now + 1000 * 86400, false) == 0);
}

BOOST_AUTO_TEST_CASE(a_read_only_outbox_creates_nothing) {
    const TempDir dir;
    BOOST_CHECK_THROW(mailgw::Outbox(dir.path / "missing", faxcore::Access::read_only),
                      faxcore::NoStateFolder);
    BOOST_TEST(!fs::exists(dir.path / "missing"));
    {
        mailgw::Outbox empty(dir.path, faxcore::Access::read_only);
        BOOST_TEST(empty.list(true).empty());
        BOOST_TEST(empty.counts(0).queued == 0);
    }
    BOOST_TEST(fs::is_empty(dir.path));
}
