// The T.30 engine over spandsp. Each party owns its spandsp state (RAII);
// the T.30 callbacks are static trampolines with `this` as user data and
// never let an exception cross into C. Audio and T.38 parties share one
// T.30 set-up and one set of callbacks (T30Callbacks); they differ only in
// how line signals reach spandsp.
#include <faxgw/faxcore/t30.h>
#include <spandsp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace faxgw::faxcore {
namespace {

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

// The modems up to a bit rate: a retry ladder steps 14400 -> 9600 when a
// far end trains badly at V.17.
int modems_up_to(int max_bit_rate) {
    int m = T30_SUPPORT_V27TER;
    if (max_bit_rate >= 9600) m |= T30_SUPPORT_V29;
    if (max_bit_rate >= 14400) m |= T30_SUPPORT_V17;
    return m;
}

// Whether a DIS frame (address, control, FCF, then the DIS bits) offers
// 255 mm or wider paper: T.30 DIS bits 17 and 18, the low two bits of the
// third byte of the DIS bits (00 = 215 mm only).
bool dis_offers_b4(const uint8_t* frame, int len) { return len > 5 && (frame[5] & 0x03) != 0; }

// T.30 set-up and callbacks, the same whichever medium carries the call.
class T30Callbacks {
public:
    void attach(t30_state_t* t30, const FaxParty::Spec& spec) {
        t30_ = t30;
        on_page_ = spec.on_page;
        sending_ = spec.send != nullptr;
        t30_set_tx_ident(t30, spec.ident.substr(0, 20).c_str());
        t30_set_supported_modems(t30, modems_up_to(spec.modem.max_bit_rate));
        t30_set_supported_compressions(t30, T30_SUPPORT_T4_1D_COMPRESSION |
                                                T30_SUPPORT_T4_2D_COMPRESSION |
                                                T30_SUPPORT_T6_COMPRESSION);
        t30_set_supported_resolutions(t30, T30_SUPPORT_STANDARD_RESOLUTION |
                                               T30_SUPPORT_FINE_RESOLUTION |
                                               T30_SUPPORT_SUPERFINE_RESOLUTION);
        t30_set_supported_image_sizes(t30, image_sizes(!spec.receive || spec.receive->accepts_b4));
        t30_set_ecm_capability(t30, spec.modem.ecm ? 1 : 0);
        t30_set_phase_b_handler(t30, &T30Callbacks::on_phase_b, this);
        t30_set_phase_d_handler(t30, &T30Callbacks::on_phase_d, this);
        t30_set_phase_e_handler(t30, &T30Callbacks::on_phase_e, this);
        t30_set_real_time_frame_handler(t30, &T30Callbacks::on_frame, this);
        started_ = std::chrono::steady_clock::now();
        span_log_set_level(t30_get_logging_state(t30), SPAN_LOG_NONE);
        if (spec.send) set_document(*spec.send);
        if (spec.receive) {
            t30_set_rx_file(t30, spec.receive->tiff.c_str(), -1);
            t30_set_rx_encoding(t30, T4_COMPRESSION_ITU_T6);  // ~17 % smaller files
        }
    }

    PartyReport report() {
        PartyReport r;
        t30_stats_t st{};
        t30_get_transfer_statistics(t30_, &st);
        r.ended = ended_;
        r.completion_code = completion_code_;
        if (ended_) r.completion_text = t30_completion_code_to_str(completion_code_);
        r.pages_confirmed = sending_ ? std::max(pages_confirmed_, st.pages_tx) : 0;
        r.pages_received = sending_ ? 0 : std::max(pages_received_, st.pages_rx);
        r.bit_rate = st.bit_rate;
        r.ecm = st.error_correcting_mode != 0;
        r.compression = compression_name(st.encoding);
        if (const char* id = t30_get_rx_ident(t30_)) r.remote_ident = id;
        r.sent_narrow = sent_narrow_;
        r.trace = trace_;  // report() is asked for during the call too: the run stays open
        if (run_count_ > 0) r.trace.push_back(run_name_ + " x" + std::to_string(run_count_));
        return r;
    }

    void terminate() {
        if (!ended_) t30_terminate(t30_);
    }
    bool ended() const { return ended_; }
    long progress() const { return progress_; }

private:
    void set_document(const SendSpec& send) {
        // spandsp counts pages from 0 and takes -1 for "to the end".
        start_ = send.first_page - 1;
        stop_ = send.last_page > 0 ? send.last_page - 1 : -1;
        t30_set_tx_file(t30_, send.tiff.c_str(), start_, stop_);
        narrow_tiff_ = send.narrow_tiff.string();
    }

    // Every HDLC frame is progress: control frames, and in ECM every 256-byte
    // block of image data, so the watchdog never cuts a long page under ECM.
    // One line of the trace: seconds since the call's T.30 began, then what.
    void trace(const std::string& what) {
        if (trace_.size() >= max_trace_lines) return;  // a runaway call's tail is not news
        const std::chrono::duration<double> t = std::chrono::steady_clock::now() - started_;
        char stamp[16];
        std::snprintf(stamp, sizeof stamp, "%8.3f ", t.count());
        trace_.push_back(stamp + what);
    }
    static constexpr std::size_t max_trace_lines = 2000;

    // A frame in the trace, with its first bytes. ECM's picture frames (FCD)
    // and their end marks (RCP) come by the hundred per page: a run of them
    // is one line with its count.
    void trace_frame(bool incoming, const uint8_t* frame, int len) {
        const std::string type = t30_frametype(frame[2]);
        const std::string name = (incoming ? "<- " : "-> ") + type;
        const bool picture = type == "FCD" || type == "RCP";
        if (picture && name == run_name_) {
            ++run_count_;
            return;
        }
        end_frame_run();
        if (picture) {
            run_name_ = name;
            run_count_ = 1;
            return;
        }
        std::string line = name;
        char byte[4];
        for (int i = 3; i < len && i < 3 + 24; ++i) {
            std::snprintf(byte, sizeof byte, " %02x", frame[i]);
            line += byte;
        }
        if (len > 3 + 24) line += " ...";
        trace(line);
    }
    void end_frame_run() {
        if (run_count_ > 0) trace(run_name_ + " x" + std::to_string(run_count_));
        run_name_.clear();
        run_count_ = 0;
    }
    std::string run_name_;
    int run_count_ = 0;

    static void on_frame(t30_state_t*, void* user, int incoming, const uint8_t* frame, int len) {
        auto* self = static_cast<T30Callbacks*>(user);
        self->progress_++;
        if (len > 2) self->trace_frame(incoming != 0, frame, len);
        if (incoming && len > 2 && (frame[2] & 0xFE) == T30_DIS)
            self->far_offers_b4_ = dis_offers_b4(frame, len);
    }
    // spandsp opens the file to send only after phase B starts (the DIS is
    // in), so the file can still be swapped here. Only before the first
    // page: a later DIS (after a change of resolution) must not restart
    // the document.
    static int on_phase_b(t30_state_t* t30, void* user, int) {
        auto* self = static_cast<T30Callbacks*>(user);
        self->progress_++;
        self->end_frame_run();
        self->trace("phase B");
        if (!self->narrow_tiff_.empty() && !self->far_offers_b4_ && self->pages_confirmed_ == 0 &&
            !self->sent_narrow_) {
            t30_set_tx_file(t30, self->narrow_tiff_.c_str(), self->start_, self->stop_);
            self->sent_narrow_ = true;
        }
        return T30_ERR_OK;
    }
    static int on_phase_d(t30_state_t* t30, void* user, int) {
        auto* self = static_cast<T30Callbacks*>(user);
        try {
            self->progress_++;
            t30_stats_t st{};
            t30_get_transfer_statistics(t30, &st);
            self->pages_confirmed_ = st.pages_tx;
            self->pages_received_ = st.pages_rx;
            self->end_frame_run();
            self->trace("phase D: " + std::to_string(st.pages_tx) + " page(s) sent, " +
                        std::to_string(st.pages_rx) + " received, " + std::to_string(st.bit_rate) +
                        " bit/s");
            if (self->on_page_)
                self->on_page_(self->sending_ ? self->pages_confirmed_ : self->pages_received_);
        } catch (...) {
            // Progress reporting failed (e.g. the queue is busy); the call's
            // outcome is still recorded at its end, so keep the call going.
        }
        return T30_ERR_OK;
    }
    static void on_phase_e(t30_state_t* t30, void* user, int completion_code) {
        auto* self = static_cast<T30Callbacks*>(user);
        self->progress_++;
        self->ended_ = true;
        self->completion_code_ = completion_code;
        self->end_frame_run();
        self->trace("phase E: " + std::string(t30_completion_code_to_str(completion_code)) + " (" +
                    std::to_string(completion_code) + ")");
        t30_stats_t st{};
        t30_get_transfer_statistics(t30, &st);
        self->pages_confirmed_ = st.pages_tx;
        self->pages_received_ = st.pages_rx;
    }

    t30_state_t* t30_ = nullptr;
    PageConfirmed on_page_;
    bool sending_ = false;
    bool ended_ = false;
    int completion_code_ = -1;
    int pages_confirmed_ = 0, pages_received_ = 0;
    long progress_ = 0;
    // Sender of a wide document: what to send instead when the receiver's
    // first DIS offers only 215 mm paper, and which pages of it.
    std::string narrow_tiff_;
    int start_ = 0, stop_ = -1;
    bool far_offers_b4_ = true;  // from the last DIS heard
    bool sent_narrow_ = false;
    std::chrono::steady_clock::time_point started_;
    std::vector<std::string> trace_;
};

void check_spec(const FaxParty::Spec& spec) {
    if ((spec.send != nullptr) == (spec.receive != nullptr))
        throw std::invalid_argument("a fax party either sends or receives");
}

class AudioParty final : public FaxParty {
public:
    explicit AudioParty(const Spec& spec)
        : fax_(fax_init(nullptr, spec.role == Role::calling ? 1 : 0)) {
        if (!fax_) throw std::runtime_error("spandsp: fax_init failed");
        fax_set_transmit_on_idle(fax_, 1);
        span_log_set_level(fax_get_logging_state(fax_), SPAN_LOG_NONE);
        t30_.attach(fax_get_t30_state(fax_), spec);
    }
    ~AudioParty() override { fax_free(fax_); }
    AudioParty(const AudioParty&) = delete;
    AudioParty& operator=(const AudioParty&) = delete;

    Medium medium() const override { return Medium::audio; }
    void tx_audio(std::span<std::int16_t> out) override {
        int n = fax_tx(fax_, out.data(), static_cast<int>(out.size()));
        std::fill(out.begin() + std::max(0, n), out.end(), 0);
    }
    void rx_audio(std::span<const std::int16_t> in) override {
        // spandsp takes a non-const buffer but does not write it.
        fax_rx(fax_, const_cast<std::int16_t*>(in.data()), static_cast<int>(in.size()));
    }
    void rx_ifp(std::span<const std::uint8_t>, std::uint16_t) override {}
    void advance(int) override {}
    void terminate() override { t30_.terminate(); }
    bool ended() const override { return t30_.ended(); }
    long progress() const override { return t30_.progress(); }
    PartyReport report() override { return t30_.report(); }

private:
    fax_state_t* fax_;
    T30Callbacks t30_;
};

class T38Party final : public FaxParty {
public:
    T38Party(const Spec& spec, IfpSender send, bool paced)
        : send_(std::move(send)),
          t38_(t38_terminal_init(nullptr, spec.role == Role::calling ? 1 : 0, &T38Party::on_packet,
                                 this)) {
        if (!t38_) throw std::runtime_error("spandsp: t38_terminal_init failed");
        if (!paced) t38_terminal_set_config(t38_, T38_TERMINAL_OPTION_NO_PACING);
        span_log_set_level(t38_terminal_get_logging_state(t38_), SPAN_LOG_NONE);
        span_log_set_level(t38_core_get_logging_state(t38_terminal_get_t38_core_state(t38_)),
                           SPAN_LOG_NONE);
        t30_.attach(t38_terminal_get_t30_state(t38_), spec);
    }
    ~T38Party() override { t38_terminal_free(t38_); }
    T38Party(const T38Party&) = delete;
    T38Party& operator=(const T38Party&) = delete;

    Medium medium() const override { return Medium::t38; }
    void tx_audio(std::span<std::int16_t> out) override { std::fill(out.begin(), out.end(), 0); }
    void rx_audio(std::span<const std::int16_t>) override {}
    void rx_ifp(std::span<const std::uint8_t> ifp, std::uint16_t seq) override {
        t38_core_rx_ifp_packet(t38_terminal_get_t38_core_state(t38_), ifp.data(),
                               static_cast<int>(ifp.size()), seq);
    }
    void advance(int samples) override { t38_terminal_send_timeout(t38_, samples); }
    void terminate() override { t30_.terminate(); }
    bool ended() const override { return t30_.ended(); }
    long progress() const override { return t30_.progress(); }
    PartyReport report() override { return t30_.report(); }

private:
    static int on_packet(t38_core_state_t*, void* user, const uint8_t* buf, int len, int count) {
        auto* self = static_cast<T38Party*>(user);
        try {
            if (self->send_) self->send_({buf, static_cast<std::size_t>(len)}, count);
        } catch (...) {
            // A packet the transport could not send is a lost packet: T.30
            // and the far end's redundancy handling deal with it.
        }
        return 0;
    }

    IfpSender send_;
    t38_terminal_state_t* t38_;
    T30Callbacks t30_;
};

}  // namespace

std::unique_ptr<FaxParty> FaxParty::audio(const Spec& spec) {
    check_spec(spec);
    return std::make_unique<AudioParty>(spec);
}

std::unique_ptr<FaxParty> FaxParty::t38(const Spec& spec, IfpSender send, bool paced) {
    check_spec(spec);
    return std::make_unique<T38Party>(spec, std::move(send), paced);
}

CallWatch::CallWatch(double watchdog_seconds, double max_call_seconds)
    : watchdog_(static_cast<long>(watchdog_seconds * fax_sample_rate)),
      max_samples_(static_cast<long>(max_call_seconds * fax_sample_rate)),
      watchdog_seconds_(watchdog_seconds),
      max_call_seconds_(max_call_seconds) {}

void CallWatch::tick(int samples, long progress) {
    samples_ += samples;
    if (progress != last_progress_) last_progress_ = progress, last_progress_at_ = samples_;
}

bool CallWatch::watchdog_fired() const { return samples_ - last_progress_at_ > watchdog_; }
bool CallWatch::too_long() const { return samples_ >= max_samples_; }

std::string CallWatch::reason() const {
    if (watchdog_fired())
        return "no T.30 progress for " + std::to_string(static_cast<int>(watchdog_seconds_)) + " s";
    if (too_long())
        return "call longer than " + std::to_string(static_cast<int>(max_call_seconds_)) + " s";
    return {};
}

}  // namespace faxgw::faxcore
