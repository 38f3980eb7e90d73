// A lossy, jittery UDP relay for media tests on loopback.
//
// A gateway binds its RTP/UDPTL ports on target_ip but advertises listen_ip
// in its SDP (the NAT "advertised media address" setting). The relay binds
// listen_ip on every port of the range and forwards what arrives on port p
// to target_ip:p, from that same socket. What the target sends back to the
// relay's address (symmetric RTP) goes to the last other sender on that port.
// Both directions drop a share of the datagrams and delay each by a random
// 0..max_delay_ms, which gives jitter and reordering. Drops and delays come
// from the seed alone, so a run that receives the same datagrams in the same
// order makes the same decisions.
//
// IPv4 loopback only: it refuses any address outside 127.0.0.0/8.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <queue>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace faxgw::test {

class LossyRelay {
public:
    struct Stats {
        long received = 0;   // datagrams read, both directions
        long forwarded = 0;  // sent on
        long dropped = 0;    // dropped on purpose (loss_share)
        long reordered = 0;  // forwarded after a later-received one of the same port and direction
        long failed = 0;     // could not be sent (no peer yet for a reply, or sendto failed)
    };

    LossyRelay(std::string listen_ip, std::string target_ip, int first_port, int last_port,
               double loss_share, int max_delay_ms, unsigned seed)
        : target_(loopback_address(target_ip, 0)),
          loss_share_(loss_share),
          max_delay_us_(static_cast<std::uint32_t>(max_delay_ms) * 1000u),
          random_(seed) {
        auto listen = loopback_address(listen_ip, 0);
        if (first_port < 1 || last_port > 65535 || first_port > last_port)
            throw std::invalid_argument("LossyRelay: bad port range");
        if (loss_share < 0 || loss_share > 1 || max_delay_ms < 0)
            throw std::invalid_argument("LossyRelay: bad loss share or delay");
        if (::pipe(wake_) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
        try {
            for (int port = first_port; port <= last_port; ++port) bind_port(listen, port);
        } catch (...) {
            close_all();
            throw;
        }
        thread_ = std::thread([this] { run(); });
    }

    ~LossyRelay() {
        stop();
        close_all();
    }
    LossyRelay(const LossyRelay&) = delete;
    LossyRelay& operator=(const LossyRelay&) = delete;

    // Stops forwarding; datagrams still waiting out their delay are discarded.
    void stop() {
        if (!thread_.joinable()) return;
        char byte = 0;
        while (::write(wake_[1], &byte, 1) < 0 && errno == EINTR) {
        }
        thread_.join();
    }

    Stats stats() const {
        Stats s;
        s.received = received_;
        s.forwarded = forwarded_;
        s.dropped = dropped_;
        s.reordered = reordered_;
        s.failed = failed_;
        return s;
    }

private:
    using Clock = std::chrono::steady_clock;

    // Per port and direction: the receive order of what was last forwarded,
    // to count reordering.
    struct Direction {
        std::uint64_t next_received = 0;
        std::uint64_t newest_forwarded = 0;
        bool forwarded_any = false;
    };
    struct Port {
        int fd = -1;
        int number = 0;
        sockaddr_in peer{};  // last sender that is not the target
        bool has_peer = false;
        Direction to_target, to_peer;
    };
    struct Delayed {
        Clock::time_point due;
        std::uint64_t order;  // ties keep arrival order
        std::size_t port;
        bool to_target;
        std::uint64_t received_index;
        std::vector<char> data;
        bool operator>(const Delayed& other) const {
            return due != other.due ? due > other.due : order > other.order;
        }
    };

    static sockaddr_in loopback_address(const std::string& ip, int port) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        // Tests must never send beyond this machine.
        if (::inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1 ||
            (ntohl(a.sin_addr.s_addr) >> 24) != 127)
            throw std::invalid_argument("LossyRelay: not an IPv4 loopback address: " + ip);
        return a;
    }

    void bind_port(sockaddr_in address, int number) {
        Port port;
        port.number = number;
        port.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (port.fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
        ports_.push_back(port);  // closed by close_all() even if bind fails
        // Room for a burst while this thread waits for a busy CPU: a datagram
        // the kernel drops here would be loss nobody asked for.
        int buffer = 1 << 20;
        ::setsockopt(port.fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
        address.sin_port = htons(static_cast<std::uint16_t>(number));
        if (::bind(port.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
            throw std::system_error(errno, std::generic_category(),
                                    "LossyRelay: bind port " + std::to_string(number));
    }

    void close_all() {
        for (auto& p : ports_)
            if (p.fd >= 0) ::close(p.fd);
        ports_.clear();
        for (int& fd : wake_) {
            if (fd >= 0) ::close(fd);
            fd = -1;
        }
    }

    void run() {
        std::vector<pollfd> fds;
        fds.push_back({wake_[0], POLLIN, 0});
        for (const auto& p : ports_) fds.push_back({p.fd, POLLIN, 0});
        for (;;) {
            for (auto& f : fds) f.revents = 0;
            if (::poll(fds.data(), fds.size(), poll_timeout_ms()) < 0 && errno != EINTR) return;
            if (fds[0].revents != 0) return;
            for (std::size_t i = 1; i < fds.size(); ++i)
                if (fds[i].revents != 0) drain(i - 1);
            send_due();
        }
    }

    int poll_timeout_ms() const {
        if (delayed_.empty()) return -1;
        auto wait = delayed_.top().due - Clock::now();
        if (wait <= Clock::duration::zero()) return 0;
        // Round up: waking early would only spin.
        return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
    }

    void drain(std::size_t index) {
        std::vector<char> buffer(65536);
        for (;;) {
            sockaddr_in from{};
            socklen_t from_len = sizeof from;
            auto n = ::recvfrom(ports_[index].fd, buffer.data(), buffer.size(), 0,
                                reinterpret_cast<sockaddr*>(&from), &from_len);
            if (n < 0) return;  // EAGAIN, or an error the next poll reports again
            ++received_;
            handle(index, from, std::vector<char>(buffer.begin(), buffer.begin() + n));
        }
    }

    bool from_target(const Port& port, const sockaddr_in& from) const {
        return from.sin_addr.s_addr == target_.sin_addr.s_addr &&
               ntohs(from.sin_port) == port.number;
    }

    void handle(std::size_t index, const sockaddr_in& from, std::vector<char> data) {
        Port& port = ports_[index];
        bool to_target = !from_target(port, from);
        if (to_target) {
            port.peer = from;
            port.has_peer = true;
        }
        Direction& direction = to_target ? port.to_target : port.to_peer;
        std::uint64_t received_index = direction.next_received++;
        // Both draws for every datagram, so the sequence of decisions does not
        // depend on which datagrams were dropped.
        bool drop = static_cast<double>(random_()) / 4294967296.0 < loss_share_;
        std::uint32_t delay_us = max_delay_us_ == 0 ? 0 : random_() % (max_delay_us_ + 1);
        if (drop) {
            ++dropped_;
            return;
        }
        if (delay_us == 0) {
            forward(index, to_target, received_index, data);
            return;
        }
        delayed_.push({Clock::now() + std::chrono::microseconds(delay_us), next_order_++, index,
                       to_target, received_index, std::move(data)});
    }

    void send_due() {
        auto now = Clock::now();
        while (!delayed_.empty() && delayed_.top().due <= now) {
            const Delayed& d = delayed_.top();
            forward(d.port, d.to_target, d.received_index, d.data);
            delayed_.pop();
        }
    }

    void forward(std::size_t index, bool to_target, std::uint64_t received_index,
                 const std::vector<char>& data) {
        Port& port = ports_[index];
        sockaddr_in to = port.peer;
        if (to_target) {
            to = target_;
            to.sin_port = htons(static_cast<std::uint16_t>(port.number));
        } else if (!port.has_peer) {
            ++failed_;
            return;
        }
        if (::sendto(port.fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to),
                     sizeof to) < 0) {
            ++failed_;
            return;
        }
        ++forwarded_;
        Direction& direction = to_target ? port.to_target : port.to_peer;
        if (direction.forwarded_any && received_index < direction.newest_forwarded) {
            ++reordered_;
        } else {
            direction.newest_forwarded = received_index;
            direction.forwarded_any = true;
        }
    }

    sockaddr_in target_;
    double loss_share_;
    std::uint32_t max_delay_us_;
    std::mt19937 random_;  // fully specified by the standard: same seed, same decisions
    std::vector<Port> ports_;
    int wake_[2] = {-1, -1};
    std::priority_queue<Delayed, std::vector<Delayed>, std::greater<>> delayed_;
    std::uint64_t next_order_ = 0;
    std::atomic<long> received_{0}, forwarded_{0}, dropped_{0}, reordered_{0}, failed_{0};
    std::thread thread_;  // last: starts once everything above exists
};

}  // namespace faxgw::test
