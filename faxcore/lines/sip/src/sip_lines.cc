// The SIP line backend (sip.h). Every libre object lives on one thread, the
// SIP thread, which runs libre's event loop: signalling, media ticks and
// the fax parties of every call. Other threads only post work to it
// (Loop::post). A line thread placing a call waits on its call's Outcome
// channel, and hears confirmed pages there too, so that slow queue writes
// never stall the media of other calls.
#include <faxgw/lines/sip.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "media.h"
#include "re_glue.h"

namespace faxgw::sip {
namespace {

using faxcore::Attempt;
using faxcore::digits_of;
using faxcore::FaxParty;
using faxcore::Outcome;

std::string header(const sip_msg* msg, sip_hdrid id) {
    if (!msg) return {};
    const sip_hdr* h = sip_msg_hdr(msg, id);
    return h ? to_string(h->val) : std::string();
}

// "host:port" to a libre address; the host must be an IP address (no DNS:
// the gateway names its trunks by address, and a resolver would be one
// more thing to fail mid-call).
sa address_of(const std::string& host_port, const std::string& what) {
    sa a{};
    if (sa_decode(&a, host_port.c_str(), host_port.size()))
        throw std::runtime_error(what + ": \"" + host_port + "\" is not an IP address and port");
    return a;
}

std::string ip_of(const std::string& host_port) {
    auto colon = host_port.rfind(':');
    return colon == std::string::npos ? host_port : host_port.substr(0, colon);
}

// libre needs one call of libre_init() per process; each backend's thread
// then keeps its own event loop state (re_thread_init). Every call holds
// three sockets and libre indexes its table by descriptor number, so the
// process may open as many descriptors as the system lets it (systemd's
// default soft limit is 1024, which 200 calls exceed).
int init_libre_once() {
    static std::once_flag once;
    static int max_fds = 1024;
    std::call_once(once, [] {
        if (libre_init()) throw std::runtime_error("libre_init failed");
        rlimit files{};
        if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
            const rlim_t wanted = std::min<rlim_t>(files.rlim_max, 65536);
            if (files.rlim_cur < wanted) {
                files.rlim_cur = wanted;
                setrlimit(RLIMIT_NOFILE, &files);
            }
            getrlimit(RLIMIT_NOFILE, &files);
            max_fds = static_cast<int>(std::min<rlim_t>(files.rlim_cur, 65536));
        }
    });
    return max_fds;
}

// Runs libre's event loop on its own thread; post() hands it work.
// `setup` runs on that thread before the loop, `teardown` after it ends.
class Loop {
public:
    Loop(std::function<void()> setup, std::function<void()> teardown) {
        const int max_fds = init_libre_once();
        std::promise<void> ready;
        auto started = ready.get_future();
        thread_ = std::thread(
            [this, &ready, setup = std::move(setup), teardown = std::move(teardown), max_fds] {
                re_thread_init();
                fd_setsize(max_fds);  // before the first socket: only the first size counts
                try {
                    if (mqueue_alloc(&queue_, &Loop::run_posted, this))
                        throw std::runtime_error("mqueue_alloc failed");
                    setup();
                    ready.set_value();
                } catch (...) {
                    mem_deref(queue_);
                    queue_ = nullptr;
                    re_thread_close();
                    ready.set_exception(std::current_exception());
                    return;
                }
                re_main(nullptr);
                teardown();
                mem_deref(queue_);
                re_thread_close();
            });
        try {
            started.get();
        } catch (...) {
            thread_.join();
            throw;
        }
    }
    ~Loop() {
        if (thread_.joinable()) thread_.join();
    }
    // Thread-safe; the work runs on the SIP thread.
    void post(std::function<void()> work) {
        auto* w = new std::function<void()>(std::move(work));
        if (mqueue_push(queue_, 0, w)) delete w;
    }
    std::thread::id id() const { return thread_.get_id(); }
    void join() {
        if (thread_.joinable()) thread_.join();
    }

private:
    static void run_posted(int, void* data, void*) {
        std::unique_ptr<std::function<void()>> work(static_cast<std::function<void()>*>(data));
        try {
            (*work)();
        } catch (...) {
            // Work posted to the loop reports its own failures; an escape
            // must not unwind through libre's C frames.
        }
    }
    mqueue* queue_ = nullptr;
    std::thread thread_;
};

class SipLines;

// One call, inbound or outbound, on the SIP thread from INVITE to its end.
class Call {
public:
    enum class Direction { outbound, inbound };
    Call(SipLines& lines, std::uint64_t id, Direction direction);
    ~Call();
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

    std::uint64_t id;
    Direction direction;
    SipLines& lines;
    sipsess* session = nullptr;
    std::unique_ptr<MediaStream> media;
    std::unique_ptr<faxcore::CallWatch> watch;
    tmr ring_timer{}, linger_timer{}, refresh_timer{};
    bool answered = false, ended = false;
    int refreshes = 0;  // session refreshes we sent
    // Our T.38 re-INVITE: its CSeq while its answer is awaited, and the
    // final status the far end refused it with (488, 606...), 0 = none.
    std::uint32_t t38_cseq = 0;
    int t38_refused = 0;
    int sip_status = 0;
    std::string remote_agent;
    std::string detail;
    std::uint64_t started_ms = 0, answered_ms = 0;
    // Outbound.
    const faxcore::OutgoingCall* outgoing = nullptr;
    faxcore::SendSpec send;
    std::shared_ptr<faxcore::CallProgress> channel;
    std::vector<const Trunk*> trunks;  // still to try, in order
    const Trunk* trunk = nullptr;
    bool stop_requested = false;
    // Inbound.
    std::unique_ptr<faxcore::LineLease> lease;
    faxcore::ReceiveSpec receive;
    std::string did, caller;
    // SDP: the o= line's session id and version, kept across the fresh
    // sdp_session each offer/answer uses (RFC 3264 section 8).
    std::string origin_id;
    unsigned origin_version = 0;
    sdp_session* offer_sdp = nullptr;  // our pending offer, for its answer
    sdp_media *offer_audio = nullptr, *offer_image = nullptr;
};

class SipLines final : public faxcore::LineBackend {
public:
    explicit SipLines(Settings settings);
    ~SipLines() override;

    std::string line_name(int index) const override { return "sip" + std::to_string(index); }
    void listen(faxcore::InboundSink& sink) override;
    MediaTotals totals() const {
        std::lock_guard lock(totals_mutex_);
        return totals_;
    }
    Attempt place_call(const faxcore::OutgoingCall& call, const faxcore::PageConfirmed& on_page,
                       std::stop_token stop) override;

    // SIP thread only, below.
    const Settings settings;
    std::string bind_ip, advertised_ip;

    // The call's media sockets and tick, its fax party made per medium.
    std::unique_ptr<MediaStream> make_media(Call& c);
    std::unique_ptr<FaxParty> make_party(Call& c, FaxParty::Medium medium, faxcore::IfpSender send);
    void start_outbound(std::uint64_t id, const faxcore::OutgoingCall& call,
                        std::shared_ptr<faxcore::CallProgress> channel);
    void hang_up(std::uint64_t id, const std::string& why);
    void end_call(Call& c, const std::string& why);

private:
    void open_stack();
    void close_stack();
    bool dial_next_trunk(Call& c);
    void on_incoming(const sip_msg* msg);
    Answer answer_for(const std::string& number) const;
    // T.38 on this call: the settings allow it, and for an outgoing call
    // its trunk and the number's rung of the retry ladder too.
    bool t38_allowed(const Call& c) const {
        return settings.t38 && (!c.outgoing || c.outgoing->options.t38) &&
               (!c.trunk || c.trunk->t38);
    }
    void finish_outbound(Call& c);
    void finish_inbound(Call& c);
    // The calling number and display name of an outgoing call on trunk `t`.
    CallerIdRule caller_id_for(const faxcore::Job& job, const Trunk& t) const;

    // SDP.
    mbuf* build_offer(Call& c, bool image);
    int answer_offer(Call& c, const sip_msg* msg, mbuf** answer);
    void apply_answer(Call& c, const sip_msg* msg);
    mbuf* stamp_origin(Call& c, mbuf* sdp);
    void start_media(Call& c, const MediaPlan& plan);
    void request_t38(Call& c);

    // libre callbacks.
    static void on_connect(const sip_msg* msg, void* arg);
    static int on_offer(mbuf** descp, const sip_msg* msg, void* arg);
    static int on_answer(const sip_msg* msg, void* arg);
    static void on_progress(const sip_msg* msg, void* arg);
    static void on_established(const sip_msg* msg, void* arg);
    static void on_close(int err, const sip_msg* msg, void* arg);
    static int on_auth(char** user, char** password, const char* realm, void* arg);
    static void on_ring_timeout(void* arg);
    static void on_linger_done(void* arg);
    static void on_refresh_due(void* arg);
    void schedule_refresh(Call& c);
    static void on_register_reply(int err, const sip_msg* msg, void* arg);
    static void on_trace(bool sent, enum sip_transp, const sa*, const sa*,
                         const std::uint8_t* packet, std::size_t size, void*);
    void note_t38_refusal(const sip_msg& response);
    static void on_stack_closed(void* arg);
    static void on_reap(void* arg);

    Call* find(std::uint64_t id) {
        auto it = calls_.find(id);
        return it == calls_.end() ? nullptr : it->second.get();
    }
    std::uint64_t next_id_ = 1;  // SIP thread (outbound ids come from the line threads)
    std::atomic<std::uint64_t> next_outbound_id_{1ull << 40};
    std::map<std::uint64_t, std::unique_ptr<Call>> calls_;
    std::vector<std::unique_ptr<Call>> ended_;  // destroyed by on_reap, outside their callbacks
    tmr reaper_{};
    struct ::sip* stack_ = nullptr;
    sipsess_sock* sessions_ = nullptr;
    std::vector<sipreg*> registrations_;
    faxcore::InboundSink* sink_ = nullptr;
    std::atomic<bool> listening_{false};

    // Received faxes wait here for the queue (which may be busy for a while:
    // never on the SIP thread).
    faxcore::InboundHandover received_;  // destroyed after the loop has ended

    mutable std::mutex totals_mutex_;
    MediaTotals totals_;
    void count_media(const Call& c) {
        if (!c.media) return;
        const auto& m = c.media->stats();
        std::lock_guard lock(totals_mutex_);
        totals_.calls++;
        totals_.late_ticks += m.late_ticks;
        totals_.rtp_lost += m.rtp_lost;
        totals_.rtp_late += m.rtp_late;
        totals_.audio_underruns += m.audio_underruns;
        totals_.worst_lateness_ms = std::max(totals_.worst_lateness_ms, m.worst_lateness_ms);
        totals_.udptl_recovered += m.udptl_recovered;
        totals_.udptl_lost += m.udptl_lost;
    }

    std::unique_ptr<Loop> loop_;  // last: stops first
    // The backend whose SIP thread this is: libre's trace handler has no
    // argument of its own, and each backend has its own thread.
    static thread_local SipLines* tracing_;
};

thread_local SipLines* SipLines::tracing_ = nullptr;

Call::Call(SipLines& l, std::uint64_t i, Direction d) : id(i), direction(d), lines(l) {
    tmr_init(&ring_timer);
    tmr_init(&linger_timer);
    tmr_init(&refresh_timer);
    started_ms = tmr_jiffies();
}

Call::~Call() {
    tmr_cancel(&ring_timer);
    tmr_cancel(&linger_timer);
    tmr_cancel(&refresh_timer);
    media.reset();
    mem_deref(offer_sdp);
    // A session still up gets its BYE (or CANCEL before an answer) from
    // libre, which keeps it alive until that transaction ends.
    mem_deref(session);
}

// ---------------------------------------------------------------- set-up

SipLines::SipLines(Settings s) : settings(std::move(s)) {
    bind_ip = ip_of(settings.listen);
    advertised_ip = settings.media_address.empty() ? bind_ip : settings.media_address;
    for (const auto& t : settings.trunks) address_of(t.proxy, "trunk " + t.name);
    loop_ =
        std::make_unique<Loop>([this] { open_stack(); },
                               [this] { stack_ = static_cast<struct ::sip*>(mem_deref(stack_)); });
}

void SipLines::open_stack() {
    sa local = address_of(settings.listen, "sip.listen");
    if (sip_alloc(&stack_, nullptr, 32, 32, 32, settings.user_agent.c_str(),
                  &SipLines::on_stack_closed, this))
        throw std::runtime_error("cannot start the SIP stack");
    // UDP and TCP on the same port, as RFC 3261 asks of every element: a PBX
    // may send its INVITEs over TCP whatever our own trunks use.
    if (sip_transp_add(stack_, SIP_TRANSP_UDP, &local) ||
        sip_transp_add(stack_, SIP_TRANSP_TCP, &local) ||
        sipsess_listen(&sessions_, stack_, 32, &SipLines::on_connect, this)) {
        mem_deref(sessions_);
        mem_deref(stack_);
        throw std::runtime_error("cannot listen for SIP on " + settings.listen);
    }
    tracing_ = this;
    sip_set_trace_handler(stack_, &SipLines::on_trace);
    tmr_init(&reaper_);
    for (const auto& t : settings.trunks) {
        if (!t.register_with_proxy) continue;
        const std::string user = t.user.empty() ? "faxgw" : t.user;
        const std::string domain = t.domain.empty() ? t.proxy : t.domain;
        const std::string aor = "sip:" + user + "@" + domain;
        const std::string registrar = "sip:" + t.proxy + (t.tcp ? ";transport=tcp" : "");
        sipreg* reg = nullptr;
        if (!sipreg_register(&reg, stack_, registrar.c_str(), aor.c_str(), nullptr, aor.c_str(),
                             static_cast<std::uint32_t>(t.register_seconds), user.c_str(), nullptr,
                             0, 0, &SipLines::on_auth, const_cast<Trunk*>(&t), false,
                             &SipLines::on_register_reply, const_cast<Trunk*>(&t), nullptr,
                             nullptr))
            registrations_.push_back(reg);
    }
}

SipLines::~SipLines() {
    loop_->post([this] { close_stack(); });
    loop_->join();
}

// Every call ends with BYE or CANCEL, registrations with Expires 0; the
// loop stops once libre has finished those transactions.
void SipLines::close_stack() {
    std::vector<std::uint64_t> ids;
    for (const auto& [id, c] : calls_) ids.push_back(id);
    for (auto id : ids) hang_up(id, "the gateway is stopping");
    ended_.clear();
    tmr_cancel(&reaper_);
    for (auto* r : registrations_) mem_deref(r);
    registrations_.clear();
    sipsess_close_all(sessions_);
    sip_close(stack_, false);
}

void SipLines::on_stack_closed(void* arg) {
    auto* self = static_cast<SipLines*>(arg);
    self->sessions_ = static_cast<sipsess_sock*>(mem_deref(self->sessions_));
    re_cancel();
}

// libre 1.1.0 calls no handler when the far end refuses a re-INVITE of
// ours (sipsess_modify): the call just stays as it was. To record that a
// T.38 request was refused, the responses the stack receives are read
// here, as its message trace hands them over, on the SIP thread.
void SipLines::on_trace(bool sent, enum sip_transp, const sa*, const sa*,
                        const std::uint8_t* packet, std::size_t size, void*) {
    if (sent || !tracing_ || size < 12 || std::memcmp(packet, "SIP/2.0 ", 8) != 0) return;
    mbuf* mb = mbuf_alloc(size);
    sip_msg* msg = nullptr;
    if (mb && !mbuf_write_mem(mb, packet, size)) {
        mb->pos = 0;
        if (!sip_msg_decode(&msg, mb)) tracing_->note_t38_refusal(*msg);
    }
    mem_deref(msg);
    mem_deref(mb);
}

void SipLines::note_t38_refusal(const sip_msg& response) {
    if (response.req || response.scode < 300 || pl_strcmp(&response.cseq.met, "INVITE")) return;
    for (auto& [id, c] : calls_) {
        // The dialog counts its CSeq on as it sends: the re-INVITE's is the
        // one before (or, sent later behind another transaction, at) the
        // count read just after sipsess_modify().
        const std::uint32_t cseq = response.cseq.num;
        if (!c->t38_cseq || !c->session || (cseq != c->t38_cseq && cseq + 1 != c->t38_cseq))
            continue;
        const char* call_id = sip_dialog_callid(sipsess_dialog(c->session));
        if (!call_id || pl_strcmp(&response.callid, call_id)) continue;
        c->t38_refused = response.scode;
        c->t38_cseq = 0;
    }
}

void SipLines::on_register_reply(int err, const sip_msg* msg, void*) {
    (void)err;
    (void)msg;  // sipreg refreshes by itself; a failure shows on the next call
}

void SipLines::listen(faxcore::InboundSink& sink) {
    sink_ = &sink;
    received_.set_sink(sink);
    listening_ = true;
}

// ---------------------------------------------------------------- outbound

Attempt SipLines::place_call(const faxcore::OutgoingCall& call,
                             const faxcore::PageConfirmed& on_page, std::stop_token stop) {
    auto channel = std::make_shared<faxcore::CallProgress>();
    const std::uint64_t id = next_outbound_id_++;
    loop_->post([this, id, &call, channel] { start_outbound(id, call, channel); });
    std::stop_callback hang_up_on_stop(
        stop, [this, id] { loop_->post([this, id] { hang_up(id, "the gateway is stopping"); }); });
    return channel->wait(on_page);
}

void SipLines::start_outbound(std::uint64_t id, const faxcore::OutgoingCall& call,
                              std::shared_ptr<faxcore::CallProgress> channel) {
    auto owned = std::make_unique<Call>(*this, id, Call::Direction::outbound);
    Call& c = *owned;
    c.outgoing = &call;
    c.channel = std::move(channel);
    c.send = {call.job.document, call.first_page, 0, call.station_id, call.job.narrow_document};
    const std::string dial = digits_of(call.job.dial.empty() ? call.job.number : call.job.dial);
    for (const auto& t : settings.trunks) {
        bool takes = t.prefixes.empty();
        for (const auto& p : t.prefixes) takes = takes || dial.starts_with(p);
        if (takes) c.trunks.push_back(&t);
    }
    calls_.emplace(id, std::move(owned));
    if (c.trunks.empty()) {
        c.sip_status = 0;
        c.detail = "no SIP trunk takes " + dial;
        c.ended = true;
        finish_outbound(c);
        return;
    }
    try {
        c.media = make_media(c);
    } catch (const std::exception& e) {
        c.detail = e.what();
        c.ended = true;
        finish_outbound(c);
        return;
    }
    if (!dial_next_trunk(c)) finish_outbound(c);
}

// INVITEs the next trunk; false when none is left (the call has ended).
bool SipLines::dial_next_trunk(Call& c) {
    while (!c.trunks.empty()) {
        c.trunk = c.trunks.front();
        c.trunks.erase(c.trunks.begin());
        const Trunk& t = *c.trunk;
        const std::string dial =
            digits_of(c.outgoing->job.dial.empty() ? c.outgoing->job.number : c.outgoing->job.dial);
        const std::string domain = t.domain.empty() ? t.proxy : t.domain;
        const std::string to = "sip:" + dial + "@" + domain;
        const CallerIdRule caller = caller_id_for(c.outgoing->job, t);
        const std::string& user = caller.number;
        const std::string from = "sip:" + user + "@" + domain;
        // Quotes and backslashes cannot end the display name early.
        std::string name = caller.name;
        std::erase_if(name, [](char ch) { return ch == '"' || ch == '\\' || ch < ' '; });
        // libre sends by the first route's transport parameter.
        const std::string route = "sip:" + t.proxy + ";lr" + (t.tcp ? ";transport=tcp" : "");
        const char* routes[] = {route.c_str()};
        mbuf* offer = build_offer(c, false);
        if (!offer) {
            c.detail = "cannot build the SDP offer";
            c.ended = true;
            return false;
        }
        c.session = static_cast<sipsess*>(mem_deref(c.session));
        int err = sipsess_connect(
            &c.session, sessions_, to.c_str(), name.c_str(), from.c_str(), user.c_str(), routes, 1,
            "application/sdp", offer, &SipLines::on_auth, const_cast<Trunk*>(&t), false,
            &SipLines::on_offer, &SipLines::on_answer, &SipLines::on_progress,
            &SipLines::on_established, nullptr, nullptr, &SipLines::on_close, &c,
            "P-Asserted-Identity: \"%s\" <%s>\r\n", name.c_str(), from.c_str());
        mem_deref(offer);
        if (err) {
            c.detail = "trunk " + t.name + ": cannot send INVITE";
            continue;
        }
        // Nobody answers: CANCEL after ring_seconds (libre itself would
        // ring forever once a provisional response came).
        tmr_start(&c.ring_timer, static_cast<std::uint64_t>(settings.ring_seconds * 1000),
                  &SipLines::on_ring_timeout, &c);
        return true;
    }
    c.ended = true;
    return false;
}

CallerIdRule SipLines::caller_id_for(const faxcore::Job& job, const Trunk& t) const {
    CallerIdRule chosen;
    if (const auto* rule =
            faxcore::caller_id_rule_for(settings.caller_ids, settings.sender_of, job))
        chosen = *rule;
    if (chosen.number.empty())
        chosen.number = !settings.caller_id.empty() ? settings.caller_id
                        : !t.user.empty()           ? t.user
                                                    : "faxgw";
    if (chosen.name.empty()) chosen.name = settings.station_id;
    return chosen;
}

void SipLines::on_ring_timeout(void* arg) {
    auto& c = *static_cast<Call*>(arg);
    if (c.answered || c.ended) return;
    c.sip_status = 487;  // we cancelled: Request Terminated
    c.detail = "no answer within " +
               std::to_string(static_cast<int>(c.lines.settings.ring_seconds)) + " s";
    c.lines.end_call(c, c.detail);
}

void SipLines::on_progress(const sip_msg* msg, void* arg) {
    auto& c = *static_cast<Call*>(arg);
    if (msg && c.remote_agent.empty()) c.remote_agent = header(msg, SIP_HDR_SERVER);
}

int SipLines::on_answer(const sip_msg* msg, void* arg) {
    auto& c = *static_cast<Call*>(arg);
    // An answer to a re-INVITE of ours: the T.38 request (if it was that)
    // was taken, and its CSeq must not match a later request's response.
    if (c.answered) c.t38_cseq = 0;
    c.lines.apply_answer(c, msg);
    return 0;
}

void SipLines::on_established(const sip_msg* msg, void* arg) {
    auto& c = *static_cast<Call*>(arg);
    auto& self = c.lines;
    tmr_cancel(&c.ring_timer);
    c.answered = true;
    c.answered_ms = tmr_jiffies();
    c.watch = std::make_unique<faxcore::CallWatch>(self.settings.watchdog_seconds,
                                                   self.settings.max_call_seconds);
    if (c.direction == Call::Direction::outbound) {
        c.sip_status = msg ? msg->scode : 200;
        if (msg) {
            auto agent = header(msg, SIP_HDR_SERVER);
            if (agent.empty()) agent = header(msg, SIP_HDR_USER_AGENT);
            if (!agent.empty()) c.remote_agent = agent;
        }
    }
    if (self.settings.t38_request && self.t38_allowed(c) && c.media &&
        c.media->plan().medium == FaxParty::Medium::audio)
        self.request_t38(c);
    self.schedule_refresh(c);
}

void SipLines::schedule_refresh(Call& c) {
    if (settings.session_refresh_seconds > 0 && !tmr_isrunning(&c.refresh_timer))
        tmr_start(&c.refresh_timer,
                  static_cast<std::uint64_t>(settings.session_refresh_seconds * 1000),
                  &SipLines::on_refresh_due, &c);
}

// The same media offered again: the far end answers it, nothing changes.
void SipLines::on_refresh_due(void* arg) {
    auto& c = *static_cast<Call*>(arg);
    if (c.ended || !c.session || !c.media) return;
    c.t38_cseq = 0;  // a refused refresh is no refused T.38 request
    mbuf* offer = c.lines.build_offer(c, c.media->plan().medium == FaxParty::Medium::t38);
    if (offer) sipsess_modify(c.session, offer);
    mem_deref(offer);
    c.refreshes++;
    c.lines.schedule_refresh(c);
}

void SipLines::on_close(int err, const sip_msg* msg, void* arg) {
    auto& c = *static_cast<Call*>(arg);
    auto& self = c.lines;
    tmr_cancel(&c.ring_timer);
    if (!c.answered && c.direction == Call::Direction::outbound) {
        // A final response other than 2xx (or a timeout): maybe the next trunk.
        c.sip_status = msg ? msg->scode : 408;
        c.detail = msg ? std::to_string(msg->scode) + " " + to_string(msg->reason)
                       : std::string("no response to INVITE (") + std::strerror(err) + ")";
        if (msg && c.remote_agent.empty()) c.remote_agent = header(msg, SIP_HDR_SERVER);
        const bool try_next = !msg || msg->scode == 503 || msg->scode == 408;
        c.session = static_cast<sipsess*>(mem_deref(c.session));
        if (try_next && !c.trunks.empty() && self.dial_next_trunk(c)) return;
        c.ended = true;
        self.finish_outbound(c);
        return;
    }
    // The far end hung up (BYE) or the dialog failed.
    c.session = static_cast<sipsess*>(mem_deref(c.session));
    self.end_call(c, "far end hung up");
}

// ---------------------------------------------------------------- inbound

void SipLines::on_connect(const sip_msg* msg, void* arg) {
    static_cast<SipLines*>(arg)->on_incoming(msg);
}

// Who answers at the number an incoming INVITE asks for.
Answer SipLines::answer_for(const std::string& number) const {
    if (settings.answer) return settings.answer(number);
    for (const auto& d : settings.dids)
        if (digits_of(d) == digits_of(number)) return {};
    Answer refused;
    refused.refuse = 404;
    return refused;
}

void SipLines::on_incoming(const sip_msg* msg) {
    // The Request-URI names the number dialled; a proxy that rewrote it to
    // our contact leaves the number in To.
    std::string number = to_string(msg->uri.user);
    Answer answer = answer_for(number);
    if (answer.refuse == 404 && !settings.answer) {
        number = to_string(msg->to.uri.user);
        answer = answer_for(number);
    }
    if (answer.refuse || !listening_) {
        sip_treply(nullptr, stack_, msg,
                   static_cast<std::uint16_t>(answer.refuse ? answer.refuse : 503),
                   answer.refuse == 486   ? "Busy Here"
                   : answer.refuse == 404 ? "Not Found"
                                          : "Refused");
        return;
    }
    std::string did = number;
    for (const auto& d : settings.dids)
        if (digits_of(d) == digits_of(number)) did = d;
    // The caller as the network asserts it (P-Asserted-Identity), else From.
    std::string pai = header(msg, SIP_HDR_P_ASSERTED_IDENTITY);
    sip_addr asserted{};
    pl pai_pl{};
    pl_set_str(&pai_pl, pai.c_str());
    const std::string caller = !pai.empty() && !sip_addr_decode(&asserted, &pai_pl)
                                   ? to_string(asserted.uri.user)
                                   : to_string(msg->from.uri.user);
    if (sink_->refuses_caller(caller)) {
        sip_treply(nullptr, stack_, msg, 603, "Decline");
        return;
    }
    auto lease = sink_->reserve_line();
    if (!lease) {
        sip_treply(nullptr, stack_, msg, 486, "Busy Here");
        return;
    }
    const std::uint64_t id = next_id_++;
    auto owned = std::make_unique<Call>(*this, id, Call::Direction::inbound);
    Call& c = *owned;
    c.lease = std::move(lease);
    c.did = did;
    c.caller = caller;
    c.remote_agent = header(msg, SIP_HDR_USER_AGENT);
    try {
        c.receive = {
            sink_->inbound_file(number, line_name(c.lease->line()) + "-" + std::to_string(id)),
            answer.csid.empty() ? settings.station_id : answer.csid, answer.hangup_after_pages,
            answer.b4};
        c.media = make_media(c);
    } catch (const std::exception&) {
        sip_treply(nullptr, stack_, msg, 503, "Service Unavailable");
        return;
    }
    calls_.emplace(id, std::move(owned));
    mbuf* sdp = nullptr;
    if (answer_offer(c, msg, &sdp)) {
        sip_treply(nullptr, stack_, msg, 488, "Not Acceptable Here");
        c.ended = true;
        finish_inbound(c);
        return;
    }
    int err = sipsess_accept(&c.session, sessions_, msg, 180, "Ringing", "faxgw", "application/sdp",
                             nullptr, nullptr, nullptr, false, &SipLines::on_offer,
                             &SipLines::on_answer, &SipLines::on_established, nullptr, nullptr,
                             &SipLines::on_close, &c, nullptr);
    if (answer.ring_forever) {
        // Rings until the caller cancels (on_close ends the call).
        if (c.media) c.media->stop();
        mem_deref(sdp);
        if (err) end_call(c, "cannot ring");
        return;
    }
    if (!err) err = sipsess_answer(c.session, 200, "OK", sdp, nullptr);
    mem_deref(sdp);
    if (err) {
        c.ended = true;
        finish_inbound(c);
        return;
    }
    c.sip_status = 200;
    // Media flows from the answer on; the watch starts with it (the ACK
    // starts it again in on_established).
    c.watch =
        std::make_unique<faxcore::CallWatch>(settings.watchdog_seconds, settings.max_call_seconds);
}

// ---------------------------------------------------------------- media and SDP

std::unique_ptr<MediaStream> SipLines::make_media(Call& c) {
    MediaTuning tuning;
    tuning.t38_redundancy = settings.t38_redundancy;
    tuning.playout_delay_ms = settings.playout_delay_ms;
    return std::make_unique<MediaStream>(
        bind_ip, settings.media_port_min, settings.media_port_max,
        [this, &c](FaxParty::Medium m, faxcore::IfpSender s) {
            return make_party(c, m, std::move(s));
        },
        tuning);
}

std::unique_ptr<FaxParty> SipLines::make_party(Call& c, FaxParty::Medium medium,
                                               faxcore::IfpSender send) {
    FaxParty::Spec spec;
    spec.ident = c.direction == Call::Direction::inbound ? c.receive.ident : settings.station_id;
    if (c.direction == Call::Direction::outbound) {
        spec.role = FaxParty::Role::calling;
        spec.send = &c.send;
        spec.modem = {c.outgoing->options.max_bit_rate, c.outgoing->options.ecm};
        auto channel = c.channel;
        spec.on_page = [channel, first = c.send.first_page](int pages) {
            // Pages of the whole document: the scheduler's count.
            channel->page_confirmed(first - 1 + pages);
        };
    } else {
        spec.role = FaxParty::Role::answering;
        spec.receive = &c.receive;
    }
    return medium == FaxParty::Medium::audio ? FaxParty::audio(spec)
                                             : FaxParty::t38(spec, std::move(send), true);
}

namespace {

int add_audio(sdp_session* s, std::uint16_t port, sdp_media** m) {
    int err = sdp_media_add(m, s, sdp_media_audio, port, sdp_proto_rtpavp);
    err |= sdp_format_add(nullptr, *m, false, "0", "PCMU", 8000, 1, nullptr, nullptr, nullptr,
                          false, nullptr);
    err |= sdp_format_add(nullptr, *m, false, "8", "PCMA", 8000, 1, nullptr, nullptr, nullptr,
                          false, nullptr);
    err |= sdp_media_set_lattr(*m, true, "ptime", "20");
    return err;
}

// The T.38 attributes of RFC 4612 / T.38 Annex D, as every SIP fax peer
// expects them.
int add_image(sdp_session* s, std::uint16_t port, sdp_media** m) {
    int err = sdp_media_add(m, s, "image", port, "udptl");
    // No rtpmap: sdp_format_cmp compares the id "t38" as a string.
    err |= sdp_format_add(nullptr, *m, false, "t38", nullptr, 0, 0, nullptr, nullptr, nullptr,
                          false, nullptr);
    err |= sdp_media_set_lattr(*m, true, "T38FaxVersion", "0");
    err |= sdp_media_set_lattr(*m, true, "T38MaxBitRate", "14400");
    err |= sdp_media_set_lattr(*m, true, "T38FaxRateManagement", "transferredTCF");
    err |= sdp_media_set_lattr(*m, true, "T38FaxMaxBuffer", "2000");
    err |= sdp_media_set_lattr(*m, true, "T38FaxMaxDatagram", "400");
    err |= sdp_media_set_lattr(*m, true, "T38FaxUdpEC", "t38UDPRedundancy");
    return err;
}

}  // namespace

// Every offer and answer is built in a fresh sdp_session holding both an
// audio and an image line: libre matches a re-offer's lines to an earlier
// session by position, which refuses the image-only re-INVITE that Asterisk
// and FreeSWITCH send. The o= line is then carried on by stamp_origin().
mbuf* SipLines::build_offer(Call& c, bool image) {
    c.offer_sdp = static_cast<sdp_session*>(mem_deref(c.offer_sdp));
    sa ip{};
    sa_set_str(&ip, advertised_ip.c_str(), 0);
    if (sdp_session_alloc(&c.offer_sdp, &ip)) return nullptr;
    int err = 0;
    if (image)
        err = add_image(c.offer_sdp, c.media->udptl_port(), &c.offer_image);
    else
        err = add_audio(c.offer_sdp, c.media->rtp_port(), &c.offer_audio);
    mbuf* offer = nullptr;
    if (err || sdp_encode(&offer, c.offer_sdp, true)) return nullptr;
    if (image)
        c.offer_audio = nullptr;
    else
        c.offer_image = nullptr;
    return stamp_origin(c, offer);
}

int SipLines::answer_offer(Call& c, const sip_msg* msg, mbuf** answer) {
    *answer = nullptr;
    sdp_session* s = nullptr;
    sdp_media *audio = nullptr, *image = nullptr;
    sa ip{};
    sa_set_str(&ip, advertised_ip.c_str(), 0);
    int err = sdp_session_alloc(&s, &ip);
    if (!err) err = add_audio(s, c.media->rtp_port(), &audio);
    if (!err) err = add_image(s, c.media->udptl_port(), &image);
    if (!err) err = sdp_decode(s, msg->mb, true);
    if (err) {
        mem_deref(s);
        return err ? err : EPROTO;
    }
    MediaPlan plan;
    const sdp_format* t38 = sdp_media_rport(image) ? sdp_media_rformat(image, nullptr) : nullptr;
    const sdp_format* g711 = sdp_media_rport(audio) ? sdp_media_rformat(audio, nullptr) : nullptr;
    const bool pages_done =
        c.media->party() &&
        c.media->party()->report().pages_confirmed + c.media->party()->report().pages_received > 0;
    const bool on_t38 = c.media->running() && c.media->plan().medium == FaxParty::Medium::t38;
    // T.38 starts T.30 afresh: taken before the first page only, or kept
    // when a refresh offers it again.
    if (t38 && t38_allowed(c) && (!pages_done || on_t38)) {
        plan.medium = FaxParty::Medium::t38;
        plan.remote = *sdp_media_raddr(image);
        const char* datagram = sdp_media_rattr(image, "T38FaxMaxDatagram");
        plan.max_datagram = datagram ? std::atoi(datagram) : 0;
        sdp_media_set_disabled(audio, true);
    } else if (g711 && (!on_t38 || !t38)) {
        plan.medium = FaxParty::Medium::audio;
        plan.remote = *sdp_media_raddr(audio);
        plan.payload_type = static_cast<std::uint8_t>(g711->pt);
        sdp_media_set_disabled(image, true);
    } else {
        mem_deref(s);
        return EPROTO;  // libre answers 488
    }
    err = sdp_encode(answer, s, false);
    mem_deref(s);
    if (err) return err;
    *answer = stamp_origin(c, *answer);
    start_media(c, plan);
    return 0;
}

void SipLines::apply_answer(Call& c, const sip_msg* msg) {
    if (!c.offer_sdp || sdp_decode(c.offer_sdp, msg->mb, false)) return;
    MediaPlan plan;
    if (c.offer_image && sdp_media_rport(c.offer_image) &&
        sdp_media_rformat(c.offer_image, nullptr)) {
        plan.medium = FaxParty::Medium::t38;
        plan.remote = *sdp_media_raddr(c.offer_image);
        const char* datagram = sdp_media_rattr(c.offer_image, "T38FaxMaxDatagram");
        plan.max_datagram = datagram ? std::atoi(datagram) : 0;
    } else if (c.offer_audio && sdp_media_rport(c.offer_audio)) {
        const sdp_format* f = sdp_media_rformat(c.offer_audio, nullptr);
        if (!f) return;
        plan.medium = FaxParty::Medium::audio;
        plan.remote = *sdp_media_raddr(c.offer_audio);
        plan.payload_type = static_cast<std::uint8_t>(f->pt);
    } else {
        return;
    }
    start_media(c, plan);
}

// Carries the first SDP's o= session id over to later ones, with the
// version counted up (RFC 3264 section 8): each offer/answer here comes
// from a fresh sdp_session, whose random id libre cannot set.
mbuf* SipLines::stamp_origin(Call& c, mbuf* sdp) {
    std::string text = mbuf_text(sdp);
    const auto o = text.find("o=");
    const auto line_end = o == std::string::npos ? o : text.find("\r\n", o);
    if (line_end == std::string::npos) return sdp;
    // o=<username> <sess-id> <sess-version> IN IP4 <address>
    std::vector<std::string> fields;
    std::size_t at = o + 2;
    while (at < line_end) {
        auto space = text.find(' ', at);
        if (space == std::string::npos || space > line_end) space = line_end;
        fields.push_back(text.substr(at, space - at));
        at = space + 1;
    }
    if (fields.size() < 6) return sdp;
    if (c.origin_id.empty()) c.origin_id = fields[1];
    fields[1] = c.origin_id;
    fields[2] = std::to_string(++c.origin_version);
    std::string line = "o=";
    for (std::size_t i = 0; i < fields.size(); ++i) line += (i ? " " : "") + fields[i];
    text.replace(o, line_end - o, line);
    mem_deref(sdp);
    return make_mbuf(text);
}

void SipLines::start_media(Call& c, const MediaPlan& plan) {
    if (!c.media || c.ended) return;
    c.media->on_tick = [this, &c](int samples) {
        if (c.ended) return;
        FaxParty* party = c.media->party();
        if (!c.watch)
            c.watch = std::make_unique<faxcore::CallWatch>(settings.watchdog_seconds,
                                                           settings.max_call_seconds);
        c.watch->tick(samples, party ? party->progress() : 0);
        if (c.watch->expired()) {
            c.detail = c.watch->reason();
            end_call(c, c.detail);
        } else if (c.receive.hangup_after_pages > 0 && party &&
                   party->report().pages_received >= c.receive.hangup_after_pages &&
                   !tmr_isrunning(&c.linger_timer)) {
            // After the page's confirmation (MCF) has gone out, as a
            // machine that drops the line between pages would.
            c.detail = "hung up after page " + std::to_string(c.receive.hangup_after_pages);
            tmr_start(&c.linger_timer, 3000, &SipLines::on_linger_done, &c);
        } else if (party && party->ended() && !tmr_isrunning(&c.linger_timer)) {
            // T.30 is over: let the last frames (DCN) reach the far end,
            // then hang up unless it does first.
            tmr_start(&c.linger_timer, 1000, &SipLines::on_linger_done, &c);
        }
    };
    c.media->start(plan);
}

void SipLines::on_linger_done(void* arg) {
    auto& c = *static_cast<Call*>(arg);
    c.lines.end_call(c, "fax ended");
}

void SipLines::request_t38(Call& c) {
    mbuf* offer = build_offer(c, true);
    if (!offer) return;
    // A refusal (488) reaches no callback in libre: the call simply stays
    // on audio, which is the fallback wanted. on_trace notes it.
    if (!sipsess_modify(c.session, offer)) c.t38_cseq = sip_dialog_lseq(sipsess_dialog(c.session));
    mem_deref(offer);
}

int SipLines::on_offer(mbuf** descp, const sip_msg* msg, void* arg) {
    auto& c = *static_cast<Call*>(arg);
    *descp = nullptr;  // libre leaves it unset
    return c.lines.answer_offer(c, msg, descp);
}

int SipLines::on_auth(char** user, char** password, const char*, void* arg) {
    const auto* t = static_cast<const Trunk*>(arg);
    if (!t || t->password.empty()) return EAUTH;
    // libre frees both with mem_deref.
    int err = str_dup(user, t->user.empty() ? "faxgw" : t->user.c_str());
    err |= str_dup(password, t->password.c_str());
    return err;
}

// ---------------------------------------------------------------- ending

void SipLines::hang_up(std::uint64_t id, const std::string& why) {
    if (Call* c = find(id)) {
        c->stop_requested = true;
        if (!c->ended) end_call(*c, why);
    }
}

// Ends a call in every case: T.30 stops, BYE or CANCEL goes out (libre
// sends it when the session is released), the result is reported, and the
// call is destroyed later, outside the callbacks that may be on its stack.
void SipLines::end_call(Call& c, const std::string& why) {
    if (c.ended) return;
    c.ended = true;
    if (c.detail.empty()) c.detail = why;
    if (c.media) {
        c.media->stop();
        if (auto* party = c.media->party()) party->terminate();
    }
    c.session = static_cast<sipsess*>(mem_deref(c.session));
    if (c.direction == Call::Direction::outbound)
        finish_outbound(c);
    else
        finish_inbound(c);
}

void SipLines::finish_outbound(Call& c) {
    count_media(c);
    faxcore::PartyReport party;
    if (c.media && c.media->party()) party = c.media->party()->report();
    const double seconds = (tmr_jiffies() - c.started_ms) / 1000.0;
    Attempt a = faxcore::attempt_of(*c.outgoing, party, seconds);
    a.sip_status = c.sip_status;
    a.remote_agent = c.remote_agent;
    a.detail = c.detail;
    if (c.answered && c.media)
        a.transport = c.media->plan().medium == FaxParty::Medium::t38 ? "t38" : "g711";
    if (!c.answered) {
        a.outcome =
            c.sip_status ? faxcore::outcome_of_sip_status(c.sip_status) : Outcome::network_error;
        if (c.sip_status == 200) a.outcome = Outcome::network_error;
    } else if (c.watch && c.watch->expired()) {
        a.outcome = Outcome::watchdog;
    } else if (party.ended && party.completion_code == 0) {
        a.outcome = Outcome::ok;
        a.detail.clear();  // whoever hung up after it, the fax went through
    } else if (c.stop_requested) {
        a.outcome = Outcome::interrupted;
    } else if (party.ended) {
        a.outcome = faxcore::outcome_of_t30(party.completion_code);
        if (a.outcome == Outcome::protocol_error && c.detail == "far end hung up")
            a.outcome = Outcome::hangup;
    } else {
        a.outcome = Outcome::hangup;
    }
    if (c.t38_refused && a.transport == "g711")
        a.detail += (a.detail.empty() ? "" : "; ") + std::string("T.38 refused (") +
                    std::to_string(c.t38_refused) + "), sent over G.711";
    if (c.refreshes > 0)
        a.detail += (a.detail.empty() ? "" : "; ") + std::to_string(c.refreshes) +
                    " session refresh(es) sent";
    c.channel->finish(std::move(a));
    auto it = calls_.find(c.id);
    if (it != calls_.end()) {
        ended_.push_back(std::move(it->second));
        calls_.erase(it);
    }
    tmr_start(&reaper_, 0, &SipLines::on_reap, this);
}

void SipLines::finish_inbound(Call& c) {
    count_media(c);
    faxcore::PartyReport party;
    if (c.media && c.media->party()) party = c.media->party()->report();
    if (party.pages_received > 0) {
        auto fax =
            faxcore::inbound_fax_of(party, c.did, c.caller, c.watch ? c.watch->seconds() : 0,
                                    static_cast<std::int64_t>(std::time(nullptr)), c.receive.tiff);
        received_.hand_over(std::move(fax));
    } else if (!c.receive.tiff.empty()) {
        std::error_code ec;
        std::filesystem::remove(c.receive.tiff, ec);  // nothing received
    }
    c.lease.reset();  // the line is free again
    auto it = calls_.find(c.id);
    if (it != calls_.end()) {
        ended_.push_back(std::move(it->second));
        calls_.erase(it);
    }
    tmr_start(&reaper_, 0, &SipLines::on_reap, this);
}

void SipLines::on_reap(void* arg) { static_cast<SipLines*>(arg)->ended_.clear(); }

}  // namespace

MediaTotals media_totals(const faxcore::LineBackend& lines) {
    const auto* sip = dynamic_cast<const SipLines*>(&lines);
    return sip ? sip->totals() : MediaTotals{};
}

namespace {
// Binds a socket of `type` on 127.0.0.1:`port` (0: any) and returns the port
// it got, or 0.
int bind_loopback(int type, int port) {
    const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    socklen_t size = sizeof address;
    const bool bound = fd >= 0 &&
                       ::bind(fd, reinterpret_cast<const sockaddr*>(&address), size) == 0 &&
                       ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0;
    if (fd >= 0) ::close(fd);
    return bound ? ntohs(address.sin_port) : 0;
}
}  // namespace

int free_loopback_sip_port() {
    for (int tries = 0; tries < 100; ++tries) {
        const int port = bind_loopback(SOCK_DGRAM, 0);
        if (port == 0) break;
        if (bind_loopback(SOCK_STREAM, port) == port) return port;
    }
    throw std::runtime_error("no port free for UDP and TCP on 127.0.0.1");
}

std::unique_ptr<faxcore::LineBackend> make_lines(const Settings& settings) {
    return std::make_unique<SipLines>(settings);
}

}  // namespace faxgw::sip
