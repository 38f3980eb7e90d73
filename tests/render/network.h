// Helpers for the tests that an isolated renderer has no network: a small
// HTTP server on 127.0.0.1 that counts who reaches it, and whether this
// kernel lets a process leave the network at all.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

namespace faxgw::render::test {

// Whether the kernel lets run_isolated's child cut itself off from the
// network (a network namespace, with a user namespace when not root). Where
// it does not (user namespaces disabled, a container's seccomp filter) the
// child renders with the network, and the tests that it cannot fetch skip.
inline bool kernel_allows_network_namespaces() {
    const pid_t pid = ::fork();
    if (pid == 0)
        ::_exit(::unshare(CLONE_NEWNET) == 0 || ::unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0 ? 0
                                                                                             : 1);
    int status = 1;
    if (pid > 0) ::waitpid(pid, &status, 0);
    return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// "connected" if a TCP connection to 127.0.0.1:port can be made from this
// process, else why not (strerror).
inline std::string try_to_connect(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::strerror(errno);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool connected =
        ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    const std::string result = connected ? "connected" : std::strerror(errno);
    ::close(fd);
    return result;
}

// A TCP socket listening on 127.0.0.1 at a free port, with no thread: the
// kernel completes connections into its backlog. For a test that forks, a
// second thread could hold a lock (the sanitizers' allocator) at the fork and
// leave the child waiting for it.
class LoopbackListener {
public:
    LoopbackListener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof address;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), size) != 0 ||
            ::listen(fd_, 16) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) != 0)
            throw std::runtime_error(std::string("cannot listen on 127.0.0.1: ") +
                                     std::strerror(errno));
        port_ = ntohs(address.sin_port);
    }
    ~LoopbackListener() { ::close(fd_); }
    LoopbackListener(const LoopbackListener&) = delete;
    LoopbackListener& operator=(const LoopbackListener&) = delete;

    int fd() const { return fd_; }
    int port() const { return port_; }

private:
    int fd_ = -1;
    int port_ = 0;
};

// An HTTP server on 127.0.0.1 at a free port, on a thread of its own, that
// answers every GET with `body` as image/png (anything else with 501, as
// Python's http.server does) and counts the connections it accepts.
class LoopbackServer {
public:
    explicit LoopbackServer(std::string body = {}) : body_(std::move(body)) {
        thread_ = std::thread([this] { serve(); });
    }
    ~LoopbackServer() {
        stop_ = true;
        thread_.join();
    }
    LoopbackServer(const LoopbackServer&) = delete;
    LoopbackServer& operator=(const LoopbackServer&) = delete;

    int port() const { return listener_.port(); }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port()) + path;
    }
    int connections() const { return connections_; }

private:
    void serve() {
        while (!stop_) {
            pollfd p{listener_.fd(), POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            const int client = ::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
            if (client < 0) continue;
            ++connections_;
            answer(client);
            ::close(client);
        }
    }

    void answer(int client) const {
        const timeval patience{5, 0};
        ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
        std::string request;
        char buf[4096];
        while (request.find("\r\n\r\n") == std::string::npos) {
            const ssize_t n = ::recv(client, buf, sizeof buf, 0);
            if (n <= 0) return;
            request.append(buf, static_cast<std::size_t>(n));
        }
        const bool get = request.starts_with("GET ");
        const std::string reply = std::string(get ? "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                                                  : "HTTP/1.1 501 Not Implemented\r\n") +
                                  "Content-Length: " + std::to_string(get ? body_.size() : 0) +
                                  "\r\nConnection: close\r\n\r\n" + (get ? body_ : "");
        for (std::size_t sent = 0; sent < reply.size();) {
            const ssize_t n =
                ::send(client, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) return;
            sent += static_cast<std::size_t>(n);
        }
    }

    std::string body_;
    LoopbackListener listener_;
    std::atomic<int> connections_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace faxgw::render::test
