#include "program.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

extern char** environ;

namespace faxgw::render {

std::filesystem::path temp_folder() {
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
    if (ec)
        throw ResourceError("cannot use the temporary folder (TMPDIR " +
                            std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                            "): " + ec.message());
    return dir;
}

WorkDir::WorkDir(const char* prefix, const std::filesystem::path& in) {
    std::string name =
        ((in.empty() ? temp_folder() : in) / (std::string(prefix) + "XXXXXX")).string();
    if (!::mkdtemp(name.data()))
        throw ResourceError(std::string("cannot create a temporary folder: ") +
                            std::strerror(errno));
    path_ = name;
}

WorkDir::~WorkDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path find_program(const std::string& name) {
    if (name.empty()) return {};
    if (name.find('/') != std::string::npos)
        return ::access(name.c_str(), X_OK) == 0 ? std::filesystem::path(name)
                                                 : std::filesystem::path();
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        const std::size_t end = std::min(dirs.find(':', start), dirs.size());
        const std::string dir = dirs.substr(start, end - start);
        if (!dir.empty()) {
            const std::filesystem::path candidate = std::filesystem::path(dir) / name;
            std::error_code ec;
            if (std::filesystem::is_regular_file(candidate, ec) &&
                ::access(candidate.c_str(), X_OK) == 0)
                return candidate;
        }
        start = end + 1;
    }
    return {};
}

namespace {

// `env` ("NAME=value") over this process's environment.
std::vector<std::string> environment_with(const std::vector<std::string>& env) {
    std::vector<std::string> out;
    for (char** e = environ; *e; ++e) {
        const std::string_view entry(*e);
        const std::string_view key = entry.substr(0, entry.find('='));
        bool replaced = false;
        for (const std::string& x : env)
            replaced = replaced || std::string_view(x).substr(0, x.find('=')) == key;
        if (!replaced) out.emplace_back(entry);
    }
    out.insert(out.end(), env.begin(), env.end());
    return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (std::string& s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

struct Finished {
    int status = 0;
    double cpu_seconds = 0;
};

// Starts args[0], waits at most `seconds` (then kills it: ResourceError)
// and returns how it ended. `status_fd`, if not -1, becomes its fd 3.
Finished spawn_and_wait(std::vector<std::string> args, std::vector<std::string> env,
                        const std::filesystem::path& log, int seconds, int status_fd = -1) {
    const std::vector<char*> argv = pointers(args);
    const std::vector<char*> envp = pointers(env);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (status_fd >= 0) posix_spawn_file_actions_adddup2(&actions, status_fd, 3);
    // Nothing else of the caller's: bubblewrap would pass it on to the program.
    posix_spawn_file_actions_addclosefrom_np(&actions, status_fd >= 0 ? 4 : 3);
    // No signal blocked or ignored: `faxgw run` blocks SIGTERM to sigwait()
    // for it (it converts received faxes to PDF with tiff2pdf).
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = 0;
    const int rc =
        ::posix_spawn(&pid, args.at(0).c_str(), &actions, &attributes, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (rc != 0) throw ResourceError("cannot run " + args[0] + ": " + std::strerror(rc));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    Finished done;
    rusage usage{};
    for (;;) {
        const pid_t ended = ::wait4(pid, &done.status, WNOHANG, &usage);
        if (ended == pid) break;
        if (ended < 0 && errno != EINTR) throw ResourceError("lost the helper program");
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &done.status, 0);
            throw ResourceError("rendering took longer than " + std::to_string(seconds) + " s");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    done.cpu_seconds = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
                       (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    return done;
}

// A program that died of signal `sig`: its processor-time limit is the
// document's doing (Error), any other signal the gateway's (ResourceError).
[[noreturn]] void throw_for_signal(const std::string& program, int sig, double cpu_seconds) {
    rlimit cpu{};
    ::getrlimit(RLIMIT_CPU, &cpu);
    const bool over_cpu_limit =
        cpu.rlim_cur != RLIM_INFINITY && cpu_seconds >= static_cast<double>(cpu.rlim_cur);
    if (sig == SIGXCPU || (sig == SIGKILL && over_cpu_limit))
        throw Error(program + " used more than " + std::to_string(cpu.rlim_cur) +
                    " s of processor time");
    throw ResourceError(program + " crashed (signal " + std::to_string(sig) + ", " +
                        ::strsignal(sig) + ")");
}

std::string name_of(const std::string& program) {
    return std::filesystem::path(program).filename().string();
}

}  // namespace

int run_program(const std::vector<std::string>& args, const std::filesystem::path& log, int seconds,
                const std::vector<std::string>& env) {
    const Finished done = spawn_and_wait(args, environment_with(env), log, seconds);
    if (WIFSIGNALED(done.status))
        throw_for_signal(name_of(args[0]), WTERMSIG(done.status), done.cpu_seconds);
    return WEXITSTATUS(done.status);
}

const std::vector<std::filesystem::path>& sandbox_system_paths() {
    static const std::vector<std::filesystem::path> paths = [] {
        std::vector<std::filesystem::path> p = {
            "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
            // The dynamic linker's cache, and the links Debian's alternatives
            // and time zone make into /usr.
            "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
            "/etc/localtime",
            // Fonts and their cache (fontconfig, Pango, Ghostscript, LibreOffice).
            "/etc/fonts", "/var/cache/fontconfig",
            // Linked to from /usr/lib/libreoffice and /usr/share/ghostscript.
            "/etc/libreoffice", "/var/lib/libreoffice", "/etc/ghostscript", "/var/lib/ghostscript"};
        // Python's sitecustomize.py (/etc/python3.11/...), for WeasyPrint.
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator("/etc", ec))
            if (entry.path().filename().string().starts_with("python3")) p.push_back(entry.path());
        return p;
    }();
    return paths;
}

int run_sandboxed(const std::vector<std::string>& args, const std::filesystem::path& work,
                  const std::filesystem::path& log, int seconds,
                  const std::vector<std::string>& env) {
    const std::filesystem::path bwrap = find_program("bwrap");
    if (bwrap.empty())
        throw ResourceError(
            "bubblewrap (bwrap) is not installed on the gateway: documents are not rendered "
            "outside its sandbox");
    std::vector<std::string> command = {
        bwrap.string(), "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop",
        "ALL",          "--clearenv",    "--setenv",          "PATH",          "/usr/bin:/bin",
        "--setenv",     "HOME",          work.string()};
    for (const std::string& e : env) {
        const std::size_t eq = e.find('=');
        command.insert(command.end(), {"--setenv", e.substr(0, eq), e.substr(eq + 1)});
    }
    for (const std::filesystem::path& path : sandbox_system_paths()) {
        std::error_code ec;
        if (std::filesystem::is_symlink(path, ec))
            command.insert(
                command.end(),
                {"--symlink", std::filesystem::read_symlink(path, ec).string(), path.string()});
        else
            command.insert(command.end(), {"--ro-bind-try", path.string(), path.string()});
    }
    command.insert(command.end(),
                   {"--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--bind", work.string(),
                    work.string(), "--chdir", work.string(), "--json-status-fd", "3", "--"});
    command.insert(command.end(), args.begin(), args.end());

    // bwrap reports on fd 3 the program's "exit-code" once it ran; without
    // one, bwrap could not set up the sandbox: the gateway's fault.
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw ResourceError(std::string("cannot start a program: ") + std::strerror(errno));
    const Finished done = [&] {
        try {
            return spawn_and_wait(command, {"PATH=/usr/bin:/bin"}, log, seconds, fds[1]);
        } catch (...) {
            ::close(fds[0]);
            ::close(fds[1]);
            throw;
        }
    }();
    ::close(fds[1]);
    std::string status;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR);)
        if (n > 0) status.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    if (status.find("\"exit-code\"") == std::string::npos)
        throw ResourceError("cannot start " + name_of(args.at(0)) +
                            " in its sandbox (bwrap: " + log_tail(log) + ")");
    if (WIFSIGNALED(done.status))
        throw_for_signal(name_of(args[0]), WTERMSIG(done.status), done.cpu_seconds);
    // bwrap exits 128 + N when the program died of signal N.
    const int code = WEXITSTATUS(done.status);
    if (code > 128 && code < 128 + 32)
        throw_for_signal(name_of(args[0]), code - 128, done.cpu_seconds);
    return code;
}

std::string read_whole_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

std::string log_tail(const std::filesystem::path& log, std::size_t max) {
    std::string text = read_whole_file(log);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    if (text.size() > max) text = text.substr(text.size() - max);
    for (char& c : text)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    return text;
}

void write_file(const std::filesystem::path& file, std::string_view bytes) {
    std::ofstream f(file, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw ResourceError("cannot write a temporary file " + file.string());
}

}  // namespace faxgw::render
