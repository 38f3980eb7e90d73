// The lossy relay the SIP media tests put between two gateways: it forwards
// port for port, drops about the share it is told (the same ones for the same
// seed), reorders when its jitter exceeds the sending interval, and carries
// the target's replies back.
#define BOOST_TEST_MODULE common lossy_relay
#include "lossy_relay.h"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <set>

using faxgw::test::LossyRelay;

namespace {

const char* const kRelayIp = "127.0.0.2";   // the address a gateway would advertise
const char* const kTargetIp = "127.0.0.1";  // where it really listens

sockaddr_in address(const char* ip, int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

// A UDP socket on 127.0.0.1 (port 0: any free one).
struct Socket {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int port = 0;
    explicit Socket(int wanted_port = 0) {
        auto a = address(kTargetIp, wanted_port);
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            port = -1;
            return;
        }
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
        int big = 1 << 20;  // room for a whole burst when the test thread is slow to read
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    }
    ~Socket() {
        if (fd >= 0) ::close(fd);
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;

    void send_number(std::uint32_t n, const char* ip, int to_port) const {
        auto to = address(ip, to_port);
        BOOST_TEST_REQUIRE(::sendto(fd, &n, sizeof n, 0, reinterpret_cast<sockaddr*>(&to),
                                    sizeof to) == static_cast<ssize_t>(sizeof n));
    }
    // The next number, or nothing within the wait (which only bounds a hang).
    std::optional<std::uint32_t> receive_number(int wait_ms, sockaddr_in* from = nullptr) const {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, wait_ms) != 1) return std::nullopt;
        std::uint32_t n = 0;
        sockaddr_in sender{};
        socklen_t len = sizeof sender;
        if (::recvfrom(fd, &n, sizeof n, 0, reinterpret_cast<sockaddr*>(&sender), &len) !=
            static_cast<ssize_t>(sizeof n))
            return std::nullopt;
        if (from) *from = sender;
        return n;
    }
};

struct Received {
    std::vector<std::uint32_t> numbers;
    long out_of_order() const {  // arrived after a higher number
        long count = 0;
        std::uint32_t highest = 0;
        for (std::size_t i = 0; i < numbers.size(); ++i) {
            if (i > 0 && numbers[i] < highest) ++count;
            highest = std::max(highest, numbers[i]);
        }
        return count;
    }
    bool each_at_most_once_and_sent(std::uint32_t sent) const {
        std::set<std::uint32_t> seen(numbers.begin(), numbers.end());
        return seen.size() == numbers.size() && (seen.empty() || *seen.rbegin() < sent);
    }
};

// Sends `count` numbered datagrams, one per `interval`, through a relay on
// the target's port and collects what reaches the target. Returns once the
// relay has handled every datagram and the target has read all it forwarded.
Received send_through(LossyRelay& relay, const Socket& target, int count,
                      std::chrono::microseconds interval) {
    Socket sender;
    Received got;
    for (int n = 0; n < count; ++n) {
        sender.send_number(static_cast<std::uint32_t>(n), kRelayIp, target.port);
        while (auto r = target.receive_number(0)) got.numbers.push_back(*r);
        std::this_thread::sleep_for(interval);  // pacing only
    }
    auto handled = [&] {
        auto s = relay.stats();
        return s.forwarded + s.dropped + s.failed;
    };
    for (int waits = 0; waits < 3000 && handled() < count; ++waits)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    BOOST_TEST_REQUIRE(handled() == count);
    while (static_cast<long>(got.numbers.size()) < relay.stats().forwarded) {
        auto r = target.receive_number(10000);
        BOOST_TEST_REQUIRE(r.has_value());
        got.numbers.push_back(*r);
    }
    return got;
}

}  // namespace

BOOST_AUTO_TEST_CASE(five_percent_loss_with_jitter_drops_about_five_percent_and_reorders) {
    Socket target;
    BOOST_TEST_REQUIRE(target.port > 0);
    LossyRelay relay(kRelayIp, kTargetIp, target.port, target.port, 0.05, 20, 42);
    const int count = 1000;
    auto got = send_through(relay, target, count, std::chrono::milliseconds(1));
    auto s = relay.stats();
    BOOST_TEST_MESSAGE("dropped " << s.dropped << ", reordered " << s.reordered);
    BOOST_TEST(s.received == count);
    BOOST_TEST(s.failed == 0);
    BOOST_TEST(static_cast<long>(got.numbers.size()) == s.forwarded);
    BOOST_TEST(s.forwarded + s.dropped == count);
    // Binomial(1000, 0.05): mean 50, standard deviation 6.9; four of them either way.
    double sd = std::sqrt(count * 0.05 * 0.95);
    BOOST_TEST(s.dropped >= 50 - 4 * sd);
    BOOST_TEST(s.dropped <= 50 + 4 * sd);
    BOOST_TEST(got.each_at_most_once_and_sent(count));
    // Jitter of up to 20 ms against a 1 ms interval must reorder some, and
    // the relay counts exactly what the target sees out of order.
    BOOST_TEST(got.out_of_order() > 0);
    BOOST_TEST(s.reordered == got.out_of_order());
}

BOOST_AUTO_TEST_CASE(no_loss_delivers_every_datagram_even_with_jitter) {
    Socket target;
    BOOST_TEST_REQUIRE(target.port > 0);
    LossyRelay relay(kRelayIp, kTargetIp, target.port, target.port, 0.0, 20, 1);
    auto got = send_through(relay, target, 1000, std::chrono::milliseconds(1));
    BOOST_TEST(got.numbers.size() == 1000u);
    BOOST_TEST(got.each_at_most_once_and_sent(1000));
    BOOST_TEST(relay.stats().dropped == 0);
}

BOOST_AUTO_TEST_CASE(no_loss_and_no_jitter_keeps_the_order) {
    Socket target;
    BOOST_TEST_REQUIRE(target.port > 0);
    LossyRelay relay(kRelayIp, kTargetIp, target.port, target.port, 0.0, 0, 1);
    auto got = send_through(relay, target, 300, std::chrono::microseconds(100));
    BOOST_TEST_REQUIRE(got.numbers.size() == 300u);
    for (std::uint32_t n = 0; n < 300; ++n) BOOST_TEST_REQUIRE(got.numbers[n] == n);
    BOOST_TEST(relay.stats().reordered == 0);
}

BOOST_AUTO_TEST_CASE(the_same_seed_drops_the_same_datagrams) {
    auto run = [](unsigned seed) {
        Socket target;
        BOOST_TEST_REQUIRE(target.port > 0);
        LossyRelay relay(kRelayIp, kTargetIp, target.port, target.port, 0.3, 0, seed);
        return send_through(relay, target, 200, std::chrono::microseconds(100)).numbers;
    };
    auto first = run(7);
    BOOST_TEST(first.size() < 200u);
    BOOST_TEST(run(7) == first, boost::test_tools::per_element());
    BOOST_TEST(run(8) != first);
}

// Port p goes to port p, for every port of the range, and what the target
// sends back to the relay's address reaches the original sender.
BOOST_AUTO_TEST_CASE(each_port_is_relayed_to_the_same_port_and_replies_come_back) {
    // Two consecutive free ports on the target address.
    std::unique_ptr<Socket> low, high;
    for (int tries = 0; tries < 100 && !high; ++tries) {
        low = std::make_unique<Socket>();
        if (low->port <= 0 || low->port == 65535) continue;
        high = std::make_unique<Socket>(low->port + 1);
        if (high->port <= 0) high.reset();
    }
    BOOST_TEST_REQUIRE(high != nullptr);
    LossyRelay relay(kRelayIp, kTargetIp, low->port, high->port, 0.0, 5, 3);
    Socket caller;
    caller.send_number(1, kRelayIp, low->port);
    caller.send_number(2, kRelayIp, high->port);

    sockaddr_in from{};
    BOOST_TEST(low->receive_number(10000, &from).value_or(0) == 1u);
    BOOST_TEST(ntohs(from.sin_port) == low->port);  // sent from the relay's port p
    BOOST_TEST(high->receive_number(10000).value_or(0) == 2u);

    // Symmetric reply: to where the datagram came from, the relay's address.
    high->send_number(3, kRelayIp, high->port);
    BOOST_TEST(caller.receive_number(10000, &from).value_or(0) == 3u);
    BOOST_TEST(from.sin_addr.s_addr == address(kRelayIp, 0).sin_addr.s_addr);
    BOOST_TEST(ntohs(from.sin_port) == high->port);
}

BOOST_AUTO_TEST_CASE(only_loopback_addresses_and_sane_settings_are_accepted) {
    BOOST_CHECK_THROW(LossyRelay("0.0.0.0", kTargetIp, 40000, 40000, 0, 0, 1),
                      std::invalid_argument);
    BOOST_CHECK_THROW(LossyRelay(kRelayIp, "192.0.2.1", 40000, 40000, 0, 0, 1),
                      std::invalid_argument);
    BOOST_CHECK_THROW(LossyRelay(kRelayIp, kTargetIp, 40001, 40000, 0, 0, 1),
                      std::invalid_argument);
    BOOST_CHECK_THROW(LossyRelay(kRelayIp, kTargetIp, 40000, 40000, 1.5, 0, 1),
                      std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_port_already_bound_is_an_error) {
    Socket target;
    BOOST_TEST_REQUIRE(target.port > 0);
    LossyRelay first(kRelayIp, kTargetIp, target.port, target.port, 0, 0, 1);
    BOOST_CHECK_THROW(LossyRelay(kRelayIp, kTargetIp, target.port, target.port, 0, 0, 1),
                      std::system_error);
}
