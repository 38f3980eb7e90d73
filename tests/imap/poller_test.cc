// The IMAP poller against a real Dovecot (tests/dovecot/dovecot.h) on
// 127.0.0.1: mail becomes jobs and is filed, exactly once across crashes
// and dropped connections; wrong passwords, missing STARTTLS and untrusted
// certificates are handled as they must be. Needs root (Dovecot).
#define BOOST_TEST_MODULE imap_poller
#include <arpa/inet.h>
#include <faxgw/faxcore.h>
#include <faxgw/imap.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <mutex>
#include <thread>

#include "cut_relay.h"
#include "dovecot.h"
#include "process.h"
#include "refusing_server.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace faxgw;
using faxgw::test::Dovecot;
using faxgw::test::DovecotOptions;
using faxgw::test::TempDir;

namespace {

// What the poller said, line by line (it logs from its own threads).
struct LogLines {
    std::mutex m;
    std::vector<std::string> lines;
    imap::Log sink() {
        return [this](const std::string& line) {
            std::lock_guard l(m);
            lines.push_back(line);
        };
    }
    int count(const std::string& part) {
        std::lock_guard l(m);
        int n = 0;
        for (const auto& line : lines) n += line.find(part) != std::string::npos;
        return n;
    }
    std::string all() {
        std::lock_guard l(m);
        std::string out;
        for (const auto& line : lines) out += line + "\n";
        return out;
    }
};

struct Fixture {
    TempDir var;
    LogLines log;
    std::vector<imap::RefusalMail> refusals;
    imap::Services services;

    Fixture() {
        services.var = var.path;
        services.log = log.sink();
        services.send_refusal = [this](const imap::RefusalMail& m) { refusals.push_back(m); };
        services.backoff_first = 0.5;
        services.backoff_max = 2;
    }

    std::vector<faxcore::Job> jobs() { return faxcore::Queue::open(var.path)->jobs(); }
};

imap::Account account_of(const Dovecot& dovecot, bool implicit_tls = true) {
    imap::Account a;
    a.url = implicit_tls ? "imaps://127.0.0.1:" + std::to_string(dovecot.imaps_port())
                         : "imap://127.0.0.1:" + std::to_string(dovecot.imap_port());
    a.user = "alice";
    a.password = "alice-secret";
    a.ca_file = dovecot.ca_file();
    a.poll_seconds = 1;
    return a;
}

// faxgw.toml's table of alice's account on Dovecot's IMAP port (STARTTLS).
// Keys written after it belong to the account.
std::string account_toml(const Dovecot& dovecot, const std::string& password = "alice-secret") {
    return "[[imap.accounts]]\nurl = \"imap://127.0.0.1:" + std::to_string(dovecot.imap_port()) +
           "\"\nuser = \"alice\"\npassword = \"" + password + "\"\nca_file = \"" +
           dovecot.ca_file().string() + "\"\n";
}

// The processes `faxgw run` or `faxgw poll` (pid) keeps warm to decide mails.
std::vector<pid_t> submit_workers_of(pid_t pid) {
    std::vector<pid_t> found;
    for (pid_t child : test::children_of(pid))
        if (test::command_line_of(child).find(" submit-worker ") != std::string::npos)
            found.push_back(child);
    return found;
}

std::string fax_mail(const std::string& to, const std::string& id,
                     const std::string& body = "Please fax this page.\r\n") {
    return "From: Bob <bob@example.org>\r\n"
           "To: " +
           to +
           "\r\n"
           "Subject: A fax\r\n"
           "Message-ID: <" +
           id +
           "@example.org>\r\n"
           "Date: Mon, 1 Dec 2025 10:00:00 +0000\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n"
           "\r\n" +
           body;
}

// A TCP socket listening on 127.0.0.1, on a port the kernel chose, that
// nobody accepts from until the test does.
struct LoopbackListener : test::ReservedPort {
    LoopbackListener() {
        if (::listen(fd, 8) != 0) throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    // Whether a connection waits to be accepted, within `ms` milliseconds.
    bool connection_waits(int ms = 0) const {
        pollfd p{fd, POLLIN, 0};
        return ::poll(&p, 1, ms) == 1;
    }
};

// `faxgw poll` of alice's account at 127.0.0.1:port, without TLS.
test::Process poll_plain_imap_at(int port, const TempDir& dir) {
    std::ofstream(dir.path / "faxgw.toml")
        << "[[imap.accounts]]\nurl = \"imap://127.0.0.1:" << port
        << "\"\nuser = \"alice\"\npassword = \"alice-secret\"\ntls = \"none\"\n";
    return test::Process({FAXGW_BINARY, "poll", "--config", (dir.path / "faxgw.toml").string(),
                          "--var", (dir.path / "var").string()},
                         dir.path);
}

// A body whose rendering takes more processor time than a clock tick,
// whatever the machine: ten pages.
std::string ten_page_letter() {
    std::string letter;
    for (int line = 1; line <= 600; ++line)
        letter += "Line " + std::to_string(line) + " of a letter of ten pages.\r\n";
    return letter;
}

}  // namespace

BOOST_AUTO_TEST_CASE(appended_mail_becomes_jobs_and_moves_to_processed) {
    Dovecot dovecot;
    Fixture f;
    dovecot.append("alice", "INBOX",
                   fax_mail("5551001@fax.example.com, Carol <carol@example.org>", "one"));
    auto counts = imap::poll_once(account_of(dovecot), f.services);
    BOOST_TEST(counts.processed == 1, f.log.all());
    auto jobs = f.jobs();
    BOOST_REQUIRE_EQUAL(jobs.size(), 1u);  // carol@example.org is no fax recipient
    BOOST_TEST(jobs[0].number == "+15551001");
    BOOST_TEST(dovecot.messages("alice", "INBOX").empty());
    BOOST_TEST(dovecot.messages("alice", "Processed").size() == 1u);
    BOOST_TEST(fs::exists(dovecot.maildir("alice", "Rejected")), "missing folders are created");
    // BODY.PEEK[]: the poller read it without marking it read.
    BOOST_TEST(f.refusals.empty());
}

// A crash after submit() committed the jobs: at either point before the
// move, the next poll files the message without a second job.
void crash_between_commit_and_move(imap::Step crash_at) {
    Dovecot dovecot;
    Fixture f;
    dovecot.append("alice", "INBOX", fax_mail("5551002@fax.example.com", "crash"));
    struct Crash {};
    f.services.hook = [&](imap::Step s) {
        if (s == crash_at) throw Crash{};
    };
    BOOST_CHECK_THROW(imap::poll_once(account_of(dovecot), f.services), Crash);
    BOOST_TEST(f.jobs().size() == 1u, "the jobs are committed before the crash");
    BOOST_TEST(dovecot.messages("alice", "INBOX").size() == 1u, "not moved yet");

    f.services.hook = nullptr;
    auto counts = imap::poll_once(account_of(dovecot), f.services);
    BOOST_TEST(counts.processed == 1);
    BOOST_TEST(f.jobs().size() == 1u, "no second job");
    BOOST_TEST(dovecot.messages("alice", "INBOX").empty());
    BOOST_TEST(dovecot.messages("alice", "Processed").size() == 1u);
    if (crash_at == imap::Step::remembered)
        BOOST_TEST(f.log.count("handled before") == 1, "recorded: not submitted again\n"
                                                           << f.log.all());
}

BOOST_AUTO_TEST_CASE(crash_after_the_record_makes_no_second_job) {
    crash_between_commit_and_move(imap::Step::remembered);
}

BOOST_AUTO_TEST_CASE(crash_before_the_record_makes_no_second_job) {
    // submit()'s dedupe (sender, Message-ID, content) catches it.
    crash_between_commit_and_move(imap::Step::submitted);
}

BOOST_AUTO_TEST_CASE(connection_dropped_mid_fetch_loses_nothing) {
    Dovecot dovecot;
    Fixture f;
    // A long mail, so that the cut falls inside its FETCH answer.
    std::string body;
    for (int i = 0; i < 3000; ++i) body += "Line " + std::to_string(i) + " of a long letter.\r\n";
    dovecot.append("alice", "INBOX", fax_mail("5551001@fax.example.com", "long", body));
    faxgw::test::CutRelay relay(dovecot.imap_port(), 40000);
    auto account = account_of(dovecot, false);
    account.url = "imap://127.0.0.1:" + std::to_string(relay.port());

    BOOST_CHECK_THROW(imap::poll_once(account, f.services), std::exception);
    BOOST_TEST(relay.cut());
    BOOST_TEST(f.jobs().empty());
    BOOST_TEST(dovecot.messages("alice", "INBOX").size() == 1u);

    auto counts = imap::poll_once(account, f.services);
    BOOST_TEST(counts.processed == 1);
    BOOST_TEST(relay.connections() == 2);
    auto jobs = f.jobs();
    BOOST_REQUIRE_EQUAL(jobs.size(), 1u);
    BOOST_TEST(jobs[0].pages >= 2, "the whole letter, not its first part");
    BOOST_TEST(dovecot.messages("alice", "Processed").size() == 1u);
}

BOOST_AUTO_TEST_CASE(wrong_password_is_logged_once_and_backed_off) {
    Dovecot dovecot;
    Fixture f;
    auto account = account_of(dovecot);
    account.password = "wrong";
    {
        std::jthread watcher([&](std::stop_token stop) { imap::watch(account, f.services, stop); });
        test::eventually(
            [&] { return dovecot.log_text().find("auth failed") != std::string::npos; },
            std::chrono::seconds(20));
        std::this_thread::sleep_for(std::chrono::seconds(3));
    }
    BOOST_TEST(f.log.count("login refused") == 1, f.log.all());
    BOOST_TEST(f.log.count("alice@127.0.0.1:" + std::to_string(dovecot.imaps_port()) +
                           "/INBOX: login refused (wrong user or password?)") == 1,
               f.log.all());
    BOOST_TEST(f.log.count("connected") == 0, f.log.all());
}

// The pace of retries, against a server that refuses at once (Dovecot
// itself slows failed logins down, which would hide a tight loop).
BOOST_AUTO_TEST_CASE(wrong_password_retries_with_backoff) {
    test::RefusingImapServer server;
    Fixture f;
    imap::Account account;
    account.url = "imap://127.0.0.1:" + std::to_string(server.port());
    account.tls = "none";
    account.user = "alice";
    account.password = "wrong";
    {
        std::jthread watcher([&](std::stop_token stop) { imap::watch(account, f.services, stop); });
        // Backoff 0.5, 1, 2, 2 s: about four tries, where a tight loop
        // would make thousands.
        std::this_thread::sleep_for(std::chrono::seconds(4));
    }
    BOOST_TEST(server.logins() >= 2, "it tries again");
    BOOST_TEST(server.logins() <= 8, "with backoff: " << server.logins() << " tries");
    BOOST_TEST(f.log.count("login refused") == 1, f.log.all());
}

BOOST_AUTO_TEST_CASE(refused_message_goes_to_rejected_and_its_sender_is_told) {
    Dovecot dovecot;
    Fixture f;
    // International numbers are refused by the built-in rules.
    dovecot.append("alice", "INBOX", fax_mail("011442079460000@fax.example.com", "abroad"));
    auto counts = imap::poll_once(account_of(dovecot), f.services);
    BOOST_TEST(counts.rejected == 1, f.log.all());
    BOOST_TEST(f.jobs().empty());
    BOOST_TEST(dovecot.messages("alice", "INBOX").empty());
    BOOST_TEST(dovecot.messages("alice", "Rejected").size() == 1u);
    BOOST_REQUIRE_EQUAL(f.refusals.size(), 1u);
    const auto& r = f.refusals[0];
    BOOST_TEST(r.to == "bob@example.org");
    BOOST_TEST(r.text.find("In-Reply-To: <abroad@example.org>\r\n") != std::string::npos, r.text);
    BOOST_TEST(r.text.find("\r\nMessage-ID: <") != std::string::npos);
    BOOST_TEST(r.text.find("\r\nDate: ") != std::string::npos);
    BOOST_TEST(r.text.find("international") != std::string::npos, r.text);
}

BOOST_AUTO_TEST_CASE(starttls_is_required_unless_tls_none) {
    DovecotOptions plain;
    plain.tls = false;
    Dovecot dovecot(plain);
    Fixture f;
    dovecot.append("alice", "INBOX", fax_mail("5551001@fax.example.com", "plain"));
    auto account = account_of(dovecot, false);
    account.ca_file.clear();
    try {
        imap::poll_once(account, f.services);
        BOOST_ERROR("logged in without TLS");
    } catch (const std::exception& e) {
        BOOST_TEST(std::string(e.what()).find("STARTTLS") != std::string::npos, e.what());
    }
    BOOST_TEST(dovecot.log_text().find("Login: user=<alice>") == std::string::npos,
               "the password never went out");
    BOOST_TEST(dovecot.messages("alice", "INBOX").size() == 1u);

    account.tls = "none";
    BOOST_TEST(imap::poll_once(account, f.services).processed == 1);
}

BOOST_AUTO_TEST_CASE(certificate_of_another_ca_is_refused) {
    Dovecot dovecot;
    Fixture f;
    TempDir other;
    auto stranger = faxgw::test::TestCertificates::make(other.path / "ca", "stranger");
    dovecot.append("alice", "INBOX", fax_mail("5551001@fax.example.com", "mitm"));
    for (bool implicit_tls : {true, false}) {
        auto account = account_of(dovecot, implicit_tls);
        account.ca_file = stranger.ca_cert;
        try {
            imap::poll_once(account, f.services);
            BOOST_ERROR("trusted a certificate of another CA: " << account.url);
        } catch (const std::exception& e) {
            BOOST_TEST(std::string(e.what()).find("not trusted") != std::string::npos, e.what());
        }
    }
    BOOST_TEST(dovecot.log_text().find("Login: user=<alice>") == std::string::npos,
               "the password never went out");
    BOOST_TEST(dovecot.messages("alice", "INBOX").size() == 1u);
}

BOOST_AUTO_TEST_CASE(idle_brings_new_mail_at_once) {
    Dovecot dovecot;
    Fixture f;
    auto account = account_of(dovecot, false);  // STARTTLS this time
    account.poll_seconds = 3600;                // only IDLE can notice in time
    std::atomic<bool> idling = false;           // the server has said "+ idling"
    f.services.hook = [&](imap::Step s) { idling = idling || s == imap::Step::idling; };
    std::jthread watcher([&](std::stop_token stop) { imap::watch(account, f.services, stop); });
    BOOST_REQUIRE(test::eventually([&] { return idling.load(); }, std::chrono::seconds(20)));
    dovecot.append("alice", "INBOX", fax_mail("5551001@fax.example.com", "idle"));
    BOOST_TEST(test::eventually([&] { return dovecot.messages("alice", "Processed").size() == 1; },
                                std::chrono::seconds(60)),
               f.log.all());
    BOOST_TEST(f.jobs().size() == 1u);
    BOOST_TEST(f.log.count("connected (IDLE, MOVE)") == 1, f.log.all());
}

BOOST_AUTO_TEST_CASE(without_move_and_idle_it_copies_and_polls) {
    DovecotOptions old;
    old.imap_capability = "IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE UIDPLUS";
    Dovecot dovecot(old);
    Fixture f;
    auto account = account_of(dovecot);
    account.processed_folder = "Done";
    std::jthread watcher([&](std::stop_token stop) { imap::watch(account, f.services, stop); });
    dovecot.append("alice", "INBOX", fax_mail("5551001@fax.example.com", "old1"));
    BOOST_TEST(test::eventually([&] { return dovecot.messages("alice", "Done").size() == 1; },
                                std::chrono::seconds(60)),
               f.log.all());
    dovecot.append("alice", "INBOX", fax_mail("5551002@fax.example.com", "old2"));
    BOOST_TEST(test::eventually([&] { return dovecot.messages("alice", "Done").size() == 2; },
                                std::chrono::seconds(60)),
               f.log.all());
    watcher.request_stop();
    watcher.join();
    BOOST_TEST(dovecot.messages("alice", "INBOX").empty(), "copied, flagged and expunged");
    BOOST_TEST(f.jobs().size() == 2u);
    BOOST_TEST(f.log.count("(no IDLE: a look every 1 s, no MOVE: COPY and EXPUNGE)") == 1,
               f.log.all());
}

// The command: `faxgw poll --once` with [[imap.accounts]] in its
// configuration queues the fax, files the refused mail and writes the
// refusal into the outbox; a wrong password exits 75, a bad key 78.
BOOST_AUTO_TEST_CASE(poll_once_command) {
    Dovecot dovecot;
    TempDir dir;
    const auto var = dir.path / "var";
    auto write_config = [&](const std::string& password, const std::string& extra) {
        std::ofstream(dir.path / "faxgw.toml") << account_toml(dovecot, password) << extra;
    };
    auto poll = [&] {
        return test::run({FAXGW_BINARY, "poll", "--once", "--config",
                          (dir.path / "faxgw.toml").string(), "--var", var.string()},
                         dir.path);
    };
    dovecot.append("alice", "INBOX", fax_mail("5551001@fax.example.com", "cli-ok"));
    dovecot.append("alice", "INBOX", fax_mail("011442079460000@fax.example.com", "cli-no"));

    write_config("wrong", "");
    auto o = poll();
    BOOST_TEST(o.code == 75, o.err);
    BOOST_TEST(o.err.find("login refused") != std::string::npos, o.err);

    write_config("alice-secret", "colour = \"blue\"\n");
    o = poll();
    BOOST_TEST(o.code == 78, o.err);
    BOOST_TEST(o.err.find("faxgw.toml:") != std::string::npos, o.err);

    write_config("alice-secret", "");
    o = poll();
    BOOST_TEST(o.code == 0, o.err);
    BOOST_TEST(o.err.find("1 processed, 1 rejected") != std::string::npos, o.err);
    BOOST_TEST(faxcore::Queue::open(var)->jobs().size() == 1u);
    BOOST_TEST(dovecot.messages("alice", "Processed").size() == 1u);
    BOOST_TEST(dovecot.messages("alice", "Rejected").size() == 1u);
    int refusals = 0;
    for (const auto& f : fs::directory_iterator(var / "outbox" / "new")) {
        ++refusals;
        BOOST_TEST(test::slurp(f.path()).find("In-Reply-To: <cli-no@example.org>") !=
                   std::string::npos);
    }
    BOOST_TEST(refusals == 1);
}

// `faxgw poll` without --once watches until SIGTERM or SIGINT: mail appended
// while it watches is decided by its warm worker, not by its own threads;
// a refusal is delivered into the outbox by its mailer; SIGHUP reloads the
// configuration file; SIGTERM ends it with 0 (whichever thread the kernel
// gives it to), and its worker with it.
BOOST_AUTO_TEST_CASE(poll_command_watches_until_stopped) {
    Dovecot dovecot;
    TempDir dir;
    const auto var = dir.path / "var";
    std::ofstream(dir.path / "faxgw.toml") << account_toml(dovecot) << "poll_seconds = 1\n";
    test::Process poll({FAXGW_BINARY, "poll", "--config", (dir.path / "faxgw.toml").string(),
                        "--var", var.string()},
                       dir.path);
    BOOST_REQUIRE_MESSAGE(poll.says("connected (", std::chrono::seconds(30)), poll.stderr_so_far());
    const auto workers = submit_workers_of(poll.pid());
    BOOST_REQUIRE_MESSAGE(workers.size() == 1u, poll.stderr_so_far());
    const pid_t worker = workers.front();
    const long ticks_before = test::waited_children_ticks(worker);

    dovecot.append("alice", "INBOX",
                   fax_mail("5551001@fax.example.com", "watch-ok", ten_page_letter()));
    dovecot.append("alice", "INBOX", fax_mail("011442079460000@fax.example.com", "watch-no"));
    BOOST_TEST_REQUIRE(test::eventually(
                           [&] {
                               return dovecot.messages("alice", "Processed").size() == 1u &&
                                      dovecot.messages("alice", "Rejected").size() == 1u;
                           },
                           std::chrono::seconds(30)),
                       poll.stderr_so_far());
    const auto jobs = faxcore::Queue::open(var)->jobs();
    BOOST_TEST_REQUIRE(jobs.size() == 1u);
    BOOST_TEST(jobs[0].number == "+15551001");
    BOOST_TEST(test::waited_children_ticks(worker) > ticks_before, "the worker rendered the mail");
    auto refusal_delivered = [&] {
        const auto delivered = var / "outbox" / "new";
        if (!fs::is_directory(delivered)) return false;
        for (const auto& f : fs::directory_iterator(delivered))
            if (test::slurp(f.path()).find("In-Reply-To: <watch-no@example.org>") !=
                std::string::npos)
                return true;
        return false;
    };
    BOOST_TEST(test::eventually(refusal_delivered, std::chrono::seconds(30)), poll.stderr_so_far());

    // SIGHUP: the new settings (another folder for processed mail) apply
    // to the next mail.
    std::ofstream(dir.path / "faxgw.toml") << account_toml(dovecot) << "poll_seconds = 1\n"
                                           << "processed_folder = \"Faxed\"\n";
    poll.signal(SIGHUP);
    BOOST_TEST_REQUIRE(poll.says("configuration reloaded", std::chrono::seconds(30)),
                       poll.stderr_so_far());
    dovecot.append("alice", "INBOX", fax_mail("5551002@fax.example.com", "watch-reloaded"));
    BOOST_TEST(test::eventually([&] { return dovecot.messages("alice", "Faxed").size() == 1u; },
                                std::chrono::seconds(30)),
               poll.stderr_so_far());
    BOOST_TEST(faxcore::Queue::open(var)->jobs().size() == 2u);

    poll.signal(SIGTERM);
    const auto stopped = poll.wait();
    BOOST_TEST(stopped.code == 0, stopped.err);
    // Ended: gone, or a zombie that whoever inherited it has not reaped yet.
    BOOST_TEST(test::eventually(
                   [&] {
                       const char state = test::state_of(worker);
                       return state == '?' || state == 'Z';
                   },
                   std::chrono::seconds(10)),
               "the worker ended with the poller");
}

// A server that never greets: the kernel completes the TCP handshake of a
// listening socket that nobody accepts from, and nothing is ever said.
// `faxgw poll` waits for the greeting, and yet reloads on SIGHUP and stops
// on SIGTERM at once, not after the network timeout (60 s, and as long
// again for a LOGOUT nobody answers). The bound below is ten times what
// either takes, and a third of what it took before.
BOOST_AUTO_TEST_CASE(a_server_that_never_greets_holds_up_neither_reload_nor_stop) {
    TempDir dir;
    const LoopbackListener silent;
    test::Process poll = poll_plain_imap_at(silent.port, dir);
    BOOST_TEST_REQUIRE(
        test::eventually([&] { return silent.connection_waits(); }, std::chrono::seconds(30)),
        poll.stderr_so_far());
    const auto bound = std::chrono::seconds(20);

    poll.signal(SIGHUP);
    BOOST_TEST(poll.says("configuration reloaded", bound), poll.stderr_so_far());

    const auto asked = std::chrono::steady_clock::now();
    poll.signal(SIGTERM);
    const auto stopped = poll.wait();
    BOOST_TEST(stopped.code == 0, stopped.err);
    BOOST_TEST((std::chrono::steady_clock::now() - asked < bound),
               "stopped only after the timeout");
}

// A server that greets and then resets the connection (a restart, a proxy
// giving up): what the client writes next meets a closed connection, which
// raises SIGPIPE. `faxgw poll` logs it and connects again; the signal does
// not end it.
BOOST_AUTO_TEST_CASE(a_server_that_hangs_up_does_not_end_the_poller) {
    TempDir dir;
    const LoopbackListener listener;
    std::atomic<int> hung_up{0};
    std::jthread server([&](std::stop_token stop) {
        while (!stop.stop_requested()) {
            if (!listener.connection_waits(100)) continue;
            const int c = ::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            const std::string greeting = "* OK [CAPABILITY IMAP4rev1] about to hang up\r\n";
            (void)!::send(c, greeting.data(), greeting.size(), MSG_NOSIGNAL);
            const linger reset{1, 0};  // RST, not FIN: the next write fails
            ::setsockopt(c, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
            ::close(c);
            ++hung_up;
        }
    });
    test::Process poll = poll_plain_imap_at(listener.port, dir);
    // The first connection, and the one after the first backoff (1 s).
    BOOST_TEST(test::eventually([&] { return hung_up >= 2; }, std::chrono::seconds(30)),
               poll.stderr_so_far());
    BOOST_TEST(poll.stderr_so_far().find("reconnecting in") != std::string::npos,
               poll.stderr_so_far());
    poll.signal(SIGTERM);
    const auto stopped = poll.wait();
    BOOST_TEST(stopped.code == 0, stopped.err);
    server.request_stop();
    server.join();
}

// `faxgw run` watches the configured mailboxes too: a mail appended while
// it runs becomes a job and moves to Processed.
BOOST_AUTO_TEST_CASE(faxgw_run_watches_the_mailboxes) {
    Dovecot dovecot;
    TempDir dir;
    const auto var = dir.path / "var";
    std::ofstream(dir.path / "faxgw.toml") << account_toml(dovecot);
    test::Process run({FAXGW_BINARY, "run", "--config", (dir.path / "faxgw.toml").string(), "--var",
                       var.string()},
                      dir.path);
    dovecot.append("alice", "INBOX", fax_mail("5551001@fax.example.com", "run-ok"));
    BOOST_TEST(test::eventually([&] { return dovecot.messages("alice", "Processed").size() == 1u; },
                                std::chrono::seconds(30)),
               run.stderr_so_far());
    const auto jobs = faxcore::Queue::open(var)->jobs();
    BOOST_TEST_REQUIRE(jobs.size() == 1u);
    BOOST_TEST(jobs[0].number == "+15551001");
    run.signal(SIGTERM);
    const auto stopped = run.wait();
    BOOST_TEST(stopped.code == 0, stopped.err);
}

// `faxgw run` reloads on its scheduler's thread, which systemd's watchdog
// expects back within a minute: a reload while a mailbox worker decides a
// slow mail (PostScript that loops until its renderer's time limit) does
// not wait for that mail. The bound below is half that limit.
BOOST_AUTO_TEST_CASE(faxgw_run_reloads_while_a_mailbox_mail_is_being_decided) {
    Dovecot dovecot;
    TempDir dir;
    const auto var = dir.path / "var";
    std::ofstream(dir.path / "faxgw.toml")
        << "[submit]\nworkers = 0\n[render]\nwall_seconds = 20\ncpu_seconds = 20\n"
        << account_toml(dovecot) << "poll_seconds = 1\n";
    test::Process run({FAXGW_BINARY, "run", "--config", (dir.path / "faxgw.toml").string(), "--var",
                       var.string()},
                      dir.path);
    BOOST_REQUIRE_MESSAGE(run.says("connected (", std::chrono::seconds(30)), run.stderr_so_far());
    const auto workers = submit_workers_of(run.pid());
    BOOST_REQUIRE_MESSAGE(workers.size() == 1u, run.stderr_so_far());
    dovecot.append("alice", "INBOX",
                   "From: Bob <bob@example.org>\r\nTo: 5551001@fax.example.com\r\n"
                   "Subject: A loop\r\nMessage-ID: <loop@example.org>\r\n"
                   "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                   "--b\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n"
                   "--b\r\nContent-Type: application/postscript; name=loop.ps\r\n"
                   "Content-Disposition: attachment; filename=loop.ps\r\n\r\n"
                   "%!PS\r\n{} loop\r\n--b--\r\n");
    BOOST_REQUIRE_MESSAGE(
        test::eventually([&] { return !test::children_of(workers.front()).empty(); },
                         std::chrono::seconds(30)),
        "the worker renders: " << run.stderr_so_far());

    const auto asked = std::chrono::steady_clock::now();
    run.signal(SIGHUP);
    BOOST_TEST(run.says("configuration reloaded", std::chrono::seconds(10)), run.stderr_so_far());
    BOOST_TEST((std::chrono::steady_clock::now() - asked < std::chrono::seconds(10)));
    BOOST_TEST(run.stderr_so_far().find("from bob@example.org") == std::string::npos,
               "the reload waited for the mail: " << run.stderr_so_far());
    run.signal(SIGTERM);
    const auto stopped = run.wait();
    BOOST_TEST(stopped.code == 0, stopped.err);
}

// `faxgw run` hands each mailbox mail to a warm worker process of the
// mailboxes' own, so that renderers are forked from that single-threaded
// worker and never from the daemon's threads: the worker's processor time
// grows by the mail's rendering. A worker killed while idle is replaced
// when the next mail comes: each mail is queued once, none waits.
BOOST_AUTO_TEST_CASE(faxgw_run_decides_mailbox_mail_in_a_worker_process) {
    Dovecot dovecot;
    TempDir dir;
    const auto var = dir.path / "var";
    std::ofstream(dir.path / "faxgw.toml")
        << "[submit]\nworkers = 0\n"  // only the mailboxes' worker
        << account_toml(dovecot) << "poll_seconds = 2\n";
    test::Process run({FAXGW_BINARY, "run", "--config", (dir.path / "faxgw.toml").string(), "--var",
                       var.string()},
                      dir.path);
    auto workers = [&] { return submit_workers_of(run.pid()); };
    // The watch connects once its worker is warm.
    BOOST_REQUIRE_MESSAGE(run.says("connected (", std::chrono::seconds(30)), run.stderr_so_far());
    BOOST_REQUIRE_MESSAGE(workers().size() == 1u, run.stderr_so_far());
    const pid_t worker = workers().front();
    const long ticks_before = test::waited_children_ticks(worker);

    dovecot.append("alice", "INBOX",
                   fax_mail("5551001@fax.example.com", "worker-1", ten_page_letter()));
    BOOST_TEST_REQUIRE(
        test::eventually([&] { return dovecot.messages("alice", "Processed").size() == 1u; },
                         std::chrono::seconds(30)),
        run.stderr_so_far());
    BOOST_TEST(test::waited_children_ticks(worker) > ticks_before, "the worker rendered the mail");

    // Killed while idle: the next mail finds it replaced, not left for later.
    ::kill(worker, SIGKILL);
    BOOST_REQUIRE(
        test::eventually([&] { return test::state_of(worker) == 'Z'; }, std::chrono::seconds(10)));
    dovecot.append("alice", "INBOX", fax_mail("5551002@fax.example.com", "worker-2"));
    BOOST_TEST_REQUIRE(
        test::eventually([&] { return dovecot.messages("alice", "Processed").size() == 2u; },
                         std::chrono::seconds(30)),
        run.stderr_so_far());
    const auto jobs = faxcore::Queue::open(var)->jobs();
    BOOST_TEST_REQUIRE(jobs.size() == 2u);
    BOOST_TEST(jobs[1].number == "+15551002");
    BOOST_TEST(workers().size() == 1u);
    BOOST_TEST(workers() != std::vector<pid_t>{worker});
    const std::string said = run.stderr_so_far();
    BOOST_TEST(said.find("worker " + std::to_string(worker) + " ended while idle: replaced") !=
                   std::string::npos,
               said);
    BOOST_TEST(said.find("left for later") == std::string::npos, said);
    run.signal(SIGTERM);
    const auto stopped = run.wait();
    BOOST_TEST(stopped.code == 0, stopped.err);
}
