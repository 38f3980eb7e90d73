// Runs the real faxgw binary from the end-to-end tests: no shell, argv only.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.h"

extern char** environ;

namespace faxgw::test {

struct Output {
    int code = -1;
    std::string out, err;
};

// A child process with its stdout and stderr in files under `dir`, and
// `env` ("NAME=value") added to this process's environment. The value
// "JOURNAL_STREAM=stderr" becomes the device and inode of the child's
// stderr file, as systemd sets it for a service whose stderr is the journal.
class Process {
public:
    Process(const std::vector<std::string>& argv, const std::filesystem::path& dir,
            const std::filesystem::path& stdin_file = {}, std::vector<std::string> env = {}) {
        static int serial = 0;
        out_ = dir / ("out." + std::to_string(++serial));
        err_ = dir / ("err." + std::to_string(serial));
        std::ofstream(err_).flush();  // the same inode once the child opens it
        for (auto& e : env)
            if (e == "JOURNAL_STREAM=stderr") {
                struct stat st {};
                ::stat(err_.c_str(), &st);
                e = "JOURNAL_STREAM=" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
            }
        for (char** e = environ; *e; ++e) env.emplace_back(*e);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(
            &fa, 0, stdin_file.empty() ? "/dev/null" : stdin_file.c_str(), O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&fa, 2, err_.c_str(), O_WRONLY | O_TRUNC, 0644);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        std::vector<char*> envp;
        for (auto& e : env) envp.push_back(e.data());
        envp.push_back(nullptr);
        int rc = posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), envp.data());
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
    }
    ~Process() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    void signal(int sig) { ::kill(pid_, sig); }
    pid_t pid() const { return pid_; }
    Output wait() {
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        Output o;
        o.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        o.out = slurp(out_);
        o.err = slurp(err_);
        return o;
    }
    std::string stderr_so_far() const { return slurp(err_); }
    std::string stdout_so_far() const { return slurp(out_); }

private:
    pid_t pid_ = -1;
    std::filesystem::path out_, err_;
};

inline Output run(const std::vector<std::string>& argv, const std::filesystem::path& dir,
                  const std::filesystem::path& stdin_file = {}) {
    return Process(argv, dir, stdin_file).wait();
}

}  // namespace faxgw::test
