// The AudioSocket line backend (audiosocket.h). Everything of a call runs on
// the event loop thread: AMI, listeners, sockets, fax parties. Other threads
// only post work to it. A line thread placing a call waits on its call's
// CallProgress and hears confirmed pages there, so that slow queue writes never
// stall the audio of other calls; received faxes go to the queue from a
// thread of their own for the same reason.
#include <faxgw/lines/audiosocket.h>

#include <utility>  // before Boost 1.74's Asio, which uses std::exchange without it
//
#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "ami.h"
#include "wire.h"

namespace faxgw::audiosocket {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using faxcore::Attempt;
using faxcore::FaxParty;
using faxcore::Outcome;
using Clock = std::chrono::steady_clock;

// A call to the main listener whose UUID no outbound call and no UserEvent
// claims waits this many frames (1 s) for the UserEvent, which travels on
// the AMI connection and may come after the AudioSocket connection.
constexpr int frames_to_wait_for_did = 50;
// Frames sent after T.30 has ended, so that its last message (DCN) is
// heard, before faxgw hangs up unless the far end did first.
constexpr int linger_frames = 50;
// With nothing sent for 2 s Asterisk ends the call. Frames go out as frames
// come in; when the far end pauses (silence suppression, a stalled link)
// this keeps the call alive with a silent frame. It is not fed to the fax
// party: its clock stays the far end's.
constexpr auto keepalive_after = std::chrono::milliseconds(1000);
constexpr auto idle_check_every = std::chrono::milliseconds(250);

tcp::endpoint endpoint_of(const std::string& host_port, const std::string& what) {
    const auto colon = host_port.rfind(':');
    boost::system::error_code error;
    auto ip = asio::ip::make_address(host_port.substr(0, colon), error);
    if (colon == std::string::npos || error)
        throw std::runtime_error(what + ": \"" + host_port + "\" is not an IP address and port");
    return {ip, static_cast<unsigned short>(std::stoi(host_port.substr(colon + 1)))};
}

// A version 4 UUID, lower case: Originate refuses Data containing "DB"
// (and other words) from AMI users without the system permission, and an
// upper-case UUID may contain it.
std::string new_uuid() {
    static thread_local std::mt19937_64 rng(std::random_device{}());
    std::array<std::uint8_t, 16> bytes{};
    for (std::size_t i = 0; i < bytes.size(); i += 8) {
        const auto r = rng();
        std::memcpy(bytes.data() + i, &r, 8);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    return uuid_text(bytes.data());
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::string channel_for(const std::string& templ, const std::string& dial) {
    std::string out = templ;
    for (auto at = out.find("{dial}"); at != std::string::npos; at = out.find("{dial}", at))
        out.replace(at, 6, dial);
    return out;
}

class AudioSocketLines;
class Connection;

// An outgoing call from Originate to its end.
struct Outbound {
    explicit Outbound(asio::io_context& io) : deadline(io) {}
    std::uint64_t id = 0;
    std::string uuid, action_id, channel;
    const faxcore::OutgoingCall* call = nullptr;
    faxcore::SendSpec send;
    std::shared_ptr<faxcore::CallProgress> mailbox;
    Clock::time_point started = Clock::now();
    asio::steady_timer deadline;  // for the OriginateResponse, then the connection
    std::optional<int> reason;    // OriginateResponse's
    std::string detail;
    Outcome unconnected_outcome = Outcome::network_error;  // when no connection came
    std::shared_ptr<Connection> connection;
    bool stop_requested = false, finished = false;
};

// One AudioSocket connection from accept to close; a call once its UUID
// has told whose.
class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(AudioSocketLines& lines, tcp::socket socket, std::string listener_did)
        : listener_did(std::move(listener_did)),
          lines_(lines),
          socket_(std::move(socket)),
          idle_timer_(socket_.get_executor()) {}
    void start();
    void close(const std::string& why);
    // Starts the fax party that sends `o`'s pages.
    void start_sending(const std::shared_ptr<Outbound>& o);
    // Starts the fax party that receives a call to `did`.
    void start_receiving(std::unique_ptr<faxcore::LineLease> lease, faxcore::ReceiveSpec spec,
                         std::string did, std::string caller);

    const std::string listener_did;  // empty: the main listener
    std::string uuid;
    std::shared_ptr<Outbound> outbound;
    // Inbound.
    bool awaiting_did = false;
    int frames_waited = 0;
    std::unique_ptr<faxcore::LineLease> lease;
    faxcore::ReceiveSpec receive;
    std::string did, caller;
    // Both.
    std::unique_ptr<FaxParty> party;
    std::unique_ptr<faxcore::CallWatch> watch;
    std::string detail;
    bool closed = false, silent_too_long = false;

private:
    void read_more();
    void take(std::span<const std::uint8_t> bytes);
    void handle(const Message& m);
    void audio_in(std::span<const std::uint8_t> payload);
    void one_frame(std::span<const std::int16_t> in);
    void send_audio(std::span<const std::int16_t> samples);
    void flush();
    void check_idle();

    AudioSocketLines& lines_;
    tcp::socket socket_;
    asio::steady_timer idle_timer_;
    std::array<std::uint8_t, 8192> read_buffer_{};
    MessageReader reader_;
    std::vector<std::int16_t> samples_in_;  // less than a frame, waiting for the rest
    std::string out_pending_, out_writing_;
    bool writing_ = false;
    int frames_after_end_ = -1;
    Clock::time_point last_sent_ = Clock::now(), last_received_ = Clock::now();
};

class AudioSocketLines final : public faxcore::LineBackend {
public:
    explicit AudioSocketLines(Settings settings);
    ~AudioSocketLines() override;

    std::string line_name(int index) const override {
        return "audiosocket" + std::to_string(index);
    }
    void listen(faxcore::InboundSink& sink) override {
        received_.set_sink(sink);
        asio::post(io_, [this, &sink] { sink_ = &sink; });
    }
    Attempt place_call(const faxcore::OutgoingCall& call, const faxcore::PageConfirmed& on_page,
                       std::stop_token stop) override;

    // Event loop thread only, below.
    const Settings settings;
    void claim(Connection& c);
    void try_answer(Connection& c);
    void connection_ended(Connection& c);
    faxcore::PageConfirmed page_reporter(const Outbound& o) const {
        return [mailbox = o.mailbox, first = o.send.first_page](int pages) {
            mailbox->page_confirmed(first - 1 + pages);  // pages of the whole document
        };
    }

private:
    void accept_on(tcp::acceptor& acceptor, const std::string& did);
    void start_outbound(std::uint64_t id, const faxcore::OutgoingCall& call,
                        std::shared_ptr<faxcore::CallProgress> mailbox);
    void on_originate_refused(const std::shared_ptr<Outbound>& o, const AmiMessage& response);
    void on_ami_event(const AmiMessage& m);
    void on_originate_response(const AmiMessage& m);
    void wait_for(const std::shared_ptr<Outbound>& o, double seconds, Outcome outcome,
                  std::string why);
    void hang_up(std::uint64_t id);
    void answer(Connection& c, std::string did, std::string caller);
    void finish_outbound(Outbound& o);
    void finish_inbound(Connection& c);
    void shut_down();
    void run_loop();

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
    std::vector<std::pair<std::unique_ptr<tcp::acceptor>, std::string>> acceptors_;  // with DID
    std::string data_address_;                                                       // in Data
    AmiSession ami_;
    std::map<std::uint64_t, std::shared_ptr<Outbound>> outbound_;
    std::set<std::string> abandoned_;  // outbound UUIDs whose connection would come too late
    struct Mapping {
        std::string did, caller;
    };
    std::map<std::string, Mapping> mappings_;  // by UUID, from the dialplan's UserEvent
    std::set<std::shared_ptr<Connection>> connections_;
    std::atomic<faxcore::InboundSink*> sink_{nullptr};  // set on the loop, read by the worker too
    std::atomic<std::uint64_t> next_outbound_id_{1};
    std::uint64_t inbound_calls_ = 0;

    // Received faxes wait here for the queue (which may be busy for a while:
    // never on the event loop).
    faxcore::InboundHandover received_;  // destroyed after the loop has ended

    std::thread loop_thread_;  // last: started once everything above exists
};

// ---------------------------------------------------------------- connection

void Connection::start() {
    // Each message leaves in one write and at once: older Asterisk versions
    // corrupt a header split across reads.
    boost::system::error_code ignored;  // a socket already closed shows in the read
    socket_.set_option(tcp::no_delay(true), ignored);
    read_more();
    check_idle();
}

void Connection::read_more() {
    socket_.async_read_some(
        asio::buffer(read_buffer_),
        [self = shared_from_this()](const boost::system::error_code& e, std::size_t n) {
            if (self->closed) return;
            // Asterisk hangs up by closing the socket, never with a message.
            if (e) return self->close("far end hung up");
            self->last_received_ = Clock::now();
            self->take({self->read_buffer_.data(), n});
            if (!self->closed) self->read_more();
        });
}

void Connection::take(std::span<const std::uint8_t> bytes) {
    for (const auto& m : reader_.feed(bytes)) {
        handle(m);
        if (closed) return;
    }
}

void Connection::handle(const Message& m) {
    switch (m.kind) {
        case kind_uuid:
            if (!uuid.empty() || m.payload.size() != 16) return close("bad UUID message");
            uuid = uuid_text(m.payload.data());
            lines_.claim(*this);
            return;
        case kind_audio:
            return audio_in(m.payload);
        case kind_hangup:
            return close("far end hung up");
        case kind_error:
            return close("Asterisk reported an error");
        default:  // DTMF and anything newer: nothing a fax needs
            return;
    }
}

void Connection::audio_in(std::span<const std::uint8_t> payload) {
    // Signed linear, little-endian as Asterisk's slin is on every platform
    // it runs on. Frames of any size are cut into 20 ms blocks.
    for (std::size_t i = 0; i + 1 < payload.size(); i += 2) {
        samples_in_.push_back(static_cast<std::int16_t>(payload[i] | (payload[i + 1] << 8)));
        if (samples_in_.size() == faxcore::fax_block) {
            one_frame(samples_in_);
            samples_in_.clear();
            if (closed) return;
        }
    }
}

// One frame in, one frame out: the far end's frames are the call's clock.
void Connection::one_frame(std::span<const std::int16_t> in) {
    std::array<std::int16_t, faxcore::fax_block> out{};
    if (awaiting_did) {
        ++frames_waited;
        lines_.try_answer(*this);
        if (closed) return;
    }
    if (!party) return send_audio(out);  // silence until the call is someone's
    party->rx_audio(in);
    party->tx_audio(out);
    send_audio(out);
    watch->tick(faxcore::fax_block, party->progress());
    if (watch->expired()) {
        detail = watch->reason();
        return close(detail);
    }
    if (party->ended() && frames_after_end_ < 0) frames_after_end_ = 0;
    if (frames_after_end_ >= 0 && ++frames_after_end_ > linger_frames) close("fax ended");
}

void Connection::send_audio(std::span<const std::int16_t> samples) {
    out_pending_ += audio_message(samples);
    last_sent_ = Clock::now();
    flush();
}

void Connection::flush() {
    if (writing_ || out_pending_.empty() || closed) return;
    writing_ = true;
    out_writing_.swap(out_pending_);
    out_pending_.clear();
    asio::async_write(socket_, asio::buffer(out_writing_),
                      [self = shared_from_this()](const boost::system::error_code& e, std::size_t) {
                          self->writing_ = false;
                          if (self->closed) return;
                          if (e) return self->close("far end hung up");
                          self->flush();
                      });
}

void Connection::check_idle() {
    idle_timer_.expires_after(idle_check_every);
    idle_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
        if (e || self->closed) return;
        const auto now = Clock::now();
        const auto quiet = std::chrono::duration<double>(now - self->last_received_).count();
        if (quiet > self->lines_.settings.watchdog_seconds) {
            // No frames, no clock: only real time can end this call.
            self->silent_too_long = true;
            return self->close("no audio from Asterisk for " +
                               std::to_string(static_cast<int>(quiet)) + " s");
        }
        if (now - self->last_sent_ >= keepalive_after) {
            std::array<std::int16_t, faxcore::fax_block> silence{};
            self->send_audio(silence);
        }
        self->check_idle();
    });
}

void Connection::start_sending(const std::shared_ptr<Outbound>& o) {
    outbound = o;
    FaxParty::Spec spec;
    spec.role = FaxParty::Role::calling;
    spec.ident = o->send.ident;
    spec.send = &o->send;
    spec.modem = {o->call->options.max_bit_rate, o->call->options.ecm};
    spec.on_page = lines_.page_reporter(*o);
    party = FaxParty::audio(spec);
    watch = std::make_unique<faxcore::CallWatch>(lines_.settings.watchdog_seconds,
                                                 lines_.settings.max_call_seconds);
}

void Connection::start_receiving(std::unique_ptr<faxcore::LineLease> l, faxcore::ReceiveSpec spec,
                                 std::string d, std::string c) {
    lease = std::move(l);
    receive = std::move(spec);
    did = std::move(d);
    caller = std::move(c);
    FaxParty::Spec party_spec;
    party_spec.role = FaxParty::Role::answering;
    party_spec.ident = receive.ident;
    party_spec.receive = &receive;
    party = FaxParty::audio(party_spec);
    watch = std::make_unique<faxcore::CallWatch>(lines_.settings.watchdog_seconds,
                                                 lines_.settings.max_call_seconds);
}

// Closing the socket is how Asterisk hears a hang-up.
void Connection::close(const std::string& why) {
    if (closed) return;
    closed = true;
    if (detail.empty()) detail = why;
    if (party) party->terminate();
    idle_timer_.cancel();
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    lines_.connection_ended(*this);
}

// ---------------------------------------------------------------- set-up

AudioSocketLines::AudioSocketLines(Settings s)
    : settings(std::move(s)),
      data_address_(settings.address.empty() ? settings.listen : settings.address),
      ami_(io_, settings.ami, [this](const AmiMessage& m) { on_ami_event(m); }) {
    auto bind = [this](const std::string& address, const std::string& did) {
        auto acceptor = std::make_unique<tcp::acceptor>(io_);
        const auto endpoint = endpoint_of(address, did.empty() ? "audiosocket.listen" : did);
        boost::system::error_code error;
        acceptor->open(endpoint.protocol(), error);
        if (!error) acceptor->set_option(tcp::acceptor::reuse_address(true), error);
        if (!error) acceptor->bind(endpoint, error);
        if (!error) acceptor->listen(asio::socket_base::max_listen_connections, error);
        if (error)
            throw std::runtime_error("cannot listen for AudioSocket on " + address + ": " +
                                     error.message());
        acceptors_.emplace_back(std::move(acceptor), did);
    };
    bind(settings.listen, "");
    for (const auto& l : settings.listeners) bind(l.listen, l.did);
    for (auto& [acceptor, did] : acceptors_) accept_on(*acceptor, did);
    ami_.start();
    loop_thread_ = std::thread([this] { run_loop(); });
}

AudioSocketLines::~AudioSocketLines() {
    asio::post(io_, [this] { shut_down(); });
    loop_thread_.join();
}

// A handler's exception would end the loop, and with it every call: it is
// caught here and the loop goes on (handlers end their own call first
// where they can).
void AudioSocketLines::run_loop() {
    for (;;) {
        try {
            io_.run();
            return;
        } catch (const std::exception&) {
        }
    }
}

// Every call hangs up; the loop returns once nothing is left to do.
void AudioSocketLines::shut_down() {
    for (auto& [acceptor, did] : acceptors_) {
        boost::system::error_code ignored;
        acceptor->close(ignored);
    }
    ami_.stop();
    for (auto& c : std::set(connections_)) c->close("the gateway is stopping");
    for (auto& [id, o] : std::map(outbound_)) {
        o->stop_requested = true;
        finish_outbound(*o);
    }
    work_.reset();
}

void AudioSocketLines::accept_on(tcp::acceptor& acceptor, const std::string& did) {
    acceptor.async_accept(
        [this, &acceptor, did](const boost::system::error_code& e, tcp::socket socket) {
            if (e == asio::error::operation_aborted || !acceptor.is_open()) return;
            if (!e) {
                auto c = std::make_shared<Connection>(*this, std::move(socket), did);
                connections_.insert(c);
                c->start();
            }
            accept_on(acceptor, did);
        });
}

// ---------------------------------------------------------------- outbound

Attempt AudioSocketLines::place_call(const faxcore::OutgoingCall& call,
                                     const faxcore::PageConfirmed& on_page, std::stop_token stop) {
    auto mailbox = std::make_shared<faxcore::CallProgress>();
    const std::uint64_t id = next_outbound_id_++;
    asio::post(io_, [this, id, &call, mailbox] { start_outbound(id, call, mailbox); });
    std::stop_callback hang_up_on_stop(
        stop, [this, id] { asio::post(io_, [this, id] { hang_up(id); }); });
    return mailbox->wait(on_page);
}

void AudioSocketLines::start_outbound(std::uint64_t id, const faxcore::OutgoingCall& call,
                                      std::shared_ptr<faxcore::CallProgress> mailbox) {
    auto o = std::make_shared<Outbound>(io_);
    o->id = id;
    o->call = &call;
    o->mailbox = std::move(mailbox);
    o->uuid = new_uuid();
    o->send = {call.job.document, call.first_page, 0, call.station_id, call.job.narrow_document};
    const std::string dial =
        faxcore::digits_of(call.job.dial.empty() ? call.job.number : call.job.dial);
    o->channel = channel_for(settings.ami.channel, dial);
    outbound_[id] = o;

    AmiMessage originate;
    originate.add("Action", "Originate");
    originate.add("Channel", o->channel);
    originate.add("Application", "AudioSocket");
    originate.add("Data", o->uuid + "," + data_address_);
    originate.add("Timeout", std::to_string(static_cast<long>(settings.ami.ring_seconds * 1000)));
    if (const auto* rule =
            faxcore::caller_id_rule_for(settings.ami.caller_ids, settings.ami.sender_of, call.job))
        originate.add("CallerID", "\"" + (rule->name.empty() ? call.station_id : rule->name) +
                                      "\" <" + rule->number + ">");
    else if (!settings.ami.caller_id.empty())
        originate.add("CallerID", settings.ami.caller_id);
    // Async: the Response says only that the call was queued; how it went
    // comes in OriginateResponse, while other actions and calls go on.
    originate.add("Async", "true");
    std::weak_ptr<Outbound> weak = o;
    o->action_id = ami_.send(originate, [this, weak](const AmiMessage& response) {
        if (auto o = weak.lock()) on_originate_refused(o, response);
    });
    // Asterisk sends OriginateResponse when the channel answers or gives
    // up ringing; past that (and a margin) something is lost.
    wait_for(o, settings.ami.ring_seconds + 30, Outcome::no_answer,
             "no OriginateResponse and no AudioSocket connection");
}

void AudioSocketLines::on_originate_refused(const std::shared_ptr<Outbound>& o,
                                            const AmiMessage& response) {
    if (o->finished || o->connection || lower(response.get("Response")) == "success") return;
    o->detail = "Originate refused: " + response.get("Message");
    o->unconnected_outcome = Outcome::network_error;
    finish_outbound(*o);
}

// Ends `o` with `outcome` unless it has connected within `seconds`.
void AudioSocketLines::wait_for(const std::shared_ptr<Outbound>& o, double seconds, Outcome outcome,
                                std::string why) {
    o->deadline.expires_after(std::chrono::milliseconds(static_cast<long>(seconds * 1000)));
    std::weak_ptr<Outbound> weak = o;
    o->deadline.async_wait(
        [this, weak, outcome, why = std::move(why)](const boost::system::error_code& e) {
            auto o = weak.lock();
            if (e || !o || o->finished || o->connection) return;
            o->unconnected_outcome = ami_.is_logged_in() ? outcome : Outcome::network_error;
            o->detail = ami_.is_logged_in() ? why : why + " (AMI not logged in)";
            finish_outbound(*o);
        });
}

void AudioSocketLines::on_ami_event(const AmiMessage& m) {
    const std::string event = lower(m.get("Event"));
    if (event == "originateresponse") return on_originate_response(m);
    if (event == "userevent" && m.get("UserEvent") == settings.ami.did_event) {
        // UUIDs are compared in lower case, as AudioSocket's binary form
        // comes out of uuid_text().
        if (mappings_.size() > 10000) mappings_.erase(mappings_.begin());  // never claimed
        mappings_[lower(m.get("Uuid"))] = {m.get("Did"), m.get("Caller")};
    }
}

// It may come before the AudioSocket connection or after it.
void AudioSocketLines::on_originate_response(const AmiMessage& m) {
    const std::string action = m.get("ActionID");
    for (auto& [id, o] : outbound_) {
        if (o->action_id != action) continue;
        try {
            o->reason = std::stoi(m.get("Reason"));
        } catch (const std::exception&) {
            o->reason = 0;
        }
        if (o->connection) return;
        if (*o->reason == 4) {
            // Answered: AudioSocket() is about to connect.
            return wait_for(o, 10, Outcome::network_error,
                            "answered, but no AudioSocket connection came");
        }
        o->unconnected_outcome = faxcore::outcome_of_ami_reason(*o->reason);
        auto keep = o;  // finish_outbound erases it from outbound_
        return finish_outbound(*keep);
    }
}

void AudioSocketLines::hang_up(std::uint64_t id) {
    auto it = outbound_.find(id);
    if (it == outbound_.end()) return;
    auto o = it->second;
    o->stop_requested = true;
    if (o->connection)
        o->connection->close("the gateway is stopping");
    else
        finish_outbound(*o);
}

// In Asterisk's words (AST_CONTROL_*), for the attempt's detail.
std::string reason_text(const std::optional<int>& reason) {
    if (!reason) return "no OriginateResponse";
    const char* what = *reason == 0   ? "no channel"
                       : *reason == 1 ? "hung up"
                       : *reason == 3 ? "rang out"
                       : *reason == 4 ? "answered"
                       : *reason == 5 ? "busy"
                       : *reason == 8 ? "congestion"
                                      : "other";
    return "OriginateResponse Reason " + std::to_string(*reason) + " (" + what + ")";
}

void AudioSocketLines::finish_outbound(Outbound& o) {
    if (o.finished) return;
    o.finished = true;
    o.deadline.cancel();
    const Connection* c = o.connection.get();
    faxcore::PartyReport party;
    if (c && c->party) party = c->party->report();
    const double seconds = std::chrono::duration<double>(Clock::now() - o.started).count();
    Attempt a = faxcore::attempt_of(*o.call, party, seconds);
    a.detail = c ? c->detail : o.detail;
    if (!c) {
        a.outcome = o.stop_requested ? Outcome::interrupted : o.unconnected_outcome;
        // Asterisk may still place the call (or connect it late): unless
        // the Originate is still unsent, its connection is refused when it
        // comes, rather than taken for an inbound call.
        ami_.forget(o.action_id);
        if (abandoned_.size() > 10000) abandoned_.erase(abandoned_.begin());
        abandoned_.insert(o.uuid);
    } else {
        a.transport = "audiosocket";
        if (c->watch && c->watch->expired()) {
            a.outcome = Outcome::watchdog;
        } else if (party.ended && party.completion_code == 0) {
            a.outcome = Outcome::ok;
            a.detail.clear();  // whoever hung up after it, the fax went through
        } else if (o.stop_requested) {
            a.outcome = Outcome::interrupted;
        } else if (c->silent_too_long) {
            a.outcome = Outcome::watchdog;
        } else if (party.ended) {
            a.outcome = faxcore::outcome_of_t30(party.completion_code);
            if (a.outcome == Outcome::protocol_error && c->detail == "far end hung up")
                a.outcome = Outcome::hangup;
        } else {
            a.outcome = Outcome::hangup;
        }
    }
    a.detail += (a.detail.empty() ? "" : "; ") + reason_text(o.reason);
    o.mailbox->finish(std::move(a));
    o.connection.reset();  // each held the other
    outbound_.erase(o.id);
}

// ---------------------------------------------------------------- inbound

// The UUID says whose call this is: an outbound call's, or an inbound one
// for the listener's DID or the DID the dialplan mapped it to.
void AudioSocketLines::claim(Connection& c) {
    if (c.listener_did.empty()) {
        for (auto& [id, o] : outbound_) {
            if (o->uuid != c.uuid || o->connection) continue;
            o->connection = c.shared_from_this();
            o->deadline.cancel();
            try {
                c.start_sending(o);
            } catch (const std::exception& e) {
                c.close(std::string("cannot send: ") + e.what());
            }
            return;
        }
        if (abandoned_.erase(c.uuid)) return c.close("the call was given up before it connected");
    }
    c.awaiting_did = true;
    try_answer(c);
}

void AudioSocketLines::try_answer(Connection& c) {
    auto mapped = mappings_.find(c.uuid);
    const bool mapped_here = mapped != mappings_.end();
    if (!c.listener_did.empty())
        answer(c, c.listener_did, mapped_here ? mapped->second.caller : "");
    else if (mapped_here)
        answer(c, mapped->second.did, mapped->second.caller);
    else if (c.frames_waited >= frames_to_wait_for_did)
        answer(c, settings.dids.empty() ? "" : settings.dids.front(), "");
}

// AudioSocket has no busy signal or refusal: a call faxgw will not take is
// hung up at once. `did` and `caller` are copies: they may come from the
// mapping this erases.
void AudioSocketLines::answer(Connection& c, std::string did, std::string caller) {
    c.awaiting_did = false;
    mappings_.erase(c.uuid);
    faxcore::InboundSink* sink = sink_;
    if (!sink) return c.close("not taking calls yet");
    try {
        if (sink->refuses_caller(caller)) return c.close("refused caller " + caller);
        auto lease = sink->reserve_line();
        if (!lease) return c.close("no free line");
        const std::string call_id =
            line_name(lease->line()) + "-" + std::to_string(++inbound_calls_);
        faxcore::ReceiveSpec spec{sink->inbound_file(did, call_id), settings.station_id};
        c.start_receiving(std::move(lease), std::move(spec), did, caller);
    } catch (const std::exception& e) {
        c.close(std::string("cannot receive: ") + e.what());
    }
}

void AudioSocketLines::connection_ended(Connection& c) {
    auto self = c.shared_from_this();  // alive until this returns
    connections_.erase(self);
    mappings_.erase(c.uuid);
    if (c.outbound)
        finish_outbound(*c.outbound);
    else if (c.lease)
        finish_inbound(c);
}

void AudioSocketLines::finish_inbound(Connection& c) {
    faxcore::PartyReport party = c.party->report();
    if (party.pages_received > 0) {
        auto fax =
            faxcore::inbound_fax_of(party, c.did, c.caller, c.watch->seconds(),
                                    static_cast<std::int64_t>(std::time(nullptr)), c.receive.tiff);
        received_.hand_over(std::move(fax));
    } else {
        std::error_code ignored;
        std::filesystem::remove(c.receive.tiff, ignored);  // nothing received
    }
    c.lease.reset();  // the line is free again
}

}  // namespace

std::unique_ptr<faxcore::LineBackend> make_lines(const Settings& settings) {
    return std::make_unique<AudioSocketLines>(settings);
}

}  // namespace faxgw::audiosocket
