// Rendering untrusted documents in a child process.
//
// Why fork() and nothing else: render/ is a library and knows nothing of
// the program it is linked into, so it cannot exec itself as a renderer, and
// a separate helper executable would have to be installed and found. fork()
// copies only the calling thread. The callers that render untrusted input
// (faxgw submit, faxgw render/send, the tests) are single-threaded while
// they render, so the child inherits no lock that another thread held. In a
// multi-threaded caller such a lock (glibc's malloc is safe across fork,
// fontconfig's and GLib's caches are not) could make the child wait
// forever: the wall-clock limit below then kills it and the caller gets an
// Error, never a hang.
//
// The child renders, writes the pages to a temporary fax TIFF
// (write_fax_tiff: G4, a few ms per page) and reports through a pipe; the
// parent reads the TIFF back. For render_document_to_tiff the child writes
// the TIFF page by page as it renders (run_isolated_to_file) and the parent
// only checks it, so neither ever holds the whole document. The child is
// the leader of its own process group so that killing the group also ends
// what it started (Ghostscript), and has no network (cut_off_network), so
// neither it nor what it starts can fetch what a document links to.
#include "isolate.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <new>

#include "program.h"
#include "tiff_file.h"

#if defined(__SANITIZE_ADDRESS__)
#define FAXGW_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FAXGW_ASAN 1
#endif
#endif

namespace faxgw::render {

namespace {

thread_local ChildUsage last_usage;

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_;
};

// Address space already mapped (inherited from the parent), in bytes.
std::uint64_t mapped_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t pages = 0;
    statm >> pages;
    return pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

void write_all(int fd, const std::string& s) {
    std::size_t done = 0;
    while (done < s.size()) {
        const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += static_cast<std::size_t>(n);
    }
}

// Writes `text` with a single write(), as the kernel requires of uid_map
// and gid_map. False, with errno set, if it cannot.
bool write_proc_file(const char* file, const std::string& text) {
    const int fd = ::open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool written = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
    const int error = errno;
    ::close(fd);
    errno = error;
    return written;
}

// Moves the child into a network namespace of its own, so that nothing it
// runs can reach a network: LibreOffice loads pictures a document links to
// by URL, and Ghostscript, WeasyPrint and poppler are only a bug away from
// it. A new namespace has nothing but a loopback interface that is down, so
// not even 127.0.0.1 answers. Hand-written because no Debian library does
// this, and bubblewrap or firejail are not installed by default and would
// be one more dependency for a few lines of system calls.
//
// A network namespace alone takes CAP_SYS_ADMIN (root); without it, a user
// namespace, which the kernel lets any process create, gives it. Inside it
// the process maps its own user and group to themselves, so that it keeps
// its ids and the files it writes keep their owner. unshare() wants a
// single-threaded caller: the child after fork() is one.
//
// Where the kernel refuses both (user namespaces disabled, a container's
// seccomp filter) the child renders all the same: refusing every document
// would stop the gateway, and the renderers' own guards still hold
// (WeasyPrint is served only cid: and data: URLs, Ghostscript runs -dSAFER).
void cut_off_network() {
    if (::unshare(CLONE_NEWNET) == 0) return;
    // Read before unshare(): until they are mapped they read as 65534.
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) return;
    const auto to_itself = [](unsigned id) {
        return std::to_string(id) + " " + std::to_string(id) + " 1";
    };
    // "deny" first, or the kernel refuses an unprivileged process its group
    // map (Linux before 3.19 has no such file and needs none). Unmapped, the
    // child could create no file and so not render: say why instead.
    if ((!write_proc_file("/proc/self/setgroups", "deny") && errno != ENOENT) ||
        !write_proc_file("/proc/self/uid_map", to_itself(uid)) ||
        !write_proc_file("/proc/self/gid_map", to_itself(gid)))
        throw Error(std::string("cannot start the renderer without network: ") +
                    std::strerror(errno));
}

// The child: never returns.
[[noreturn]] void child(int report, const std::filesystem::path& out,
                        const std::filesystem::path& scratch, const PageProducer& produce,
                        const Options& options) {
    // Every temporary file of the renderer and the programs it starts goes
    // into `scratch`, which the parent removes however the child ends: a
    // killed Ghostscript or LibreOffice cannot clean up after itself.
    ::setenv("TMPDIR", scratch.c_str(), 1);
    ::setpgid(0, 0);
    // The parent's crash handlers (a test framework's, a daemon's) must not
    // run here: a crash is reported by the signal that ends the child.
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGXCPU, SIGTERM, SIGINT, SIGPIPE})
        ::signal(sig, SIG_DFL);
    rlimit core{0, 0};
    ::setrlimit(RLIMIT_CORE, &core);
    // SIGXCPU at the soft limit, SIGKILL a second later.
    const auto cpu = static_cast<rlim_t>(std::max(1, options.cpu_seconds));
    rlimit cpu_limit{cpu, cpu + 1};
    ::setrlimit(RLIMIT_CPU, &cpu_limit);
#ifndef FAXGW_ASAN
    // Counted on top of what the child inherited, so a big parent does not
    // leave its renderer nothing. (AddressSanitizer reserves terabytes of
    // shadow memory up front: under it there is no memory limit.)
    const std::uint64_t limit =
        mapped_bytes() + static_cast<std::uint64_t>(std::max(1, options.memory_mb)) * (1u << 20);
    rlimit as{static_cast<rlim_t>(limit), static_cast<rlim_t>(limit)};
    ::setrlimit(RLIMIT_AS, &as);
#endif
    std::string message;
    try {
        cut_off_network();
        message = "P" + std::to_string(produce(out));
    } catch (const Error& e) {
        message = std::string("E") + e.what();
    } catch (const std::bad_alloc&) {
        message = "M";
    } catch (const std::exception& e) {
        message = std::string("E") + "renderer failed (" + e.what() + ")";
    }
    write_all(report, message);
    ::_exit(0);  // no atexit handlers, no flushing of the parent's buffers
}

std::string describe_signal(int sig, const Options& options) {
    if (sig == SIGXCPU)
        return "rendering used more than " + std::to_string(options.cpu_seconds) +
               " s of processor time";
    return "renderer crashed (signal " + std::to_string(sig) + ", " + ::strsignal(sig) + ")";
}

}  // namespace

ChildUsage last_child_usage() { return last_usage; }

TempFile::TempFile(const std::filesystem::path& dir, const std::string& prefix) {
    std::string name = (dir / (prefix + "XXXXXX")).string();
    const int fd = ::mkstemp(name.data());
    if (fd < 0) throw Error(std::string("cannot create a temporary file: ") + std::strerror(errno));
    ::close(fd);
    path_ = name;
}

TempFile::~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
    std::filesystem::remove(path_.string() + ".partial", ignored);
}

std::vector<Page> run_isolated(const std::string& name,
                               const std::function<std::vector<Page>()>& render,
                               const Options& options) {
    const TempFile out;
    const std::size_t count = run_isolated_to_file(
        name,
        [&](const std::filesystem::path& file) {
            const std::vector<Page> pages = render();
            if (!pages.empty()) write_fax_tiff(pages, file);
            return pages.size();
        },
        out.path(), options);
    if (count == 0) return {};
    std::vector<Page> pages = naming_file(name, [&] { return read_fax_tiff(out.path()); });
    if (pages.size() != count)
        throw Error(name + ": renderer returned " + std::to_string(pages.size()) + " of " +
                    std::to_string(count) + " pages");
    return pages;
}

std::size_t run_isolated_to_file(const std::string& name, const PageProducer& produce,
                                 const std::filesystem::path& out, const Options& options) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw Error(name + ": cannot start the renderer: " + std::strerror(errno));
    Fd read_end(fds[0]), write_end(fds[1]);

    const WorkDir scratch("faxgw-render-");
    const auto start = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid < 0) throw Error(name + ": cannot start the renderer: " + std::strerror(errno));
    if (pid == 0) {
        read_end.reset();
        child(write_end.get(), out, scratch.path(), produce, options);
    }
    ::setpgid(pid, pid);  // as the child does: whichever runs first
    write_end.reset();

    const auto deadline = start + std::chrono::seconds(std::max(1, options.wall_seconds));
    std::string report;
    bool timed_out = false;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now())
                              .count();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        pollfd p{read_end.get(), POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
        if (ready < 0 && errno != EINTR) break;
        if (ready <= 0) continue;
        char buf[4096];
        const ssize_t n = ::read(read_end.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // the child has exited (or closed its end)
        report.append(buf, static_cast<std::size_t>(n));
    }
    // The group first, while the child's pid (and so the group id) is still
    // ours: a renderer the child started must not outlive it.
    if (timed_out) ::kill(-pid, SIGKILL);
    int status = 0;
    rusage usage{};
    while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    ::kill(-pid, SIGKILL);  // leftovers, if any (the group id is not reused while members live)
    last_usage.cpu_seconds = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
                             (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    last_usage.peak_rss_kb = usage.ru_maxrss;
    last_usage.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    if (timed_out)
        throw Error(name + ": rendering took longer than " + std::to_string(options.wall_seconds) +
                    " s");
    if (WIFSIGNALED(status)) throw Error(name + ": " + describe_signal(WTERMSIG(status), options));
    if (report == "M")
        throw Error(name + ": ran out of memory (limit " + std::to_string(options.memory_mb) +
                    " MB)");
    if (report.starts_with("E")) throw Error(name + ": " + report.substr(1));
    if (!report.starts_with("P"))
        throw Error(name + ": renderer failed (exit status " +
                    std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
    return std::stoul(report.substr(1));
}

}  // namespace faxgw::render
