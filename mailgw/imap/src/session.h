// One IMAP connection through libetpan's low-level mailimap_* API: TLS
// with the certificate checked, LOGIN, folders, UID commands and IDLE.
// Every failure is an exception: ConnectionError (network, TLS, protocol:
// reconnect later) or LoginRefused (the server said NO to the password).
#pragma once

#include <faxgw/imap.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <vector>

struct mailimap;

namespace faxgw::imap {

class ConnectionError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class LoginRefused : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Session {
public:
    // Connects and logs in; throws ConnectionError or LoginRefused. Once
    // `stop` is requested, whatever waits on the server (connecting, the
    // greeting, a command's answer) ends at once with ConnectionError.
    Session(const Account& account, const std::string& password, std::stop_token stop = {});
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    bool has_move() const { return move_; }
    bool has_idle() const { return idle_; }

    // Creates `folder` unless it exists.
    void ensure_folder(const std::string& folder);
    // SELECTs `folder`; returns its UIDVALIDITY.
    std::uint32_t select(const std::string& folder);
    // UIDs of every message of the selected folder, ascending.
    std::vector<std::uint32_t> all_uids();
    // The whole message (BODY.PEEK[]: not marked \Seen); throws
    // ConnectionError when the server does not send it whole.
    std::string fetch(std::uint32_t uid);
    // UID MOVE (RFC 6851) when offered, else COPY, \Deleted and UID EXPUNGE.
    void move(std::uint32_t uid, const std::string& to_folder);
    // IDLE until the server reports a change, `seconds` pass or `stop`.
    // `idling` is called once the server has confirmed IDLE.
    void idle(int seconds, const std::stop_token& stop, const std::function<void()>& idling = {});
    void logout();

private:
    mailimap* imap_ = nullptr;
    int socket_ = -1;  // a copy of the connection's socket, once made
    std::stop_token stop_;
    // Shuts the socket down on a stop request; ended before the socket closes.
    std::optional<std::stop_callback<std::function<void()>>> on_stop_;
    bool move_ = false, idle_ = false, uidplus_ = false;
    std::string what_;  // "alice at imaps://host:993", for errors

    void connect(const Account& account, const ServerAddress& server);
    void open_stream(const ServerAddress& server, std::string& host);
    void free_connection();
    void read_capabilities();
    [[noreturn]] void fail(const std::string& command, int code) const;
    std::string last_response() const;
};

// Checks the certificate chain the server sent on `imap`'s TLS stream
// against `ca_file` (or the system's CAs when empty) and `host`; throws
// ConnectionError saying why it is not trusted.
void verify_server_certificate(mailimap* imap, const std::string& host,
                               const std::filesystem::path& ca_file);

}  // namespace faxgw::imap
