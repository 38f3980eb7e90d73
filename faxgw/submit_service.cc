// `faxgw run`'s side of the submit service (submit_service.h), and the
// worker command that the service and the milter start.
#include "submit_service.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace faxgw {
namespace {

// The longest one mail may take in a worker; then the worker is replaced
// and `faxgw submit` decides the mail itself. As long as the milter's
// default (milter.decide_seconds).
constexpr std::chrono::seconds worker_limit{600};
// A client has its request written at once; one that stalls is cut.
constexpr int request_read_seconds = 60;
// Connections served at once (a mail beyond the workers is declined at
// once); `faxgw submit` decides the mails beyond by itself.
constexpr int max_connections = 256;

std::string why_not(const std::string& what) { return what + ": " + std::strerror(errno); }

// Only the service's own user and root may hand it mail: anyone else could
// also not write to the state folder.
bool may_submit(int fd) {
    ucred peer{};
    socklen_t size = sizeof peer;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0) return false;
    return peer.uid == 0 || peer.uid == ::geteuid();
}

int listen_on(const std::filesystem::path& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string name = path.string();
    if (name.size() >= sizeof address.sun_path)
        throw std::runtime_error("submit service: socket path too long: " + name);
    std::memcpy(address.sun_path, name.c_str(), name.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(why_not("submit service: socket"));
    // A file left by a `faxgw run` that was killed; run.lock makes this
    // process the only one serving the state folder.
    ::unlink(name.c_str());
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::chmod(name.c_str(), 0600) != 0 || ::listen(fd, 64) != 0) {
        const std::string why = why_not("submit service: " + name);
        ::close(fd);
        throw std::runtime_error(why);
    }
    return fd;
}

}  // namespace

std::vector<std::string> submit_worker_command(const CommonOptions& options, const Config& config) {
    std::vector<std::string> argv = {"/proc/self/exe", "submit-worker", "--var",
                                     std::filesystem::absolute(config.var).string()};
    if (options.config_file) {
        argv.push_back("--config");
        argv.push_back(std::filesystem::absolute(*options.config_file).string());
    }
    // /proc/self/exe names the service's own file for the spawned process
    // only while the service runs; resolve it now.
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) argv.front() = self.string();
    return argv;
}

imap::Decide decide_in_workers(const CommonOptions& options, const Config& config, int size,
                               std::function<void(const std::string&)> log) {
    auto pool = std::make_shared<mailgw::WorkerPool>(submit_worker_command(options, config), size,
                                                     std::move(log));
    return [pool](const mailgw::WorkerRequest& request) {
        return pool->decide(request, worker_limit, [] {});
    };
}

SubmitService::SubmitService(const CommonOptions& options, const Config& config,
                             std::function<void(const std::string&)> log)
    : socket_path_(std::filesystem::absolute(submit_socket(config.var))), log_(std::move(log)) {
    // The workers first: the socket is opened once they are warm.
    pool_ = std::make_unique<mailgw::WorkerPool>(submit_worker_command(options, config),
                                                 config.submit.workers, log_);
    listener_ = listen_on(socket_path_);
    acceptor_ = std::thread([this] { accept_loop(); });
    log_("submit service: " + std::to_string(config.submit.workers) + " worker(s) on " +
         socket_path_.string());
}

SubmitService::~SubmitService() {
    ::unlink(socket_path_.c_str());    // new `faxgw submit`s decide by themselves
    ::shutdown(listener_, SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    ::close(listener_);
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return connections_ == 0; });
    lock.unlock();
    pool_.reset();  // each worker ends after the mail in its hands
}

void SubmitService::accept_loop() {
    for (;;) {
        const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                continue;
            }
            return;  // shut down
        }
        std::unique_lock lock(mutex_);
        if (connections_ >= max_connections || !may_submit(fd)) {
            lock.unlock();
            ::close(fd);  // the client decides its mail itself
            continue;
        }
        ++connections_;
        lock.unlock();
        try {
            std::thread([this, fd] { serve_connection(fd); }).detach();
        } catch (const std::system_error&) {  // no thread to be had
            ::close(fd);
            std::lock_guard relock(mutex_);
            --connections_;
            idle_.notify_all();
        }
    }
}

void SubmitService::serve_connection(int fd) {
    timeval timeout{request_read_seconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    try {
        if (auto request = mailgw::receive_request(fd, service_max_message_bytes)) {
            // A mail that finds every worker busy is decided by its own
            // `faxgw submit`, in parallel, as without the service.
            auto reply = pool_->decide(
                *request, worker_limit, [] {}, mailgw::WorkerPool::WhenBusy::decline);
            if (reply.declined)
                log_("submit service: a mail was left to `faxgw submit` (" + reply.message + ")");
            else
                // mta_reply escapes control characters: an envelope sender
                // is not checked until the worker did (mailgw::submit).
                log_("submit service: " +
                     mailgw::mta_reply(reply.verdict, "from <" + request->envelope.sender +
                                                          ">: " + reply.message));
            mailgw::send_reply(fd, reply);
        }
    } catch (const mailgw::ChannelError& e) {
        log_(std::string("submit service: a client went away: ") + e.what());
    } catch (const std::exception& e) {
        // Out of memory or threads: the client decides its mail itself.
        log_(std::string("submit service: cannot serve a client: ") + e.what());
    }
    ::close(fd);
    std::lock_guard lock(mutex_);
    --connections_;
    idle_.notify_all();
}

namespace {

int run_submit_worker(const CommonOptions& options) {
    auto config = options.load();
    auto queue = faxcore::Queue::open(config.var);
    return mailgw::serve_worker(STDIN_FILENO, config.mail, *queue, config_digest(options));
}

}  // namespace

CLI::App* add_submit_worker_command(CLI::App& app, int& exit_code) {
    // The service's and the milter's worker processes; not for people (no
    // group: hidden).
    auto* worker = app.add_subcommand("submit-worker", "");
    worker->group("");
    auto options = std::make_shared<CommonOptions>();
    options->add_to(*worker);
    worker->callback([options, &exit_code] { exit_code = run_submit_worker(*options); });
    return worker;
}

}  // namespace faxgw
