#include <faxgw/submit_worker.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace faxgw::mailgw {
namespace {

constexpr std::chrono::seconds progress_interval{10};
constexpr std::chrono::seconds startup_limit{60};

}  // namespace

// An idle worker writes nothing: anything to read on its socket is the end
// of it (the worker exited or was killed).
bool WorkerPool::still_there(const Worker& worker) {
    pollfd p{worker.fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
}

WorkerPool::WorkerPool(std::vector<std::string> command, int size,
                       std::function<void(const std::string&)> log)
    : command_(std::move(command)), log_(std::move(log)), unstarted_(size) {
    // Started now, so that they are warm before the first mail; one that
    // cannot start is tried again when a mail needs it.
    for (int i = 0; i < size; ++i) {
        try {
            idle_.push_back(spawn());
            --unstarted_;
        } catch (const ChannelError& e) {
            log_(std::string("cannot start a worker: ") + e.what());
        }
    }
}

WorkerPool::~WorkerPool() {
    std::unique_lock lock(mutex_);
    for (auto& worker : idle_) end(worker, false);
}

// posix_spawn, not fork: the filter's process has many threads.
WorkerPool::Worker WorkerPool::spawn() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        throw ChannelError(std::string("socketpair: ") + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 0);  // dup2 clears FD_CLOEXEC
    // Nothing else of the daemon's: libraries open descriptors without
    // close-on-exec (libre's SIP sockets), and a worker that outlives a
    // killed daemon would hold them (a restarted gateway could not listen).
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    // No signal blocked, none ignored: `faxgw run` blocks SIGTERM in its
    // threads to sigwait() for it, and a child would inherit that.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none;
    sigemptyset(&none);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> argv;
    for (auto& arg : command_) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int error = ::posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    ::close(fds[1]);
    if (error != 0) {
        ::close(fds[0]);
        throw ChannelError("cannot start " + command_.front() + ": " + std::strerror(error));
    }
    Worker worker{pid, fds[0], false};
    // Ready once its renderer is warm (or it failed to start).
    try {
        receive_reply(worker.fd, startup_limit, startup_limit, [] {});
    } catch (const ChannelError&) {
        end(worker, true);
        throw;
    }
    return worker;
}

void WorkerPool::end(Worker& worker, bool kill) {
    if (kill) ::kill(worker.pid, SIGKILL);
    ::close(worker.fd);  // the worker reads the end of its input and exits
    int status = 0;
    while (::waitpid(worker.pid, &status, 0) < 0 && errno == EINTR) {
    }
    worker = {};
}

std::optional<WorkerPool::Worker> WorkerPool::take(const std::function<void()>& waiting,
                                                   WhenBusy when_busy) {
    std::unique_lock lock(mutex_);
    while (idle_.empty() && unstarted_ == 0) {
        if (when_busy == WhenBusy::decline) return std::nullopt;
        if (free_.wait_for(lock, progress_interval) == std::cv_status::timeout) {
            lock.unlock();
            waiting();
            lock.lock();
        }
    }
    if (!idle_.empty()) {
        Worker worker = idle_.back();
        idle_.pop_back();
        if (still_there(worker)) return worker;
        // Killed or crashed while it waited: replaced now, so that the mail
        // does not pay for it with a try_later.
        lock.unlock();
        log_("worker " + std::to_string(worker.pid) + " ended while idle: replaced");
        end(worker, true);
    } else {
        --unstarted_;
        lock.unlock();
    }
    try {
        Worker worker = spawn();
        worker.started_for_a_request = true;
        return worker;
    } catch (...) {
        lock.lock();
        ++unstarted_;
        free_.notify_one();
        throw;
    }
}

void WorkerPool::give_back(Worker worker) {
    std::lock_guard lock(mutex_);
    if (worker.pid > 0)
        idle_.push_back(worker);
    else
        ++unstarted_;
    free_.notify_one();
}

WorkerReply WorkerPool::decide(const WorkerRequest& request, std::chrono::seconds limit,
                               const std::function<void()>& waiting, WhenBusy when_busy) {
    // A worker that read settings other than the request's (the file was
    // edited since) ends and is replaced, and the next one is asked; all
    // started before the edit go that way, one by one. When one started
    // for this very request declines too, the request's settings are not
    // the file's at all: the answer is declined.
    for (;;) {
        Worker worker;
        try {
            auto free = take(waiting, when_busy);
            if (!free) return {Verdict::try_later, "all workers busy", {}, true};
            worker = *free;
        } catch (const ChannelError& e) {
            return {Verdict::try_later, std::string("no renderer: ") + e.what(), {}, true};
        }
        try {
            send_request(worker.fd, request);
            WorkerReply reply = receive_reply(worker.fd, progress_interval, limit, waiting);
            const bool started_now = worker.started_for_a_request;
            worker.started_for_a_request = false;
            if (reply.declined) {
                log_("worker " + std::to_string(worker.pid) + " had " + reply.message +
                     ": replaced");
                end(worker, false);
            }
            give_back(worker);
            if (!reply.declined || started_now) return reply;
        } catch (const ChannelError& e) {
            log_("worker " + std::to_string(worker.pid) + " failed (" + e.what() + "): replaced");
            end(worker, true);
            give_back(worker);
            return {Verdict::try_later, std::string("renderer failed: ") + e.what(), {}, true};
        }
    }
}

}  // namespace faxgw::mailgw
