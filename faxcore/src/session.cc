// Two spandsp fax terminals back to back. Each owns its fax_state_t (RAII);
// the T.30 callbacks are static trampolines with `this` as user data and
// never let an exception cross into C.
#include "session.h"

#include <spandsp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <thread>

namespace faxgw::faxcore {
namespace {

constexpr int sample_rate = 8000;
constexpr int block = 160;  // 20 ms, the block size spandsp is tuned for

enum class Role { calling, answering };

std::string compression_name(int encoding) {
    switch (encoding) {
        case T4_COMPRESSION_ITU_T4_1D:
            return "T.4 1-D";
        case T4_COMPRESSION_ITU_T4_2D:
            return "T.4 2-D";
        case T4_COMPRESSION_ITU_T6:
            return "T.6";
        default:
            return encoding ? "other" : "";
    }
}

// Paper a terminal offers: every length, and widths up to B4 (255 mm) when
// it takes B4. A sender must list the width of what it sends as well.
int image_sizes(bool b4) {
    return T30_SUPPORT_215MM_WIDTH | (b4 ? T30_SUPPORT_255MM_WIDTH : 0) | T30_SUPPORT_A4_LENGTH |
           T30_SUPPORT_B4_LENGTH | T30_SUPPORT_US_LETTER_LENGTH | T30_SUPPORT_US_LEGAL_LENGTH |
           T30_SUPPORT_UNLIMITED_LENGTH;
}

// Whether a DIS frame (address, control, FCF, then the DIS bits) offers
// 255 mm or wider paper: T.30 DIS bits 17 and 18, the low two bits of the
// third byte of the DIS bits (00 = 215 mm only).
bool dis_offers_b4(const uint8_t* frame, int len) { return len > 5 && (frame[5] & 0x03) != 0; }

class FaxTerminal {
public:
    FaxTerminal(Role role, const std::string& ident, bool b4 = true)
        : fax_(fax_init(nullptr, role == Role::calling)) {
        if (!fax_) throw std::runtime_error("spandsp: fax_init failed");
        t30_ = fax_get_t30_state(fax_);
        fax_set_transmit_on_idle(fax_, 1);
        span_log_set_level(fax_get_logging_state(fax_), SPAN_LOG_NONE);
        span_log_set_level(t30_get_logging_state(t30_), SPAN_LOG_NONE);
        t30_set_tx_ident(t30_, ident.substr(0, 20).c_str());
        t30_set_supported_modems(t30_, T30_SUPPORT_V27TER | T30_SUPPORT_V29 | T30_SUPPORT_V17);
        t30_set_supported_compressions(t30_, T30_SUPPORT_T4_1D_COMPRESSION |
                                                 T30_SUPPORT_T4_2D_COMPRESSION |
                                                 T30_SUPPORT_T6_COMPRESSION);
        t30_set_supported_resolutions(t30_, T30_SUPPORT_STANDARD_RESOLUTION |
                                                T30_SUPPORT_FINE_RESOLUTION |
                                                T30_SUPPORT_SUPERFINE_RESOLUTION);
        t30_set_supported_image_sizes(t30_, image_sizes(b4));
        t30_set_ecm_capability(t30_, 1);
        t30_set_phase_b_handler(t30_, &FaxTerminal::on_phase_b, this);
        t30_set_phase_d_handler(t30_, &FaxTerminal::on_phase_d, this);
        t30_set_phase_e_handler(t30_, &FaxTerminal::on_phase_e, this);
        t30_set_real_time_frame_handler(t30_, &FaxTerminal::on_frame, this);
    }
    ~FaxTerminal() { fax_free(fax_); }
    FaxTerminal(const FaxTerminal&) = delete;
    FaxTerminal& operator=(const FaxTerminal&) = delete;

    t30_state_t* t30() { return t30_; }
    fax_state_t* fax() { return fax_; }

    bool ended = false;
    int completion_code = -1;
    int pages_confirmed = 0;  // sender: pages acknowledged with MCF
    int pages_received = 0;   // receiver: pages written
    long progress_events = 0;
    std::function<void(FaxTerminal&)> on_page;
    // Sender of a wide document: what to send instead when the receiver's
    // first DIS offers only 215 mm paper, and which pages of it.
    struct NarrowCopy {
        std::string tiff;
        int start = -1, stop = -1;
    } narrow;
    bool far_offers_b4 = true;  // from the last DIS heard
    bool sent_narrow = false;

    t30_stats_t stats() {
        t30_stats_t st{};
        t30_get_transfer_statistics(t30_, &st);
        return st;
    }

private:
    // Every HDLC frame is progress: control frames, and in ECM every 256-byte
    // block of image data, so the watchdog never cuts a long page under ECM.
    static void on_frame(t30_state_t*, void* user, int incoming, const uint8_t* frame, int len) {
        auto* self = static_cast<FaxTerminal*>(user);
        self->progress_events++;
        if (incoming && len > 2 && (frame[2] & 0xFE) == T30_DIS)
            self->far_offers_b4 = dis_offers_b4(frame, len);
    }
    // spandsp opens the file to send only after phase B starts (the DIS is
    // in), so the file can still be swapped here. Only before the first
    // page: a later DIS (after a change of resolution) must not restart
    // the document.
    static int on_phase_b(t30_state_t* t30, void* user, int) {
        auto* self = static_cast<FaxTerminal*>(user);
        self->progress_events++;
        if (!self->narrow.tiff.empty() && !self->far_offers_b4 && self->pages_confirmed == 0 &&
            !self->sent_narrow) {
            t30_set_tx_file(t30, self->narrow.tiff.c_str(), self->narrow.start, self->narrow.stop);
            self->sent_narrow = true;
        }
        return T30_ERR_OK;
    }
    static int on_phase_d(t30_state_t*, void* user, int) {
        auto* self = static_cast<FaxTerminal*>(user);
        try {
            self->progress_events++;
            auto st = self->stats();
            self->pages_confirmed = st.pages_tx;
            self->pages_received = st.pages_rx;
            if (self->on_page) self->on_page(*self);
        } catch (...) {
            // Progress reporting failed (e.g. the queue is busy); the call's
            // outcome is still recorded at its end, so keep the call going.
        }
        return T30_ERR_OK;
    }
    static void on_phase_e(t30_state_t*, void* user, int completion_code) {
        auto* self = static_cast<FaxTerminal*>(user);
        self->progress_events++;
        self->ended = true;
        self->completion_code = completion_code;
        auto st = self->stats();
        self->pages_confirmed = st.pages_tx;
        self->pages_received = st.pages_rx;
    }

    fax_state_t* fax_;
    t30_state_t* t30_;
};

Outcome classify(int code) {
    switch (code) {
        case T30_ERR_OK:
            return Outcome::ok;
        case T30_ERR_CALLDROPPED:
            return Outcome::hangup;
        case T30_ERR_INCOMPATIBLE:
        case T30_ERR_RX_INCAPABLE:
        case T30_ERR_NORESSUPPORT:
        case T30_ERR_NOSIZESUPPORT:
            return Outcome::incompatible;
        case T30_ERR_FILEERROR:
        case T30_ERR_NOPAGE:
        case T30_ERR_BADTIFF:
        case T30_ERR_BADPAGE:
        case T30_ERR_BADTAG:
        case T30_ERR_BADTIFFHDR:
            return Outcome::bad_document;
        default:
            return Outcome::protocol_error;
    }
}

// Keeps simulated time from running ahead of wall time × speed.
class Pacer {
public:
    explicit Pacer(double speed) : speed_(speed), start_(std::chrono::steady_clock::now()) {}
    void wait_for(long samples) const {
        if (speed_ <= 0) return;
        auto due = start_ + std::chrono::duration<double>(samples / (sample_rate * speed_));
        std::this_thread::sleep_until(due);
    }

private:
    double speed_;
    std::chrono::steady_clock::time_point start_;
};

// Exchanges one 20 ms block of audio in both directions.
void exchange_block(FaxTerminal& a, FaxTerminal& b) {
    std::array<int16_t, block> a_out{}, b_out{};
    int na = fax_tx(a.fax(), a_out.data(), block);
    int nb = fax_tx(b.fax(), b_out.data(), block);
    std::fill(a_out.begin() + na, a_out.end(), 0);
    std::fill(b_out.begin() + nb, b_out.end(), 0);
    fax_rx(b.fax(), a_out.data(), block);
    fax_rx(a.fax(), b_out.data(), block);
}

void fill_report(CallReport& r, FaxTerminal& sender, FaxTerminal& receiver, long samples) {
    auto st = sender.stats();
    r.line_seconds = static_cast<double>(samples) / sample_rate;
    r.pages_confirmed = sender.pages_confirmed;
    r.pages_received = receiver.pages_received;
    r.bit_rate = st.bit_rate;
    r.ecm = st.error_correcting_mode != 0;
    r.compression = compression_name(st.encoding);
    if (const char* id = t30_get_rx_ident(sender.t30())) r.remote_csid = id;
    if (const char* id = t30_get_rx_ident(receiver.t30())) r.caller_tsi = id;
    r.receiver_complete = receiver.ended && receiver.completion_code == T30_ERR_OK;
    r.sent_narrow = sender.sent_narrow;
}

}  // namespace

CallReport run_back_to_back_call(const SendSpec& send, const ReceiveSpec& receive,
                                 const CallLimits& limits, const PageConfirmed& on_page) {
    FaxTerminal sender(Role::calling, send.ident);
    FaxTerminal receiver(Role::answering, receive.ident, receive.accepts_b4);
    // spandsp counts pages from 0 and takes -1 for "to the end".
    const int start = send.first_page - 1, stop = send.last_page > 0 ? send.last_page - 1 : -1;
    t30_set_tx_file(sender.t30(), send.tiff.c_str(), start, stop);
    if (!send.narrow_tiff.empty()) sender.narrow = {send.narrow_tiff.string(), start, stop};
    t30_set_rx_file(receiver.t30(), receive.tiff.c_str(), -1);
    t30_set_rx_encoding(receiver.t30(), T4_COMPRESSION_ITU_T6);  // ~17 % smaller files
    sender.on_page = [&](FaxTerminal& t) {
        if (on_page) on_page(t.pages_confirmed);
    };

    CallReport report;
    const long watchdog = static_cast<long>(limits.watchdog_seconds * sample_rate);
    const long max_samples = static_cast<long>(limits.max_call_seconds * sample_rate);
    Pacer pacer(limits.speed);
    long samples = 0, last_progress_at = 0, last_events = 0;
    bool hung_up = false, watchdog_fired = false;
    // After one side ends, give the other a few seconds to hear the DCN.
    long first_end_at = -1;
    while (samples < max_samples) {
        exchange_block(sender, receiver);
        samples += block;
        long events = sender.progress_events + receiver.progress_events;
        if (events != last_events) last_events = events, last_progress_at = samples;
        if ((sender.ended || receiver.ended) && first_end_at < 0) first_end_at = samples;
        if (sender.ended && receiver.ended) break;
        if (first_end_at >= 0 && samples - first_end_at > 5 * sample_rate) break;
        if (receive.hangup_after_pages > 0 && !hung_up &&
            sender.pages_confirmed >= receive.hangup_after_pages) {
            hung_up = true;
            t30_terminate(receiver.t30());
            t30_terminate(sender.t30());
            break;
        }
        if (samples - last_progress_at > watchdog) {
            watchdog_fired = true;
            break;
        }
        if ((samples & 0x3fff) == 0) pacer.wait_for(samples);
    }
    if (!sender.ended) t30_terminate(sender.t30());
    if (!receiver.ended) t30_terminate(receiver.t30());

    fill_report(report, sender, receiver, samples);
    report.t30_code = sender.completion_code;
    report.t30_text = t30_completion_code_to_str(sender.completion_code);
    if (watchdog_fired) {
        report.outcome = Outcome::watchdog;
        report.detail =
            "no T.30 progress for " + std::to_string(int(limits.watchdog_seconds)) + " s";
    } else if (samples >= max_samples) {
        report.outcome = Outcome::watchdog;
        report.detail = "call longer than " + std::to_string(int(limits.max_call_seconds)) + " s";
    } else if (hung_up) {
        report.outcome = Outcome::hangup;
        report.detail = "far end hung up after page " + std::to_string(receiver.pages_received);
    } else {
        // The scheduler, which knows the document, decides whether "OK"
        // covered every page.
        report.outcome = classify(sender.completion_code);
        if (report.sent_narrow)
            report.detail = "receiver takes no B4 paper: sent the pages 215 mm wide";
    }
    return report;
}

}  // namespace faxgw::faxcore
