// `faxgw milter` inside a real Postfix on 127.0.0.1 (postfix.h), attached
// with the lines of conf/postfix/main.cf.milter, mails sent by an SMTP
// client: the sender reads the answer in the SMTP dialogue, accepted jobs
// are queued before the 250, the fax recipients leave the delivery, and
// neither a kill -9 nor a SIGTERM loses or doubles a job.
#define BOOST_TEST_MODULE postfix milter
#include <faxgw/faxcore.h>
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <future>
#include <thread>

#include "e2e.h"
#include "postfix.h"
#include "smtp.h"
#include "test_support.h"

using namespace faxgw;
using namespace std::chrono_literals;

namespace {

// One renderer, so that the test knows which worker has a mail. Rules that
// decide at RCPT TO (sender), at the end of DATA (From:), and the built-in
// one against unauthenticated outsiders.
const std::string milter_config = R"(
[milter]
renderers = 1
[rules]
list = [
  { sender = "mallory@example.org", action = "deny", reason = "mallory@example.org may not send faxes" },
  { from = "boss@example.org", action = "deny", reason = "mail From: boss@example.org is not faxed" },
  { auth = "none", client = "untrusted", action = "deny", reason = "log in (SMTP AUTH) or send from a trusted network" },
]
)";

// The milter, a Postfix that uses it, and the milter's queue.
struct Rig {
    test::TempDir dir;
    test::ReservedPort milter_port;
    std::filesystem::path var = dir.path / "var";
    std::filesystem::path config = dir.path / "faxgw.toml";
    std::unique_ptr<test::Process> milter;
    test::Postfix postfix;

    explicit Rig(const std::string& toml = milter_config) : postfix(options(milter_port.port)) {
        std::ofstream(config) << toml;
        start_milter();
    }
    static test::PostfixOptions options(int port) {
        test::PostfixOptions o;
        o.faxgw_binary = test::faxgw_binary;
        o.extra_main_cf = test::conf_milter_lines(port);
        return o;
    }
    void start_milter() {
        milter_port.release();
        milter = std::make_unique<test::Process>(
            std::vector<std::string>{test::faxgw_binary, "milter", "--config", config.string(),
                                     "--var", var.string(), "--socket",
                                     "inet:" + std::to_string(milter_port.port) + "@127.0.0.1"},
            dir.path);
        if (!test::eventually([&] { return test::accepts_connections(milter_port.port); }, 20s))
            throw std::runtime_error("faxgw milter does not listen: " + milter->stderr_so_far());
    }
    std::vector<faxcore::Job> jobs() const { return faxcore::Queue::open(var)->jobs(); }
    // The milter's worker process (renderers = 1).
    pid_t worker() const {
        for (const auto& p : std::filesystem::directory_iterator("/proc")) {
            const std::string name = p.path().filename().string();
            if (name.find_first_not_of("0123456789") != std::string::npos) continue;
            std::string cmdline;
            std::getline(std::ifstream(p.path() / "cmdline"), cmdline);
            std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
            if (cmdline.find(" submit-worker ") != std::string::npos &&
                cmdline.find(var.string()) != std::string::npos)
                return std::stoi(name);
        }
        return -1;
    }
};

std::string mail(const std::string& id, const std::string& from, const std::string& to,
                 const std::string& body = "Please fax this line.\n") {
    return "From: " + from + "\nTo: " + to + "\nSubject: milter " + id +
           "\nDate: Mon, 3 Mar 2025 09:30:00 +0100\nMessage-ID: <" + id + "@example.org>\n\n" +
           body;
}

// A mail with attachments (type, name, bytes).
std::string mail_with(const std::string& id, const std::string& to,
                      const std::vector<std::array<std::string, 3>>& attachments) {
    std::string m = "From: anna@example.org\nTo: " + to + "\nSubject: milter " + id +
                    "\nDate: Mon, 3 Mar 2025 09:30:00 +0100\nMessage-ID: <" + id +
                    "@example.org>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; "
                    "boundary=B\n\n--B\nContent-Type: text/plain\n\nSee attached.\n";
    for (const auto& [type, name, bytes] : attachments)
        m += "--B\nContent-Type: " + type + "; name=" + name +
             "\nContent-Transfer-Encoding: base64\n\n" + test::base64(bytes) + "\n";
    return m + "--B--\n";
}

// 21 pages: the sample PDF seven times, long enough to render that a test
// can act while a worker has it.
std::string long_mail(const std::string& id) {
    const std::string pdf = test::slurp(test::source_dir / "samples" / "docs" / "three-pages.pdf");
    std::vector<std::array<std::string, 3>> parts;
    for (int i = 1; i <= 7; ++i)
        parts.push_back({"application/pdf", "part" + std::to_string(i) + ".pdf", pdf});
    return mail_with(id, "5551003@fax.example.com", parts);
}

// The mail "milter ID" as Postfix delivered it to a Maildir (waiting up to
// 20 s for it), or "".
std::string delivered(const Rig& rig, const std::string& id) {
    std::string found;
    test::eventually(
        [&] {
            for (const auto& m : rig.postfix.mails())
                if (m.find("Subject: milter " + id + "\n") != std::string::npos) found = m;
            return !found.empty();
        },
        20s);
    return found;
}

// Bytes a process has read: a worker that read a whole mail has it in hand.
std::uint64_t bytes_read(pid_t pid) {
    std::ifstream io("/proc/" + std::to_string(pid) + "/io");
    std::string key;
    std::uint64_t value = 0;
    while (io >> key >> value)
        if (key == "rchar:") return value;
    return 0;
}

// Sends `message` on a connection of its own, from another thread.
std::future<test::SmtpClient::Attempt> send_async(int port, const std::string& message) {
    return std::async(std::launch::async, [port, message] {
        test::SmtpClient client(port);
        return client.attempt("anna@example.org", {"5551003@fax.example.com"}, message);
    });
}

// Waits until the worker has read `message` (its read count grew by at
// least its size).
void wait_until_worker_has(pid_t worker, std::uint64_t before, const std::string& message) {
    BOOST_TEST_REQUIRE(
        test::eventually([&] { return bytes_read(worker) >= before + message.size(); }, 30s, 1ms));
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_sender_reads_the_answer_in_the_smtp_dialogue) {
    Rig rig;
    test::SmtpClient smtp(rig.postfix.port);

    // A good mail: 250 once its job is queued, and delivered nowhere else
    // (not to the fax pipe transport either).
    auto good = smtp.attempt("anna@example.org", {"5551001@fax.example.com"},
                             mail("good", "anna@example.org", "5551001@fax.example.com"));
    BOOST_TEST(good.accepted(), good.end);
    auto jobs = rig.jobs();
    BOOST_TEST_REQUIRE(jobs.size() == 1u);
    BOOST_TEST(jobs[0].number == "+15551001");

    // A bad number: 550 5.1.1 at RCPT TO, saying what is wrong.
    auto bad = smtp.attempt("anna@example.org", {"12@fax.example.com"},
                            mail("bad", "anna@example.org", "12@fax.example.com"));
    BOOST_TEST_REQUIRE(bad.rcpt.size() == 1u);
    BOOST_TEST(bad.rcpt[0].starts_with("550 5.1.1 "), bad.rcpt[0]);
    BOOST_TEST(bad.rcpt[0].find("fewer than 3 digits") != std::string::npos, bad.rcpt[0]);

    // A sender the rules refuse: 550 5.7.1 with the rule's reason, at RCPT.
    auto refused = smtp.attempt("mallory@example.org", {"5551001@fax.example.com"},
                                mail("refused", "mallory@example.org", "5551001@fax.example.com"));
    BOOST_TEST(refused.rcpt.at(0).starts_with("550 5.7.1 "), refused.rcpt.at(0));
    BOOST_TEST(
        refused.rcpt.at(0).find("mallory@example.org may not send faxes") != std::string::npos,
        refused.rcpt.at(0));

    // A rule on From: can only decide with the message: 550 at its end.
    auto boss = smtp.attempt("anna@example.org", {"5551002@fax.example.com"},
                             mail("boss", "boss@example.org", "5551002@fax.example.com"));
    BOOST_TEST(boss.rcpt.at(0).starts_with("250"), boss.rcpt.at(0));
    BOOST_TEST(boss.end.starts_with("550 5.7.1 "), boss.end);
    BOOST_TEST(boss.end.find("mail From: boss@example.org is not faxed") != std::string::npos,
               boss.end);

    // An attachment that cannot be faxed: 554 5.6.1 naming it and its type.
    auto exe =
        smtp.attempt("anna@example.org", {"5551002@fax.example.com"},
                     mail_with("exe", "5551002@fax.example.com",
                               {{{"application/x-msdownload", "setup.exe",
                                  std::string("MZ\x90\0\3\0\0\0", 8) + std::string(2000, 'x')}}}));
    BOOST_TEST(exe.end.starts_with("554 5.6.1 "), exe.end);
    BOOST_TEST(exe.end.find("setup.exe (") != std::string::npos, exe.end);

    BOOST_TEST(rig.jobs().size() == 1u);  // none of the refused mails queued anything
    BOOST_TEST(rig.postfix.maillog().find("relay=fax") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(other_recipients_still_get_the_mail) {
    Rig rig;
    test::SmtpClient smtp(rig.postfix.port);
    auto mixed = smtp.attempt(
        "anna@example.org", {"office@example.org", "5551002@fax.example.com"},
        mail("mixed", "anna@example.org", "office@example.org, 5551002@fax.example.com"));
    BOOST_TEST_REQUIRE(mixed.accepted(), mixed.end);
    auto jobs = rig.jobs();
    BOOST_TEST_REQUIRE(jobs.size() == 1u);
    // The copy for office@ is delivered, and says which job was queued.
    const std::string copy = delivered(rig, "mixed");
    BOOST_TEST_REQUIRE(!copy.empty());
    BOOST_TEST(copy.find("X-Fax-Jobs: " + std::to_string(jobs[0].id) + " (+15551002)") !=
                   std::string::npos,
               copy);
    // The fax recipient is not delivered by Postfix (no pipe, no bounce).
    BOOST_TEST(rig.postfix.maillog().find("relay=fax") == std::string::npos);

    // Mail without fax recipients passes untouched: no header, no decision.
    auto plain = smtp.attempt("anna@example.org", {"office@example.org"},
                              mail("plain", "anna@example.org", "office@example.org"));
    BOOST_TEST_REQUIRE(plain.accepted(), plain.end);
    const std::string passed = delivered(rig, "plain");
    BOOST_TEST_REQUIRE(!passed.empty());
    BOOST_TEST(passed.find("X-Fax-Jobs") == std::string::npos);
    BOOST_TEST(rig.milter->stderr_so_far().find("<plain@") == std::string::npos);
    BOOST_TEST(rig.jobs().size() == 1u);
}

// With loopback outside rules.trusted_networks, an unauthenticated client
// is an outsider: the built-in rule refuses it at RCPT TO, with its reason.
BOOST_AUTO_TEST_CASE(an_unauthenticated_outsider_is_refused_as_the_rules_say) {
    Rig rig(milter_config + "trusted_networks = [\"10.0.0.0/8\"]\n");
    test::SmtpClient smtp(rig.postfix.port);
    auto outsider = smtp.attempt("anna@example.org", {"5551001@fax.example.com"},
                                 mail("outsider", "anna@example.org", "5551001@fax.example.com"));
    BOOST_TEST(outsider.rcpt.at(0).starts_with("550 5.7.1 "), outsider.rcpt.at(0));
    BOOST_TEST(outsider.rcpt.at(0).find("log in (SMTP AUTH)") != std::string::npos);
    BOOST_TEST(rig.jobs().empty());
}

// The worker queued the job, and the milter dies before Postfix could
// answer 250: the client is told 451 (milter_default_action = tempfail)
// and sends the mail again, which queues no second job.
BOOST_AUTO_TEST_CASE(a_kill_between_queueing_and_250_queues_nothing_twice) {
    Rig rig;
    const std::string message = long_mail("killed");
    const pid_t worker = rig.worker();
    BOOST_TEST_REQUIRE(worker > 0);
    const auto before = bytes_read(worker);
    auto first = send_async(rig.postfix.port, message);
    wait_until_worker_has(worker, before, message);
    rig.milter->signal(SIGSTOP);  // it waits for the worker and will never answer
    BOOST_TEST_REQUIRE(test::eventually([&] { return rig.jobs().size() == 1u; }, 60s),
                       rig.milter->stderr_so_far());
    rig.milter->signal(SIGKILL);
    rig.milter->wait();
    auto answer = first.get();
    BOOST_TEST(answer.end.starts_with("451 4.7.1"), answer.end);

    // A session that starts while the milter is down gets the default
    // action too: 451, nothing lost, nothing accepted unchecked.
    test::SmtpClient smtp(rig.postfix.port);
    auto down = smtp.attempt("anna@example.org", {"5551001@fax.example.com"},
                             mail("down", "anna@example.org", "5551001@fax.example.com"));
    const std::string down_reply = down.mail + (down.rcpt.empty() ? "" : down.rcpt[0]) + down.end;
    BOOST_TEST(down_reply.find("451 4.7.1") != std::string::npos, down_reply);

    rig.start_milter();
    test::SmtpClient again(rig.postfix.port);
    auto retried = again.attempt("anna@example.org", {"5551003@fax.example.com"}, message);
    BOOST_TEST(retried.accepted(), retried.end);
    BOOST_TEST(rig.jobs().size() == 1u);
}

// SIGTERM while a worker renders: that mail gets its answer (250), then the
// milter ends with 0.
BOOST_AUTO_TEST_CASE(sigterm_lets_the_mail_in_hand_finish) {
    Rig rig;
    const std::string message = long_mail("terminated");
    const pid_t worker = rig.worker();
    BOOST_TEST_REQUIRE(worker > 0);
    const auto before = bytes_read(worker);
    auto sent = send_async(rig.postfix.port, message);
    wait_until_worker_has(worker, before, message);
    rig.milter->signal(SIGTERM);
    auto answer = sent.get();
    BOOST_TEST(answer.accepted(), answer.mail + answer.rcpt.at(0) + answer.data + answer.end);
    BOOST_TEST(rig.jobs().size() == 1u);
    auto ended = rig.milter->wait();
    BOOST_TEST(ended.code == 0, ended.err);
}
