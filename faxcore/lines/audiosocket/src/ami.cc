#include "ami.h"

#include <strings.h>

#include <algorithm>

namespace faxgw::audiosocket {

namespace asio = boost::asio;
using asio::ip::tcp;

std::string AmiMessage::get(const std::string& key) const {
    for (const auto& [k, v] : fields)
        if (strcasecmp(k.c_str(), key.c_str()) == 0) return v;
    return {};
}

std::string AmiMessage::wire() const {
    std::string out;
    for (const auto& [k, v] : fields) out += k + ": " + v + "\r\n";
    return out + "\r\n";
}

std::vector<AmiMessage> AmiParser::feed(std::string_view bytes) {
    pending_.append(bytes);
    std::vector<AmiMessage> done;
    std::size_t start = 0;
    for (;;) {
        const auto end = pending_.find('\n', start);
        if (end == std::string::npos) break;
        std::string line = pending_.substr(start, end - start);
        start = end + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) {
            if (!current_.fields.empty()) done.push_back(std::move(current_));
            current_ = {};
            continue;
        }
        const auto colon = line.find(": ");
        if (colon == std::string::npos) continue;  // the banner
        current_.add(line.substr(0, colon), line.substr(colon + 2));
    }
    pending_.erase(0, start);
    return done;
}

AmiSession::AmiSession(asio::io_context& io, Ami settings, EventHandler on_event)
    : io_(io),
      settings_(std::move(settings)),
      on_event_(std::move(on_event)),
      resolver_(io),
      socket_(io),
      retry_timer_(io),
      ping_timer_(io) {}

void AmiSession::start() { connect(); }

void AmiSession::stop() {
    stopped_ = true;
    retry_timer_.cancel();
    ping_timer_.cancel();
    resolver_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
}

void AmiSession::connect() {
    if (stopped_) return;
    resolver_.async_resolve(
        settings_.host, std::to_string(settings_.port),
        [this](const boost::system::error_code& error, tcp::resolver::results_type endpoints) {
            if (stopped_) return;
            if (error) return retry_later();
            asio::async_connect(socket_, endpoints,
                                [this](const boost::system::error_code& e, const tcp::endpoint&) {
                                    if (stopped_) return;
                                    if (e) return retry_later();
                                    log_in();
                                });
        });
}

void AmiSession::log_in() {
    parser_ = {};
    read_more();
    AmiMessage login;
    login.add("Action", "Login");
    login.add("Username", settings_.user);
    login.add("Secret", settings_.secret);
    login.add("Events", "call,user");  // OriginateResponse is of class call, UserEvent of user
    login.add("ActionID", "login");
    awaiting_["login"] = [this](const AmiMessage& r) {
        if (strcasecmp(r.get("Response").c_str(), "Success") != 0) return lost();  // try later
        logged_in();
    };
    out_.push_back(login.wire());
    write_next();
}

void AmiSession::logged_in() {
    logged_in_ = true;
    backoff_seconds_ = 1;
    for (auto& m : unsent_) out_.push_back(m.wire());
    unsent_.clear();
    write_next();
    pong_awaited_ = false;
    ping_later();
    if (on_login) on_login();
}

void AmiSession::retry_later() {
    if (stopped_) return;
    retry_timer_.expires_after(std::chrono::seconds(backoff_seconds_));
    backoff_seconds_ = std::min(backoff_seconds_ * 2, 30);
    retry_timer_.async_wait([this](const boost::system::error_code& e) {
        if (!e) connect();
    });
}

// A connection can die without a word (a firewall forgets it, the PBX host
// loses power): an unanswered Ping says so before the next Originate is lost.
void AmiSession::ping_later() {
    ping_timer_.expires_after(std::chrono::seconds(20));
    ping_timer_.async_wait([this](const boost::system::error_code& e) {
        if (e || stopped_ || !logged_in_) return;
        if (pong_awaited_) return lost();  // the last Ping went unanswered
        AmiMessage ping;
        ping.add("Action", "Ping");
        pong_awaited_ = true;
        send(ping, [this](const AmiMessage&) { pong_awaited_ = false; });
        ping_later();
    });
}

void AmiSession::forget(const std::string& action_id) {
    awaiting_.erase(action_id);
    std::erase_if(unsent_, [&](const AmiMessage& m) { return m.get("ActionID") == action_id; });
}

void AmiSession::lost() {
    if (!socket_.is_open()) return;  // a read and a write both failed: once is enough
    logged_in_ = false;
    writing_ = false;
    ping_timer_.cancel();
    out_.clear();
    // Actions sent but unanswered stay unanswered: their callers' own
    // timers end them. The login handler goes with the connection.
    awaiting_.erase("login");
    boost::system::error_code ignored;
    socket_.close(ignored);
    retry_later();
}

void AmiSession::read_more() {
    socket_.async_read_some(
        asio::buffer(read_buffer_), [this](const boost::system::error_code& e, std::size_t n) {
            if (stopped_) return;
            if (e) return lost();
            for (const auto& m : parser_.feed(std::string_view(read_buffer_.data(), n))) handle(m);
            if (socket_.is_open()) read_more();
        });
}

void AmiSession::handle(const AmiMessage& m) {
    if (!m.get("Event").empty()) {
        on_event_(m);
        return;
    }
    auto it = awaiting_.find(m.get("ActionID"));
    if (it == awaiting_.end()) return;
    auto handler = std::move(it->second);
    awaiting_.erase(it);
    handler(m);
}

std::string AmiSession::send(AmiMessage action, ResponseHandler on_response) {
    const std::string id = "faxgw-" + std::to_string(next_action_++);
    action.add("ActionID", id);
    awaiting_[id] = std::move(on_response);
    if (!logged_in_) {
        unsent_.push_back(std::move(action));
        return id;
    }
    out_.push_back(action.wire());
    write_next();
    return id;
}

void AmiSession::write_next() {
    if (writing_ || out_.empty() || !socket_.is_open()) return;
    writing_ = true;
    auto message = std::make_shared<std::string>(std::move(out_.front()));
    out_.erase(out_.begin());
    asio::async_write(socket_, asio::buffer(*message),
                      [this, message](const boost::system::error_code& e, std::size_t) {
                          if (stopped_) return;
                          writing_ = false;
                          if (e) return lost();
                          write_next();
                      });
}

}  // namespace faxgw::audiosocket
