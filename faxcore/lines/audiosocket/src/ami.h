// A client of the Asterisk Manager Interface, just big enough for the
// AudioSocket lines: log in, send Originate, hear OriginateResponse and
// UserEvent. Written here because no Debian package offers a C++ AMI
// client, and the protocol is a handful of text lines: "Key: Value" lines,
// a blank line ending each message; a message is an Action (ours), or a
// Response to one (by ActionID) or an Event (Asterisk's).
#pragma once

#include <utility>  // before Boost 1.74's Asio, which uses std::exchange without it
//
#include <array>
#include <boost/asio.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "faxgw/lines/audiosocket.h"

namespace faxgw::audiosocket {

// One AMI message, keys in the order they came.
struct AmiMessage {
    std::vector<std::pair<std::string, std::string>> fields;
    // The first value of `key` (compared without case, as Asterisk does);
    // empty when absent.
    std::string get(const std::string& key) const;
    void add(std::string key, std::string value) {
        fields.emplace_back(std::move(key), std::move(value));
    }
    std::string wire() const;  // as sent: CRLF lines and the blank line
};

// Splits a byte stream into messages: lines without ": " (the banner
// "Asterisk Call Manager/5.0.1") are skipped.
class AmiParser {
public:
    // Appends `bytes` and returns the messages they complete.
    std::vector<AmiMessage> feed(std::string_view bytes);

private:
    std::string pending_;
    AmiMessage current_;
};

// A logged-in AMI session kept up on `io`: on a lost or refused connection
// it tries again after 1, 2, 4 ... up to 30 s.
class AmiSession {
public:
    using EventHandler = std::function<void(const AmiMessage&)>;
    // Called with the Response to an action sent with send().
    using ResponseHandler = std::function<void(const AmiMessage&)>;

    AmiSession(boost::asio::io_context& io, Ami settings, EventHandler on_event);
    void start();
    void stop();
    bool is_logged_in() const { return logged_in_; }
    // Sends `action` once logged in and returns the ActionID given to it
    // (events about it, such as OriginateResponse, carry the same).
    std::string send(AmiMessage action, ResponseHandler on_response);
    // Forgets the action `action_id`: not sent if it still waits for a
    // login, its Response ignored.
    void forget(const std::string& action_id);
    // Called once after every successful login.
    std::function<void()> on_login;

private:
    void connect();
    void log_in();
    void logged_in();
    void retry_later();
    void read_more();
    void handle(const AmiMessage& m);
    void write_next();
    void lost();
    void ping_later();

    boost::asio::io_context& io_;
    Ami settings_;
    EventHandler on_event_;
    boost::asio::ip::tcp::resolver resolver_;
    boost::asio::ip::tcp::socket socket_;
    boost::asio::steady_timer retry_timer_, ping_timer_;
    AmiParser parser_;
    std::array<char, 4096> read_buffer_{};
    std::vector<std::string> out_;  // messages waiting for the socket
    bool writing_ = false, logged_in_ = false, stopped_ = false, pong_awaited_ = false;
    int backoff_seconds_ = 1;
    unsigned long next_action_ = 1;
    std::map<std::string, ResponseHandler> awaiting_;  // by ActionID
    std::vector<AmiMessage> unsent_;                   // until logged in
};

}  // namespace faxgw::audiosocket
