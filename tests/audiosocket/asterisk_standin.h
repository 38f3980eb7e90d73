// An Asterisk stand-in for the AudioSocket line backend (Asterisk is not
// packaged in Debian 12): a minimal AMI server and AudioSocket client on
// 127.0.0.1 that behave as Asterisk's source does, with a spandsp fax
// terminal (faxcore::FaxParty) as the far end of every call.
//
//  * AMI: Login, Originate (answered with "successfully queued", then an
//    OriginateResponse whose Reason the number's Plan gives), UserEvent
//    sent on request.
//  * AudioSocket: the UUID message first, then a 20 ms frame of the far
//    end's audio per tick of its own clock, as Asterisk forwards a
//    channel's frames. It hangs up by closing the socket (never with a
//    hangup message), closes on anything faxgw sends that is not a
//    non-empty audio message, and closes after 2 s with nothing from faxgw.
//
// Written independently of the backend's own framing and AMI code, so that
// a mistake in one is not mirrored in the other.
#pragma once

#include <utility>  // before Boost 1.74's Asio, which uses std::exchange without it
//
#include <faxgw/faxcore/t30.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace faxgw::test {

namespace asio = boost::asio;
using asio::ip::tcp;

// How the stand-in's network treats a number dialled through Originate.
struct Plan {
    int reason = 4;  // OriginateResponse Reason: 4 answered, 5 busy, 3 no answer, 8 congestion
    bool response_after_connection = false;  // else OriginateResponse comes first
    // Close the socket this many ticks after the far end received its
    // first `close_after_pages` pages (0: never), i.e. in the next page.
    int close_after_pages = 0;
    int close_ticks_later = 150;
    int burst_at_tick = 0;  // at this tick send this many frames at once (0: never)
    int burst_frames = 0;
    std::vector<int> gaps_at_ticks;       // at these ticks the far end falls silent ...
    std::chrono::milliseconds gap{1500};  // ... for this long
};

// What the stand-in saw of one AudioSocket call.
struct CallRecord {
    std::string uuid;
    std::string dial;  // outbound: the number Originate asked for
    faxcore::PartyReport far_end;
    std::filesystem::path received_tiff;  // outbound: the far end's pages
    std::string ended_by;                 // "faxgw", "stand-in", "silence limit", "protocol"
    std::string violation;                // what faxgw sent that Asterisk refuses
    long frames_sent = 0, frames_received = 0;
    int bursts = 0, gaps = 0;
    long frames_received_in_gaps = 0;  // faxgw's keepalive while the far end was silent
    long longest_quiet_ms = 0;         // longest time without a message from faxgw
    bool ended = false;
};

class AsteriskStandIn {
public:
    // `folder`: where far ends write what they receive.
    explicit AsteriskStandIn(std::filesystem::path folder) : folder_(std::move(folder)) {
        ami_acceptor_.open(tcp::v4());
        ami_acceptor_.set_option(tcp::acceptor::reuse_address(true));
        ami_acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
        ami_acceptor_.listen();
        accept_ami();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~AsteriskStandIn() {
        asio::post(io_, [this] {
            stopping_ = true;
            boost::system::error_code ignored;
            ami_acceptor_.close(ignored);
            for (auto& s : ami_sessions_) s->socket.close(ignored);
            for (auto& c : calls_) c->hang_up("stand-in");
            work_.reset();
        });
        thread_.join();
    }

    int ami_port() const { return ami_acceptor_.local_endpoint().port(); }
    std::string ami_user = "faxgw", ami_secret = "s3cret";
    std::map<std::string, Plan> plans;             // by dialled number; others answer with Plan{}
    std::map<std::string, Plan> first_call_plans;  // used once, before `plans`
    std::chrono::milliseconds frame_period{20};
    // Answer Originate with an error, as Asterisk does for a user without
    // the originate permission.
    bool refuse_originates = false;

    // The Originate actions received, as "Key: Value" maps.
    std::vector<std::map<std::string, std::string>> originates() {
        std::lock_guard lock(mutex_);
        return originates_;
    }
    std::vector<CallRecord> records() {
        std::lock_guard lock(mutex_);
        std::vector<CallRecord> out;
        for (const auto& r : records_) out.push_back(*r);
        return out;
    }
    bool logged_in() {
        std::lock_guard lock(mutex_);
        return logins_ > 0;
    }
    // Polls (real time) until `ready` holds or `limit` passes.
    template <typename Ready>
    bool wait_until(Ready ready, std::chrono::seconds limit = std::chrono::seconds(120)) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end) {
            if (ready()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return ready();
    }

    // An inbound call: a fax machine sends `tiff` to the AudioSocket server
    // at `address`. With `did` set, the dialplan first tells faxgw the DID
    // with the UserEvent `event` over AMI.
    void call_in(const std::string& address, const std::filesystem::path& tiff,
                 const std::string& did = "", const std::string& event = "FaxgwCall",
                 const std::string& caller = "+15559876") {
        asio::post(io_, [=, this] {
            const std::string uuid = random_uuid();
            if (!did.empty()) {
                broadcast("Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: " + event +
                          "\r\nUuid: " + uuid + "\r\nDid: " + did + "\r\nCaller: " + caller +
                          "\r\n\r\n");
            }
            auto send = std::make_shared<faxcore::SendSpec>();
            send->tiff = tiff;
            send->ident = "STANDIN CALLER";
            start_call(uuid, "", address, Plan{}, send);
        });
    }

private:
    struct AmiSession {
        explicit AmiSession(asio::io_context& io) : socket(io) {}
        tcp::socket socket;
        std::array<char, 4096> buffer{};
        std::string pending;
        bool logged_in = false;
    };

    // One AudioSocket connection with its fax terminal.
    class Call : public std::enable_shared_from_this<Call> {
    public:
        Call(AsteriskStandIn& s, std::shared_ptr<CallRecord> r, Plan p)
            : standin(s),
              record(std::move(r)),
              plan(std::move(p)),
              socket(s.io_),
              ticker(s.io_),
              watchdog(s.io_) {}
        AsteriskStandIn& standin;
        std::shared_ptr<CallRecord> record;
        Plan plan;
        tcp::socket socket;
        asio::steady_timer ticker, watchdog;
        std::unique_ptr<faxcore::FaxParty> party;
        std::shared_ptr<faxcore::SendSpec> send;
        faxcore::ReceiveSpec receive;
        std::array<std::uint8_t, 8192> buffer{};
        std::vector<std::uint8_t> inbox;
        std::vector<std::int16_t> rx;
        std::chrono::steady_clock::time_point next_tick, last_from_faxgw, gap_ends;
        long tick = 0;
        int close_countdown = -1, linger = -1;
        std::size_t next_gap = 0;
        bool closed = false;
        std::function<void()> on_connected;

        void connect(const std::string& address) {
            const auto colon = address.rfind(':');
            tcp::endpoint to(asio::ip::make_address(address.substr(0, colon)),
                             static_cast<unsigned short>(std::stoi(address.substr(colon + 1))));
            socket.async_connect(to,
                                 [self = shared_from_this()](const boost::system::error_code& e) {
                                     if (e) return self->hang_up("stand-in");
                                     self->socket.set_option(tcp::no_delay(true));
                                     self->send_uuid();
                                     self->last_from_faxgw = std::chrono::steady_clock::now();
                                     self->next_tick = std::chrono::steady_clock::now();
                                     self->read_more();
                                     self->arm_tick();
                                     self->arm_watchdog();
                                     if (self->on_connected) self->on_connected();
                                 });
        }
        void send_uuid() {
            std::string m{char(0x01), char(0x00), char(0x10)};
            const auto& u = record->uuid;
            for (std::size_t i = 0; i < u.size();) {
                if (u[i] == '-') {
                    ++i;
                    continue;
                }
                m += static_cast<char>(std::stoi(u.substr(i, 2), nullptr, 16));
                i += 2;
            }
            write(std::move(m));
        }
        void write(std::string bytes) {
            auto data = std::make_shared<std::string>(std::move(bytes));
            boost::system::error_code e;
            // Blocking, as Asterisk's write(): small and on loopback.
            asio::write(socket, asio::buffer(*data), e);
            if (e) hang_up("faxgw");
        }
        void arm_tick() {
            next_tick += standin.frame_period;
            ticker.expires_at(next_tick);
            ticker.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
                if (!e && !self->closed) self->on_tick();
            });
        }
        // Asterisk ends a call after 2 s without anything from the server.
        void arm_watchdog() {
            watchdog.expires_after(std::chrono::milliseconds(100));
            watchdog.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
                if (e || self->closed) return;
                if (std::chrono::steady_clock::now() - self->last_from_faxgw >
                    std::chrono::seconds(2))
                    return self->hang_up("silence limit");
                self->arm_watchdog();
            });
        }
        void on_tick() {
            ++tick;
            if (next_gap < plan.gaps_at_ticks.size() && tick == plan.gaps_at_ticks[next_gap]) {
                // The far end falls silent: its clock stops, nothing is sent.
                ++next_gap;
                gap_ends = std::chrono::steady_clock::now() + plan.gap;
                next_tick = gap_ends - standin.frame_period;
                {
                    std::lock_guard lock(standin.mutex_);
                    record->gaps++;
                }
                return arm_tick();
            }
            const int frames = tick == plan.burst_at_tick ? plan.burst_frames : 1;
            if (frames > 1) {
                std::lock_guard lock(standin.mutex_);
                record->bursts++;
            }
            std::string out;
            for (int i = 0; i < frames; ++i) out += one_frame();
            write(std::move(out));
            if (closed) return;
            check_endings();
            if (!closed) arm_tick();
        }
        std::string one_frame() {
            std::array<std::int16_t, faxcore::fax_block> samples{};
            party->tx_audio(samples);
            std::string m{char(0x10), char(0x01), char(0x40)};  // 320 bytes
            for (auto s : samples) {
                m += static_cast<char>(static_cast<std::uint16_t>(s) & 0xff);
                m += static_cast<char>(static_cast<std::uint16_t>(s) >> 8);
            }
            std::lock_guard lock(standin.mutex_);
            record->frames_sent++;
            return m;
        }
        void check_endings() {
            const auto report = party->report();
            if (plan.close_after_pages > 0 && close_countdown < 0 &&
                report.pages_received >= plan.close_after_pages)
                close_countdown = plan.close_ticks_later;
            if (close_countdown >= 0 && close_countdown-- == 0) return hang_up("stand-in");
            // The far end's machine hangs up a second after T.30 has ended.
            if (party->ended() && linger < 0) linger = 50;
            if (linger >= 0 && linger-- == 0) hang_up("stand-in");
        }
        void read_more() {
            socket.async_read_some(
                asio::buffer(buffer),
                [self = shared_from_this()](const boost::system::error_code& e, std::size_t n) {
                    if (self->closed) return;
                    if (e) return self->hang_up("faxgw");
                    self->note_message_from_faxgw();
                    self->inbox.insert(self->inbox.end(), self->buffer.begin(),
                                       self->buffer.begin() + static_cast<std::ptrdiff_t>(n));
                    self->take_messages();
                    if (!self->closed) self->read_more();
                });
        }
        void note_message_from_faxgw() {
            const auto now = std::chrono::steady_clock::now();
            const long quiet = static_cast<long>(
                std::chrono::duration_cast<std::chrono::milliseconds>(now - last_from_faxgw)
                    .count());
            last_from_faxgw = now;
            std::lock_guard lock(standin.mutex_);
            record->longest_quiet_ms = std::max(record->longest_quiet_ms, quiet);
            if (now < gap_ends) record->frames_received_in_gaps++;
        }
        // Only non-empty audio is accepted, as app_audiosocket does.
        void take_messages() {
            std::size_t at = 0;
            while (inbox.size() - at >= 3) {
                const std::uint8_t kind = inbox[at];
                const std::size_t length = (inbox[at + 1] << 8) | inbox[at + 2];
                if (kind != 0x10 || length == 0) {
                    {
                        std::lock_guard lock(standin.mutex_);
                        record->violation = "message kind " + std::to_string(kind) + " length " +
                                            std::to_string(length);
                    }
                    return hang_up("protocol");
                }
                if (inbox.size() - at - 3 < length) break;
                for (std::size_t i = 0; i + 1 < length; i += 2) {
                    rx.push_back(
                        static_cast<std::int16_t>(inbox[at + 3 + i] | (inbox[at + 4 + i] << 8)));
                    if (rx.size() == faxcore::fax_block) {
                        party->rx_audio(rx);
                        rx.clear();
                        std::lock_guard lock(standin.mutex_);
                        record->frames_received++;
                    }
                }
                at += 3 + length;
            }
            inbox.erase(inbox.begin(), inbox.begin() + static_cast<std::ptrdiff_t>(at));
        }
        // Asterisk hangs up by closing the socket.
        void hang_up(const std::string& by) {
            if (closed) return;
            closed = true;
            boost::system::error_code ignored;
            ticker.cancel();
            watchdog.cancel();
            socket.close(ignored);
            if (party) party->terminate();
            std::lock_guard lock(standin.mutex_);
            record->ended_by = by;
            if (party) record->far_end = party->report();
            record->ended = true;
        }
    };

    void accept_ami() {
        ami_acceptor_.async_accept([this](const boost::system::error_code& e, tcp::socket s) {
            if (e) return;
            auto session = std::make_shared<AmiSession>(io_);
            session->socket = std::move(s);
            ami_sessions_.push_back(session);
            write_ami(*session, "Asterisk Call Manager/9.0.0\r\n");
            read_ami(session);
            accept_ami();
        });
    }
    void read_ami(const std::shared_ptr<AmiSession>& s) {
        s->socket.async_read_some(asio::buffer(s->buffer),
                                  [this, s](const boost::system::error_code& e, std::size_t n) {
                                      if (e) return;
                                      s->pending.append(s->buffer.data(), n);
                                      for (;;) {
                                          const auto end = s->pending.find("\r\n\r\n");
                                          if (end == std::string::npos) break;
                                          handle_ami(*s, fields_of(s->pending.substr(0, end)));
                                          s->pending.erase(0, end + 4);
                                      }
                                      read_ami(s);
                                  });
    }
    static std::map<std::string, std::string> fields_of(const std::string& text) {
        std::map<std::string, std::string> f;
        std::size_t at = 0;
        while (at < text.size()) {
            auto end = text.find("\r\n", at);
            if (end == std::string::npos) end = text.size();
            const auto line = text.substr(at, end - at);
            const auto colon = line.find(": ");
            if (colon != std::string::npos) f[line.substr(0, colon)] = line.substr(colon + 2);
            at = end + 2;
        }
        return f;
    }
    void write_ami(AmiSession& s, const std::string& text) {
        boost::system::error_code ignored;
        asio::write(s.socket, asio::buffer(text), ignored);
    }
    void broadcast(const std::string& text) {
        for (auto& s : ami_sessions_)
            if (s->logged_in) write_ami(*s, text);
    }
    void handle_ami(AmiSession& s, const std::map<std::string, std::string>& m) {
        auto get = [&](const std::string& k) {
            auto it = m.find(k);
            return it == m.end() ? std::string() : it->second;
        };
        const std::string id = get("ActionID");
        const std::string action = get("Action");
        if (action == "Login") {
            s.logged_in = get("Username") == ami_user && get("Secret") == ami_secret;
            if (s.logged_in) {
                std::lock_guard lock(mutex_);
                ++logins_;
            }
            write_ami(s, s.logged_in ? "Response: Success\r\nActionID: " + id +
                                           "\r\nMessage: Authentication accepted\r\n\r\n"
                                     : "Response: Error\r\nActionID: " + id +
                                           "\r\nMessage: Authentication failed\r\n\r\n");
            return;
        }
        if (!s.logged_in) {
            write_ami(
                s, "Response: Error\r\nActionID: " + id + "\r\nMessage: Permission denied\r\n\r\n");
            return;
        }
        if (action == "Originate") return originate(s, m, id);
        if (action == "Ping")
            return write_ami(s, "Response: Success\r\nActionID: " + id + "\r\nPing: Pong\r\n\r\n");
        write_ami(s, "Response: Error\r\nActionID: " + id +
                         "\r\nMessage: Invalid/unknown command\r\n\r\n");
    }
    void originate(AmiSession& s, const std::map<std::string, std::string>& m,
                   const std::string& id) {
        {
            std::lock_guard lock(mutex_);
            originates_.push_back(m);
        }
        auto get = [&](const std::string& k) {
            auto it = m.find(k);
            return it == m.end() ? std::string() : it->second;
        };
        if (refuse_originates)
            return write_ami(
                s, "Response: Error\r\nActionID: " + id + "\r\nMessage: Permission denied\r\n\r\n");
        write_ami(s, "Response: Success\r\nActionID: " + id +
                         "\r\nMessage: Originate successfully queued\r\n\r\n");
        // Channel "Test/<digits>": the number dialled.
        const std::string channel = get("Channel");
        const std::string dial = channel.substr(channel.find('/') + 1);
        Plan plan = plans.count(dial) ? plans.at(dial) : Plan{};
        if (auto first = first_call_plans.find(dial); first != first_call_plans.end()) {
            plan = first->second;
            first_call_plans.erase(first);
        }
        const std::string data = get("Data");
        const auto comma = data.find(',');
        const std::string uuid = data.substr(0, comma), address = data.substr(comma + 1);
        const std::string response =
            "Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: " + id +
            "\r\nResponse: " + (plan.reason == 4 ? "Success" : "Failure") +
            "\r\nChannel: " + channel +
            "\r\nContext: \r\nExten: \r\nApplication: AudioSocket\r\nData: " + data +
            "\r\nReason: " + std::to_string(plan.reason) +
            "\r\nUniqueid: 1700000000.1\r\nCallerIDNum: <unknown>\r\nCallerIDName: "
            "<unknown>\r\n\r\n";
        auto session = &s;
        // Ringing takes a moment on any network.
        auto ring = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(200));
        ring->async_wait([this, ring, session, response, plan, uuid, address,
                          dial](const boost::system::error_code&) {
            if (stopping_) return;
            if (plan.reason != 4) return write_ami(*session, response);
            if (!plan.response_after_connection) write_ami(*session, response);
            auto call = start_call(uuid, dial, address, plan, nullptr);
            if (plan.response_after_connection) {
                // A second into the call, as when Asterisk is slow to tell.
                call->on_connected = [this, session, response] {
                    auto later =
                        std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(1000));
                    later->async_wait(
                        [this, later, session, response](const boost::system::error_code&) {
                            write_ami(*session, response);
                        });
                };
            }
        });
    }

    // send set: the far end sends those pages (inbound); else it receives.
    std::shared_ptr<Call> start_call(const std::string& uuid, const std::string& dial,
                                     const std::string& address, const Plan& plan,
                                     std::shared_ptr<faxcore::SendSpec> send) {
        auto record = std::make_shared<CallRecord>();
        record->uuid = uuid;
        record->dial = dial;
        auto call = std::make_shared<Call>(*this, record, plan);
        faxcore::FaxParty::Spec spec;
        if (send) {
            call->send = send;
            spec.role = faxcore::FaxParty::Role::calling;
            spec.ident = send->ident;
            spec.send = call->send.get();
        } else {
            record->received_tiff = folder_ / (uuid + ".tif");
            call->receive.tiff = record->received_tiff;
            call->receive.ident = "STANDIN FAR END";
            spec.role = faxcore::FaxParty::Role::answering;
            spec.ident = call->receive.ident;
            spec.receive = &call->receive;
        }
        call->party = faxcore::FaxParty::audio(spec);
        {
            std::lock_guard lock(mutex_);
            records_.push_back(record);
        }
        calls_.push_back(call);
        call->connect(address);
        return call;
    }

    static std::string random_uuid() {
        static std::mt19937_64 rng(std::random_device{}());
        static constexpr char hex[] = "0123456789abcdef";
        std::string s;
        for (int i = 0; i < 32; ++i) {
            if (i == 8 || i == 12 || i == 16 || i == 20) s += '-';
            s += hex[rng() % 16];
        }
        return s;
    }

    std::filesystem::path folder_;
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
    tcp::acceptor ami_acceptor_{io_};
    std::vector<std::shared_ptr<AmiSession>> ami_sessions_;
    std::vector<std::shared_ptr<Call>> calls_;
    std::mutex mutex_;
    std::vector<std::map<std::string, std::string>> originates_;
    std::vector<std::shared_ptr<CallRecord>> records_;
    int logins_ = 0;
    bool stopping_ = false;  // the loop's own
    std::thread thread_;
};

// A TCP port on 127.0.0.1 that nobody listens on now (bound, read back,
// let go): the backend binds it a moment later.
inline int free_tcp_port() {
    asio::io_context io;
    tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

}  // namespace faxgw::test
