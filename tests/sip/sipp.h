// sipp (Debian's sip-tester) as the far end of a SIP test: one process that
// plays one scenario of tests/sip/scenarios for exactly one call on 127.0.0.1,
// with its message trace kept in a temp folder for the test to read.
//
//   faxgw::test::Sipp far_end(faxgw::test::sipp_scenario("busy.xml"),
//                             faxgw::sip::free_loopback_sip_port());
//   (another process may take the port before sipp does: sipp then exits at
//   once and the Sipp constructor says so)
//   ... point a trunk at "127.0.0.1:" + std::to_string(far_end.port()) and call ...
//   BOOST_TEST(far_end.wait_exit(std::chrono::seconds(30)) == 0, far_end.messages());
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "faxgw/lines/sip.h"
#include "test_support.h"

extern char** environ;

namespace faxgw::test {

inline std::filesystem::path sipp_scenario(const std::string& name) {
    return source_dir / "tests" / "sip" / "scenarios" / name;
}

// Whether some socket is bound to `port` (any address) in a kernel socket
// table: /proc/net/udp, or /proc/net/tcp (listening or not). Reading the
// table, unlike probing with a bind of our own, cannot steal the port from
// sipp while it starts.
inline bool port_bound(int port, const char* table_file) {
    std::ifstream table(table_file);
    std::string line;
    std::getline(table, line);  // the column titles
    while (std::getline(table, line)) {
        // "  12: 0100007F:13C4 00000000:0000 07 ...": the local port is the
        // hex number after the first colon of the second column.
        std::istringstream fields(line);
        std::string slot, local;
        fields >> slot >> local;
        const auto colon = local.find(':');
        if (colon != std::string::npos && std::stoi(local.substr(colon + 1), nullptr, 16) == port)
            return true;
    }
    return false;
}

inline bool udp_port_bound(int port) { return port_bound(port, "/proc/net/udp"); }

// One sipp process playing `scenario` for one call (-m 1) on 127.0.0.1:port,
// as a UAS unless the scenario starts by sending. Its stdout/stderr, message
// trace (-trace_msg) and unexpected-message trace (-trace_err) go to a temp
// folder; the destructor kills it if it is still running.
class Sipp {
public:
    // sipp's exit status when wait_exit's limit ran out and the process was killed.
    static constexpr int timed_out = -1;

    // With "-t", "t1" among extra_args, sipp speaks SIP over TCP on that port.
    Sipp(std::filesystem::path scenario, int port, std::vector<std::string> extra_args = {})
        : port_(port) {
        for (std::size_t i = 0; i + 1 < extra_args.size(); ++i)
            if (extra_args[i] == "-t" && extra_args[i + 1].starts_with("t")) tcp_ = true;
        if (!std::filesystem::exists(scenario))
            throw std::runtime_error("no sipp scenario " + scenario.string());
        std::vector<std::string> argv = {"sipp", "-sf", scenario.string(), "-i", "127.0.0.1", "-p",
                                         std::to_string(port), "-m", "1",
                                         // Not a terminal: no keyboard commands, and
                                         // sipp prints its statistics only at the end.
                                         "-nostdin", "-trace_msg", "-message_file",
                                         messages_file().string(), "-trace_err", "-error_file",
                                         errors_file().string()};
        argv.insert(argv.end(), extra_args.begin(), extra_args.end());
        start(argv);
        wait_until_bound();
    }
    ~Sipp() { kill(); }
    Sipp(const Sipp&) = delete;
    Sipp& operator=(const Sipp&) = delete;

    int port() const { return port_; }
    // "127.0.0.1:<port>", for a trunk's proxy.
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

    // sipp's exit status: 0 when the call went through the whole scenario,
    // 1 when it failed (unexpected message, failed check, retransmission
    // timeout), other codes for errors of sipp itself (see sipp(1)).
    // Kills sipp and answers timed_out when it has not ended within `limit`.
    int wait_exit(std::chrono::seconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (pid_ > 0 && !reap(WNOHANG)) {
            if (std::chrono::steady_clock::now() >= deadline) {
                kill();
                status_ = timed_out;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return status_;
    }

    // Every SIP message sipp sent and received so far, with timestamps: the
    // diagnostics for a failed test, and the evidence that, say, a CANCEL came.
    // sipp writes it buffered, so it is complete only once sipp has ended.
    std::string messages() const { return read_if_any(messages_file()); }

    // Why sipp failed a call (unexpected messages, failed checks) and what it
    // printed: its closing statistics and any error about its arguments.
    std::string errors() const { return read_if_any(errors_file()) + read_if_any(output_file()); }

    const std::filesystem::path& log_dir() const { return dir_.path; }

private:
    std::filesystem::path messages_file() const { return dir_.path / "messages.log"; }
    std::filesystem::path errors_file() const { return dir_.path / "errors.log"; }
    std::filesystem::path output_file() const { return dir_.path / "output.log"; }

    // The end of what sipp said, where its error is: on a bad argument it
    // prints its whole usage first.
    std::string last_words() const {
        const std::string all = errors();
        const std::size_t keep = 2000;
        return all.size() > keep ? "..." + all.substr(all.size() - keep) : all;
    }

    static std::string read_if_any(const std::filesystem::path& file) {
        std::error_code ignored;
        return std::filesystem::exists(file, ignored) ? slurp(file) : std::string();
    }

    void start(const std::vector<std::string>& argv) {
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, output_file().c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        // Files sipp names after the scenario land in the temp folder too.
        posix_spawn_file_actions_addchdir_np(&actions, dir_.path.c_str());
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        const int rc = posix_spawnp(&pid_, "sipp", &actions, nullptr, args.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) {
            pid_ = -1;
            throw std::runtime_error("cannot start sipp (Debian package sip-tester)");
        }
    }

    // sipp reads and checks the scenario before it binds, so a bad scenario
    // or argument shows up here as an early exit, with sipp's own words.
    void wait_until_bound() {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!port_bound(port_, tcp_ ? "/proc/net/tcp" : "/proc/net/udp")) {
            if (reap(WNOHANG))
                throw std::runtime_error("sipp ended before binding port " + std::to_string(port_) +
                                         ":\n" + last_words());
            if (std::chrono::steady_clock::now() >= deadline) {
                kill();
                throw std::runtime_error("sipp did not bind port " + std::to_string(port_) + ":\n" +
                                         last_words());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    // Collects the exit status; true once sipp has ended.
    bool reap(int options) {
        int status = 0;
        if (::waitpid(pid_, &status, options) != pid_) return false;
        pid_ = -1;
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return true;
    }

    void kill() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        reap(0);
    }

    TempDir dir_;
    int port_;
    bool tcp_ = false;
    pid_t pid_ = -1;
    int status_ = timed_out;
};

}  // namespace faxgw::test
