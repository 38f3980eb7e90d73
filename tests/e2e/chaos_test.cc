// Chaos: hundreds of `faxgw submit`s and a `faxgw run` on the simulated
// network, under repeated random kill -9 of either, then a clean run to the
// end. Afterwards nothing may be lost, sent twice or left behind:
//  * every mail is accepted once in the end (a killed or deferred submit is
//    tried again, as Postfix does) and has one job per number;
//  * one batch per mail, one job per mail and number, and the far end holds
//    each fax once: every page confirmed by exactly one attempt;
//  * no document in the spool that no batch names, no scratch file;
//  * exactly one final notification per batch, none left half-written.
// The seed is printed; FAXGW_CHAOS_SEED=N repeats a run.
#define BOOST_TEST_MODULE e2e chaos
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "e2e.h"

using namespace faxgw;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int mail_count = 200;
constexpr int concurrent_submits = 3;
const std::vector<std::string> numbers = {"5551001", "5551002", "5551006"};

// A child we may kill at any moment: posix_spawn, polled with WNOHANG.
class Child {
public:
    Child(const std::vector<std::string>& argv, const fs::path& stdin_file,
          const fs::path& stderr_file) {
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(
            &fa, 0, stdin_file.empty() ? "/dev/null" : stdin_file.c_str(), O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                         0600);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() {
        if (!status_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    // The exit code (128 + signal when killed), once it has ended.
    std::optional<int> poll() {
        if (status_) return status_;
        int st = 0;
        if (::waitpid(pid_, &st, WNOHANG) == pid_)
            status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return status_;
    }
    int wait() {
        while (!poll()) std::this_thread::sleep_for(5ms);
        return *status_;
    }
    void kill(int sig) {
        if (!poll()) ::kill(pid_, sig);
    }

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
};

struct Mail {
    std::string sender;
    std::vector<std::string> numbers;
    fs::path file;
    bool accepted = false;
};

std::vector<Mail> write_mails(const fs::path& dir, std::mt19937& rng) {
    std::vector<Mail> mails;
    fs::create_directories(dir);
    for (int i = 0; i < mail_count; ++i) {
        Mail m;
        m.sender = "chaos" + std::to_string(i) + "@example.org";
        std::vector<std::string> pool = numbers;
        std::shuffle(pool.begin(), pool.end(), rng);
        m.numbers.assign(pool.begin(), pool.begin() + 1 + static_cast<long>(rng() % 2));
        m.file = dir / ("mail-" + std::to_string(i) + ".eml");
        std::ofstream out(m.file);
        out << "Message-ID: <chaos-" << i << "@example.org>\nFrom: " << m.sender << "\nTo: ";
        for (std::size_t n = 0; n < m.numbers.size(); ++n)
            out << (n ? ", " : "") << m.numbers[n] << "@fax.example.com";
        out << "\nSubject: chaos " << i << "\nMIME-Version: 1.0\n"
            << "Content-Type: text/plain; charset=UTF-8\n\n";
        for (int line = 0; line < 20 + static_cast<int>(rng() % 60); ++line)
            out << "Mail " << i << ", line " << line << ": nothing lost, nothing twice.\n";
        mails.push_back(std::move(m));
    }
    return mails;
}

std::vector<std::string> submit_argv(const Mail& m, const fs::path& config, const fs::path& var) {
    std::vector<std::string> argv = {test::faxgw_binary, "submit", "--config",
                                     config.string(),    "--var",  var.string(),
                                     "--sender",         m.sender};
    for (const auto& n : m.numbers) argv.push_back(n + "@fax.example.com");
    return argv;
}

// What happened in the chaos, for the report.
struct Counts {
    int submits = 0, submits_killed = 0, submits_deferred = 0, runner_starts = 0, runner_kills = 0;
};

// Submits every mail, again and again until each is accepted, while a
// `faxgw run` is killed and restarted; submits are killed at random too.
Counts submit_under_chaos(std::vector<Mail>& mails, const fs::path& config, const fs::path& var,
                          const fs::path& dir, std::mt19937& rng) {
    Counts c;
    struct Running {
        std::size_t mail;
        std::unique_ptr<Child> child;
        std::optional<Clock::time_point> kill_at;
    };
    std::vector<Running> running;
    std::vector<std::size_t> waiting(mails.size());
    for (std::size_t i = 0; i < mails.size(); ++i) waiting[i] = i;
    std::unique_ptr<Child> runner;
    auto next_runner_event = Clock::now();
    auto ms = [&](int lo, int hi) {
        return std::chrono::milliseconds(lo + static_cast<int>(rng() % (hi - lo + 1)));
    };
    while (!waiting.empty() || !running.empty()) {
        auto now = Clock::now();
        if (now >= next_runner_event) {
            if (runner) {  // kill -9 whatever it is doing, start again soon
                runner->kill(SIGKILL);
                runner->wait();
                runner.reset();
                ++c.runner_kills;
                next_runner_event = now + ms(0, 300);
            } else {
                runner = std::make_unique<Child>(
                    std::vector<std::string>{test::faxgw_binary, "run", "--config", config.string(),
                                             "--var", var.string()},
                    "", dir / "run.err");
                ++c.runner_starts;
                next_runner_event = now + ms(200, 1500);
            }
        }
        while (running.size() < concurrent_submits && !waiting.empty()) {
            std::size_t i = waiting.front();
            waiting.erase(waiting.begin());
            Running r{i,
                      std::make_unique<Child>(submit_argv(mails[i], config, var), mails[i].file,
                                              dir / "submit.err"),
                      std::nullopt};
            if (rng() % 100 < 20) r.kill_at = now + ms(0, 400);
            running.push_back(std::move(r));
            ++c.submits;
        }
        for (auto it = running.begin(); it != running.end();) {
            if (it->kill_at && Clock::now() >= *it->kill_at) it->child->kill(SIGKILL);
            auto code = it->child->poll();
            if (!code) {
                ++it;
                continue;
            }
            if (*code == 0) {
                mails[it->mail].accepted = true;
            } else {
                // Killed, or deferred (75): the MTA tries again later.
                BOOST_TEST((*code == 128 + SIGKILL || *code == 75),
                           "submit of mail " << it->mail << " exited " << *code);
                *code == 75 ? ++c.submits_deferred : ++c.submits_killed;
                waiting.push_back(it->mail);
            }
            it = running.erase(it);
        }
        std::this_thread::sleep_for(5ms);
    }
    if (runner) {
        runner->kill(SIGKILL);  // the last one dies hard too
        runner->wait();
        ++c.runner_kills;
    }
    return c;
}

// Time passes: what the killed processes left behind is now older than the
// sweep's grace periods (an hour), so the next start-up may remove it.
void let_an_hour_pass(const fs::path& var) {
    for (const char* sub : {"spool/docs", "spool/tmp", "spool/in"})
        for (const auto& e : fs::directory_iterator(var / sub))
            fs::last_write_time(e.path(), fs::file_time_type::clock::now() - 2h);
}

// The To: address of a notification mail.
std::string addressee(const fs::path& mail) {
    auto text = test::slurp(mail);
    auto at = text.find("\nTo: ");
    if (at == std::string::npos) return {};
    auto end = text.find_first_of("\r\n", at + 5);
    return text.substr(at + 5, end - at - 5);
}

std::size_t files_in(const fs::path& dir) {
    std::size_t n = 0;
    if (fs::exists(dir))
        for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
    return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(kill_9_of_submits_and_the_daemon_loses_and_duplicates_nothing) {
    const char* env_seed = std::getenv("FAXGW_CHAOS_SEED");
    const unsigned seed = env_seed ? static_cast<unsigned>(std::stoul(env_seed))
                                   : static_cast<unsigned>(std::random_device{}());
    std::cout << "chaos seed " << seed << " (FAXGW_CHAOS_SEED=" << seed << " repeats it)"
              << std::endl;
    std::mt19937 rng(seed);
    test::TempDir dir;
    auto var = dir.path / "var";
    auto config = dir.path / "faxgw.toml";
    // Quick retries, and attempts enough that interrupted calls never make a
    // job give up: every job must end done.
    std::ofstream(config) << "[lines]\ncount = 4\n[retry]\nmax_attempts = 100\n"
                             "failure_delay = 1\nbusy_delay = 1\nno_answer_delay = 1\n"
                             "[notify]\ndelivered = true\n";
    auto mails = write_mails(dir.path / "mails", rng);
    // Every child's temporary folder: a killed submit must leave nothing
    // there, where no sweep of the gateway looks.
    const auto tmp = dir.path / "tmp";
    fs::create_directory(tmp);
    const std::string tmpdir_before = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "";
    ::setenv("TMPDIR", tmp.c_str(), 1);

    const auto started = Clock::now();
    Counts c = submit_under_chaos(mails, config, var, dir.path, rng);
    let_an_hour_pass(var);

    Child runner({test::faxgw_binary, "run", "--config", config.string(), "--var", var.string()},
                 "", dir.path / "final-run.err");
    nlohmann::json jobs;
    std::set<std::string> batches;
    auto outbox = var / "outbox" / "new";
    for (int i = 0; i < 1200; ++i) {
        std::this_thread::sleep_for(100ms);
        jobs = test::jobs_json(var, dir.path);
        batches.clear();
        for (const auto& j : jobs) batches.insert(j["batch"].get<std::string>());
        if (test::all_ended(jobs) && files_in(outbox) >= batches.size()) break;
    }
    runner.kill(SIGTERM);
    BOOST_TEST(runner.wait() == 0, test::slurp(dir.path / "final-run.err"));
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();

    // Every mail accepted once in the end, one batch each, its numbers' jobs.
    std::map<std::string, const Mail*> mail_of_sender;
    for (const auto& m : mails) {
        BOOST_TEST(m.accepted, m.sender);
        mail_of_sender[m.sender] = &m;
    }
    std::map<std::string, std::vector<nlohmann::json>> jobs_of_batch;
    for (const auto& j : jobs) jobs_of_batch[j["batch"].get<std::string>()].push_back(j);
    BOOST_TEST(jobs_of_batch.size() == mails.size());

    // Exactly one final notification per batch, to the mail's sender, and
    // nothing else in the outbox (no half-written file).
    std::set<std::string> notified_senders;
    std::size_t finals = 0, others = 0;
    for (const auto& e : fs::directory_iterator(outbox)) {
        const auto name = e.path().filename().string();
        // Filed by the outbox as <time>.<key>_<token>.<host>, the key being
        // faxgw-<batch>-final.
        std::string batch;
        for (const auto& [b, _] : jobs_of_batch)
            if (name.find(".faxgw-" + b + "-final_") != std::string::npos) batch = b;
        if (batch.empty()) {
            ++others;
            BOOST_TEST_MESSAGE("unexpected file in the outbox: " << name);
            continue;
        }
        ++finals;
        auto sender = addressee(e.path());
        BOOST_TEST(notified_senders.insert(sender).second, "two final notifications to " << sender);
        auto mail = mail_of_sender.find(sender);
        BOOST_TEST_REQUIRE((mail != mail_of_sender.end()), "notification to " << sender);
        std::set<std::string> want, got;
        for (const auto& n : mail->second->numbers) want.insert("+1" + n);
        for (const auto& j : jobs_of_batch[batch]) got.insert(j["number"].get<std::string>());
        BOOST_TEST((want == got),
                   sender << ": jobs for " << got.size() << " of " << want.size() << " numbers");
        BOOST_TEST(jobs_of_batch[batch].size() == got.size(), sender << ": a number twice");
    }
    BOOST_TEST(finals == mails.size());
    BOOST_TEST(others == 0u);

    // Every job done, each page confirmed by exactly one attempt, and the far
    // end holds the document.
    std::size_t attempts = 0, interrupted = 0;
    for (const auto& j : jobs) {
        BOOST_TEST(j["state"] == "done", "job " << j["id"] << ": " << j["reason"]);
        int confirmed = 0;
        for (const auto& a : j["attempts"]) {
            confirmed += a["pages_confirmed"].get<int>();
            interrupted += a["outcome"] == "interrupted";
            ++attempts;
        }
        BOOST_TEST(confirmed == j["pages"].get<int>(), "job " << j["id"] << " pages sent twice");
        const std::string narrow = j.value("narrow_document", "");
        auto document =
            narrow.empty() || j["number"] == "+15551006" ? j["document"] : j["narrow_document"];
        BOOST_TEST((test::far_end_pages(var / "remote", j) ==
                    render::read_fax_tiff(document.get<std::string>())),
                   "job " << j["id"]);
    }

    // Nothing left behind: the spool holds the batches' documents only.
    std::set<std::string> named;
    for (const auto& j : jobs) {
        named.insert(fs::path(j["document"].get<std::string>()).filename());
        if (!j.value("narrow_document", "").empty())
            named.insert(fs::path(j["narrow_document"].get<std::string>()).filename());
    }
    std::size_t orphans = 0;
    for (const auto& e : fs::directory_iterator(var / "spool" / "docs"))
        if (!named.count(e.path().filename())) {
            ++orphans;
            BOOST_TEST_MESSAGE("orphaned document " << e.path().filename());
        }
    BOOST_TEST(orphans == 0u);
    BOOST_TEST(files_in(var / "spool" / "tmp") == 0u);
    BOOST_TEST(files_in(tmp) == 0u, "left in TMPDIR: " << files_in(tmp));
    if (tmpdir_before.empty())
        ::unsetenv("TMPDIR");
    else
        ::setenv("TMPDIR", tmpdir_before.c_str(), 1);

    // What the start-up sweep of the clean run removed: the killed
    // processes' leftovers.
    std::string swept = "0";
    std::smatch m;
    auto final_log = test::slurp(dir.path / "final-run.err");
    if (std::regex_search(final_log, m, std::regex("removed (\\d+) file")) && m.size() > 1)
        swept = m[1].str();
    std::cout << "chaos: " << mails.size() << " mails, " << c.submits << " submits ("
              << c.submits_killed << " killed, " << c.submits_deferred << " deferred), "
              << c.runner_starts << " daemon starts, " << c.runner_kills << " kill -9, "
              << jobs.size() << " jobs, " << attempts << " calls (" << interrupted
              << " interrupted), " << finals << " final notifications, " << orphans
              << " orphaned documents, " << files_in(var / "spool" / "tmp")
              << " scratch files left (the sweep removed " << swept << " files); " << seconds
              << " s" << std::endl;
}
