// UDPTL framing and redundancy (see udptl.h for the wire format and why it
// is written here).
#include "udptl.h"

#include <algorithm>
#include <stdexcept>

namespace faxgw::sip {

namespace {

// An ALIGNED PER length determinant needs the fragmented form from 16K on.
constexpr std::size_t kLargestUnfragmented = 16383;

// t38_core's own ACCEPTABLE_SEQ_NO_OFFSET: a packet further than this from
// the expected seq is a renumbering, not a loss or a late arrival.
constexpr std::uint16_t kSeqWindow = 2000;

void put_length(std::vector<std::uint8_t>& out, std::size_t n) {
    if (n > kLargestUnfragmented) throw std::invalid_argument("UDPTL: length needs fragmenting");
    if (n < 0x80) {
        out.push_back(static_cast<std::uint8_t>(n));
    } else {
        out.push_back(static_cast<std::uint8_t>(0x80 | (n >> 8)));
        out.push_back(static_cast<std::uint8_t>(n & 0xff));
    }
}

void put_ifp(std::vector<std::uint8_t>& out, const Ifp& ifp) {
    // An IFPPacket always has its type-of-msg, so an empty one is a caller bug.
    if (ifp.empty()) throw std::invalid_argument("UDPTL: empty IFP packet");
    put_length(out, ifp.size());
    out.insert(out.end(), ifp.begin(), ifp.end());
}

// Reads a datagram front to back; every read checks what is left, so a
// hostile length can only make a read fail.
class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> data) : data_(data) {}

    std::size_t left() const { return data_.size() - pos_; }

    std::optional<std::uint8_t> byte() {
        if (left() < 1) return std::nullopt;
        return data_[pos_++];
    }

    std::optional<std::span<const std::uint8_t>> bytes(std::size_t n) {
        if (left() < n) return std::nullopt;
        auto s = data_.subspan(pos_, n);
        pos_ += n;
        return s;
    }

    // One- or two-byte length; the fragmented form (11xxxxxx) is refused.
    std::optional<std::size_t> length() {
        auto first = byte();
        if (!first) return std::nullopt;
        if ((*first & 0x80) == 0) return *first;
        if ((*first & 0xc0) == 0xc0) return std::nullopt;
        auto second = byte();
        if (!second) return std::nullopt;
        return (static_cast<std::size_t>(*first & 0x3f) << 8) | *second;
    }

    std::optional<std::span<const std::uint8_t>> octet_string() {
        auto n = length();
        if (!n) return std::nullopt;
        return bytes(*n);
    }

    std::optional<Ifp> ifp() {
        auto s = octet_string();
        if (!s || s->empty()) return std::nullopt;
        return Ifp(s->begin(), s->end());
    }

private:
    std::span<const std::uint8_t> data_;
    std::size_t pos_ = 0;
};

bool read_secondaries(Reader& in, std::vector<Ifp>& out) {
    auto count = in.length();
    // Each entry takes at least two bytes (length and type-of-msg): checking
    // that first bounds the reservation by the datagram's own size.
    if (!count || *count > in.left() / 2) return false;
    out.reserve(*count);
    for (std::size_t i = 0; i < *count; ++i) {
        auto ifp = in.ifp();
        if (!ifp) return false;
        out.push_back(std::move(*ifp));
    }
    return true;
}

// Checks the structure of fec-info and skips it.
bool skip_fec_info(Reader& in) {
    auto npackets = in.octet_string();  // unconstrained INTEGER: length + value
    if (!npackets || npackets->empty()) return false;
    auto count = in.length();
    if (!count) return false;
    for (std::size_t i = 0; i < *count; ++i)
        if (!in.octet_string()) return false;
    return true;
}

}  // namespace

std::vector<std::uint8_t> encode_udptl(const UdptlPacket& packet) {
    std::vector<std::uint8_t> out;
    out.push_back(static_cast<std::uint8_t>(packet.seq >> 8));
    out.push_back(static_cast<std::uint8_t>(packet.seq & 0xff));
    put_ifp(out, packet.primary);
    // CHOICE index 0 (secondary-ifp-packets) in the top bit, then padding to
    // the octet boundary the following length determinant is aligned to.
    out.push_back(0x00);
    put_length(out, packet.secondaries.size());
    for (const auto& ifp : packet.secondaries) put_ifp(out, ifp);
    return out;
}

std::optional<UdptlPacket> decode_udptl(std::span<const std::uint8_t> datagram) {
    Reader in(datagram);
    UdptlPacket packet;
    auto seq = in.bytes(2);
    if (!seq) return std::nullopt;
    packet.seq = static_cast<std::uint16_t>(((*seq)[0] << 8) | (*seq)[1]);
    auto primary = in.ifp();
    if (!primary) return std::nullopt;
    packet.primary = std::move(*primary);
    auto choice = in.byte();
    if (!choice) return std::nullopt;
    bool fec = (*choice & 0x80) != 0;
    bool well_formed = fec ? skip_fec_info(in) : read_secondaries(in, packet.secondaries);
    if (!well_formed || in.left() != 0) return std::nullopt;
    return packet;
}

UdptlSender::UdptlSender(int redundancy, std::size_t max_datagram)
    : redundancy_(redundancy), max_datagram_(max_datagram) {
    if (redundancy < 0 || redundancy > 8)
        throw std::invalid_argument("UDPTL redundancy must be 0..8");
}

std::vector<std::uint8_t> UdptlSender::wrap(std::span<const std::uint8_t> ifp) {
    UdptlPacket packet{next_seq_, Ifp(ifp.begin(), ifp.end()),
                       std::vector<Ifp>(previous_.begin(), previous_.end())};
    auto datagram = encode_udptl(packet);
    // Redundancy is the first thing to give up for the far end's size limit;
    // a primary alone that is too large still goes, as nothing else can carry it.
    while (max_datagram_ != 0 && datagram.size() > max_datagram_ && !packet.secondaries.empty()) {
        packet.secondaries.pop_back();
        datagram = encode_udptl(packet);
    }
    ++next_seq_;
    if (redundancy_ > 0) {
        previous_.push_front(std::move(packet.primary));
        if (previous_.size() > static_cast<std::size_t>(redundancy_)) previous_.pop_back();
    }
    return datagram;
}

void UdptlReceiver::restart_at(const UdptlPacket& packet) {
    // The secondaries of a first packet are IFPs sent before it that did not
    // arrive: recover them too.
    auto carried = std::min<std::size_t>(packet.secondaries.size(), kSeqWindow);
    expected_ = static_cast<std::uint16_t>(packet.seq - carried);
}

void UdptlReceiver::receive(std::span<const std::uint8_t> datagram, const Deliver& deliver) {
    ++stats_.received;
    auto packet = decode_udptl(datagram);
    if (!packet) {
        ++stats_.malformed;
        return;
    }
    if (!started_) {
        started_ = true;
        restart_at(*packet);
    }
    auto ahead = static_cast<std::uint16_t>(packet->seq - expected_);
    if (ahead > kSeqWindow) {
        bool late = ahead >= 65536 - kSeqWindow;
        if (late) {
            ++stats_.duplicates;
            return;
        }
        ++stats_.restarts;
        restart_at(*packet);
        ahead = static_cast<std::uint16_t>(packet->seq - expected_);
    }
    // IFPs expected_ .. seq-1 are missing; secondaries[j-1] holds seq-j.
    auto carried = std::min<std::size_t>(ahead, packet->secondaries.size());
    stats_.lost += ahead - static_cast<long>(carried);
    for (std::size_t j = carried; j >= 1; --j) {
        auto seq = static_cast<std::uint16_t>(packet->seq - j);
        ++stats_.recovered;
        ++stats_.delivered;
        expected_ = static_cast<std::uint16_t>(seq + 1);
        deliver(packet->secondaries[j - 1], seq);
    }
    ++stats_.delivered;
    expected_ = static_cast<std::uint16_t>(packet->seq + 1);
    deliver(packet->primary, packet->seq);
}

}  // namespace faxgw::sip
