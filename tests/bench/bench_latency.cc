// Benchmark: from `faxgw submit` returning to the first dial of the job by a
// running `faxgw run` on an idle line, for a mail with a 10-page PDF. The
// runner is woken through its FIFO (like Postfix's pickup); the figure to
// compare it with is the 1 s a polling runner would add on average half of.
// Prints the median of several runs, and how long submit itself took.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

pid_t spawn(const std::vector<std::string>& argv, int stdin_fd, int stderr_fd) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (stdin_fd >= 0) posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0);
    if (stderr_fd >= 0) posix_spawn_file_actions_adddup2(&fa, stderr_fd, 2);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    if (posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) {
        std::perror(args[0]);
        std::exit(1);
    }
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

int wait_for(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// Reads lines from fd until one contains `what`.
bool read_until(FILE* in, const std::string& what) {
    std::array<char, 4096> line{};
    while (std::fgets(line.data(), line.size(), in))
        if (std::string(line.data()).find(what) != std::string::npos) return true;
    return false;
}

std::string make_mail(const fs::path& dir) {
    std::ofstream ps(dir / "ten.ps");
    ps << "/Helvetica findfont 14 scalefont setfont\n1 1 10 { /n exch def 0 1 45 { /i exch def 60 "
          "780 i 16 "
          "mul sub moveto (Page ) show n 3 string cvs show ( of 10: the quick brown fox jumps over "
          "the lazy dog) "
          "show } for showpage } for\n";
    ps.close();
    auto gs = spawn({"gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite",
                     "-sPAPERSIZE=a4", "-o", (dir / "ten.pdf").string(), (dir / "ten.ps").string()},
                    -1, -1);
    if (wait_for(gs) != 0) std::exit(1);
    std::string b64_cmd = "base64 -w 76 " + (dir / "ten.pdf").string();
    std::string b64;
    FILE* p = popen(b64_cmd.c_str(), "r");
    std::array<char, 4096> buf{};
    while (auto n = std::fread(buf.data(), 1, buf.size(), p)) b64.append(buf.data(), n);
    pclose(p);
    return "From: Bench <bench@example.com>\r\nTo: 5551001@fax.example.com\r\nSubject: ten "
           "pages\r\n"
           "Message-ID: <bench-ten@example.com>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: "
           "application/pdf; "
           "name=\"ten.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
           b64 + "\r\n--b--\r\n";
}

}  // namespace

int main(int argc, char** argv) {
    const int runs = argc > 1 ? std::atoi(argv[1]) : 7;
    const std::string faxgw = FAXGW_BINARY;
    std::vector<double> latency_ms, submit_ms;
    for (int r = 0; r < runs; ++r) {
        std::string templ = (fs::temp_directory_path() / "faxgw-bench-XXXXXX").string();
        fs::path dir = ::mkdtemp(templ.data());
        std::ofstream(dir / "ten.eml") << make_mail(dir);

        int err_pipe[2];
        if (pipe(err_pipe) != 0) return 1;
        pid_t run = spawn({faxgw, "run", "--var", (dir / "var").string()}, -1, err_pipe[1]);
        close(err_pipe[1]);
        FILE* run_log = fdopen(err_pipe[0], "r");
        if (!read_until(run_log, "faxgw run:")) return 1;

        int mail = open((dir / "ten.eml").c_str(), O_RDONLY);
        auto t_start = Clock::now();
        pid_t submit = spawn({faxgw, "submit", "--var", (dir / "var").string(), "--sender",
                              "bench@example.com", "5551001@fax.example.com"},
                             mail, -1);
        int code = wait_for(submit);
        auto t_submitted = Clock::now();
        close(mail);
        if (code != 0) {
            std::fprintf(stderr, "submit exited %d\n", code);
            return 1;
        }
        if (!read_until(run_log, ": dial ")) return 1;
        auto t_dial = Clock::now();
        kill(run, SIGTERM);
        wait_for(run);
        fclose(run_log);
        fs::remove_all(dir);
        submit_ms.push_back(
            std::chrono::duration<double, std::milli>(t_submitted - t_start).count());
        latency_ms.push_back(
            std::chrono::duration<double, std::milli>(t_dial - t_submitted).count());
    }
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    std::printf("faxgw submit-to-dial benchmark: 10-page PDF mail, idle line, %d runs\n", runs);
    std::printf("  faxgw submit (parse, render 10 pages, queue): median %.1f ms\n",
                median(submit_ms));
    std::printf(
        "  submit returned -> first dial:                median %.1f ms (min %.1f, max %.1f)\n",
        median(latency_ms), *std::min_element(latency_ms.begin(), latency_ms.end()),
        *std::max_element(latency_ms.begin(), latency_ms.end()));
    std::printf("  a runner polling once a second would add 500 ms on average\n");
    return 0;
}
