// UDPTL framing (T.38 UDPTLPacket in ALIGNED PER) and its redundancy: what
// the sender puts on the wire and what the receiver rebuilds from lost,
// duplicated, reordered and malformed datagrams.
#define BOOST_TEST_MODULE faxcore udptl
#include "udptl.h"

#include <boost/test/unit_test.hpp>
#include <random>
#include <set>

using namespace faxgw::sip;
using Bytes = std::vector<std::uint8_t>;

namespace {

// A distinct, non-empty IFP for each message number.
Bytes ifp_for(int n) {
    return {static_cast<std::uint8_t>(n & 0xff), static_cast<std::uint8_t>(n >> 8), 0x5a};
}

struct Delivered {
    std::uint16_t seq;
    Bytes ifp;
};

// A receiver and everything it delivered.
struct Sink {
    UdptlReceiver receiver;
    std::vector<Delivered> delivered;
    void take(const Bytes& datagram) {
        receiver.receive(datagram, [this](std::span<const std::uint8_t> ifp, std::uint16_t seq) {
            delivered.push_back({seq, Bytes(ifp.begin(), ifp.end())});
        });
    }
    std::vector<int> seqs() const {
        std::vector<int> out;
        for (const auto& d : delivered) out.push_back(d.seq);
        return out;
    }
    // Every delivery carries the IFP that was sent with its seq.
    bool contents_match_seqs() const {
        for (const auto& d : delivered)
            if (d.ifp != ifp_for(d.seq)) return false;
        return true;
    }
};

std::vector<Bytes> send_stream(int redundancy, int count) {
    UdptlSender sender(redundancy);
    std::vector<Bytes> datagrams;
    for (int n = 0; n < count; ++n) datagrams.push_back(sender.wrap(ifp_for(n)));
    return datagrams;
}

std::vector<int> range(int first, int last) {
    std::vector<int> out;
    for (int n = first; n <= last; ++n) out.push_back(n);
    return out;
}

bool same(const UdptlPacket& a, const UdptlPacket& b) {
    return a.seq == b.seq && a.primary == b.primary && a.secondaries == b.secondaries;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(framing)

BOOST_AUTO_TEST_CASE(packets_survive_encode_and_decode) {
    std::vector<UdptlPacket> packets = {
        {0, {0x02}, {}},
        {65535, Bytes(200, 0xab), {Bytes(127, 1), Bytes(128, 2), Bytes(1, 3)}},
        {4711,
         ifp_for(9),
         {ifp_for(8), ifp_for(7), ifp_for(6), ifp_for(5), ifp_for(4), ifp_for(3), ifp_for(2),
          ifp_for(1)}},
        {1, Bytes(16383, 0x11), {}},
    };
    for (const auto& p : packets) {
        auto decoded = decode_udptl(encode_udptl(p));
        BOOST_TEST_REQUIRE(decoded.has_value());
        BOOST_TEST(same(*decoded, p));
    }
}

// Worked out by hand from T.38's ASN.1 under ALIGNED PER (X.691):
//   seq-number INTEGER (0..65535): a constrained whole number whose range
//     needs 16 bits, so two octets, big-endian: 300 -> 01 2C.
//   primary-ifp-packet, an open type: a length determinant (one octet below
//     128) then the octets: 01 02. (0x02 is t38_core's IFP for the cng
//     indicator; UDPTL does not look inside.)
//   error-recovery CHOICE of two alternatives: a 1-bit index, 0 for
//     secondary-ifp-packets; the next field, a length determinant, is
//     octet-aligned, so seven padding bits follow: 00.
//   SEQUENCE OF count, a length determinant: 02.
//   each secondary an open type again: 01 04, then 01 06 (seq 299, 298).
BOOST_AUTO_TEST_CASE(a_small_packet_has_the_layout_of_the_standard) {
    UdptlPacket p{300, {0x02}, {{0x04}, {0x06}}};
    Bytes expected = {0x01, 0x2c, 0x01, 0x02, 0x00, 0x02, 0x01, 0x04, 0x01, 0x06};
    BOOST_TEST(encode_udptl(p) == expected, boost::test_tools::per_element());
    auto decoded = decode_udptl(expected);
    BOOST_TEST_REQUIRE(decoded.has_value());
    BOOST_TEST(same(*decoded, p));
}

// From 128 to 16383 a length determinant takes two octets, 10 and 14 bits of
// length: 300 = 0x12C -> 81 2C.
BOOST_AUTO_TEST_CASE(a_long_ifp_has_a_two_octet_length) {
    UdptlPacket p{0, Bytes(300, 0x77), {}};
    auto wire = encode_udptl(p);
    BOOST_TEST_REQUIRE(wire.size() == 2u + 2u + 300u + 2u);
    BOOST_TEST(wire[2] == 0x81);
    BOOST_TEST(wire[3] == 0x2c);
    BOOST_TEST(wire[304] == 0x00);  // CHOICE index and padding
    BOOST_TEST(wire[305] == 0x00);  // no secondaries
}

BOOST_AUTO_TEST_CASE(encode_refuses_what_it_cannot_represent) {
    BOOST_CHECK_THROW(encode_udptl({0, {}, {}}), std::invalid_argument);
    BOOST_CHECK_THROW(encode_udptl({0, Bytes(16384, 1), {}}), std::invalid_argument);
    BOOST_CHECK_THROW(encode_udptl({0, {1}, {Bytes{}}}), std::invalid_argument);
}

// fec-info: CHOICE index 1 (80), fec-npackets as an unconstrained INTEGER
// (length 01, value 03), then fec-data: two octet strings.
BOOST_AUTO_TEST_CASE(a_fec_packet_decodes_to_its_primary) {
    Bytes wire = {0x00, 0x05, 0x01, 0x02, 0x80, 0x01, 0x03, 0x02, 0x01, 0xaa, 0x02, 0xbb, 0xcc};
    auto decoded = decode_udptl(wire);
    BOOST_TEST_REQUIRE(decoded.has_value());
    BOOST_TEST(decoded->seq == 5);
    BOOST_TEST(decoded->primary == Bytes{0x02}, boost::test_tools::per_element());
    BOOST_TEST(decoded->secondaries.empty());
    wire.pop_back();  // fec-data cut short
    BOOST_TEST(!decode_udptl(wire).has_value());
}

BOOST_AUTO_TEST_CASE(decode_refuses_malformed_packets) {
    // Trailing byte after a complete packet.
    BOOST_TEST(!decode_udptl(Bytes{0x00, 0x01, 0x01, 0x02, 0x00, 0x00, 0xff}).has_value());
    // Empty primary IFP.
    BOOST_TEST(!decode_udptl(Bytes{0x00, 0x01, 0x00, 0x00, 0x00}).has_value());
    // Empty secondary IFP.
    BOOST_TEST(!decode_udptl(Bytes{0x00, 0x01, 0x01, 0x02, 0x00, 0x01, 0x00}).has_value());
    // Fragmented length form (11xxxxxx) for the primary.
    BOOST_TEST(!decode_udptl(Bytes{0x00, 0x01, 0xc1, 0x02, 0x00, 0x00}).has_value());
    // A primary length far beyond the datagram.
    BOOST_TEST(!decode_udptl(Bytes{0x00, 0x01, 0xbf, 0xff, 0x02, 0x00, 0x00}).has_value());
    // 16383 secondaries claimed in a datagram that holds none of them: refused
    // before anything is reserved for them.
    BOOST_TEST(
        !decode_udptl(Bytes{0x00, 0x01, 0x01, 0x02, 0x00, 0xbf, 0xff, 0x01, 0x02}).has_value());
    BOOST_TEST(!decode_udptl(Bytes{}).has_value());
}

// A strict prefix of a packet can never be a whole packet: decoding runs
// the same path over the same bytes and meets the end first.
BOOST_AUTO_TEST_CASE(every_truncation_is_refused_and_counted) {
    UdptlPacket p{513, Bytes(130, 0x42), {Bytes(200, 1), ifp_for(2), Bytes(128, 3)}};
    auto wire = encode_udptl(p);
    Sink sink;
    for (std::size_t n = 0; n < wire.size(); ++n) {
        Bytes prefix(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
        BOOST_TEST(!decode_udptl(prefix).has_value(), "prefix of " << n << " bytes");
        sink.take(prefix);
    }
    BOOST_TEST(sink.delivered.empty());
    BOOST_TEST(sink.receiver.stats().malformed == static_cast<long>(wire.size()));
}

// Random and mutated datagrams: decoding never crashes (run this under
// ASan/UBSan), and whatever it accepts encodes and decodes to itself.
BOOST_AUTO_TEST_CASE(random_datagrams_never_crash_the_decoder) {
    std::mt19937 random(12345);
    auto valid = encode_udptl({7, Bytes(140, 9), {ifp_for(6), Bytes(129, 5)}});
    long accepted = 0;
    for (int round = 0; round < 200000; ++round) {
        Bytes datagram;
        if (round % 2 == 0) {
            datagram.resize(random() % 40);
            for (auto& b : datagram) b = static_cast<std::uint8_t>(random());
        } else {
            datagram = valid;
            for (int flips = 1 + random() % 3; flips > 0; --flips)
                datagram[random() % datagram.size()] = static_cast<std::uint8_t>(random());
        }
        auto decoded = decode_udptl(datagram);
        if (!decoded) continue;
        ++accepted;
        auto again = decode_udptl(encode_udptl(*decoded));
        BOOST_TEST_REQUIRE(again.has_value());
        BOOST_TEST_REQUIRE(same(*again, *decoded));
    }
    BOOST_TEST(accepted > 0);  // the property was exercised, not vacuously true
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sender)

BOOST_AUTO_TEST_CASE(each_packet_carries_the_previous_ifps_most_recent_first) {
    auto stream = send_stream(3, 6);
    for (int n = 0; n < 6; ++n) {
        auto p = decode_udptl(stream[n]);
        BOOST_TEST_REQUIRE(p.has_value());
        BOOST_TEST(p->seq == n);
        BOOST_TEST(p->primary == ifp_for(n));
        BOOST_TEST_REQUIRE(p->secondaries.size() == static_cast<std::size_t>(std::min(n, 3)));
        for (std::size_t j = 0; j < p->secondaries.size(); ++j)
            BOOST_TEST(p->secondaries[j] == ifp_for(n - 1 - static_cast<int>(j)));
    }
}

BOOST_AUTO_TEST_CASE(redundancy_is_dropped_oldest_first_to_fit_the_far_ends_limit) {
    // Each IFP here takes 1 + 50 bytes on the wire; seq 2, CHOICE 1, count 1.
    UdptlSender sender(3, 2 + 51 + 1 + 1 + 51);
    for (int n = 0; n < 5; ++n) sender.wrap(Bytes(50, static_cast<std::uint8_t>(n)));
    auto p = decode_udptl(sender.wrap(Bytes(50, 5)));
    BOOST_TEST_REQUIRE(p.has_value());
    BOOST_TEST_REQUIRE(p->secondaries.size() == 1u);
    BOOST_TEST(p->secondaries[0] == Bytes(50, 4));
}

BOOST_AUTO_TEST_CASE(redundancy_outside_0_to_8_is_refused) {
    BOOST_CHECK_THROW(UdptlSender(-1), std::invalid_argument);
    BOOST_CHECK_THROW(UdptlSender(9), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(receiver)

BOOST_AUTO_TEST_CASE(a_clean_stream_is_delivered_in_order) {
    Sink sink;
    for (const auto& d : send_stream(2, 20)) sink.take(d);
    BOOST_TEST(sink.seqs() == range(0, 19), boost::test_tools::per_element());
    BOOST_TEST(sink.contents_match_seqs());
    BOOST_TEST(sink.receiver.stats().recovered == 0);
    BOOST_TEST(sink.receiver.stats().lost == 0);
}

BOOST_AUTO_TEST_CASE(up_to_three_losses_in_a_row_are_recovered_with_redundancy_3) {
    for (int lost = 1; lost <= 3; ++lost) {
        BOOST_TEST_CONTEXT("losing " << lost) {
            auto stream = send_stream(3, 12);
            Sink sink;
            for (int n = 0; n < 12; ++n)
                if (n < 5 || n >= 5 + lost) sink.take(stream[n]);
            BOOST_TEST(sink.seqs() == range(0, 11), boost::test_tools::per_element());
            BOOST_TEST(sink.contents_match_seqs());
            BOOST_TEST(sink.receiver.stats().recovered == lost);
            BOOST_TEST(sink.receiver.stats().lost == 0);
            BOOST_TEST(sink.receiver.stats().delivered == 12);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_fourth_loss_in_a_row_is_skipped) {
    auto stream = send_stream(3, 12);
    Sink sink;
    for (int n = 0; n < 12; ++n)
        if (n < 5 || n > 8) sink.take(stream[n]);
    std::vector<int> expected = range(0, 4);
    for (int n = 6; n <= 11; ++n) expected.push_back(n);  // 5 is gone, 6..8 recovered
    BOOST_TEST(sink.seqs() == expected, boost::test_tools::per_element());
    BOOST_TEST(sink.contents_match_seqs());
    BOOST_TEST(sink.receiver.stats().recovered == 3);
    BOOST_TEST(sink.receiver.stats().lost == 1);
}

BOOST_AUTO_TEST_CASE(nothing_is_recovered_without_redundancy) {
    auto stream = send_stream(0, 10);
    Sink sink;
    for (int n = 0; n < 10; ++n)
        if (n != 4) sink.take(stream[n]);
    std::vector<int> expected = {0, 1, 2, 3, 5, 6, 7, 8, 9};
    BOOST_TEST(sink.seqs() == expected, boost::test_tools::per_element());
    BOOST_TEST(sink.receiver.stats().recovered == 0);
    BOOST_TEST(sink.receiver.stats().lost == 1);
}

BOOST_AUTO_TEST_CASE(a_packet_overtaken_by_the_next_is_recovered_from_it) {
    auto stream = send_stream(1, 6);
    Sink sink;
    for (int n : {0, 1, 3, 2, 4, 5}) sink.take(stream[n]);
    BOOST_TEST(sink.seqs() == range(0, 5), boost::test_tools::per_element());
    BOOST_TEST(sink.contents_match_seqs());
    BOOST_TEST(sink.receiver.stats().recovered == 1);
    BOOST_TEST(sink.receiver.stats().duplicates == 1);  // 2, when it finally came
}

BOOST_AUTO_TEST_CASE(without_redundancy_an_overtaken_packet_is_lost_and_dropped_late) {
    auto stream = send_stream(0, 6);
    Sink sink;
    for (int n : {0, 1, 3, 2, 4, 5}) sink.take(stream[n]);
    std::vector<int> expected = {0, 1, 3, 4, 5};
    BOOST_TEST(sink.seqs() == expected, boost::test_tools::per_element());
    BOOST_TEST(sink.receiver.stats().lost == 1);
    BOOST_TEST(sink.receiver.stats().duplicates == 1);
}

BOOST_AUTO_TEST_CASE(duplicates_are_delivered_once) {
    auto stream = send_stream(2, 10);
    Sink sink;
    for (const auto& d : stream) {
        sink.take(d);
        sink.take(d);
    }
    sink.take(stream[3]);  // long after
    BOOST_TEST(sink.seqs() == range(0, 9), boost::test_tools::per_element());
    BOOST_TEST(sink.receiver.stats().duplicates == 11);
    BOOST_TEST(sink.receiver.stats().received == 21);
}

BOOST_AUTO_TEST_CASE(sequence_numbers_wrap_from_65535_to_0) {
    const int count = 65540;
    UdptlSender sender(2);
    Sink sink;
    for (int n = 0; n < count; ++n) {
        auto datagram = sender.wrap(ifp_for(n & 0xffff));
        if (n == 65535 || n == 65536) {  // the last before the wrap and the first after
            auto p = decode_udptl(datagram);
            BOOST_TEST_REQUIRE(p.has_value());
            BOOST_TEST(p->seq == (n & 0xffff));
            continue;
        }
        sink.take(datagram);
    }
    BOOST_TEST_REQUIRE(sink.delivered.size() == static_cast<std::size_t>(count));
    for (int n = 0; n < count; ++n) BOOST_TEST_REQUIRE(sink.delivered[n].seq == (n & 0xffff));
    BOOST_TEST(sink.contents_match_seqs());
    BOOST_TEST(sink.receiver.stats().recovered == 2);
    BOOST_TEST(sink.receiver.stats().restarts == 0);
}

BOOST_AUTO_TEST_CASE(a_first_packet_brings_the_lost_ones_before_it) {
    auto stream = send_stream(2, 4);
    Sink sink;
    sink.take(stream[2]);  // 0 and 1 never arrived
    sink.take(stream[3]);
    BOOST_TEST(sink.seqs() == range(0, 3), boost::test_tools::per_element());
    BOOST_TEST(sink.contents_match_seqs());
}

// Beyond t38_core's window of 2000 either way, a seq is the far end
// renumbering: it is followed, not dropped as old nor counted as 30000 losses.
BOOST_AUTO_TEST_CASE(a_far_jump_is_a_renumbering) {
    Sink sink;
    for (int seq : {40000, 40001, 10, 11, 12000, 12001})
        sink.take(encode_udptl({static_cast<std::uint16_t>(seq), ifp_for(seq), {}}));
    std::vector<int> expected = {40000, 40001, 10, 11, 12000, 12001};
    BOOST_TEST(sink.seqs() == expected, boost::test_tools::per_element());
    BOOST_TEST(sink.receiver.stats().restarts == 2);
    BOOST_TEST(sink.receiver.stats().lost == 0);
}

BOOST_AUTO_TEST_CASE(malformed_datagrams_are_counted_and_do_not_disturb_the_stream) {
    auto stream = send_stream(1, 4);
    Sink sink;
    sink.take(stream[0]);
    sink.take(Bytes{0xff, 0xff, 0xc0});
    sink.take(stream[1]);
    sink.take(Bytes{});
    sink.take(stream[2]);
    sink.take(stream[3]);
    BOOST_TEST(sink.seqs() == range(0, 3), boost::test_tools::per_element());
    BOOST_TEST(sink.receiver.stats().malformed == 2);
}

BOOST_AUTO_TEST_SUITE_END()
