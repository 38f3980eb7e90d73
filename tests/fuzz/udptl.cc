// Fuzz target "udptl": what a far end sends to the T.38 media port of a SIP
// call. The input is read as one datagram, and again as a run of datagrams
// (each a two-byte big-endian length and its bytes) through one
// UdptlReceiver, which turns them into the IFP stream spandsp is handed.
#include "udptl.h"

#include <cstdint>
#include <span>
#include <vector>

#include "fuzz_target.h"

namespace {

using namespace faxgw::sip;
using faxgw::fuzz::require;
using Bytes = std::span<const std::uint8_t>;

std::vector<Bytes> datagrams_of(Bytes in) {
    std::vector<Bytes> out;
    while (in.size() >= 2) {
        const std::size_t length = std::size_t{in[0]} << 8 | in[1];
        in = in.subspan(2);
        const std::size_t take = std::min(length, in.size());
        out.push_back(in.first(take));
        in = in.subspan(take);
    }
    return out;
}

// What decode_udptl promises of a datagram it accepts.
void check_decode(Bytes datagram) {
    const auto packet = decode_udptl(datagram);
    if (!packet) return;
    std::size_t carried = packet->primary.size();
    for (const Ifp& ifp : packet->secondaries) carried += ifp.size();
    require(!packet->primary.empty(), "a decoded primary IFP is not empty");
    require(carried <= datagram.size(), "a packet carries no more bytes than its datagram");
    // Encoded again (redundancy form) it decodes to the same packet.
    const auto again = decode_udptl(encode_udptl(*packet));
    require(again && again->seq == packet->seq && again->primary == packet->primary &&
                again->secondaries == packet->secondaries,
            "a decoded packet survives encoding");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const Bytes input(data, size);
    check_decode(input);
    UdptlReceiver receiver;
    long delivered = 0;
    const auto datagrams = datagrams_of(input);
    for (Bytes datagram : datagrams) {
        check_decode(datagram);
        receiver.receive(datagram, [&](Bytes ifp, std::uint16_t) {
            require(!ifp.empty(), "a delivered IFP is not empty");
            ++delivered;
        });
    }
    const auto& stats = receiver.stats();
    require(stats.received == static_cast<long>(datagrams.size()), "every datagram is counted");
    require(stats.delivered == delivered, "the counts say what was delivered");
    require(stats.malformed <= stats.received, "no more malformed datagrams than datagrams");
    return 0;
}
