// The media of one SIP call, on the SIP stack's thread: G.711 audio over
// RTP (through a jitter buffer) or T.38 IFP packets over UDPTL, fed to and
// from the call's fax party on a 20 ms tick scheduled from an absolute
// clock, so that late ticks catch up instead of drifting.
#pragma once

#include <faxgw/faxcore/t30.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "re_glue.h"
#include "udptl.h"

namespace faxgw::sip {

struct MediaStats {
    long rtp_sent = 0, rtp_received = 0, rtp_lost = 0, rtp_late = 0;
    long udptl_sent = 0, udptl_received = 0, udptl_recovered = 0, udptl_lost = 0;
    long late_ticks = 0;         // ticks that ran more than one period late
    long audio_underruns = 0;    // slots played as silence: their frame had not come yet
    long worst_lateness_ms = 0;  // the latest a tick ran after its deadline
};

// Which way the media flow now: set by offer/answer, changed by re-INVITE.
struct MediaPlan {
    faxcore::FaxParty::Medium medium = faxcore::FaxParty::Medium::audio;
    sa remote{};                    // where our RTP or UDPTL goes
    std::uint8_t payload_type = 0;  // audio: 0 PCMU, 8 PCMA
    int max_datagram = 0;           // T.38: the far end's T38FaxMaxDatagram (0 = unknown)
};

struct MediaTuning {
    int t38_redundancy = 3;      // earlier IFPs repeated in each UDPTL packet
    int playout_delay_ms = 200;  // audio plays this long after its first frame came
};

class MediaStream {
public:
    // Makes the fax party for a medium; called again when the medium
    // changes.
    using PartyFactory = std::function<std::unique_ptr<faxcore::FaxParty>(faxcore::FaxParty::Medium,
                                                                          faxcore::IfpSender)>;
    // Binds the call's sockets on `bind_ip` within [min_port, max_port]
    // before the first offer, so their ports can be offered: RTP (with its
    // RTCP neighbour) and UDPTL. Throws when no port is free.
    MediaStream(const std::string& bind_ip, int min_port, int max_port, PartyFactory make_party,
                const MediaTuning& tuning);
    ~MediaStream();
    MediaStream(const MediaStream&) = delete;
    MediaStream& operator=(const MediaStream&) = delete;

    // Starts (or switches) media; a change of medium starts a fresh fax
    // party, whose T.30 begins again.
    void start(const MediaPlan& plan);
    void stop();
    bool running() const { return running_; }
    std::uint16_t rtp_port() const;
    std::uint16_t udptl_port() const;
    faxcore::FaxParty* party() { return party_.get(); }
    const MediaPlan& plan() const { return plan_; }
    const MediaStats& stats() const { return stats_; }
    // Called after each 20 ms of line time, with the samples that passed.
    std::function<void(int samples)> on_tick;

private:
    static void tick_handler(void* arg);
    static void rtp_handler(const sa* src, const rtp_header* hdr, mbuf* mb, void* arg);
    static void udptl_handler(const sa* src, mbuf* mb, void* arg);
    void step();
    void audio_step();
    bool next_audio_frame(std::uint8_t* payload);
    void send_ifp(std::span<const std::uint8_t> ifp);

    struct rtp_sock* rtp_ = nullptr;
    udp_sock* udptl_ = nullptr;
    PartyFactory make_party_;
    MediaTuning tuning_;
    std::uint64_t playout_delay_frames_;
    MediaPlan plan_;
    std::unique_ptr<faxcore::FaxParty> party_;
    bool running_ = false;
    tmr tick_{};
    std::uint64_t next_tick_ms_ = 0;
    // Audio: G.711 both ways, the jitter buffer, RTP clock.
    jbuf* jitter_ = nullptr;
    std::optional<std::pair<rtp_header, mbuf*>> pending_;  // taken from the buffer, not yet due
    std::uint64_t audio_ticks_ = 0;                        // audio slots played so far
    std::optional<std::uint64_t> first_frame_tick_;        // the slot in which RTP began to come
    std::uint16_t expected_seq_ = 0;
    bool seq_known_ = false;
    std::uint32_t rtp_timestamp_ = 0;
    bool first_packet_ = true;
    // T.38.
    std::unique_ptr<UdptlSender> udptl_out_;
    std::unique_ptr<UdptlReceiver> udptl_in_;
    MediaStats stats_;
};

}  // namespace faxgw::sip
