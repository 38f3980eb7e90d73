// AudioSocket's framing (Asterisk's res_audiosocket): a kind byte, a 16-bit
// big-endian payload length, the payload. Asterisk sends the call's UUID
// (16 bytes) first, then 8 kHz signed-linear audio; it takes only audio
// and hangup messages back.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace faxgw::audiosocket {

constexpr std::uint8_t kind_hangup = 0x00;
constexpr std::uint8_t kind_uuid = 0x01;
constexpr std::uint8_t kind_dtmf = 0x03;
constexpr std::uint8_t kind_audio = 0x10;
constexpr std::uint8_t kind_error = 0xff;

struct Message {
    std::uint8_t kind = 0;
    std::vector<std::uint8_t> payload;
};

// Cuts a byte stream into messages, however TCP splits it.
class MessageReader {
public:
    std::vector<Message> feed(std::span<const std::uint8_t> bytes) {
        pending_.insert(pending_.end(), bytes.begin(), bytes.end());
        std::vector<Message> done;
        std::size_t at = 0;
        while (pending_.size() - at >= 3) {
            const std::size_t length = (pending_[at + 1] << 8) | pending_[at + 2];
            if (pending_.size() - at - 3 < length) break;
            auto first = pending_.begin() + static_cast<std::ptrdiff_t>(at + 3);
            done.push_back({pending_[at], {first, first + static_cast<std::ptrdiff_t>(length)}});
            at += 3 + length;
        }
        pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(at));
        return done;
    }

private:
    std::vector<std::uint8_t> pending_;
};

// A whole audio message, header and payload, for one write: older Asterisk
// versions corrupt a header that arrives split across reads.
inline std::string audio_message(std::span<const std::int16_t> samples) {
    const std::size_t bytes = samples.size() * 2;
    std::string m;
    m.reserve(3 + bytes);
    m += static_cast<char>(kind_audio);
    m += static_cast<char>(bytes >> 8);
    m += static_cast<char>(bytes & 0xff);
    for (std::int16_t s : samples) {
        const auto u = static_cast<std::uint16_t>(s);
        m += static_cast<char>(u & 0xff);  // little-endian, as Asterisk's slin
        m += static_cast<char>(u >> 8);
    }
    return m;
}

// The canonical lower-case text of a 16-byte UUID.
inline std::string uuid_text(const std::uint8_t* bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
        s += hex[bytes[i] >> 4];
        s += hex[bytes[i] & 0x0f];
    }
    return s;
}

}  // namespace faxgw::audiosocket
