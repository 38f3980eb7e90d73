// `faxgw run` as systemd runs it (faxgw.service, Type=notify): readiness,
// watchdog, reload and stopping over a real NOTIFY_SOCKET; SIGHUP reloading
// the configuration for new work and refusing a bad file; log events in a
// real systemd-journald with their priority and fields, numbers masked.
#define BOOST_TEST_MODULE e2e service
#include <httplib.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <boost/test/unit_test.hpp>
#include <csignal>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>

#include "e2e.h"

using namespace faxgw;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// The end of systemd's notification socket: a datagram socket that keeps
// every message faxgw sends, in order.
class NotifySocket {
public:
    explicit NotifySocket(const fs::path& path) : path_(path) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            throw std::runtime_error("cannot bind " + path.string());
        timeval tv{0, 100000};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~NotifySocket() { ::close(fd_); }
    // The messages received so far, each "KEY=value\n...".
    const std::vector<std::string>& messages() {
        char buf[4096];
        for (ssize_t n; (n = ::recv(fd_, buf, sizeof buf, 0)) > 0;) received_.emplace_back(buf, n);
        return received_;
    }
    std::size_t count_starting(const std::string& prefix) {
        const auto& all = messages();
        return static_cast<std::size_t>(std::count_if(
            all.begin(), all.end(), [&](const auto& m) { return m.rfind(prefix, 0) == 0; }));
    }
    std::string env() const { return "NOTIFY_SOCKET=" + path_.string(); }

private:
    fs::path path_;
    int fd_ = -1;
    std::vector<std::string> received_;
};

struct Rig : test::StateRig {
    fs::path config = dir.path / "faxgw.toml";

    void write_config(const std::string& text) { std::ofstream(config) << text; }
    std::vector<std::string> run_argv() const {
        return {test::faxgw_binary, "run", "--config", config.string(), "--var", var.string()};
    }
    // A one-line mail from `sender` to +15551001, submitted as Postfix would,
    // with settings of its own (the daemon's file is what reloads test).
    void submit(const std::string& sender, int n) {
        const auto submit_config = dir.path / "submit.toml";
        std::ofstream(submit_config).flush();
        auto file = dir.path / ("mail-" + std::to_string(n) + ".eml");
        std::ofstream(file) << "Message-ID: <reload-" << n << "@example.org>\nFrom: " << sender
                            << "\nTo: 5551001@fax.example.com\nSubject: letter " << n
                            << "\nMIME-Version: 1.0\nContent-Type: text/plain\n\nLetter " << n
                            << ".\n";
        auto out = test::run({test::faxgw_binary, "submit", "--config", submit_config.string(),
                              "--var", var.string(), "--sender", sender, "5551001@fax.example.com"},
                             dir.path, file);
        BOOST_REQUIRE_MESSAGE(out.code == 0, "submit: " + out.out + out.err);
    }
    // The subjects of the reports in the outbox Maildir.
    std::vector<std::string> report_subjects() const {
        std::vector<std::string> subjects;
        const auto box = var / "outbox" / "new";
        if (!fs::exists(box)) return subjects;
        static const std::regex subject("^Subject: (.*)\r?$");
        for (const auto& e : fs::directory_iterator(box)) {
            std::ifstream in(e.path());
            for (std::string line; std::getline(in, line);) {
                std::smatch m;
                if (std::regex_match(line, m, subject)) subjects.push_back(m[1]);
            }
        }
        return subjects;
    }
    bool has_subject(const std::string& wanted) const {
        auto all = report_subjects();
        return std::find(all.begin(), all.end(), wanted) != all.end();
    }
};

std::string config_with_subject(const std::string& subject) {
    return "[notify]\ndelivered = true\ndelivered_subject = \"" + subject + "\"\n";
}

}  // namespace

BOOST_AUTO_TEST_CASE(ready_watchdog_reload_and_stopping_reach_systemd) {
    Rig rig;
    rig.write_config("");
    NotifySocket notify(rig.dir.path / "notify");
    // WatchdogSec=1: systemd wants a sign of life every half second.
    test::Process run(rig.run_argv(), rig.dir.path, {},
                      {notify.env(), "WATCHDOG_USEC=1000000", "INVOCATION_ID=test"});
    BOOST_REQUIRE(test::eventually([&] { return notify.count_starting("READY=1") == 1; }, 10s));
    const auto ready = notify.messages().front();
    BOOST_TEST(ready.find("STATUS=4 sim line(s)") != std::string::npos, ready);
    // Idle, the scheduler still goes round for the watchdog.
    const auto beats_before = notify.count_starting("WATCHDOG=1");
    std::this_thread::sleep_for(2s);
    BOOST_TEST(notify.count_starting("WATCHDOG=1") >= beats_before + 3);

    run.signal(SIGHUP);
    BOOST_REQUIRE(test::eventually([&] { return notify.count_starting("READY=1") == 2; }, 10s));
    const auto& all = notify.messages();
    const auto reloading = std::find_if(all.begin(), all.end(), [](const auto& m) {
        return m.rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0;
    });
    BOOST_REQUIRE(reloading != all.end());
    const auto second_ready = std::find_if(
        reloading, all.end(), [](const auto& m) { return m.rfind("READY=1", 0) == 0; });
    BOOST_TEST((second_ready != all.end()));  // READY follows RELOADING

    run.signal(SIGTERM);
    auto out = run.wait();
    BOOST_TEST(out.code == 0, out.err);
    BOOST_TEST(notify.messages().back() == "STOPPING=1");
    // Under systemd, stderr lines carry their syslog priority.
    BOOST_TEST(out.err.find("<6>faxgw run: 4 sim line(s)") != std::string::npos, out.err);
    BOOST_TEST(out.err.find("<5>faxgw run: configuration reloaded") != std::string::npos, out.err);
}

BOOST_AUTO_TEST_CASE(without_notify_socket_no_watchdog_is_asked_for) {
    Rig rig;
    rig.write_config("");
    test::Process run(rig.run_argv(), rig.dir.path);
    BOOST_REQUIRE(test::eventually(
        [&] { return run.stderr_so_far().find("sim line(s)") != std::string::npos; }, 10s));
    run.signal(SIGTERM);
    auto out = run.wait();
    BOOST_TEST(out.code == 0);
    BOOST_TEST(out.err.find("<6>") == std::string::npos, out.err);  // plain lines on a terminal
}

BOOST_AUTO_TEST_CASE(sighup_applies_new_settings_to_new_work_and_refuses_a_bad_file) {
    Rig rig;
    rig.write_config(config_with_subject("First {summary}"));
    test::Process run(rig.run_argv(), rig.dir.path);
    rig.submit("alice@example.org", 1);
    BOOST_REQUIRE_MESSAGE(
        test::eventually([&] { return rig.has_subject("First sent (1 page)"); }, 60s),
        "reports: " + std::to_string(rig.report_subjects().size()));

    rig.write_config(config_with_subject("Second {summary}"));
    run.signal(SIGHUP);
    BOOST_REQUIRE(test::eventually(
        [&] { return run.stderr_so_far().find("configuration reloaded") != std::string::npos; },
        10s));
    rig.submit("alice@example.org", 2);
    BOOST_REQUIRE(test::eventually([&] { return rig.has_subject("Second sent (1 page)"); }, 60s));

    // A file with an error: said with its place, and the old settings stay.
    rig.write_config("[notify]\ndelivered = true\ndelivered_subject = \"Third {nonsense}\"\n");
    run.signal(SIGHUP);
    BOOST_REQUIRE(test::eventually(
        [&] { return run.stderr_so_far().find("reload refused") != std::string::npos; }, 10s));
    const auto err = run.stderr_so_far();
    BOOST_TEST(err.find(rig.config.string() + ":3:") != std::string::npos, err);
    rig.submit("alice@example.org", 3);
    BOOST_REQUIRE(test::eventually(
        [&] {
            auto all = rig.report_subjects();
            return std::count(all.begin(), all.end(), "Second sent (1 page)") == 2;
        },
        60s));
    BOOST_TEST(!rig.has_subject("Third sent (1 page)"));
    run.signal(SIGTERM);
    BOOST_TEST(run.wait().code == 0);  // the daemon lived through the bad file
}

namespace {

// A systemd-journald of the test's own when none serves this machine (a
// container, CI); the running one otherwise. Entries are read back with
// journalctl, by the daemon's PID.
class Journal {
public:
    Journal() {
        if (journald_answers()) return;
        if (!fs::exists("/lib/systemd/systemd-journald"))
            throw std::runtime_error("no systemd-journald");
        own_ = std::make_unique<test::Process>(
            std::vector<std::string>{"/lib/systemd/systemd-journald"}, dir_.path);
        if (!test::eventually([] { return journald_answers(); }, 10s))
            throw std::runtime_error("systemd-journald did not start");
    }
    ~Journal() {
        if (own_) {
            own_->signal(SIGTERM);
            own_->wait();
        }
    }
    // Every entry of process `pid` that has field `field`, as JSON.
    std::vector<nlohmann::json> entries(pid_t pid, const std::string& field) {
        auto out = test::run(
            {"journalctl", "--no-pager", "-o", "json", "_PID=" + std::to_string(pid)}, dir_.path);
        std::vector<nlohmann::json> found;
        std::istringstream lines(out.out);
        for (std::string line; std::getline(lines, line);) {
            auto entry = nlohmann::json::parse(line, nullptr, false);
            if (!entry.is_discarded() && entry.contains(field)) found.push_back(entry);
        }
        return found;
    }

private:
    // A socket file may outlive its journald: only one that takes a
    // datagram is served.
    static bool journald_answers() {
        const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "/run/systemd/journal/socket");
        const bool served = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(fd);
        return served;
    }
    test::TempDir dir_;
    std::unique_ptr<test::Process> own_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(events_reach_the_journal_with_priority_fields_and_masked_numbers) {
    if (::geteuid() != 0) {
        BOOST_TEST_MESSAGE("skipped: starting systemd-journald needs root");
        return;
    }
    Journal journal;
    Rig rig;
    rig.write_config("[logging]\nmask_numbers = true\n");
    test::Process run(rig.run_argv(), rig.dir.path, {},
                      {"JOURNAL_STREAM=stderr", "INVOCATION_ID=test"});
    rig.submit("alice@example.org", 1);
    // +15551003 is busy: a retry, logged as a notice.
    auto busy = test::run({test::faxgw_binary, "send", "--var", rig.var.string(), "--to", "5551003",
                           (test::source_dir / "samples" / "docs" / "three-pages.pdf").string()},
                          rig.dir.path);
    BOOST_REQUIRE(busy.code == 0);
    std::vector<nlohmann::json> attempts;
    BOOST_REQUIRE_MESSAGE(
        test::eventually(
            [&] {
                attempts = journal.entries(run.pid(), "FAX_OUTCOME");
                return attempts.size() >= 2;
            },
            60s),
        "journal entries: " + std::to_string(journal.entries(run.pid(), "MESSAGE").size()) +
            ", stderr: " + run.stderr_so_far());
    run.signal(SIGTERM);
    auto out = run.wait();
    BOOST_TEST(out.code == 0);
    BOOST_TEST(out.err.empty(), out.err);  // everything went to the journal
    bool saw_ok = false, saw_busy = false;
    for (const auto& e : attempts) {
        const std::string message = e["MESSAGE"], number = e["FAX_NUMBER"];
        BOOST_TEST(e["SYSLOG_IDENTIFIER"] == "faxgw");
        BOOST_TEST(e.contains("FAX_JOB_ID"));
        BOOST_TEST(message.find("5551001") == std::string::npos, message);
        BOOST_TEST(message.find("5551003") == std::string::npos, message);
        if (e["FAX_OUTCOME"] == "ok") {
            saw_ok = true;
            BOOST_TEST(number == "+1555xxxx");
            BOOST_TEST(e["PRIORITY"] == "6");
            BOOST_TEST(e["FAX_JOB_STATE"] == "done");
        }
        if (e["FAX_OUTCOME"] == "busy") {
            saw_busy = true;
            BOOST_TEST(e["PRIORITY"] == "5");
            BOOST_TEST(e["FAX_JOB_STATE"] == "retry-wait");
        }
    }
    BOOST_TEST(saw_ok);
    BOOST_TEST(saw_busy);
}

namespace {

// The value of one sample in parse_metrics.py's output ("name{labels} v"),
// -1 when there is no such sample (every faxgw figure is 0 or more).
double sample_value(const std::string& parsed, const std::string& sample) {
    std::istringstream lines(parsed);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
    return -1;
}

}  // namespace

BOOST_AUTO_TEST_CASE(metrics_and_health_are_served_and_parse_as_prometheus_text) {
    Rig rig;
    const int port = test::free_loopback_port();
    rig.write_config("[metrics]\nlisten = \"127.0.0.1:" + std::to_string(port) +
                     "\"\n[notify]\ndelivered = true\n");
    test::Process run(rig.run_argv(), rig.dir.path);
    httplib::Client http("127.0.0.1", port);
    BOOST_REQUIRE(test::eventually([&] { return bool(http.Get("/health")); }, 10s));
    rig.submit("alice@example.org", 1);  // one page to +15551001
    const auto pdf = (test::source_dir / "samples" / "docs" / "three-pages.pdf").string();
    BOOST_REQUIRE(
        test::run({test::faxgw_binary, "send", "--var", rig.var.string(), "--to", "5551003", pdf},
                  rig.dir.path)
            .code == 0);  // busy: waits for a retry
    std::string parsed;
    BOOST_REQUIRE(test::eventually(
        [&] {
            auto res = http.Get("/metrics");
            if (!res || res->status != 200) return false;
            std::ofstream(rig.dir.path / "metrics.txt") << res->body;
            auto out =
                test::run({"/usr/bin/python3",
                           (test::source_dir / "tests" / "e2e" / "parse_metrics.py").string(),
                           (rig.dir.path / "metrics.txt").string()},
                          rig.dir.path);
            BOOST_REQUIRE_MESSAGE(out.code == 0, out.err + res->body);
            parsed = out.out;
            return sample_value(parsed, "faxgw_jobs{state=\"done\"}") == 1.0 &&
                   sample_value(parsed, "faxgw_attempts_total{outcome=\"busy\"}") >= 1.0;
        },
        60s));
    BOOST_TEST(parsed.find("# TYPE faxgw_attempts counter") != std::string::npos, parsed);
    BOOST_TEST(sample_value(parsed, "faxgw_attempts_total{outcome=\"ok\"}") == 1.0);
    BOOST_TEST(sample_value(parsed, "faxgw_jobs{state=\"retry-wait\"}") == 1.0);
    BOOST_TEST(sample_value(parsed, "faxgw_pages_sent_total{}") == 1.0);
    BOOST_TEST(sample_value(parsed, "faxgw_line_seconds_total{direction=\"out\"}") > 0.0);
    BOOST_TEST(sample_value(parsed, "faxgw_lines{}") == 4.0);
    // alice's mail and the PDF of `faxgw send`, rendered once each.
    BOOST_TEST(sample_value(parsed, "faxgw_render_seconds_count{}") == 2.0);
    BOOST_TEST(sample_value(parsed, "faxgw_render_seconds_bucket{le=\"+Inf\"}") == 2.0);
    BOOST_TEST(sample_value(parsed, "faxgw_render_seconds_sum{}") > 0.0);
    BOOST_TEST(sample_value(parsed, "faxgw_lines_busy{}") >= 0);
    BOOST_TEST(sample_value(parsed, "faxgw_oldest_due_job_age_seconds{}") >= 0);
    BOOST_TEST(std::max(sample_value(parsed, "faxgw_outbox_mails{state=\"queued\"}"),
                        sample_value(parsed, "faxgw_outbox_mails{state=\"sent\"}")) >=
               1.0);  // alice's report
    auto health = http.Get("/health");
    BOOST_REQUIRE(health);
    BOOST_TEST(health->status == 200);
    BOOST_TEST(health->body.rfind("ok", 0) == 0, health->body);

    // A second gateway cannot have the same address: a clear exit, not a
    // silent daemon without its endpoint.
    Rig other;
    other.write_config("[metrics]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n");
    auto busy_port = test::run(other.run_argv(), other.dir.path);
    BOOST_TEST(busy_port.code == 71);
    BOOST_TEST(busy_port.err.find("127.0.0.1:" + std::to_string(port)) != std::string::npos,
               busy_port.err);
    run.signal(SIGTERM);
    BOOST_TEST(run.wait().code == 0);
}

BOOST_AUTO_TEST_CASE(a_metrics_address_that_is_not_one_is_a_configuration_error) {
    Rig rig;
    rig.write_config("[metrics]\nlisten = \"localhost:9469\"\n");
    auto out = test::run({test::faxgw_binary, "config", "--check", "--config", rig.config.string()},
                         rig.dir.path);
    BOOST_TEST(out.code == 78);
    BOOST_TEST(out.err.find(":2:") != std::string::npos, out.err);
    BOOST_TEST(out.err.find("ADDRESS:PORT") != std::string::npos, out.err);
}
