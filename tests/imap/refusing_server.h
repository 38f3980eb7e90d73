// An IMAP server on 127.0.0.1 that refuses every LOGIN at once: a client's
// own retry pace shows, where Dovecot would slow failed logins down itself
// (its auth penalty). Counts the connections it gets.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

namespace faxgw::test {

class RefusingImapServer {
public:
    RefusingImapServer() {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::listen(listener_, 64) != 0 ||
            ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            throw std::runtime_error("RefusingImapServer: cannot listen on 127.0.0.1");
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~RefusingImapServer() {
        stop_ = true;
        thread_.join();
        ::close(listener_);
    }
    RefusingImapServer(const RefusingImapServer&) = delete;
    RefusingImapServer& operator=(const RefusingImapServer&) = delete;

    int port() const { return port_; }
    int logins() const { return logins_; }

private:
    int listener_ = -1, port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> logins_{0};
    std::thread thread_;

    void serve() {
        while (!stop_) {
            pollfd p{listener_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            int c = ::accept(listener_, nullptr, nullptr);
            if (c < 0) continue;
            converse(c);
            ::close(c);
        }
    }

    static void say(int c, const std::string& s) { (void)!::write(c, s.data(), s.size()); }

    void converse(int c) {
        say(c, "* OK [CAPABILITY IMAP4rev1] refusing test server\r\n");
        std::string buffer;
        char chunk[1024];
        while (!stop_) {
            pollfd p{c, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            ssize_t n = ::read(c, chunk, sizeof chunk);
            if (n <= 0) return;
            buffer.append(chunk, n);
            for (auto end = buffer.find("\r\n"); end != std::string::npos;
                 end = buffer.find("\r\n")) {
                const std::string line = buffer.substr(0, end);
                buffer.erase(0, end + 2);
                const std::string tag = line.substr(0, line.find(' '));
                const std::string rest = line.substr(line.find(' ') + 1);
                if (rest.rfind("CAPABILITY", 0) == 0) {
                    say(c, "* CAPABILITY IMAP4rev1\r\n" + tag + " OK done\r\n");
                } else if (rest.rfind("LOGIN", 0) == 0) {
                    ++logins_;
                    say(c, tag + " NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
                } else {
                    say(c, "* BYE\r\n" + tag + " OK bye\r\n");
                    return;
                }
            }
        }
    }
};

}  // namespace faxgw::test
