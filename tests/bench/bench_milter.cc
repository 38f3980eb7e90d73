// Benchmark: what `faxgw milter` costs a real Postfix. A load generator
// sends mails over SMTP on 127.0.0.1 (several connections at once, mails
// back to back on each) to a private Postfix (tests/postfix/postfix.h):
//   1. Postfix without the milter, plain mails to office@example.org
//      (virtual(8) into a Maildir);
//   2. Postfix with the milter attached (the lines of
//      conf/postfix/main.cf.milter), the same plain mails: the milter lets
//      them through at DATA, Postfix delivers them as in run 1, so the
//      difference is the milter's;
//   3. the same Postfix and milter, mails with ~200 KB of PDF to a fax
//      number: rendered and queued by the milter's workers before the 250.
// For each run: messages accepted (250 after the final dot) per wall second,
// from the first MAIL FROM to the last 250, and each mail's latency from its
// MAIL FROM to that 250 (median, p99); runs 2 and 3 against run 1; the CPU
// seconds per mail of Postfix, the milter and its renderers (from /proc), and
// for run 3 the rate that rendering allows on this machine.
// Both Postfixes run throughout, so that --rounds can alternate runs 1 and
// 2 on a machine whose other load drifts. Eight connections saturate a small
// machine's cores: msg/s then follows the CPU each mail costs everyone
// (Postfix, milter, this program); --connections 1 shows the latency
// without queueing. Prints the goal of the milter's issue next to the
// figures, and asserts nothing.
// Needs root and the Debian package postfix, like tests/postfix/.
//   faxgw-bench-milter [--mails N] [--fax-mails N] [--connections N]
//                      [--renderers N] [--attachment-kb N] [--rounds N]
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "postfix.h"
#include "process.h"
#include "smtp.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace test = faxgw::test;

const std::string faxgw_bin = FAXGW_BINARY;
const fs::path source_dir = FAXGW_SOURCE_DIR;

const std::string sender = "bench@example.org";
const std::string plain_recipient = "office@example.org";  // virtual(8) -> Maildir
const std::string fax_recipient = "5551001@fax.example.com";

// The goal the milter's issue states for mail without fax recipients.
constexpr double goal_throughput_ratio = 0.9;
constexpr double goal_added_p99_ms = 5.0;

struct Options {
    int mails = 1000;     // runs 1 and 2
    int fax_mails = 100;  // run 3: each one is rendered
    int connections = 8;  // SMTP sessions sending at once
    int renderers = 0;    // milter.renderers; 0 = one per core, the product's default
    int attachment_kb = 200;
    int rounds = 1;  // runs 1 and 2, alternating: a busy machine drifts less between them
};

void usage() {
    std::printf(
        "usage: faxgw-bench-milter [--mails N] [--fax-mails N] [--connections N]\n"
        "                          [--renderers N] [--attachment-kb N] [--rounds N]\n"
        "  --mails N          plain mails in runs 1 and 2 (default 1000)\n"
        "  --fax-mails N      fax mails in run 3 (default 100)\n"
        "  --connections N    SMTP connections sending at once (default 8)\n"
        "  --renderers N      milter.renderers (default 0: one per processor core)\n"
        "  --attachment-kb N  PDF bytes per fax mail, about (default 200)\n"
        "  --rounds N         runs 1 and 2 N times each, alternating (default 1)\n"
        "Needs root and the Debian package postfix.\n");
}

Options parse_options(int argc, char** argv) {
    Options o;
    const std::map<std::string, int*> numbers = {{"--mails", &o.mails},
                                                 {"--fax-mails", &o.fax_mails},
                                                 {"--connections", &o.connections},
                                                 {"--renderers", &o.renderers},
                                                 {"--attachment-kb", &o.attachment_kb},
                                                 {"--rounds", &o.rounds}};
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            usage();
            std::exit(0);
        }
        auto option = numbers.find(arg);
        if (option == numbers.end() || i + 1 >= argc) {
            usage();
            std::exit(64);
        }
        char* end = nullptr;
        const long value = std::strtol(argv[++i], &end, 10);
        const long least = arg == "--renderers" ? 0 : 1;
        if (*end != '\0' || value < least || value > 1000000) {
            std::fprintf(stderr, "faxgw-bench-milter: bad value for %s: %s\n", arg.c_str(),
                         argv[i]);
            std::exit(64);
        }
        *option->second = static_cast<int>(value);
    }
    return o;
}

// --- The milter beside the fixture's Postfix (as tests/postfix/milter_test.cc) ---

// --- Processor time, from /proc ---

struct ProcessInfo {
    pid_t pid = 0, parent = 0;
    double own_seconds = 0;       // utime + stime
    double children_seconds = 0;  // cutime + cstime: children it has waited for
    std::vector<std::string> argv;
};

std::vector<ProcessInfo> all_processes() {
    static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    std::vector<ProcessInfo> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string stat;
        std::getline(std::ifstream(entry.path() / "stat"), stat);
        // The command name in parentheses may hold spaces: fields follow the last ')'.
        const auto close = stat.rfind(')');
        if (close == std::string::npos) continue;  // gone meanwhile
        std::istringstream fields(stat.substr(close + 2));
        std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
        if (f.size() < 15) continue;
        ProcessInfo p;
        p.pid = std::stoi(name);
        // f[0] is field 3 of proc(5): state, ppid, ..., utime (14) .. cstime (17).
        p.parent = std::stoi(f[1]);
        p.own_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
        p.children_seconds = (std::stod(f[13]) + std::stod(f[14])) / ticks;
        std::ifstream cmdline(entry.path() / "cmdline", std::ios::binary);
        for (std::string arg; std::getline(cmdline, arg, '\0');) p.argv.push_back(arg);
        out.push_back(std::move(p));
    }
    return out;
}

// Processor seconds of `root` and everything below it: what the live
// processes used themselves, plus what the children they have reaped used
// (a renderer that ended counts in its worker's cutime).
double tree_seconds(const std::vector<ProcessInfo>& all, pid_t root) {
    if (root <= 0) return 0;  // not found: pid 0 would be the parent of init, i.e. everything
    double total = 0;
    for (const auto& p : all) {
        if (p.pid == root) total += p.own_seconds + p.children_seconds;
        if (p.parent == root && p.pid != root) total += tree_seconds(all, p.pid);
    }
    return total;
}

// The whole machine's jiffies from /proc/stat: busy and all.
std::pair<double, double> machine_jiffies() {
    std::ifstream in("/proc/stat");
    std::string cpu;
    in >> cpu;
    double value = 0, busy = 0, all = 0;
    for (int field = 0; field < 8 && in >> value; ++field) {
        all += value;
        if (field != 3 && field != 4) busy += value;  // idle and iowait
    }
    return {busy, all};
}

double own_seconds() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Processor seconds used so far by each party of a run.
struct CpuSnapshot {
    double postfix = 0, milter_total = 0, renderers = 0, generator = 0;
    double machine_busy = 0, machine_all = 0;
    pid_t milter = -1;
    std::vector<pid_t> workers;
};

// --- The rig: Postfix, with or without the milter ---

pid_t master_pid(const test::Postfix& pf) {
    std::ifstream in(pf.queue / "pid" / "master.pid");
    long pid = 0;
    in >> pid;
    return static_cast<pid_t>(pid);
}

class Milter {
public:
    Milter(const fs::path& dir, int renderers) : dir_(dir), var_(dir / "var") {
        fs::create_directories(dir_);
        config_ = dir_ / "faxgw.toml";
        std::ofstream(config_) << "[milter]\nrenderers = " << renderers << "\n";
    }
    Milter(const Milter&) = delete;
    Milter& operator=(const Milter&) = delete;
    ~Milter() { stop(); }

    int port() const { return port_.port; }

    // After Postfix has started (it holds its own port by then).
    void start() {
        port_.release();
        process_ = std::make_unique<test::Process>(
            std::vector<std::string>{faxgw_bin, "milter", "--config", config_.string(), "--var",
                                     var_.string(), "--socket",
                                     "inet:" + std::to_string(port_.port) + "@127.0.0.1"},
            dir_);
        if (!test::eventually([&] { return test::accepts_connections(port_.port); }, 60s))
            throw std::runtime_error("faxgw milter does not listen: " + process_->stderr_so_far());
    }

    // SIGTERM: mails in hand are answered, then the workers end with it.
    void stop() {
        if (!process_) return;
        process_->signal(SIGTERM);
        process_->wait();
        process_.reset();
    }

    std::string log() const { return process_ ? process_->stderr_so_far() : std::string(); }
    const fs::path& var() const { return var_; }

    pid_t pid(const std::vector<ProcessInfo>& all) const { return find(all, "milter"); }
    std::vector<pid_t> workers(const std::vector<ProcessInfo>& all) const {
        std::vector<pid_t> out;
        for (const auto& p : all)
            if (is_ours(p, "submit-worker")) out.push_back(p.pid);
        return out;
    }

private:
    fs::path dir_, var_, config_;
    test::ReservedPort port_;
    std::unique_ptr<test::Process> process_;

    bool is_ours(const ProcessInfo& p, const std::string& command) const {
        return p.argv.size() > 1 && p.argv[1] == command &&
               std::find(p.argv.begin(), p.argv.end(), var_.string()) != p.argv.end();
    }
    pid_t find(const std::vector<ProcessInfo>& all, const std::string& command) const {
        for (const auto& p : all)
            if (is_ours(p, command)) return p.pid;
        return -1;
    }
};

CpuSnapshot cpu_now(const test::Postfix& pf, const Milter* milter) {
    const auto all = all_processes();
    CpuSnapshot s;
    s.postfix = tree_seconds(all, master_pid(pf));
    if (milter) {
        s.milter = milter->pid(all);
        s.milter_total = tree_seconds(all, s.milter);
        s.workers = milter->workers(all);
        for (pid_t w : s.workers) s.renderers += tree_seconds(all, w);
    }
    s.generator = own_seconds();
    std::tie(s.machine_busy, s.machine_all) = machine_jiffies();
    return s;
}

// --- The mails ---

// Every mail has a Message-ID of its own: the gateway takes a mail it has
// seen for one sent again, and would queue nothing.
std::string message_id(const std::string& run, int serial) {
    return "<bench-milter-" + run + "-" + std::to_string(::getpid()) + "-" +
           std::to_string(serial) + "@example.org>";
}

std::string plain_mail(const std::string& id) {
    return "Message-ID: " + id +
           "\r\nFrom: Bench <bench@example.org>\r\nTo: office@example.org\r\n"
           "Subject: delivery note\r\nDate: Mon, 3 Mar 2025 09:30:00 +0100\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
           "Dear colleagues,\r\n\r\n"
           "the 40 pieces we spoke about on Friday leave our warehouse next week; the\r\n"
           "invoice follows separately by post. The delivery note is attached to the\r\n"
           "parcel, and a copy goes to your accounts department as usual.\r\n\r\n"
           "If anything is unclear, call me on the usual number.\r\n\r\n"
           "Kind regards,\r\nBench\r\n";
}

// The fax mail's PDFs: samples/docs/image.pdf (a page-sized picture, like a
// scanned page) and then three-pages.pdf (text) as often as it takes to
// reach `kilobytes`. Returns the attachments' bytes and pages.
struct Attachments {
    std::vector<std::pair<std::string, std::string>> files;  // name, bytes
    std::size_t bytes = 0;
    int pages = 0;
};

Attachments fax_attachments(int kilobytes) {
    const fs::path docs = source_dir / "samples" / "docs";
    Attachments a;
    auto add = [&](const std::string& name, const std::string& bytes, int pages) {
        a.files.emplace_back(name, bytes);
        a.bytes += bytes.size();
        a.pages += pages;
    };
    add("image.pdf", test::slurp(docs / "image.pdf"), 1);
    const std::string text = test::slurp(docs / "three-pages.pdf");
    for (int n = 1; a.bytes < static_cast<std::size_t>(kilobytes) * 1000; ++n)
        add("three-pages-" + std::to_string(n) + ".pdf", text, 3);
    return a;
}

// The MIME text of a fax mail, with MESSAGE-ID where each copy's id goes.
std::string fax_mail_template(const Attachments& a) {
    std::string m =
        "Message-ID: MESSAGE-ID\r\nFrom: Bench <bench@example.org>\r\nTo: " + fax_recipient +
        "\r\nSubject: signed contract\r\nDate: Mon, 3 Mar 2025 09:30:00 +0100\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        "--b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nPlease find the contract "
        "attached.\r\n";
    for (const auto& [name, bytes] : a.files)
        m += "--b\r\nContent-Type: application/pdf; name=\"" + name +
             "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + test::base64(bytes);
    return m + "--b--\r\n";
}

std::string with_id(std::string templ, const std::string& id) {
    templ.replace(templ.find("MESSAGE-ID"), 10, id);
    return templ;
}

// --- The load generator ---

struct RunResult {
    int sent = 0, accepted = 0;
    double wall_seconds = 0;              // first MAIL FROM to last 250 (summed over rounds)
    std::vector<double> round_rates;      // msg/s of each round
    std::vector<double> latencies_ms;     // of the accepted mails, sorted
    std::map<std::string, int> failures;  // the reply (or error) that stopped a mail
    CpuSnapshot cpu;                      // used during the run (summed over rounds)
    // The milter's process or workers changed during the run: their CPU
    // figures are not comparable before and after.
    bool milter_changed = false;

    // The median round's.
    double messages_per_second() const {
        std::vector<double> r = round_rates;
        std::sort(r.begin(), r.end());
        return r.empty() ? 0 : r[r.size() / 2];
    }
    void add(const RunResult& round) {
        sent += round.sent;
        accepted += round.accepted;
        wall_seconds += round.wall_seconds;
        round_rates.insert(round_rates.end(), round.round_rates.begin(), round.round_rates.end());
        latencies_ms.insert(latencies_ms.end(), round.latencies_ms.begin(),
                            round.latencies_ms.end());
        std::sort(latencies_ms.begin(), latencies_ms.end());
        for (const auto& [what, count] : round.failures) failures[what] += count;
        cpu.postfix += round.cpu.postfix;
        cpu.milter_total += round.cpu.milter_total;
        cpu.renderers += round.cpu.renderers;
        cpu.generator += round.cpu.generator;
        cpu.machine_busy += round.cpu.machine_busy;
        cpu.machine_all += round.cpu.machine_all;
        cpu.workers = round.cpu.workers;
        milter_changed = milter_changed || round.milter_changed;
    }
};

// The first line of the reply that stopped a mail, and at which step.
std::string failure_of(const test::SmtpClient::Attempt& a) {
    auto first_line = [](const std::string& reply) {
        return reply.substr(0, std::min(reply.find('\n'), std::size_t{100}));
    };
    if (!a.mail.starts_with("250")) return "MAIL FROM: " + first_line(a.mail);
    for (const auto& r : a.rcpt)
        if (!r.starts_with("250")) return "RCPT TO: " + first_line(r);
    if (!a.data.starts_with("354")) return "DATA: " + first_line(a.data);
    return "end of DATA: " + first_line(a.end);
}

// Sends `mails` to `recipient` over `connections` sessions at once, each
// session taking the next mail as soon as its last one is answered.
RunResult send_all(int port, const std::vector<std::string>& mails, const std::string& recipient,
                   int connections) {
    connections = std::min<int>(connections, static_cast<int>(mails.size()));
    std::atomic<int> next{0};
    std::mutex mutex;
    RunResult result;
    Clock::time_point first_start = Clock::time_point::max(), last_end = Clock::time_point::min();
    std::latch ready(connections);
    auto session = [&] {
        std::unique_ptr<test::SmtpClient> smtp;
        std::string connect_error;
        try {
            // Greeting and EHLO before the clock: the load is mails, not sessions.
            smtp = std::make_unique<test::SmtpClient>(port);
        } catch (const std::exception& e) {
            connect_error = e.what();
        }
        ready.arrive_and_wait();
        for (int i = next++; i < static_cast<int>(mails.size()); i = next++) {
            std::string failure;
            Clock::time_point start = Clock::now(), end = start;
            try {
                if (!smtp) smtp = std::make_unique<test::SmtpClient>(port);
                start = Clock::now();
                auto attempt = smtp->attempt(sender, {recipient}, mails[i]);
                end = Clock::now();
                if (!attempt.accepted()) failure = failure_of(attempt);
            } catch (const std::exception& e) {
                end = Clock::now();
                failure = std::string("connection: ") + e.what();
                smtp.reset();  // a new session for the next mail
            }
            std::lock_guard lock(mutex);
            ++result.sent;
            first_start = std::min(first_start, start);
            if (failure.empty()) {
                ++result.accepted;
                last_end = std::max(last_end, end);
                result.latencies_ms.push_back(
                    std::chrono::duration<double, std::milli>(end - start).count());
            } else {
                ++result.failures[failure];
            }
        }
        if (!connect_error.empty()) {
            std::lock_guard lock(mutex);
            ++result.failures["first connection: " + connect_error];
        }
    };
    std::vector<std::thread> threads;
    for (int c = 0; c < connections; ++c) threads.emplace_back(session);
    for (auto& t : threads) t.join();
    if (result.accepted > 0) {
        result.wall_seconds = std::chrono::duration<double>(last_end - first_start).count();
        result.round_rates.push_back(result.accepted / result.wall_seconds);
    }
    std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
    return result;
}

// One measured run: a few mails first (one per connection), so that the
// run does not pay for Postfix starting its smtpd processes or the page
// cache warming; then `count` mails with the clock and the CPU counters.
// Adds the mails accepted (warm-up included) to `accepted_so_far`.
RunResult measured_run(const test::Postfix& pf, const Milter* milter, const std::string& name,
                       int count, int connections, const std::string& recipient,
                       const std::function<std::string(const std::string&)>& make_mail,
                       std::size_t& accepted_so_far) {
    std::vector<std::string> warm_up, mails;
    for (int i = 0; i < connections; ++i)
        warm_up.push_back(make_mail(message_id(name + "-warm", i)));
    for (int i = 0; i < count; ++i) mails.push_back(make_mail(message_id(name, i)));
    auto warm = send_all(pf.port, warm_up, recipient, connections);
    if (warm.accepted != warm.sent)
        throw std::runtime_error(
            name + ": the warm-up mails were not accepted: " + warm.failures.begin()->first);
    const CpuSnapshot before = cpu_now(pf, milter);
    RunResult r = send_all(pf.port, mails, recipient, connections);
    const CpuSnapshot after = cpu_now(pf, milter);
    r.cpu.postfix = after.postfix - before.postfix;
    r.cpu.milter_total = after.milter_total - before.milter_total;
    r.cpu.renderers = after.renderers - before.renderers;
    r.cpu.generator = after.generator - before.generator;
    r.cpu.machine_busy = after.machine_busy - before.machine_busy;
    r.cpu.machine_all = after.machine_all - before.machine_all;
    r.cpu.workers = after.workers;
    // A worker replaced meanwhile: its time moved into the filter's cutime
    // (or went with it, when the filter itself ended).
    if (milter && after.milter != before.milter) {
        r.milter_changed = true;
        r.failures["(note) the milter process ended during the run"] += 1;
    } else if (milter && after.workers != before.workers) {
        r.milter_changed = true;
        r.failures["(note) milter workers replaced during the run"] += 1;
    }
    accepted_so_far += static_cast<std::size_t>(warm.accepted + r.accepted);
    return r;
}

std::size_t files_in(const fs::path& dir) {
    std::error_code ec;
    std::size_t n = 0;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
         it.increment(ec))
        ++n;
    return n;
}

// Waits until the Maildir holds `expected` mails, so that one run's
// deliveries do not run into the next; returns the seconds it took.
double wait_for_deliveries(const test::Postfix& pf, std::size_t expected) {
    const auto start = Clock::now();
    if (!test::eventually([&] { return files_in(pf.maildir() / "new") >= expected; }, 600s, 20ms))
        throw std::runtime_error("Postfix did not deliver every mail to the Maildir in 10 min");
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// --- Printing ---

// The nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    auto rank = static_cast<std::size_t>(std::max(1.0, std::ceil(p / 100 * sorted.size())));
    return sorted[std::min(rank, sorted.size()) - 1];
}

void print_run(const std::string& name, const RunResult& r) {
    std::printf("%-40s %6d %8d %9.1f %9.2f %9.2f %9.2f", name.c_str(), r.sent, r.accepted,
                r.messages_per_second(), percentile(r.latencies_ms, 50),
                percentile(r.latencies_ms, 99),
                r.latencies_ms.empty() ? 0.0 : r.latencies_ms.back());
    if (r.round_rates.size() > 1) {
        auto [lo, hi] = std::minmax_element(r.round_rates.begin(), r.round_rates.end());
        std::printf("   %zu rounds: %.1f to %.1f msg/s", r.round_rates.size(), *lo, *hi);
    }
    std::printf("\n");
}

void print_against_baseline(const std::string& name, const RunResult& r, const RunResult& base,
                            bool with_goal) {
    const double added_median = percentile(r.latencies_ms, 50) - percentile(base.latencies_ms, 50);
    const double added_p99 = percentile(r.latencies_ms, 99) - percentile(base.latencies_ms, 99);
    const double ratio =
        base.messages_per_second() > 0 ? r.messages_per_second() / base.messages_per_second() : 0;
    std::printf("%-40s %+10.2f ms %+10.2f ms %9.3fx", name.c_str(), added_median, added_p99, ratio);
    if (with_goal) {
        const bool met =
            ratio >= goal_throughput_ratio && added_p99 < goal_added_p99_ms && r.accepted == r.sent;
        std::printf("   issue's goal >= %.1fx and < %.0f ms added at p99: %s",
                    goal_throughput_ratio, goal_added_p99_ms, met ? "met" : "NOT met");
    }
    std::printf("\n");
}

// Milliseconds of CPU per mail, or "-" for a party that was not there.
std::string ms_per_mail(double seconds, int mails, bool present) {
    if (!present) return "-";
    char text[32];
    std::snprintf(text, sizeof text, "%.2f ms", 1000 * seconds / std::max(1, mails));
    return text;
}

// Share of the machine (all cores) the processes outside this benchmark
// used during a run: what the machine was busy with minus what ours used.
double others_share(const CpuSnapshot& cpu) {
    static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    if (cpu.machine_all <= 0) return 0;
    const double ours = cpu.postfix + cpu.milter_total + cpu.generator;
    return std::max(0.0, cpu.machine_busy / ticks - ours) / (cpu.machine_all / ticks);
}

void print_cpu(const std::string& name, const RunResult& r, bool with_milter) {
    const double filter = r.cpu.milter_total - r.cpu.renderers;
    auto milter_figure = [&](double seconds) {
        return r.milter_changed ? std::string("changed")
                                : ms_per_mail(seconds, r.accepted, with_milter);
    };
    std::printf("%-40s %10s %10s %11s %10s %8.0f%% %8.0f%%\n", name.c_str(),
                ms_per_mail(r.cpu.postfix, r.accepted, true).c_str(), milter_figure(filter).c_str(),
                milter_figure(r.cpu.renderers).c_str(),
                ms_per_mail(r.cpu.generator, r.accepted, true).c_str(),
                r.cpu.machine_all > 0 ? 100 * r.cpu.machine_busy / r.cpu.machine_all : 0.0,
                100 * others_share(r.cpu));
}

void print_failures(const std::string& name, const RunResult& r) {
    for (const auto& [what, count] : r.failures)
        std::printf("  %s: %d x %s\n", name.c_str(), count, what.c_str());
}

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    double one = 0, five = 0;
    in >> one >> five;
    char text[64];
    std::snprintf(text, sizeof text, "%.2f (1 min), %.2f (5 min)", one, five);
    return text;
}

// Lines of a log that contain `what`: how many, and the first.
std::pair<int, std::string> lines_with(const std::string& log, const std::string& what) {
    std::istringstream in(log);
    int n = 0;
    std::string first;
    for (std::string line; std::getline(in, line);)
        if (line.find(what) != std::string::npos && n++ == 0) first = line;
    return {n, first};
}

// The milter's log but its decisions and its start: faults, warnings, its end.
std::vector<std::string> other_lines(const std::string& log) {
    std::vector<std::string> out;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);)
        if (line.find("fax recipient(s): ") == std::string::npos &&
            line.find(": listening on ") == std::string::npos)
            out.push_back(line);
    return out;
}

// Decisions in the milter's log ("N fax recipient(s): 2.0.0 ..."), by status.
std::map<std::string, int> milter_decisions(const std::string& log) {
    std::map<std::string, int> out;
    const std::string marker = "fax recipient(s): ";
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) {
        auto at = line.find(marker);
        if (at == std::string::npos) continue;
        const std::string rest = line.substr(at + marker.size());
        ++out[rest.substr(0, rest.find(' '))];
    }
    return out;
}

// The jobs in the milter's queue (`faxgw jobs --json`), by page count.
std::map<int, int> jobs_by_pages(const fs::path& var, const fs::path& scratch) {
    auto jobs = test::run({faxgw_bin, "jobs", "--json", "--var", var.string()}, scratch);
    if (jobs.code != 0) throw std::runtime_error("faxgw jobs failed: " + jobs.err);
    std::map<int, int> out;
    const std::string key = "\"pages\": ";
    for (auto at = jobs.out.find(key); at != std::string::npos; at = jobs.out.find(key, at + 1))
        ++out[std::atoi(jobs.out.c_str() + at + key.size())];
    return out;
}

// Removes the scratch folder however main() ends.
struct ScratchFolder {
    fs::path path;
    ScratchFolder() {
        std::string templ = "/tmp/fxbench-milter-XXXXXX";
        if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
        path = templ;
    }
    ScratchFolder(const ScratchFolder&) = delete;
    ScratchFolder& operator=(const ScratchFolder&) = delete;
    ~ScratchFolder() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

}  // namespace

int main(int argc, char** argv) try {
    const Options o = parse_options(argc, argv);
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int renderers = o.renderers > 0 ? o.renderers : cores;  // as the milter resolves 0
    const ScratchFolder scratch;

    const Attachments attachments = fax_attachments(o.attachment_kb);
    const std::string fax_template = fax_mail_template(attachments);
    auto fax_mail = [&](const std::string& id) { return with_id(fax_template, id); };

    std::printf("faxgw-bench-milter: what `faxgw milter` costs a real Postfix, on 127.0.0.1\n");
    std::printf("machine: %d processor cores; load average before the runs %s\n", cores,
                load_average().c_str());
    std::printf(
        "milter.renderers = %d%s; the rest of the configuration is the defaults\n", o.renderers,
        o.renderers == 0 ? (" (one per core: " + std::to_string(renderers) + ")").c_str() : "");
    std::printf(
        "load: %d SMTP connections at once, mails back to back on each; before each run one "
        "mail per connection, not counted\n",
        o.connections);
    if (o.rounds > 1)
        std::printf(
            "runs 1 and 2 %d times, alternating: msg/s is the median round's, latencies "
            "are pooled\n",
            o.rounds);
    std::printf(
        "  msg/s: mails answered 250 after the final dot, per wall second from the first "
        "MAIL FROM to the last 250\n");
    std::printf("  latency: one mail's MAIL FROM to the 250 after its final dot\n");
    std::printf("plain mail (runs 1, 2): %zu bytes to %s (virtual(8) into a Maildir)\n",
                plain_mail(message_id("size", 0)).size(), plain_recipient.c_str());
    std::printf(
        "fax mail (run 3): %zu bytes to %s, with %zu PDFs of %zu bytes in all "
        "(samples/docs/image.pdf + %zu x three-pages.pdf, %d pages)\n",
        fax_mail(message_id("size", 0)).size(), fax_recipient.c_str(), attachments.files.size(),
        attachments.bytes, attachments.files.size() - 1, attachments.pages);
    std::printf("\n");
    std::fflush(stdout);

    // Two Postfixes, alike but for the milter's lines in main.cf, both
    // running throughout, so that rounds can alternate between them.
    test::PostfixOptions bare_options;
    bare_options.faxgw_binary = faxgw_bin;
    test::Postfix bare_postfix(bare_options);
    Milter milter(scratch.path / "milter", o.renderers);
    test::PostfixOptions milter_options = bare_options;
    milter_options.extra_main_cf = test::conf_milter_lines(milter.port());
    test::Postfix milter_postfix(milter_options);
    milter.start();

    RunResult bare, passed;
    std::size_t bare_delivered = 0, passed_delivered = 0;
    double bare_drain = 0, passed_drain = 0;
    for (int round = 1; round <= o.rounds; ++round) {
        const std::string suffix = "-" + std::to_string(round);
        bare.add(measured_run(bare_postfix, nullptr, "bare" + suffix, o.mails, o.connections,
                              plain_recipient, plain_mail, bare_delivered));
        bare_drain = std::max(bare_drain, wait_for_deliveries(bare_postfix, bare_delivered));
        passed.add(measured_run(milter_postfix, &milter, "plain" + suffix, o.mails, o.connections,
                                plain_recipient, plain_mail, passed_delivered));
        passed_drain =
            std::max(passed_drain, wait_for_deliveries(milter_postfix, passed_delivered));
    }
    bare_postfix.stop();
    const std::string passed_log = milter.log();

    std::size_t fax_accepted = 0;
    const RunResult faxed = measured_run(milter_postfix, &milter, "fax", o.fax_mails, o.connections,
                                         fax_recipient, fax_mail, fax_accepted);
    const auto decisions = milter_decisions(milter.log());
    const auto worker_faults = lines_with(milter.log(), "failed (");
    const auto milter_notes = other_lines(milter.log());
    const auto postfix_milter_warnings = lines_with(milter_postfix.maillog(), "warning: milter");
    milter_postfix.stop();
    milter.stop();
    const auto jobs = jobs_by_pages(milter.var(), scratch.path);

    const std::string name1 = "1 Postfix, no milter";
    const std::string name2 = "2 Postfix + milter, no fax recipient";
    const std::string name3 = "3 Postfix + milter, fax mail with PDF";
    std::printf("%-40s %6s %8s %9s %9s %9s %9s\n", "run", "mails", "accepted", "msg/s", "median ms",
                "p99 ms", "max ms");
    print_run(name1, bare);
    print_run(name2, passed);
    print_run(name3, faxed);
    std::printf(
        "(Postfix delivered runs 1 and 2 into the Maildir within %.1f s and %.1f s of "
        "their last 250)\n\n",
        bare_drain, passed_drain);

    std::printf("%-40s %13s %13s %10s\n", "against run 1 (difference of percentiles)",
                "added median", "added p99", "msg/s");
    print_against_baseline(name2, passed, bare, true);
    print_against_baseline(name3, faxed, bare, false);
    std::printf("\n");

    std::printf("%-40s %10s %10s %11s %10s %9s %9s\n", "CPU per accepted mail (from /proc)",
                "Postfix", "milter", "renderers", "load gen.", "machine", "others");
    print_cpu(name1, bare, false);
    print_cpu(name2, passed, true);
    print_cpu(name3, faxed, true);
    std::printf(
        "(milter: the filter process; renderers: its submit-worker processes and the "
        "render children they wait for;\n machine: how busy all %d cores were during the "
        "run; others: the part of it that was not this benchmark's processes)\n\n",
        cores);

    // What limits run 3: rendering, bounded by the cores it can use.
    const int accepted = std::max(1, faxed.accepted);
    const double render_per_mail = faxed.cpu.renderers / accepted;
    const double all_per_mail =
        (faxed.cpu.postfix + faxed.cpu.milter_total + faxed.cpu.generator) / accepted;
    const int usable = std::min(renderers, cores);
    // The mail's text is a page of its own: take the pages from the jobs.
    int job_pages = attachments.pages;
    if (!jobs.empty())
        job_pages = std::max_element(jobs.begin(), jobs.end(), [](const auto& a, const auto& b) {
                        return a.second < b.second;
                    })->first;
    std::printf(
        "run 3, what limits the rate (%d fax mails, %d pages per job: %d of PDF and the "
        "mail's text):\n",
        faxed.sent, job_pages, attachments.pages);
    if (faxed.milter_changed)
        std::printf("  no CPU figures: the milter's processes changed during the run (below)\n");
    else if (render_per_mail > 0 && faxed.wall_seconds > 0) {
        const double bound = usable / render_per_mail;
        std::printf(
            "  rendering: %.3f s CPU per mail (%.1f ms per page); with %d renderers on %d "
            "cores the rate is bounded by about %d/%.3f = %.2f mails/s\n",
            render_per_mail, 1000 * render_per_mail / attachments.pages, renderers, cores, usable,
            render_per_mail, bound);
        std::printf(
            "  everything of this benchmark: %.3f s CPU per mail: %d cores allow about "
            "%.2f mails/s\n",
            all_per_mail, cores, cores / all_per_mail);
        std::printf(
            "  measured: %.2f mails/s, %.0f%% of the rendering bound; the renderers ran on "
            "%.2f cores on average, other processes took %.2f cores\n",
            faxed.messages_per_second(), 100 * faxed.messages_per_second() / bound,
            faxed.cpu.renderers / faxed.wall_seconds, others_share(faxed.cpu) * cores);
    }
    std::printf("  milter's decisions at the end of DATA (status: mails, warm-up included):");
    for (const auto& [status, count] : decisions) std::printf(" %s: %d", status.c_str(), count);
    std::printf("\n  jobs in the milter's queue (pages: jobs):");
    for (const auto& [pages, count] : jobs) std::printf(" %d: %d", pages, count);
    std::printf("; fax mails accepted, warm-up included: %zu\n\n", fax_accepted);

    const bool all_quiet = bare.failures.empty() && passed.failures.empty() &&
                           faxed.failures.empty() && worker_faults.first == 0 &&
                           postfix_milter_warnings.first == 0 && milter_notes.empty();
    std::printf(
        "mails not accepted, the milter's faults and warnings, Postfix's milter "
        "warnings:%s\n",
        all_quiet ? " none" : "");
    print_failures("run 1", bare);
    print_failures("run 2", passed);
    print_failures("run 3", faxed);
    for (std::size_t i = 0; i < std::min<std::size_t>(milter_notes.size(), 10); ++i)
        std::printf("  milter said: %s\n", milter_notes[i].c_str());
    if (milter_notes.size() > 10)
        std::printf("  milter said %zu more lines\n", milter_notes.size() - 10);
    if (worker_faults.first)
        std::printf("  milter: %d worker fault(s), first: %s\n", worker_faults.first,
                    worker_faults.second.c_str());
    if (postfix_milter_warnings.first)
        std::printf("  Postfix: %d milter warning(s), first: %s\n", postfix_milter_warnings.first,
                    postfix_milter_warnings.second.c_str());
    if (passed_log.find("fax recipient(s)") != std::string::npos)
        std::printf("  milter: decided a mail in run 2, which has no fax recipient\n");
    std::printf("load average after the runs %s\n", load_average().c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "faxgw-bench-milter: %s\n", e.what());
    return 1;
}
