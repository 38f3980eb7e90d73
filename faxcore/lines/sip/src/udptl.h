// UDPTL, the packet layer that carries T.38 IFP packets over UDP
// ("m=image ... udptl t38" in SDP), with redundancy error recovery.
//
// Hand-written because no Debian package provides it: libre has no UDPTL,
// and spandsp 0.0.6 implements only the IFP layer above it (t38_core), to
// which the receiver here hands each IFP with its sequence number.
//
// Wire format: the UDPTLPacket of ITU-T T.38 (clause 9 and its ASN.1 annex)
// in ALIGNED PER:
//
//   UDPTLPacket ::= SEQUENCE {
//       seq-number          INTEGER (0..65535),
//       primary-ifp-packet  open type (one IFPPacket),
//       error-recovery      CHOICE {
//           secondary-ifp-packets  SEQUENCE OF open type (IFPPacket),
//           fec-info               SEQUENCE { fec-npackets INTEGER,
//                                             fec-data SEQUENCE OF OCTET STRING } } }
//
// Only redundancy (secondary IFPs) is sent. FEC-mode packets from a far end
// are checked for structure and their primary IFP is used; their FEC data is
// ignored, since far ends use FEC only when the SDP offered it and faxgw
// offers t38UDPRedundancy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace faxgw::sip {

using Ifp = std::vector<std::uint8_t>;

struct UdptlPacket {
    std::uint16_t seq = 0;
    Ifp primary;
    // The IFPs of seq-1, seq-2, ... (most recent first), as redundancy.
    std::vector<Ifp> secondaries;
};

// Throws std::invalid_argument for an empty IFP, or one (or a count of
// secondaries) of 16384 or more, which would need PER's fragmented length
// form; IFP packets are never that large.
std::vector<std::uint8_t> encode_udptl(const UdptlPacket& packet);

// nullopt when the datagram is not exactly one well-formed UDPTLPacket
// (truncated, trailing bytes, fragmented lengths, an empty IFP). Never reads
// past the datagram and never allocates more than its size.
std::optional<UdptlPacket> decode_udptl(std::span<const std::uint8_t> datagram);

// Numbers outgoing IFPs 0, 1, 2, ... (wrapping after 65535) and carries the
// `redundancy` previous ones in each packet, so a far end can recover that many
// consecutive losses.
class UdptlSender {
public:
    // redundancy: 0..8 previous IFPs carried. max_datagram: the far end's
    // T38FaxMaxDatagram from its SDP (0: no limit); the oldest secondaries are
    // left out of a packet that would exceed it.
    explicit UdptlSender(int redundancy, std::size_t max_datagram = 0);

    std::vector<std::uint8_t> wrap(std::span<const std::uint8_t> ifp);

private:
    int redundancy_;
    std::size_t max_datagram_;
    std::uint16_t next_seq_ = 0;
    std::deque<Ifp> previous_;  // most recent first
};

// Turns received datagrams back into the far end's IFP stream.
class UdptlReceiver {
public:
    using Deliver = std::function<void(std::span<const std::uint8_t> ifp, std::uint16_t seq)>;

    // Delivers IFPs in sequence order, each once. IFPs missing before this
    // packet are first recovered from its secondaries when it carries them; a
    // gap it cannot fill is skipped (spandsp's t38_core sees the jump in seq
    // and handles the loss). Duplicates and packets older than what was
    // delivered are dropped. A packet more than 2000 away from the expected
    // seq is taken as the far end restarting its numbering, as t38_core does.
    void receive(std::span<const std::uint8_t> datagram, const Deliver& deliver);

    struct Stats {
        long received = 0;    // datagrams
        long delivered = 0;   // IFPs, primaries and recovered ones
        long recovered = 0;   // IFPs delivered from a later packet's secondaries
        long lost = 0;        // IFPs skipped: neither they nor a later secondary arrived
        long duplicates = 0;  // datagrams already delivered, or older than what was
        long malformed = 0;   // datagrams decode_udptl refused
        long restarts = 0;    // times the far end renumbered its packets
    };
    const Stats& stats() const { return stats_; }

private:
    void restart_at(const UdptlPacket& packet);

    bool started_ = false;
    std::uint16_t expected_ = 0;
    Stats stats_;
};

}  // namespace faxgw::sip
