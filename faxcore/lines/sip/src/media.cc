#include "media.h"

#include <spandsp.h>

#include <array>
#include <random>
#include <stdexcept>

namespace faxgw::sip {
namespace {

constexpr std::uint64_t tick_ms = 20;
// Ticks this late are not caught up one by one: the line's time simply
// moved on (the SIP thread was starved), and the far end has heard a gap.
constexpr std::uint64_t max_catch_up_ticks = 10;

// Audio plays a fixed delay (MediaTuning::playout_delay_ms) after its first
// frame came in, which absorbs that much lateness of the far end (or of this
// thread) without a gap. A fax modem's carrier does not survive a gap: one
// missing 20 ms frame breaks the ECM frame it falls in.
//
// libre's jitter buffer orders frames by sequence number. Its `min` is a
// floor it never hands frames out below, which would leave only one frame of
// slack whatever the delay: 0 here, the delay is ours. Beyond `max` frames
// (a far end that sends faster than the RTP clock) the oldest are dropped.
constexpr std::uint32_t jitter_min_frames = 0, jitter_max_frames = 100;

bool seq_before(std::uint16_t a, std::uint16_t b) { return static_cast<std::int16_t>(a - b) < 0; }

std::uint8_t g711_silence(std::uint8_t pt) { return pt == 8 ? 0xD5 : 0xFF; }

void encode_g711(std::uint8_t pt, std::span<const std::int16_t> in, std::uint8_t* out) {
    for (std::size_t i = 0; i < in.size(); ++i)
        out[i] = pt == 8 ? linear_to_alaw(in[i]) : linear_to_ulaw(in[i]);
}

void decode_g711(std::uint8_t pt, const std::uint8_t* in, std::span<std::int16_t> out) {
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = pt == 8 ? alaw_to_linear(in[i]) : ulaw_to_linear(in[i]);
}

}  // namespace

MediaStream::MediaStream(const std::string& bind_ip, int min_port, int max_port,
                         PartyFactory make_party, const MediaTuning& tuning)
    : make_party_(std::move(make_party)),
      tuning_(tuning),
      playout_delay_frames_(
          static_cast<std::uint64_t>(std::max(0, tuning.playout_delay_ms) + tick_ms - 1) /
          tick_ms) {
    sa ip{};
    if (sa_set_str(&ip, bind_ip.c_str(), 0))
        throw std::runtime_error("bad media address " + bind_ip);
    const auto range = std::to_string(min_port) + "-" + std::to_string(max_port);
    if (rtp_listen(&rtp_, IPPROTO_UDP, &ip, static_cast<std::uint16_t>(min_port),
                   static_cast<std::uint16_t>(max_port), false, &MediaStream::rtp_handler, nullptr,
                   this))
        throw std::runtime_error("no free RTP port in " + range);
    // UDPTL takes the first free port from a random start, as rtp_listen
    // does, so that concurrent calls rarely try the same ports.
    std::mt19937 random(std::random_device{}());
    const int span = std::max(1, max_port - min_port + 1);
    const int start = static_cast<int>(random() % static_cast<unsigned>(span));
    for (int i = 0; i < span && !udptl_; ++i) {
        sa local = ip;
        sa_set_port(&local, static_cast<std::uint16_t>(min_port + (start + i) % span));
        if (udp_listen(&udptl_, &local, &MediaStream::udptl_handler, this)) udptl_ = nullptr;
    }
    if (!udptl_) {
        rtp_ = static_cast<struct rtp_sock*>(mem_deref(rtp_));
        throw std::runtime_error("no free UDPTL port in " + range);
    }
    if (jbuf_alloc(&jitter_, jitter_min_frames, jitter_max_frames)) {
        mem_deref(udptl_);
        mem_deref(rtp_);
        throw std::runtime_error("cannot allocate a jitter buffer");
    }
    tmr_init(&tick_);
}

MediaStream::~MediaStream() {
    stop();
    if (pending_) mem_deref(pending_->second);
    mem_deref(jitter_);
    mem_deref(udptl_);
    mem_deref(rtp_);
}

std::uint16_t MediaStream::rtp_port() const { return sa_port(rtp_local(rtp_)); }

std::uint16_t MediaStream::udptl_port() const {
    sa local{};
    udp_local_get(udptl_, &local);
    return sa_port(&local);
}

void MediaStream::start(const MediaPlan& plan) {
    const bool new_medium = !party_ || plan.medium != plan_.medium;
    plan_ = plan;
    if (new_medium) {
        faxcore::IfpSender send;
        if (plan.medium == faxcore::FaxParty::Medium::t38) {
            udptl_out_ = std::make_unique<UdptlSender>(
                tuning_.t38_redundancy, static_cast<std::size_t>(std::max(0, plan.max_datagram)));
            udptl_in_ = std::make_unique<UdptlReceiver>();
            send = [this](std::span<const std::uint8_t> ifp, int) { send_ifp(ifp); };
        }
        party_ = make_party_(plan.medium, std::move(send));
    }
    if (!running_) {
        running_ = true;
        next_tick_ms_ = tmr_jiffies() + tick_ms;
        tmr_start(&tick_, tick_ms, &MediaStream::tick_handler, this);
    }
}

void MediaStream::stop() {
    running_ = false;
    tmr_cancel(&tick_);
}

void MediaStream::tick_handler(void* arg) {
    auto* self = static_cast<MediaStream*>(arg);
    // Absolute schedule: each deadline follows the previous one, so a late
    // tick is caught up instead of shifting every later one.
    const std::uint64_t now = tmr_jiffies();
    if (now > self->next_tick_ms_)
        self->stats_.worst_lateness_ms = std::max<long>(
            self->stats_.worst_lateness_ms, static_cast<long>(now - self->next_tick_ms_));
    std::uint64_t due = 0;
    while (self->next_tick_ms_ <= now && due < max_catch_up_ticks) {
        self->next_tick_ms_ += tick_ms;
        ++due;
    }
    if (self->next_tick_ms_ <= now) {
        self->stats_.late_ticks++;
        self->next_tick_ms_ = now + tick_ms;
    }
    if (due > 1) self->stats_.late_ticks++;
    tmr_start(&self->tick_, self->next_tick_ms_ - now, &MediaStream::tick_handler, self);
    // on_tick may end the call: that stops the stream, whose destruction
    // the call defers until this handler has returned.
    for (std::uint64_t i = 0; i < due && self->running_; ++i) {
        self->step();
        if (self->on_tick) self->on_tick(faxcore::fax_block);
    }
}

void MediaStream::step() {
    if (plan_.medium == faxcore::FaxParty::Medium::audio)
        audio_step();
    else
        party_->advance(faxcore::fax_block);
}

// One frame in and one frame out, both of fax_block samples (20 ms).
void MediaStream::audio_step() {
    std::array<std::uint8_t, faxcore::fax_block> payload{};
    std::array<std::int16_t, faxcore::fax_block> samples{};
    if (!next_audio_frame(payload.data())) payload.fill(g711_silence(plan_.payload_type));
    decode_g711(plan_.payload_type, payload.data(), samples);
    party_->rx_audio(samples);

    party_->tx_audio(samples);
    mbuf* mb = mbuf_alloc(RTP_HEADER_SIZE + faxcore::fax_block);
    if (!mb) return;
    mb->pos = mb->end = RTP_HEADER_SIZE;
    encode_g711(plan_.payload_type, samples, payload.data());
    mbuf_write_mem(mb, payload.data(), payload.size());
    mb->pos = RTP_HEADER_SIZE;
    if (!rtp_send(rtp_, &plan_.remote, false, first_packet_, plan_.payload_type, rtp_timestamp_,
                  mb))
        stats_.rtp_sent++;
    mem_deref(mb);
    first_packet_ = false;
    // The RTP clock: 8000 Hz, one block per packet.
    rtp_timestamp_ += faxcore::fax_block;
}

// The frame due now, in sequence order. A lost frame plays as silence in
// its slot, so later frames keep their time. A frame not in yet (an
// underrun: the far end fell further behind than the playout delay) plays
// as silence too, and the frames after it wait one slot: the delay grows by
// what the far end's lateness was.
bool MediaStream::next_audio_frame(std::uint8_t* payload) {
    ++audio_ticks_;
    if (!first_frame_tick_ || audio_ticks_ - *first_frame_tick_ < playout_delay_frames_)
        return false;  // before the first frame is due: silence
    while (!pending_) {
        rtp_header hdr{};
        void* mem = nullptr;
        if (jbuf_get(jitter_, &hdr, &mem)) {  // nothing buffered
            if (seq_known_) stats_.audio_underruns++;
            return false;
        }
        if (seq_known_ && seq_before(hdr.seq, expected_seq_)) {
            stats_.rtp_late++;  // its slot has passed
            mem_deref(mem);
            continue;
        }
        pending_.emplace(hdr, static_cast<mbuf*>(mem));
    }
    if (!seq_known_) expected_seq_ = pending_->first.seq, seq_known_ = true;
    if (pending_->first.seq != expected_seq_) {
        stats_.rtp_lost++;
        ++expected_seq_;
        return false;
    }
    mbuf* mb = pending_->second;
    const std::size_t n = std::min<std::size_t>(mbuf_get_left(mb), faxcore::fax_block);
    std::fill(payload + n, payload + faxcore::fax_block, g711_silence(plan_.payload_type));
    std::copy_n(mbuf_buf(mb), n, payload);
    mem_deref(mb);
    pending_.reset();
    ++expected_seq_;
    return true;
}

void MediaStream::rtp_handler(const sa*, const rtp_header* hdr, mbuf* mb, void* arg) {
    auto* self = static_cast<MediaStream*>(arg);
    self->stats_.rtp_received++;
    if (self->running_ && self->plan_.medium == faxcore::FaxParty::Medium::audio) {
        if (!self->first_frame_tick_) self->first_frame_tick_ = self->audio_ticks_;
        jbuf_put(self->jitter_, hdr, mb);  // takes its own reference
    }
}

void MediaStream::udptl_handler(const sa*, mbuf* mb, void* arg) {
    auto* self = static_cast<MediaStream*>(arg);
    self->stats_.udptl_received++;
    if (!self->running_ || self->plan_.medium != faxcore::FaxParty::Medium::t38) return;
    auto* party = self->party_.get();
    self->udptl_in_->receive(
        {mbuf_buf(mb), mbuf_get_left(mb)},
        [party](std::span<const std::uint8_t> ifp, std::uint16_t seq) { party->rx_ifp(ifp, seq); });
    const auto& in = self->udptl_in_->stats();
    self->stats_.udptl_recovered = in.recovered;
    self->stats_.udptl_lost = in.lost;
}

void MediaStream::send_ifp(std::span<const std::uint8_t> ifp) {
    if (!udptl_out_) return;
    auto datagram = udptl_out_->wrap(ifp);
    mbuf* mb = mbuf_alloc(datagram.size());
    if (!mb) return;
    mbuf_write_mem(mb, datagram.data(), datagram.size());
    mb->pos = 0;
    if (!udp_send(udptl_, &plan_.remote, mb)) stats_.udptl_sent++;
    mem_deref(mb);
}

}  // namespace faxgw::sip
