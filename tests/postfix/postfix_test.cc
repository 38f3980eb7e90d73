// faxgw behind a real Postfix: each test starts a private Postfix on
// 127.0.0.1 (tests/postfix/postfix.h) whose `fax` pipe(8) transport runs the
// built faxgw binary, sends mails to it over SMTP and watches what Postfix
// logs, what faxgw queued and what came back to the sender.
// Needs root and the Debian package postfix (tools/install-deps).
#define BOOST_TEST_MODULE postfix pipe transport
#include "postfix.h"

#include <boost/test/unit_test.hpp>
#include <functional>
#include <set>

#include "e2e.h"
#include "smtp.h"

using namespace faxgw;
using namespace std::chrono_literals;

namespace {

std::string sample(const std::string& name) {
    return test::slurp(test::source_dir / "samples" / "mail" / name);
}

// Lines of Postfix's log that mention `a` and `b`.
std::vector<std::string> log_lines(const test::Postfix& pf, const std::string& a,
                                   const std::string& b = "") {
    std::vector<std::string> out;
    std::istringstream in(pf.maillog());
    for (std::string line; std::getline(in, line);)
        if (line.find(a) != std::string::npos && line.find(b) != std::string::npos)
            out.push_back(line);
    return out;
}

// `faxgw jobs --json`, run as the user Postfix runs `faxgw submit` as.
// Every run of white space (line folds included) as one space.
std::string unfolded(const std::string& text) {
    std::string out;
    for (char c : text) {
        bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
        if (!space)
            out += c;
        else if (!out.empty() && out.back() != ' ')
            out += ' ';
    }
    return out;
}

nlohmann::json jobs(const test::Postfix& pf) {
    auto o = pf.run_as_pipe_user({test::faxgw_binary, "jobs", "--json", "--var", pf.var.string()});
    if (o.code != 0) throw std::runtime_error("faxgw jobs failed: " + o.out + o.err);
    return nlohmann::json::parse(o.out);
}

std::multiset<std::string> numbers_of(const nlohmann::json& js) {
    std::multiset<std::string> out;
    for (const auto& j : js) out.insert(j["number"].get<std::string>());
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(mails_over_smtp_become_fax_jobs) {
    test::Postfix pf({test::faxgw_binary, ""});
    {
        test::SmtpClient smtp(pf.port);
        smtp.send("alice@example.org", {"5551001@fax.example.com"}, sample("plain-text.eml"));
        smtp.send("alice@example.org", {"5551001@fax.example.com", "5551002@fax.example.com"},
                  sample("two-numbers.eml"));
    }
    const std::multiset<std::string> want = {"+15551001", "+15551001", "+15551002"};
    bool all = test::eventually([&] { return numbers_of(jobs(pf)) == want; }, 30s, 200ms);
    BOOST_TEST(all, "jobs: " << jobs(pf).dump() << "\nlog:\n" << pf.maillog());

    auto js = jobs(pf);
    std::set<std::string> origins;
    for (const auto& j : js) {
        BOOST_TEST(j["state"] == "queued");
        BOOST_TEST(j["pages"].get<int>() >= 1);
        origins.insert(j["origin_key"].get<std::string>());
    }
    // One batch per mail, the Message-ID first in its key; the second
    // number of two-numbers.eml (a delivery of its own) joined the first's.
    BOOST_TEST_REQUIRE(origins.size() == 2u, js.dump());
    BOOST_TEST(origins.begin()->starts_with("<plain-text.sample@example.org> sha256:"));
    BOOST_TEST(origins.rbegin()->starts_with("<two-numbers.sample@example.org> sha256:"));
    std::set<std::string> documents;
    for (const auto& j : js) documents.insert(j["document"].get<std::string>());
    BOOST_TEST(documents.size() == 2u, js.dump());

    // One delivery per recipient through the fax transport, each status=sent
    // with faxgw's line as the reason.
    BOOST_TEST(test::eventually(
                   [&] { return log_lines(pf, "relay=fax,", "status=sent").size() == 3; }, 10s),
               pf.maillog());
    for (const auto& line : log_lines(pf, "relay=fax,", "status=sent"))
        BOOST_TEST(line.find("queued 1 fax job") != std::string::npos, line);
    BOOST_TEST(log_lines(pf, "status=deferred").empty(), pf.maillog());
    BOOST_TEST(log_lines(pf, "status=bounced").empty(), pf.maillog());
}

// As faxgw.service runs `faxgw run` as the user Postfix's pipe runs
// `faxgw submit` as (master.cf: user=faxgw), the submit service takes the
// mails: its socket admits that user.
BOOST_AUTO_TEST_CASE(with_faxgw_run_running_its_warm_workers_decide_the_mails) {
    test::Postfix pf({test::faxgw_binary, ""});
    std::unique_ptr<test::Process> gateway;
    {
        test::Postfix::UsualUmask usual;
        gateway = std::make_unique<test::Process>(
            test::Postfix::as_pipe_user({test::faxgw_binary, "run", "--var", pf.var.string()}),
            pf.dir);
    }
    const auto logged = [&](const std::string& line) {
        return test::eventually(
            [&] { return gateway->stderr_so_far().find(line) != std::string::npos; }, 30s, 100ms);
    };
    BOOST_TEST_REQUIRE(logged("submit service: 2 worker(s) on"), gateway->stderr_so_far());
    {
        test::SmtpClient smtp(pf.port);
        smtp.send("alice@example.org", {"5551001@fax.example.com"}, sample("plain-text.eml"));
    }
    BOOST_TEST(logged("submit service: 2.0.0 from <alice@example.org>: queued 1 fax job"),
               gateway->stderr_so_far() << "\nlog:\n"
                                        << pf.maillog());
    BOOST_TEST(test::eventually(
                   [&] { return log_lines(pf, "relay=fax,", "status=sent").size() == 1; }, 10s),
               pf.maillog());
    BOOST_TEST(numbers_of(jobs(pf)) == std::multiset<std::string>{"+15551001"});
    gateway->signal(SIGTERM);
    BOOST_TEST(gateway->wait().code == 0);
}

BOOST_AUTO_TEST_CASE(a_refused_sender_gets_a_bounce_with_the_reason) {
    const std::string reason = "blocked@example.org may not send faxes";
    test::Postfix pf({test::faxgw_binary,
                      "[rules]\nlist = [\n"
                      "  { sender = \"blocked@example.org\", action = \"deny\", reason = \"" +
                          reason + "\" },\n]\n"});
    {
        test::SmtpClient smtp(pf.port);
        smtp.send("blocked@example.org", {"5551001@fax.example.com"}, sample("two-numbers.eml"));
        // Another sender still gets through the same transport.
        smtp.send("alice@example.org", {"5551002@fax.example.com"}, sample("plain-text.eml"));
    }
    bool bounced = test::eventually(
        [&] {
            for (const auto& m : pf.mails())
                if (m.find("blocked@example.org") != std::string::npos) return true;
            return false;
        },
        30s, 200ms);
    BOOST_TEST_REQUIRE(bounced, "no bounce in " << pf.maildir() << "\nlog:\n" << pf.maillog());

    auto mails = pf.mails();
    BOOST_TEST(mails.size() == 1u);
    const auto& bounce = mails.at(0);
    BOOST_TEST(bounce.find("Delivered-To: blocked@example.org") != std::string::npos, bounce);
    BOOST_TEST(bounce.find("MAILER-DAEMON") != std::string::npos, bounce);
    BOOST_TEST(bounce.find("5551001@fax.example.com") != std::string::npos, bounce);
    // The reason is faxgw's output line; Postfix may fold it across lines.
    BOOST_TEST(unfolded(bounce).find(reason) != std::string::npos, bounce);
    // The status is the one faxgw printed first (refused by the sender
    // rules: 5.7.1), which pipe(8) takes over that of exit 77 (5.7.0).
    BOOST_TEST(bounce.find("Status: 5.7.1") != std::string::npos, bounce);

    auto bounced_lines = log_lines(pf, "relay=fax,", "status=bounced");
    BOOST_TEST(bounced_lines.size() == 1u, pf.maillog());
    for (const auto& l : bounced_lines) BOOST_TEST(l.find(reason) != std::string::npos, l);

    // Only alice's mail became a job.
    BOOST_TEST(
        test::eventually(
            [&] { return numbers_of(jobs(pf)) == std::multiset<std::string>{"+15551002"}; }, 10s),
        jobs(pf).dump());
}

BOOST_AUTO_TEST_CASE(a_temporary_failure_is_retried_until_it_succeeds) {
    test::Postfix pf({test::faxgw_binary, ""});
    // faxgw, as the pipe user, cannot write its state folder: exit 75.
    pf.make_state_folder_writable(false);
    {
        test::SmtpClient smtp(pf.port);
        smtp.send("alice@example.org", {"5551001@fax.example.com"}, sample("plain-text.eml"));
    }
    bool deferred = test::eventually(
        [&] { return !log_lines(pf, "relay=fax,", "status=deferred").empty(); }, 30s);
    BOOST_TEST_REQUIRE(deferred, pf.maillog());
    auto line = log_lines(pf, "relay=fax,", "status=deferred").front();
    BOOST_TEST(line.find("fax gateway temporary failure") != std::string::npos, line);
    BOOST_TEST(line.find("to=<5551001@fax.example.com>") != std::string::npos, line);
    // Postfix keeps it and keeps trying. The backoff is 1-2 s here, but a
    // queue scan that meets the mail while its delivery is still under way
    // ("skipped, still being delivered") moves it to the incoming queue with
    // a time stamp 60 s ahead, and that queue is looked at again only when
    // new mail or a request comes. So the test asks every 5 s, as an admin
    // would (`postfix flush`). The patience is a hang guard, not a timing.
    constexpr auto retry_patience = 130s;
    auto flushed_until =
        [&pf, last = std::chrono::steady_clock::now()](const std::function<bool()>& done) mutable {
            if (done()) return true;
            if (std::chrono::steady_clock::now() - last > 5s) {
                pf.flush();
                last = std::chrono::steady_clock::now();
            }
            return false;
        };
    BOOST_TEST(test::eventually(
                   [&] {
                       return flushed_until([&] {
                           return log_lines(pf, "relay=fax,", "status=deferred").size() >= 2;
                       });
                   },
                   retry_patience),
               pf.maillog());
    BOOST_TEST(log_lines(pf, "status=sent").empty(), pf.maillog());
    BOOST_TEST(log_lines(pf, "status=bounced").empty(), pf.maillog());

    pf.make_state_folder_writable(true);
    bool sent = test::eventually(
        [&] {
            return flushed_until(
                [&] { return !log_lines(pf, "relay=fax,", "status=sent").empty(); });
        },
        retry_patience, 200ms);
    BOOST_TEST_REQUIRE(sent, pf.maillog());
    BOOST_TEST(log_lines(pf, "relay=fax,", "status=sent").size() == 1u, pf.maillog());
    BOOST_TEST(log_lines(pf, "status=bounced").empty(), pf.maillog());
    BOOST_TEST(pf.mails().empty(), "the sender got a mail (a bounce?)");

    auto js = jobs(pf);
    BOOST_TEST_REQUIRE(js.size() == 1u, js.dump());
    BOOST_TEST(js[0]["number"] == "+15551001");
    BOOST_TEST(
        js[0]["origin_key"].get<std::string>().starts_with("<plain-text.sample@example.org> "));
}
