// Two fax parties back to back: audio blocks exchanged both ways, or IFP
// packets handed over through queues (a party's packet is delivered after
// its own step, never from inside spandsp's send callback).
#include "session.h"

#include <array>
#include <chrono>
#include <deque>
#include <thread>
#include <vector>

namespace faxgw::faxcore {
namespace {

// Keeps simulated time from running ahead of wall time × speed.
class Pacer {
public:
    explicit Pacer(double speed) : speed_(speed), start_(std::chrono::steady_clock::now()) {}
    void wait_for(long samples) const {
        if (speed_ <= 0) return;
        auto due = start_ + std::chrono::duration<double>(samples / (fax_sample_rate * speed_));
        std::this_thread::sleep_until(due);
    }

private:
    double speed_;
    std::chrono::steady_clock::time_point start_;
};

// IFP packets one party sent, waiting for the other.
struct IfpQueue {
    std::deque<std::pair<std::vector<std::uint8_t>, std::uint16_t>> packets;
    std::uint16_t next_seq = 0;
    IfpSender sender() {
        return [this](std::span<const std::uint8_t> ifp, int) {
            packets.emplace_back(std::vector<std::uint8_t>(ifp.begin(), ifp.end()), next_seq++);
        };
    }
    void deliver_to(FaxParty& party) {
        while (!packets.empty()) {
            auto [ifp, seq] = std::move(packets.front());
            packets.pop_front();
            party.rx_ifp(ifp, seq);
        }
    }
};

// One 20 ms step of line time in both directions.
class Wire {
public:
    explicit Wire(FaxParty::Medium medium) : medium_(medium) {}
    IfpSender a_sender() { return a_to_b_.sender(); }
    IfpSender b_sender() { return b_to_a_.sender(); }
    void step(FaxParty& a, FaxParty& b) {
        if (medium_ == FaxParty::Medium::audio) {
            std::array<std::int16_t, fax_block> a_out{}, b_out{};
            a.tx_audio(a_out);
            b.tx_audio(b_out);
            b.rx_audio(a_out);
            a.rx_audio(b_out);
        } else {
            a.advance(fax_block);
            b.advance(fax_block);
            a_to_b_.deliver_to(b);
            b_to_a_.deliver_to(a);
        }
    }

private:
    FaxParty::Medium medium_;
    IfpQueue a_to_b_, b_to_a_;
};

std::unique_ptr<FaxParty> make_party(FaxParty::Medium medium, const FaxParty::Spec& spec,
                                     IfpSender send) {
    // Back to back, T.38 packets need no pacing: the wire has no rate.
    return medium == FaxParty::Medium::audio ? FaxParty::audio(spec)
                                             : FaxParty::t38(spec, std::move(send), false);
}

}  // namespace

CallReport run_back_to_back_call(const SendSpec& send, const ReceiveSpec& receive,
                                 const CallLimits& limits, const PageConfirmed& on_page) {
    Wire wire(limits.medium);
    FaxParty::Spec send_spec{FaxParty::Role::calling, send.ident, &send, nullptr,
                             limits.sender_modem,     on_page};
    FaxParty::Spec receive_spec{
        FaxParty::Role::answering, receive.ident, nullptr, &receive, {}, {}};
    auto sender = make_party(limits.medium, send_spec, wire.a_sender());
    auto receiver = make_party(limits.medium, receive_spec, wire.b_sender());

    CallWatch watch(limits.watchdog_seconds, limits.max_call_seconds);
    Pacer pacer(limits.speed);
    bool hung_up = false;
    // After one side ends, give the other a few seconds to hear the DCN.
    long first_end_at = -1;
    while (!watch.expired()) {
        wire.step(*sender, *receiver);
        watch.tick(fax_block, sender->progress() + receiver->progress());
        if ((sender->ended() || receiver->ended()) && first_end_at < 0)
            first_end_at = watch.samples();
        if (sender->ended() && receiver->ended()) break;
        if (first_end_at >= 0 && watch.samples() - first_end_at > 5 * fax_sample_rate) break;
        if (receive.hangup_after_pages > 0 &&
            sender->report().pages_confirmed >= receive.hangup_after_pages) {
            hung_up = true;
            receiver->terminate();
            sender->terminate();
            break;
        }
        if ((watch.samples() & 0x3fff) == 0) pacer.wait_for(watch.samples());
    }
    const bool watchdog_fired = watch.expired();
    sender->terminate();
    receiver->terminate();

    auto s = sender->report(), r = receiver->report();
    CallReport report;
    report.sender = s;
    report.receiver = r;
    report.line_seconds = watch.seconds();
    report.pages_confirmed = s.pages_confirmed;
    report.pages_received = r.pages_received;
    report.bit_rate = s.bit_rate;
    report.ecm = s.ecm;
    report.compression = s.compression;
    report.remote_csid = s.remote_ident;
    report.caller_tsi = r.remote_ident;
    report.receiver_complete = r.ended && r.completion_code == 0;
    report.sent_narrow = s.sent_narrow;
    report.t30_code = s.completion_code;
    report.t30_text = s.completion_text;
    if (watchdog_fired) {
        report.outcome = Outcome::watchdog;
        report.detail = watch.reason();
    } else if (hung_up) {
        report.outcome = Outcome::hangup;
        report.detail = "far end hung up after page " + std::to_string(r.pages_received);
    } else {
        // The scheduler, which knows the document, decides whether "OK"
        // covered every page.
        report.outcome = outcome_of_t30(s.completion_code);
        if (report.sent_narrow)
            report.detail = "receiver takes no B4 paper: sent the pages 215 mm wide";
    }
    return report;
}

}  // namespace faxgw::faxcore
