// A TCP relay on 127.0.0.1 between a client and a server that cuts its
// first connection after the server has sent `cut_after` bytes: a
// connection that drops in the middle of a long answer. Later connections
// pass whole.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <thread>

namespace faxgw::test {

class CutRelay {
public:
    CutRelay(int target_port, long cut_after) : target_(target_port), cut_after_(cut_after) {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a = loopback(0);
        socklen_t len = sizeof a;
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::listen(listener_, 8) != 0 ||
            ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            throw std::runtime_error("CutRelay: cannot listen on 127.0.0.1");
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~CutRelay() {
        stop_ = true;
        ::shutdown(listener_, SHUT_RDWR);
        thread_.join();
        ::close(listener_);
    }
    CutRelay(const CutRelay&) = delete;
    CutRelay& operator=(const CutRelay&) = delete;

    int port() const { return port_; }
    int connections() const { return connections_; }
    bool cut() const { return cut_; }

private:
    int target_;
    long cut_after_;
    int listener_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false}, cut_{false};
    std::atomic<int> connections_{0};
    std::thread thread_;

    static sockaddr_in loopback(int port) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<uint16_t>(port));
        return a;
    }

    // One connection at a time: the poller opens no second one.
    void serve() {
        while (!stop_) {
            pollfd p{listener_, POLLIN, 0};
            if (::poll(&p, 1, 200) <= 0) continue;
            int client = ::accept(listener_, nullptr, nullptr);
            if (client < 0) continue;
            int server = ::socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in t = loopback(target_);
            if (::connect(server, reinterpret_cast<sockaddr*>(&t), sizeof t) != 0) {
                ::close(client);
                ::close(server);
                continue;
            }
            const bool first = ++connections_ == 1;
            pump(client, server, first ? cut_after_ : -1);
            ::close(client);
            ::close(server);
        }
    }

    void pump(int client, int server, long budget) {
        char buf[4096];
        while (!stop_) {
            pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
            if (::poll(p, 2, 200) < 0) return;
            if (p[0].revents) {
                ssize_t n = ::read(client, buf, sizeof buf);
                if (n <= 0 || ::write(server, buf, n) != n) return;
            }
            if (p[1].revents) {
                ssize_t n = ::read(server, buf, sizeof buf);
                if (n <= 0) return;
                if (budget >= 0 && n >= budget) {
                    if (budget > 0) (void)!::write(client, buf, budget);
                    cut_ = true;
                    return;
                }
                if (budget >= 0) budget -= n;
                if (::write(client, buf, n) != n) return;
            }
        }
    }
};

}  // namespace faxgw::test
