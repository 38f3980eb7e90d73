// A minimal SMTP client for the Postfix tests and benchmark: one connection
// to 127.0.0.1, any number of mails on it (MAIL, RCPT..., DATA with the
// message dot-stuffed and in CRLF lines). Throws on any reply it did not
// expect, with the reply in the message.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace faxgw::test {

class SmtpClient {
public:
    explicit SmtpClient(int port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<uint16_t>(port));
        if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            if (fd_ >= 0) ::close(fd_);
            throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
        }
        expect(220, "greeting");
        command("EHLO faxgw-test.localdomain", 250);
    }
    SmtpClient(const SmtpClient&) = delete;
    SmtpClient& operator=(const SmtpClient&) = delete;
    ~SmtpClient() {
        try {
            send_line("QUIT");
            reply();
        } catch (...) {
        }
        ::close(fd_);
    }

    // Sends one mail; returns the 250 reply to the end of DATA ("... queued as ID").
    std::string send(const std::string& sender, const std::vector<std::string>& recipients,
                     std::string_view message) {
        command("MAIL FROM:<" + sender + ">", 250);
        for (const auto& r : recipients) command("RCPT TO:<" + r + ">", 250);
        command("DATA", 354);
        send_all(dot_stuffed(message));
        return expect(250, "end of DATA");
    }

    // The replies of one mail, none of them taken for a failure: MAIL
    // FROM's, one per RCPT TO, then DATA's (empty when no recipient was accepted), then
    // that to the end of the message (empty when DATA was refused). Ends
    // with RSET when the mail did not go through.
    struct Attempt {
        std::string mail;  // the reply to MAIL FROM; nothing further unless 250
        std::vector<std::string> rcpt;
        std::string data, end;
        bool accepted() const { return end.starts_with("250"); }
    };
    Attempt attempt(const std::string& sender, const std::vector<std::string>& recipients,
                    std::string_view message) {
        Attempt a;
        send_line("MAIL FROM:<" + sender + ">");
        a.mail = reply();
        if (!a.mail.starts_with("250")) return a;
        bool any = false;
        for (const auto& r : recipients) {
            send_line("RCPT TO:<" + r + ">");
            a.rcpt.push_back(reply());
            any = any || a.rcpt.back().starts_with("250");
        }
        if (any) {
            send_line("DATA");
            a.data = reply();
            if (a.data.starts_with("354")) {
                send_all(dot_stuffed(message));
                a.end = reply();
            }
        }
        if (!a.accepted()) command("RSET", 250);
        return a;
    }

private:
    int fd_ = -1;

    // The message in CRLF lines, dot-stuffed, with the final dot.
    static std::string dot_stuffed(std::string_view message) {
        std::string data;
        data.reserve(message.size() + message.size() / 50 + 8);
        std::size_t pos = 0;
        while (pos < message.size()) {
            auto nl = message.find('\n', pos);
            auto end = nl == std::string_view::npos ? message.size() : nl;
            auto line = message.substr(pos, end - pos);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (!line.empty() && line.front() == '.') data += '.';
            data.append(line);
            data += "\r\n";
            pos = nl == std::string_view::npos ? message.size() : nl + 1;
        }
        return data + ".\r\n";
    }
    std::string buffer_;

    void send_all(std::string_view s) {
        while (!s.empty()) {
            auto n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
            if (n <= 0) throw std::runtime_error("SMTP connection lost while sending");
            s.remove_prefix(static_cast<std::size_t>(n));
        }
    }
    void send_line(const std::string& line) { send_all(line + "\r\n"); }

    std::string read_line() {
        for (;;) {
            auto nl = buffer_.find("\r\n");
            if (nl != std::string::npos) {
                std::string line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 2);
                return line;
            }
            char chunk[4096];
            auto n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) throw std::runtime_error("SMTP connection closed by the server");
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }
    // A whole (multi-line) reply.
    std::string reply() {
        std::string all;
        for (;;) {
            std::string line = read_line();
            all += line + "\n";
            if (line.size() < 4 || line[3] != '-') return all;
        }
    }
    std::string expect(int code, const std::string& what) {
        std::string r = reply();
        if (r.compare(0, 3, std::to_string(code)) != 0)
            throw std::runtime_error("SMTP " + what + ": expected " + std::to_string(code) +
                                     ", got: " + r);
        return r;
    }
    std::string command(const std::string& line, int code) {
        send_line(line);
        return expect(code, line);
    }
};

}  // namespace faxgw::test
