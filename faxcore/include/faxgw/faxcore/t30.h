// The T.30 engine: one fax party (a calling or answering terminal) of one
// call, over 8 kHz audio (spandsp's fax_state_t, for G.711 lines and the
// simulated network) or over T.38 IFP packets (t38_terminal_state_t).
// Whoever carries the call (the simulated network's back-to-back loop, a SIP
// line's RTP or UDPTL streams) feeds it and takes its output on a sample
// clock: 160 samples (20 ms) at a time, never by sleep().
//
// It reports in T.30's own terms (completion code, pages, rate, ECM,
// compression, remote station ID); the outcome table (outcome_of_t30)
// turns that into the scheduler's outcomes. No spandsp type appears here.
#pragma once

#include <faxgw/faxcore.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace faxgw::faxcore {

constexpr int fax_sample_rate = 8000;
constexpr int fax_block = 160;  // 20 ms, the block size spandsp is tuned for

struct SendSpec {
    std::filesystem::path tiff;
    int first_page = 1;  // 1-based, inclusive
    int last_page = 0;   // 1-based, inclusive; 0 = to the end
    std::string ident;   // our station ID (TSI), at most 20 characters
    // The same pages at most 1728 pixels wide (Submission::narrow_document):
    // sent instead of `tiff` when the receiver's DIS does not offer 255 mm
    // paper. Empty: `tiff` goes to every receiver.
    std::filesystem::path narrow_tiff = {};
};

struct ReceiveSpec {
    std::filesystem::path tiff;  // where the received pages are written
    std::string ident;           // the answering station's ID (CSID)
    int hangup_after_pages = 0;  // drop the call once this many pages are confirmed; 0 = never
    bool accepts_b4 = true;      // offers 255 mm (2048-pixel) pages besides 215 mm
};

// What a line may change per call, e.g. from a destination's retry ladder.
struct ModemOptions {
    int max_bit_rate = 14400;  // 14400 (V.17), 9600 (V.29) or 4800 (V.27ter)
    bool ecm = true;
};

// Called each time the far end confirms another page (sender) or a page
// is written (receiver); the argument counts pages of this call.
using PageConfirmed = std::function<void(int pages)>;

// What one party saw of its call.
struct PartyReport {
    bool ended = false;        // T.30 reached phase E
    int completion_code = -1;  // T.30 completion code (0 = OK); -1 before the end
    std::string completion_text;
    int pages_confirmed = 0;  // sender: pages acknowledged with MCF
    int pages_received = 0;   // receiver: pages written
    int bit_rate = 0;
    bool ecm = false;
    std::string compression;   // "T.4 1-D", "T.4 2-D", "T.6"
    std::string remote_ident;  // the far end's TSI or CSID
    bool sent_narrow = false;  // the receiver offered no B4: the narrow copy went
    // The T.30 exchange as it happened, one line per frame and phase
    // ("   1.234 <- DIS 00 c6 ..."), for diagnosing a failed call.
    std::vector<std::string> trace;
};

// Hands one IFP packet to the T.38 transport; `repeat` is how many times
// spandsp asks for it to be sent (its own redundancy for indicators).
using IfpSender = std::function<void(std::span<const std::uint8_t> ifp, int repeat)>;

class FaxParty {
public:
    enum class Role { calling, answering };
    enum class Medium { audio, t38 };

    // A sender (send is set) or a receiver (receive is set).
    struct Spec {
        Role role = Role::calling;
        std::string ident;
        const SendSpec* send = nullptr;
        const ReceiveSpec* receive = nullptr;
        ModemOptions modem;
        PageConfirmed on_page;
    };
    static std::unique_ptr<FaxParty> audio(const Spec& spec);
    // `paced`: spandsp spaces its packets in line time (real calls); false
    // sends as fast as the peer takes them (back-to-back tests).
    static std::unique_ptr<FaxParty> t38(const Spec& spec, IfpSender send, bool paced = true);
    virtual ~FaxParty() = default;

    virtual Medium medium() const = 0;
    // Audio: the next block of line audio out, and the far end's audio in.
    // Missing samples (lost packets) are passed as silence.
    virtual void tx_audio(std::span<std::int16_t> out) = 0;
    virtual void rx_audio(std::span<const std::int16_t> in) = 0;
    // T.38: an IFP packet from the far end, with its sequence number.
    virtual void rx_ifp(std::span<const std::uint8_t> ifp, std::uint16_t seq) = 0;
    // T.38: line time passes (spandsp sends what is due).
    virtual void advance(int samples) = 0;

    // Ends T.30 at once (the call dropped or we hang up).
    virtual void terminate() = 0;
    virtual bool ended() const = 0;
    // Counts T.30 events (frames, phases): the watchdog's notion of progress.
    virtual long progress() const = 0;
    virtual PartyReport report() = 0;
};

// The outcome table's reading of a T.30 completion code (outcome.cc).
Outcome outcome_of_t30(int completion_code);

// Every call needs a watchdog: a far end that goes quiet, noise on the line
// or a broken modem would otherwise keep a line forever. Counts line time
// in samples and hears progress from the parties' event counters.
class CallWatch {
public:
    CallWatch(double watchdog_seconds, double max_call_seconds);
    // Line time passed; `progress` is the parties' event count now.
    void tick(int samples, long progress);
    bool expired() const { return watchdog_fired() || too_long(); }
    bool watchdog_fired() const;
    bool too_long() const;
    long samples() const { return samples_; }
    double seconds() const { return static_cast<double>(samples_) / fax_sample_rate; }
    std::string reason() const;  // why it expired, for Attempt::detail

private:
    long watchdog_, max_samples_;
    long samples_ = 0, last_progress_at_ = 0, last_progress_ = -1;
    double watchdog_seconds_, max_call_seconds_;
};

}  // namespace faxgw::faxcore
