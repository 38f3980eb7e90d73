// Child processes of the tests: programs run with argv only (no shell), and
// what /proc says of a process (its children, state and processor time).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
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
    // Whether its standard error says `text` within `limit`.
    bool says(const std::string& text,
              std::chrono::milliseconds limit = std::chrono::seconds(5)) const {
        return eventually([&] { return stderr_so_far().find(text) != std::string::npos; }, limit);
    }
    std::string stdout_so_far() const { return slurp(out_); }

private:
    pid_t pid_ = -1;
    std::filesystem::path out_, err_;
};

// The children of process `pid`, whichever of its threads started them.
inline std::vector<pid_t> children_of(pid_t pid) {
    std::vector<pid_t> out;
    std::error_code error;
    const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
    for (const auto& task : std::filesystem::directory_iterator(tasks, error)) {
        std::ifstream in(task.path() / "children");
        for (pid_t child; in >> child;) out.push_back(child);
    }
    return out;
}

// What the open descriptors of process `pid` refer to, by number: a path,
// "socket:[INODE]", "pipe:[INODE]", ... (none once it is gone).
inline std::map<int, std::string> descriptors_of(pid_t pid) {
    std::map<int, std::string> out;
    std::error_code error;
    const std::filesystem::path fds = "/proc/" + std::to_string(pid) + "/fd";
    for (const auto& fd : std::filesystem::directory_iterator(fds, error)) {
        const auto target = std::filesystem::read_symlink(fd.path(), error);
        if (!error) out[std::stoi(fd.path().filename().string())] = target.string();
    }
    return out;
}

// The fields of /proc/PID/stat from the third (the state) on; none once
// `pid` is gone.
inline std::vector<std::string> stat_fields_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    const std::string stat((std::istreambuf_iterator<char>(in)), {});
    const auto after_name = stat.rfind(')');  // the name may hold spaces
    std::vector<std::string> fields;
    if (after_name == std::string::npos) return fields;
    std::istringstream rest(stat.substr(after_name + 1));
    for (std::string field; rest >> field;) fields.push_back(field);
    return fields;
}

// The state letter of process `pid` in proc(5): 'Z' for a zombie (it has
// exited, its files are closed), '?' once it is gone.
inline char state_of(pid_t pid) {
    const auto fields = stat_fields_of(pid);
    return fields.empty() ? '?' : fields[0][0];
}

// The arguments `pid` was started with, separated by spaces ("" once gone).
inline std::string command_line_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
    std::string line, argument;
    while (std::getline(in, argument, '\0')) line += (line.empty() ? "" : " ") + argument;
    return line;
}

// The processor time (clock ticks) of the children `pid` has waited for,
// theirs and their own children's: cutime + cstime (fields 16 and 17 of
// /proc/PID/stat); -1 once it is gone.
inline long waited_children_ticks(pid_t pid) {
    const auto fields = stat_fields_of(pid);
    if (fields.size() < 15) return -1;
    return std::stol(fields[13]) + std::stol(fields[14]);
}

inline Output run(const std::vector<std::string>& argv, const std::filesystem::path& dir,
                  const std::filesystem::path& stdin_file = {}) {
    return Process(argv, dir, stdin_file).wait();
}

}  // namespace faxgw::test
