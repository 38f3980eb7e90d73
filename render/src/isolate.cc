// Rendering untrusted documents in a child process that sees nothing but
// its input and a scratch folder.
//
// Why fork() and nothing else: render/ is a library and knows nothing of
// the program it is linked into, so it cannot exec itself as a renderer, and
// a separate helper executable would have to be installed and found. fork()
// copies only the calling thread. The callers that render untrusted input
// (faxgw submit, faxgw render/send, the tests) are single-threaded while
// they render, so the child inherits no lock that another thread held, once
// the threads Pango starts have ended (PangoThreadsEnd). In a
// multi-threaded caller such a lock (glibc's malloc is safe across fork,
// fontconfig's and GLib's caches are not) could make the child wait
// forever: the wall-clock limit below then kills it, never a hang.
//
// Two processes, because a PID namespace takes effect only for the children
// of the process that creates it:
//  - the keeper, forked from the caller, leaves the caller's user, mount,
//    network, IPC, UTS and PID namespaces (unshare) and waits for
//  - the renderer, its child and process 1 of the new PID namespace, which
//    builds a root of its own (make_private_root: read-only system files,
//    the scratch folder, a fresh /proc that shows only its own processes)
//    and renders there.
// So a document that links to the queue's spool or to /etc finds nothing
// there, and neither does anything the renderer starts (LibreOffice,
// Ghostscript, WeasyPrint, each also under bubblewrap: program.cc). With no
// network interface but a loopback that is down, nothing can be fetched,
// not even from 127.0.0.1. When process 1 of a PID namespace dies the kernel
// kills every other process in it, and both processes die with their
// parent (PR_SET_PDEATHSIG): a killed `faxgw submit` leaves no renderer.
//
// Hand-written because no Debian library sets up namespaces inside a
// forked process (bubblewrap does it only for a program it execs; the
// renderer here is this process's own code: poppler, Pango, GdkPixbuf).
// Where the kernel allows no namespaces (user namespaces disabled, a
// container's seccomp filter) nothing is rendered: ResourceError, so that
// the mail waits for a fixed gateway instead of being refused or leaking.
//
// The renderer writes the pages to a fax TIFF in its scratch folder (G4, a
// few ms per page) and reports through a pipe; the caller then moves or
// reads the file.
#include "isolate.h"

#include <dirent.h>
#include <fcntl.h>
#include <fontconfig/fontconfig.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <thread>

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
thread_local double all_children_cpu = 0;

// Signals that end the renderer. As process 1 of its PID namespace it
// would ignore them where they are not forced on it (SIGXCPU, raise(),
// abort()), so it catches them and exits with 128 + the signal's number.
constexpr int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGXCPU};

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

// The threads of this process; 0 when /proc cannot tell. Never throws: it
// is called from a destructor.
std::size_t thread_count() noexcept {
    std::error_code error;
    std::size_t count = 0;
    for (std::filesystem::directory_iterator task("/proc/self/task", error), end;
         !error && task != end; task.increment(error))
        ++count;
    return count;
}

#ifndef FAXGW_ASAN
// Address space already mapped (inherited from the parent), in bytes.
std::uint64_t mapped_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t pages = 0;
    statm >> pages;
    return pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}
#endif

void write_all(int fd, const std::string& s) {
    std::size_t done = 0;
    while (done < s.size()) {
        const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += static_cast<std::size_t>(n);
    }
}

// Throws ResourceError "cannot isolate the renderer (what: why)" if a
// system call that sets up the isolation failed.
void check(bool ok, const std::string& what) {
    if (!ok)
        throw ResourceError("cannot isolate the renderer (" + what + ": " + std::strerror(errno) +
                            ")");
}

// Writes `text` with a single write(), as the kernel requires of uid_map
// and gid_map.
bool write_proc_file(const char* file, const std::string& text) {
    const int fd = ::open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool written = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
    const int error = errno;
    ::close(fd);
    errno = error;
    return written;
}

// The keeper leaves every namespace of the caller. A user namespace comes
// first where the kernel gives one (to anyone, root or not): inside it the
// process may mount, and its own user and group are all it maps, so the
// files it writes keep their owner. Root where user namespaces are off does
// without one.
void leave_namespaces() {
    constexpr int others = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID;
    // Read before unshare(): until they are mapped they read as 65534.
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    if (::unshare(CLONE_NEWUSER | others) != 0) {
        check(::unshare(others) == 0, "unshare");
        return;
    }
    // Root's renderer is `nobody` inside: were it root there, any program
    // it starts would get every capability back (drop_capabilities), and
    // bubblewrap, started by root, would rely on them.
    const auto inside_as = [](unsigned id) {
        const unsigned inside = id == 0 ? 65534 : id;
        return std::to_string(inside) + " " + std::to_string(id) + " 1";
    };
    // "deny" first, or the kernel refuses an unprivileged process its group
    // map (Linux before 3.19 has no such file and needs none).
    check(write_proc_file("/proc/self/setgroups", "deny") || errno == ENOENT, "setgroups");
    check(write_proc_file("/proc/self/uid_map", inside_as(uid)), "uid_map");
    check(write_proc_file("/proc/self/gid_map", inside_as(gid)), "gid_map");
}

void make_directories(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    errno = ec.value();
    check(!ec, "mkdir " + dir.string());
}

// A read-only bind mount. Remounting may not clear the flags the source is
// mounted with (the kernel locks them in a user namespace): they are kept.
void bind_read_only(const std::filesystem::path& from, const std::filesystem::path& to) {
    check(::mount(from.c_str(), to.c_str(), nullptr, MS_BIND | MS_REC, nullptr) == 0,
          "bind " + from.string());
    struct statvfs fs {};
    check(::statvfs(to.c_str(), &fs) == 0, "statvfs " + from.string());
    unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY;
    for (auto [st, ms] : {std::pair<unsigned long, unsigned long>{ST_NOSUID, MS_NOSUID},
                          {ST_NODEV, MS_NODEV},
                          {ST_NOEXEC, MS_NOEXEC},
                          {ST_NOATIME, MS_NOATIME},
                          {ST_NODIRATIME, MS_NODIRATIME},
                          {ST_RELATIME, MS_RELATIME}})
        if (fs.f_flag & st) flags |= ms;
    check(::mount(nullptr, to.c_str(), nullptr, flags, nullptr) == 0, "read-only " + from.string());
}

// `path` (absolute) as it is on the host, inside `root`: a symbolic link is
// copied as a link, a folder or file is bound read-only. Missing: skipped.
void expose_read_only(const std::filesystem::path& path, const std::filesystem::path& root) {
    const std::filesystem::path inside = root / path.relative_path();
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return;
    make_directories(inside.parent_path());
    if (S_ISLNK(st.st_mode)) {
        std::error_code ec;
        const std::filesystem::path target = std::filesystem::read_symlink(path, ec);
        errno = ec.value();
        check(!ec && ::symlink(target.c_str(), inside.c_str()) == 0, "symlink " + path.string());
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        make_directories(inside);
    } else {
        const int fd = ::open(inside.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        check(fd >= 0, "mount point " + path.string());
        ::close(fd);
    }
    bind_read_only(path, inside);
}

// Makes the renderer's root a fresh one that holds only the read-only
// system files programs need (sandbox_system_paths), /dev's harmless
// devices, a /proc of its own PID namespace and `scratch`, read-write and
// at its own path. Everything else of the host, the queue's state folder,
// /etc and home folders included, is gone from this process's view, not
// merely forbidden. Runs as process 1 of the new PID namespace, before the
// document is touched.
void make_private_root(const std::filesystem::path& scratch) {
    check(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0, "private mounts");
    const std::filesystem::path root = scratch / ".root";
    make_directories(root);
    check(::mount("tmpfs", root.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") == 0,
          "tmpfs");
    for (const std::filesystem::path& path : sandbox_system_paths()) expose_read_only(path, root);
    // /dev/tty too, which bubblewrap binds: the renderer has no controlling
    // terminal (the keeper started a session of its own), so it opens none.
    for (const char* device :
         {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"})
        expose_read_only(device, root);
    // Not recursive: root itself, mounted inside scratch, stays out.
    const std::filesystem::path own_scratch = root / scratch.relative_path();
    make_directories(own_scratch);
    check(::mount(scratch.c_str(), own_scratch.c_str(), nullptr, MS_BIND, nullptr) == 0,
          "bind scratch");
    make_directories(root / "proc");
    check(::mount("proc", (root / "proc").c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  nullptr) == 0,
          "proc");
    // The old root is stacked under the new one and then detached.
    check(::chdir(root.c_str()) == 0 && ::syscall(SYS_pivot_root, ".", ".") == 0, "pivot_root");
    check(::umount2(".", MNT_DETACH) == 0 && ::chdir("/") == 0, "detach the old root");
    check(::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
                  nullptr) == 0,
          "read-only root");
}

// Once its private root is built the renderer needs no capability. It has
// them all in its user namespace, and as root's renderer (mapped to host
// root, or with no user namespace at all) they reach host files: it could
// remount the read-only views of /usr and the rest writable and write
// through them. So every capability goes, from the bounding set too, and
// where it is still root (no user namespace) that no longer brings them
// back on exec (SECBIT_NOROOT), for LibreOffice and Ghostscript as well.
void drop_capabilities() {
    check(::prctl(PR_SET_SECUREBITS,
                  SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                      SECBIT_NO_SETUID_FIXUP_LOCKED,
                  0, 0, 0) == 0,
          "securebits");
    for (int cap = 0; ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap)
        check(::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0, "capability bounding set");
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3]{};
    check(::syscall(SYS_capset, &header, none) == 0, "capset");
    check(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "no new privileges");
}

void exit_for_signal(int sig) { ::_exit(128 + sig); }

void set_limits(const Options& options) {
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
}

// Dies with the process that started it. The parent may have died before
// the signal was set up: `alive` tells (it reads the parent's end of a pipe
// the parent holds open), and then nothing is started.
void die_with_parent(const std::function<bool()>& alive) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (!alive()) ::_exit(1);
}

// The renderer reads hostile documents, so it holds none of the caller's
// descriptors but `report`: the caller's file system is out of its reach
// (make_private_root), and an open descriptor would bring part of it back.
//  - Standard input becomes /dev/null: a worker's is its channel to the
//    daemon, `faxgw submit`'s the mail.
//  - Sockets, files, folders and devices the caller has open (the queue's
//    database, a listening SIP socket, a log file) are closed.
//  - What is left (pipes, and the event and poll descriptors a library such
//    as GLib keeps for its own use in this process) is made close-on-exec,
//    so that no program the renderer starts inherits it: bubblewrap passes
//    on to its program whatever it inherits.
// Standard output and error stay: they are the caller's log.
void drop_inherited_descriptors(int report) {
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, 0);
        ::close(null);
    }
    DIR* fds = ::opendir("/proc/self/fd");
    if (!fds) {  // cannot tell what it holds: render nothing, and try later
        write_all(report,
                  std::string("Rcannot list the renderer's descriptors: ") + std::strerror(errno));
        ::_exit(0);
    }
    std::vector<int> to_close;
    while (const dirent* entry = ::readdir(fds)) {
        const int fd = std::atoi(entry->d_name);
        if (fd <= 2 || fd == report || fd == ::dirfd(fds)) continue;
        struct stat st {};
        if (::fstat(fd, &st) != 0) continue;
        const bool of_the_callers_world = S_ISSOCK(st.st_mode) || S_ISREG(st.st_mode) ||
                                          S_ISDIR(st.st_mode) || S_ISCHR(st.st_mode) ||
                                          S_ISBLK(st.st_mode);
        if (of_the_callers_world)
            to_close.push_back(fd);
        else
            ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
    }
    ::closedir(fds);
    for (int fd : to_close) ::close(fd);
}

// Ends and reaps what helper programs left in the renderer's PID namespace.
// bubblewrap's outer process exits as soon as its sandbox's init reports
// the program's exit code, so that init (and the program's processor time)
// may still be around, reparented to the renderer: reaped here, its time
// counts in the renderer's usage, which the caller adds up per mail.
void end_helper_programs() {
    // kill(-1) from process 1 reaches only its own namespace; from anywhere
    // else it would reach every process of the user.
    if (::getpid() != 1) return;
    ::kill(-1, SIGKILL);
    while (::wait(nullptr) >= 0 || errno == EINTR) {
    }
}

// The renderer (process 1 of the new PID namespace): never returns.
[[noreturn]] void renderer(int report, int lifeline, const std::filesystem::path& scratch,
                           const std::function<std::string()>& body, const Options& options) {
    die_with_parent([&] {
        pollfd p{lifeline, 0, 0};
        return ::poll(&p, 1, 0) == 0;  // POLLHUP once the keeper is gone
    });
    for (int sig : fatal_signals) ::signal(sig, exit_for_signal);
    set_limits(options);
    // A page's buffers (poppler's bitmap, the grey copy, the fax page: a few
    // MB each) are freed and allocated again for every page. Above glibc's
    // default mmap threshold each would be a fresh mapping, faulted in and
    // zeroed page by page (a tenth of a text page's CPU); kept in the heap
    // they are reused. The address-space limit above still bounds them.
    ::mallopt(M_MMAP_THRESHOLD, 64 << 20);
    ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
    std::string message;
    try {
        make_private_root(scratch);
        drop_capabilities();
        message = body();
    } catch (const ResourceError& e) {
        message = std::string("R") + e.what();
    } catch (const LimitError& e) {
        message = std::string("L") + e.what();
    } catch (const Error& e) {
        message = std::string("E") + e.what();
    } catch (const std::bad_alloc&) {
        message = "M";
    } catch (const std::exception& e) {
        message = std::string("E") + "renderer failed (" + e.what() + ")";
    }
    write_all(report, message);
    end_helper_programs();
    ::_exit(0);  // no atexit handlers, no flushing of the parent's buffers
}

// The keeper: never returns. Ends as the renderer ended (its exit status,
// or the signal that killed it), so that the caller sees the renderer's end.
[[noreturn]] void keeper(int report, pid_t caller, const std::filesystem::path& scratch,
                         const std::function<std::string()>& body, const Options& options) {
    die_with_parent([&] { return ::getppid() == caller; });
    // A session (and process group) of its own: no controlling terminal to
    // push input into, and one group for the caller to kill.
    ::setsid();
    // Every temporary file of the renderer and the programs it starts goes
    // into `scratch`, which the caller removes however the child ends: a
    // killed Ghostscript or LibreOffice cannot clean up after itself.
    ::setenv("TMPDIR", scratch.c_str(), 1);
    // The parent's crash handlers (a test framework's, a daemon's) must not
    // run here: a crash is reported by the signal that ends the child.
    for (int sig :
         {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGXCPU, SIGTERM, SIGINT, SIGPIPE, SIGHUP})
        ::signal(sig, SIG_DFL);
    // Nor its blocked signals (a daemon blocks SIGTERM to sigwait for it).
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    drop_inherited_descriptors(report);
    try {
        leave_namespaces();
    } catch (const ResourceError& e) {
        write_all(report, std::string("R") + e.what());
        ::_exit(0);
    }
    int lifeline[2];
    if (::pipe2(lifeline, O_CLOEXEC) != 0) ::_exit(1);
    const pid_t pid = ::fork();
    if (pid < 0) {
        write_all(report, std::string("Rcannot start the renderer: ") + std::strerror(errno));
        ::_exit(0);
    }
    if (pid == 0) {
        ::close(lifeline[1]);
        renderer(report, lifeline[0], scratch, body, options);
    }
    ::close(report);  // the caller's read sees the end when the renderer ends
    ::close(lifeline[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) {
        ::signal(WTERMSIG(status), SIG_DFL);
        ::kill(::getpid(), WTERMSIG(status));
    }
    ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

std::string cpu_limit_message(const Options& options) {
    return "rendering used more than " + std::to_string(options.cpu_seconds) +
           " s of processor time";
}

// Runs `body` in the isolated child (keeper and renderer) and returns what
// it reported: body's result, or "E"/"L"/"R"/"M" and a message for an Error, a
// LimitError, a ResourceError or bad_alloc. Throws for what the child could not report:
// timeouts, signals, the processor time limit.
std::string run_child(const std::string& name, const std::filesystem::path& scratch,
                      const std::function<std::string()>& body, const Options& options) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw ResourceError(name + ": cannot start the renderer: " + std::strerror(errno));
    Fd read_end(fds[0]), write_end(fds[1]);

    const auto start = std::chrono::steady_clock::now();
    const pid_t caller = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw ResourceError(name + ": cannot start the renderer: " + std::strerror(errno));
    if (pid == 0) {
        read_end.reset();
        keeper(write_end.get(), caller, scratch, body, options);
    }
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
        char buf[65536];
        const ssize_t n = ::read(read_end.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // the renderer has exited (or closed its end)
        report.append(buf, static_cast<std::size_t>(n));
    }
    // The group first (the keeper's session and group, made as it started:
    // it has long started when the limit is reached), while the keeper's pid
    // is still ours; the renderer's PID namespace dies with the renderer.
    if (timed_out) ::kill(-pid, SIGKILL);
    int status = 0;
    rusage usage{};
    while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    ::kill(-pid, SIGKILL);  // leftovers, if any (the group id is not reused while members live)
    last_usage.cpu_seconds = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
                             (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    last_usage.peak_rss_kb = usage.ru_maxrss;
    all_children_cpu += last_usage.cpu_seconds;
    last_usage.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    // A loaded machine, not the document: the mail is tried again later.
    if (timed_out)
        throw ResourceError(name + ": rendering took longer than " +
                            std::to_string(options.wall_seconds) + " s");
    // The signal that ended the renderer, however it was reported.
    const int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    const int sig = WIFSIGNALED(status)                                    ? WTERMSIG(status)
                    : report.empty() && exit_code > 128 && exit_code < 160 ? exit_code - 128
                                                                           : 0;
    const bool over_cpu = last_usage.cpu_seconds >= options.cpu_seconds;
    if (sig == SIGXCPU || (sig == SIGKILL && over_cpu))
        throw LimitError(name + ": " + cpu_limit_message(options));
    // A stop signal comes from outside (a service manager stopping the
    // whole process group, an administrator): the gateway's affair, retried.
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT)
        throw ResourceError(name + ": renderer stopped by signal " + std::to_string(sig) + " (" +
                            ::strsignal(sig) + ")");
    if (sig != 0)
        throw Error(name + ": renderer crashed (signal " + std::to_string(sig) + ", " +
                    ::strsignal(sig) + ")");
    if (report == "M")
        throw LimitError(name + ": ran out of memory (limit " + std::to_string(options.memory_mb) +
                         " MB)");
    if (report.starts_with("E")) throw Error(name + ": " + report.substr(1));
    if (report.starts_with("L")) throw LimitError(name + ": " + report.substr(1));
    if (report.starts_with("R")) throw ResourceError(name + ": " + report.substr(1));
    if (report.empty())
        throw Error(name + ": renderer failed (exit status " +
                    std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
    return report;
}

// Moves `from` over `to`; copies where they are on different file systems.
void move_file(const std::filesystem::path& from, const std::filesystem::path& to) {
    std::error_code ec;
    std::filesystem::rename(from, to, ec);
    if (ec == std::errc::cross_device_link) {
        ec.clear();
        std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing, ec);
    }
    if (ec) throw ResourceError("cannot write " + to.string() + ": " + ec.message());
}

}  // namespace

ChildUsage last_child_usage() { return last_usage; }

double children_cpu_seconds() { return all_children_cpu; }

TempFile::TempFile(const std::filesystem::path& dir, const std::string& prefix) {
    std::string name = ((dir.empty() ? temp_folder() : dir) / (prefix + "XXXXXX")).string();
    const int fd = ::mkstemp(name.data());
    if (fd < 0)
        throw ResourceError(std::string("cannot create a temporary file: ") + std::strerror(errno));
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
    const TempFile out(options.scratch_folder);
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
    // fontconfig's start-up (parsing /etc/fonts, mapping the caches: a few
    // ms) happens here, before the fork, so that the renderer inherits it
    // instead of paying it again for every document: Pango, cairo and
    // poppler all ask fontconfig, and the caller asks it too for the header
    // lines it stamps. The renderer's root shows the same font files; the
    // thread that forks does it, so no fontconfig lock is held across. In a
    // long-running caller fonts installed later are still seen: fontconfig
    // looks again when its rescan interval (30 s) has passed.
    FcInitBringUptoDate();
    const WorkDir scratch("faxgw-render-", options.scratch_folder);
    const std::filesystem::path pages = scratch / "pages.tif";
    const std::string report = run_child(
        name, scratch.path(), [&] { return "P" + std::to_string(produce(pages)); }, options);
    if (!report.starts_with("P"))
        throw Error(name + ": renderer failed (" + report.substr(0, 40) + ")");
    const std::size_t count = std::stoul(report.substr(1));
    if (count > 0) move_file(pages, out);
    return count;
}

PangoThreadsEnd::PangoThreadsEnd() : threads_before_(thread_count()) {}

PangoThreadsEnd::~PangoThreadsEnd() {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (thread_count() > threads_before_ && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
}

std::string run_isolated_bytes(const std::string& name, const std::function<std::string()>& work,
                               const Options& options) {
    const WorkDir scratch("faxgw-isolated-", options.scratch_folder);
    const std::string report = run_child(
        name, scratch.path(), [&] { return "B" + work(); }, options);
    if (!report.starts_with("B"))
        throw Error(name + ": child failed (" + report.substr(0, 40) + ")");
    return report.substr(1);
}

}  // namespace faxgw::render
