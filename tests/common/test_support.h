// What many tests need: a temp folder that cleans up after itself, whole
// files read, and the project's sample mails.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace faxgw::test {

inline const std::filesystem::path source_dir = FAXGW_SOURCE_DIR;

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string templ = (std::filesystem::temp_directory_path() / "faxgw-test-XXXXXX").string();
        if (!::mkdtemp(templ.data())) throw std::runtime_error("cannot make a temp folder");
        path = templ;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

// A TCP port on 127.0.0.1 that nobody listens on: bind port 0, read it back.
// (Postfix binds with SO_REUSEPORT and would share a busy port silently.)
inline int free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot bind a port on 127.0.0.1");
    }
    ::close(fd);
    return ntohs(a.sin_port);
}

// The whole file; throws if it cannot be read, so a missing fixture fails loudly.
inline std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + p.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline std::string sample_mail(const std::string& name) {
    return slurp(source_dir / "samples" / "mail" / name);
}

// Calls `done` every `step` until it returns true or `limit` has passed;
// returns its last answer.
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit,
                       std::chrono::milliseconds step = std::chrono::milliseconds(50)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (done()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return done();
        std::this_thread::sleep_for(step);
    }
}

// Base64 in lines of 76 characters, each ending in CRLF, as MIME writes it.
inline std::string base64(const std::string& in) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve(in.size() * 4 / 3 + in.size() / 57 * 2 + 8);
    std::size_t col = 0;
    for (std::size_t i = 0; i < in.size(); i += 3) {
        unsigned a = static_cast<unsigned char>(in[i]);
        unsigned b = i + 1 < in.size() ? static_cast<unsigned char>(in[i + 1]) : 0;
        unsigned c = i + 2 < in.size() ? static_cast<unsigned char>(in[i + 2]) : 0;
        unsigned v = a << 16 | b << 8 | c;
        out += t[v >> 18 & 63];
        out += t[v >> 12 & 63];
        out += i + 1 < in.size() ? t[v >> 6 & 63] : '=';
        out += i + 2 < in.size() ? t[v & 63] : '=';
        if ((col += 4) == 76) {
            out += "\r\n";
            col = 0;
        }
    }
    return out + "\r\n";
}

}  // namespace faxgw::test
