// Benchmark: the CPU time (user + system) that `faxgw submit` of a one-page
// plain-text mail costs, counted over the submit process and all its
// children (the isolated renderer's keeper and renderer), as an MTA's pipe
// transport pays it for every mail. Each submit runs on a fresh state folder
// with the built-in settings, so the queue is created as on a first mail;
// the figure is the median of the runs (getrusage(RUSAGE_CHILDREN) before
// and after each one). For scale it also prints `faxgw --version` (exec,
// dynamic linking and static initialisers, nothing else) and /bin/true.
//
//   faxgw-bench-submit-cpu [RUNS] [OTHER_FAXGW]
//
// OTHER_FAXGW (e.g. a copy of an older build) is measured in the same run,
// run by run alternating with this build's, so the two see the same machine.
//
// This build is also measured handing its mail to a `faxgw run` (the
// submit service, faxgw/submit_service.h): the CPU of `faxgw submit` (the
// median) plus the CPU `faxgw run` spent meanwhile (the mean over the runs,
// from /proc in clock ticks: all its threads, its worker processes and the
// renderers they forked, and the one call attempt of each job), so that
// work moved into the service is still counted.
//
// Where the CPU of one submit went (2-core VM, RelWithDebInfo; perf record
// of 20 submits by shared object, LD_DEBUG=statistics, perf stat):
//
//   before (main at 2c7ce42): 63-69 ms a submit, `--version` 24-25 ms
//   - kernel 36 %: exec and mapping ~120 shared libraries (fault-around,
//     copy-on-write of their relocated pages), two forks of that address
//     space (keeper, renderer), the namespaces (a network namespace is the
//     dearest), opening ~360 files (fontconfig's ~300), fsync (kept);
//   - dynamic loader 25 %: 32,000 symbol relocations, each looked up by
//     walking the libraries in load order; relocation took 5.7 M cycles;
//   - libc 12 % (malloc, memset of page buffers, regcomp for libmagic);
//   - fontconfig + expat 7.4 %: FcInit (parsing /etc/fonts) paid twice, in
//     submit for the header line and again in the renderer for the text;
//   - libphonenumber's start (ICU regular expressions, protobuf metadata)
//     ~4 ms; libmagic ~4 ms (two passes, type and encoding, and closing
//     both handles at exit); threshold_onto ~2 ms (a test per pixel);
//     SQLite ~1 ms; Pango/cairo/HarfBuzz laying out the page ~2 ms.
//
//   after: 45-50 ms a submit (0.74-0.78 of before in the same run),
//   `--version` 19 ms
//   - the libraries most symbols bind to are loaded first (faxgw/
//     CMakeLists.txt): relocation 5.7 M -> 3.0 M cycles, start-up -5 ms;
//   - one libmagic pass (MAGIC_MIME) for type and encoding, the main
//     thread's handle not closed at exit: -6 ms;
//   - FcInit before the fork, inherited by the renderer: -3 to -4 ms;
//   - threshold_onto passes blank paper 8 pixels at a time: -1.5 ms.
//   What remains: start-up (exec, mapping and relocating ~120 libraries,
//   ~19 ms, as `faxgw --version`), the kernel's forks and namespaces for
//   the isolation (~4 ms), libphonenumber's start (~4 ms), fontconfig's
//   start once (~3 ms), the page itself (layout, header, G4: ~4 ms), the
//   queue's SQLite transaction and fsyncs (~2 ms). Halving the whole needs
//   fewer libraries in the process that serves `submit` (libcurl, libre,
//   libetpan, cpp-httplib and OpenSSL are loaded but unused there).
//
//   What fewer libraries would save (perf stat -r 50 of an empty main()
//   linked against them, same machine, 2026-12-02): faxgw's 118 libraries
//   11.3 ms; without the network ones (libcurl, GnuTLS, libre, libetpan,
//   cpp-httplib, libmilter, OpenSSL and what they pull in: 86 left) 7.2 ms;
//   without poppler too (77 left) 5.6 ms.
//
//   faxgw and faxgwd (2026-12-03, faxgw/service_program.h): the commands
//   that run for long moved to faxgwd, and faxgw, which serves `submit`,
//   links 80 libraries instead of 118. Three references had pulled network
//   code into every program that reads the configuration or posts a mail
//   (the outbox's delivery, the milter's socket check, the simulated
//   network's behaviour names): each is now in a file of its own. The
//   libraries faxgw used to be linked to first included libcrypto, which
//   nothing in it needs: 3,400 symbol lookups at every start for nothing.
//   Each against main before this work (4bb6cb1) in the same run,
//   fuzzers at nice 19 on both cores (`faxgw-bench-submit-cpu 21 OLD`):
//     one program (f9a27fc)  submit 39.3 ms against 53.2 (0.74), --version 14.4
//     faxgw and faxgwd       submit 28.4 ms against 48.0 (0.59), --version  7.1
//   An empty main() linked to faxgw's 80 libraries costs 6.9 ms: start-up
//   is now nearly all the loader's. What is left of a submit (perf record
//   with call graphs): libphonenumber's start ~2.4 ms (ICU compiling its
//   regular expressions; no way around it but a process that lives on),
//   the isolated renderer (forks, namespaces, mounts, the page: ~5 ms),
//   fontconfig's start ~1.5 ms, the header line and G4 in submit ~1.5 ms,
//   libmagic ~0.7 ms, the queue's transaction ~1 ms. Poppler out of faxgw
//   (loaded only for PDFs) would save 0.6 ms more (empty main(), 78
//   libraries). Half of 4bb6cb1's CPU would need those starts paid once
//   per process that lives on, not once per mail, as the milter's workers
//   already do.
//
//   Measured and not taken: linking Debian's static archives of
//   libphonenumber, protobuf, ICU and Abseil into faxgw (62 libraries left
//   with sqlite3, mimetic, libmagic, RE2 and libytnef static too) saves
//   2-3 ms a submit (A/B, same run: 1.08 and 1.11 times faster). But ICU,
//   libmagic, mimetic and libphonenumber read what senders write, and a
//   statically linked copy misses Debian's security updates until faxgw is
//   rebuilt: not worth 3 ms of a mail gateway's CPU.
//
//   So the starts are paid once per process that lives on: `faxgw submit`
//   hands the mail to warm workers of `faxgw run` when it runs (as the
//   milter's workers already did), and reads of its configuration file no
//   more than the state folder and submit.workers, which spares it
//   libphonenumber's start too (load_config checks the dial rules with
//   it). Against 4bb6cb1 in the same run (fuzzers at nice 19 on both
//   cores): 8.8 ms of `faxgw submit` + 12.4 ms of `faxgw run` = 21.2 ms
//   against 54.0 (0.39); without `faxgw run`, 30.4 ms (0.56). Of the
//   worker's 12 ms, half is the kernel's: the two forks of the isolated
//   renderer and their exits, mounts and namespaces, the queue's fsyncs.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "process.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

double children_cpu_ms() {
    rusage u{};
    getrusage(RUSAGE_CHILDREN, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
           (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

// Runs argv with stdin from `input` (or /dev/null), stdout and stderr to
// /dev/null; returns the CPU milliseconds it and its children used, or a
// negative number if it failed.
double cpu_of(const std::vector<std::string>& argv, const fs::path& input) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, input.empty() ? "/dev/null" : input.c_str(), O_RDONLY,
                                     0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const double before = children_cpu_ms();
    pid_t pid = -1;
    if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) return -1;
    posix_spawn_file_actions_destroy(&fa);
    int status = 0;
    waitpid(pid, &status, 0);
    const double used = children_cpu_ms() - before;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? used : -1;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

struct Figures {
    std::vector<double> submit, first_submit, version;
};

// A one-page plain-text mail; each has its own Message-ID, since submitting
// the same one again to the same number queues (and renders) nothing.
void write_mail(const fs::path& file, int number) {
    std::ofstream(file) << "From: Bench <bench@example.com>\r\n"
                           "To: 5551001@fax.example.com\r\n"
                           "Subject: one page\r\n"
                           "Message-ID: <bench-"
                        << number
                        << "@example.com>\r\n"
                           "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                           "Dear reader,\r\n\r\n"
                           "this letter fits on one page of plain text. The quick brown fox\r\n"
                           "jumps over the lazy dog, 0123456789 times.\r\n\r\n"
                           "Regards,\r\nBench\r\n";
}

std::vector<std::string> submit_argv(const std::string& faxgw, const fs::path& var) {
    return {faxgw,      "submit",
            "--var",    var.string(),
            "--sender", "bench@example.com",
            "--",       "5551001@fax.example.com"};
}

// One build: a submit into its state folder `var` (made by an earlier
// submit, as at a running gateway), one into a new state folder (the
// queue's database is created first), and one bare start-up.
bool measure_once(const std::string& faxgw, const fs::path& dir, const fs::path& var, int number,
                  Figures& f) {
    const fs::path mail = dir / "letter.eml";
    write_mail(mail, number);
    const double submit = cpu_of(submit_argv(faxgw, var), mail);
    const fs::path new_var = dir / "new-var";
    const double first_submit = cpu_of(submit_argv(faxgw, new_var), mail);
    fs::remove_all(new_var);
    const double version = cpu_of({faxgw, "--version"}, {});
    if (submit < 0 || first_submit < 0 || version < 0) return false;
    f.submit.push_back(submit);
    f.first_submit.push_back(first_submit);
    f.version.push_back(version);
    return true;
}

// `faxgw run` on a state folder of its own, serving the submit service
// (submit.workers). The CPU it spends is read from /proc in clock ticks:
// all its threads, its workers and what they waited for (the isolated
// renderers), so that a submit it serves is charged with the work done
// for it. Its one line is busy for every number, and a busy number is
// tried again only after an hour: each job costs one short call attempt,
// which is charged too.
class ServingGateway {
public:
    ServingGateway(const std::string& faxgw, const fs::path& dir)
        : config_(dir / "served.toml"), var_(dir / "served-var") {
        std::ofstream(config_) << "[lines]\ncount = 1\n[retry]\nbusy_delay = 3600\n";
        const std::vector<std::string> argv = {faxgw,   "run",        "--config", config_.string(),
                                               "--var", var_.string()};
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        if (posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&fa);
        // The socket appears once the workers are warm.
        for (int i = 0; i < 600 && pid_ > 0 && !fs::exists(var_ / "submit.socket"); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ~ServingGateway() {
        if (pid_ <= 0) return;
        kill(pid_, SIGTERM);
        waitpid(pid_, nullptr, 0);
    }
    bool serving() const { return pid_ > 0 && fs::exists(var_ / "submit.socket"); }
    std::vector<std::string> submit_argv(const std::string& faxgw) const {
        return {faxgw,      "submit",
                "--config", config_.string(),
                "--var",    var_.string(),
                "--sender", "bench@example.com",
                "--",       "5551003@fax.example.com"};
    }
    // CPU milliseconds so far.
    double cpu_ms() const {
        double ticks = ticks_of(pid_);
        for (pid_t child : faxgw::test::children_of(pid_)) ticks += ticks_of(child);
        return ticks * 1e3 / static_cast<double>(sysconf(_SC_CLK_TCK));
    }

private:
    // utime + stime + cutime + cstime: fields 14 to 17 of /proc/PID/stat.
    static double ticks_of(pid_t pid) {
        const auto fields = faxgw::test::stat_fields_of(pid);  // from field 3
        if (fields.size() < 15) return 0;
        double sum = 0;
        for (std::size_t i = 14 - 3; i <= 17 - 3; ++i) sum += std::stod(fields[i]);
        return sum;
    }

    fs::path config_, var_;
    pid_t pid_ = -1;
};

void print(const char* name, const Figures& f) {
    std::printf(
        "  %-12s submit: median %5.1f ms CPU (min %5.1f, max %5.1f);"
        "  into a new state folder: %5.1f ms;  --version: %5.1f ms\n",
        name, median(f.submit), *std::min_element(f.submit.begin(), f.submit.end()),
        *std::max_element(f.submit.begin(), f.submit.end()), median(f.first_submit),
        median(f.version));
}

}  // namespace

int main(int argc, char** argv) {
    const int runs = argc > 1 ? std::atoi(argv[1]) : 21;
    const std::string faxgw = FAXGW_BINARY;
    const std::string other = argc > 2 ? argv[2] : "";

    std::string templ = (fs::temp_directory_path() / "faxgw-bench-XXXXXX").string();
    const fs::path dir = ::mkdtemp(templ.data());
    const fs::path var = dir / "var", other_var = dir / "other-var";
    Figures mine, theirs, warm_up;
    std::vector<double> true_cpu, served;
    double service_cpu = 0;
    {
        const ServingGateway gateway(faxgw, dir);
        if (!gateway.serving()) {
            std::fprintf(stderr, "faxgw run did not open its submit service\n");
            return 1;
        }
        const fs::path served_mail = dir / "served.eml";
        // Run -1 makes the state folders and is not counted.
        for (int r = -1; r < runs; ++r) {
            Figures& mine_now = r < 0 ? warm_up : mine;
            Figures& theirs_now = r < 0 ? warm_up : theirs;
            if (!measure_once(faxgw, dir, var, 3 * r + 3, mine_now) ||
                (!other.empty() && !measure_once(other, dir, other_var, 3 * r + 4, theirs_now))) {
                std::fprintf(stderr, "faxgw submit or --version failed\n");
                return 1;
            }
            write_mail(served_mail, 3 * r + 5);
            const double service_before = gateway.cpu_ms();
            const double client = cpu_of(gateway.submit_argv(faxgw), served_mail);
            if (client < 0) {
                std::fprintf(stderr, "faxgw submit to faxgw run failed\n");
                return 1;
            }
            if (r >= 0) {
                served.push_back(client);
                service_cpu += gateway.cpu_ms() - service_before;
            }
            true_cpu.push_back(cpu_of({"/bin/true"}, {}));
        }
    }
    fs::remove_all(dir);

    std::printf(
        "faxgw submit of a one-page text mail: CPU (user+sys) of submit and its "
        "children, %d runs\n",
        runs);
    print("this build", mine);
    const double served_total = median(served) + service_cpu / runs;
    std::printf(
        "  this build, handed to `faxgw run` (submit.workers): submit median %5.1f ms + the "
        "service's %4.1f ms a mail (mean: threads, workers, renderers, call attempts) = %5.1f ms\n",
        median(served), service_cpu / runs, served_total);
    if (!other.empty()) {
        print("other build", theirs);
        std::printf("  this build / other build: %.2f without `faxgw run`, %.2f handed to it\n",
                    median(mine.submit) / median(theirs.submit),
                    served_total / median(theirs.submit));
    }
    std::printf("  /bin/true: median %.1f ms\n", median(true_cpu));
    return 0;
}
