// The line seam: what the scheduler and inbound routing need from whatever
// carries calls (the simulated network, SIP trunks, AudioSocket). The
// scheduler, queue, outcome table and inbound routing never learn which
// backend they talk to.
//
//  * Outbound: the scheduler calls place_call() on a line's own thread,
//    for a job from its first unconfirmed page. It blocks until the call
//    ends and returns the attempt; a failed call is an outcome in it, never
//    an exception. Pages confirmed are reported as they come (on_page), so
//    that a crash mid-call resends from the first unconfirmed page. `stop`
//    asks the call to hang up (the gateway is stopping): the attempt then
//    ends "interrupted" unless every page was already confirmed.
//  * Inbound: listen() hands the backend the gateway's InboundSink. An
//    answered call first reserves one of the gateway's lines (the same
//    `lines.count` outbound calls use; none free: answer busy), writes its
//    pages where inbound_file() says, and hands the fax to received(),
//    which makes it durable and records it for routing.
//  * Every backend runs each call under a CallWatch (t30.h) and ends every
//    call it started, in every outcome.
#pragma once

#include <faxgw/faxcore.h>
#include <faxgw/faxcore/t30.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

namespace faxgw::faxcore {

struct OutgoingCall {
    const Job& job;
    int attempt = 0;              // 1, 2, ...
    int first_page = 1;           // 1-based: the first page the far end has not confirmed
    int line = 0;                 // index of the line the scheduler reserved
    std::int64_t started_at = 0;  // queue clock
    std::string station_id;       // our TSI
    CallOptions options;          // this number's rung of the retry ladder
};

// One of the gateway's lines, held by an inbound call until destroyed.
class LineLease {
public:
    virtual ~LineLease() = default;
    virtual int line() const = 0;
};

class InboundSink {
public:
    virtual ~InboundSink() = default;
    // Whether a call from `caller` (as the line gives it) is refused
    // unanswered: a junk fax sender. Asked before reserve_line().
    virtual bool refuses_caller(const std::string& caller) const = 0;
    // A free line for an incoming call, or nullopt: answer busy.
    virtual std::unique_ptr<LineLease> reserve_line() = 0;
    // A new file name for the pages of an incoming call to `number`, on
    // the spool's file system. `call_id` makes it unique (e.g. the line and
    // a counter).
    virtual std::filesystem::path inbound_file(const std::string& number,
                                               const std::string& call_id) = 0;
    // Makes fax.tiff durable and records the fax for routing (by fax.did).
    virtual void received(InboundFax fax) = 0;
};

class LineBackend {
public:
    virtual ~LineBackend() = default;
    // "sim0", "sip2": how logs and attempts name line `index`.
    virtual std::string line_name(int index) const = 0;
    // Whether calls spend line time on a simulated clock that the scheduler
    // may jump (the simulated network), rather than on the real one.
    virtual bool simulated_time() const { return false; }
    // Starts taking incoming calls; they stop when the backend is destroyed.
    virtual void listen(InboundSink& sink) = 0;
    virtual Attempt place_call(const OutgoingCall& call, const PageConfirmed& on_page,
                               std::stop_token stop) = 0;
};

// For backends whose calls run on an event loop of their own (SIP,
// AudioSocket): how the loop reports an outgoing call to the line thread
// blocked in place_call(). The loop posts confirmed pages and, at the end,
// the attempt; the line thread waits in wait(), which hands the pages to
// on_page outside the lock, so that a slow queue write never holds up the
// loop. Shared (shared_ptr) between the two.
class CallProgress {
public:
    void page_confirmed(int pages);  // pages of the whole document confirmed so far
    void finish(Attempt attempt);
    Attempt wait(const PageConfirmed& on_page);

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<int> pages_;
    std::optional<Attempt> result_;
};

// For backends whose calls run on an event loop: hands received faxes to
// the InboundSink from a thread of its own, so that a slow or busy queue
// never stalls the audio of other calls, and retries while the queue is
// busy: an accepted fax is never dropped. Destroyed, it stops after the
// faxes in hand, giving up after 30 failed tries (the file stays in the
// spool rather than the gateway never stopping).
class InboundHandover {
public:
    InboundHandover();
    ~InboundHandover();
    InboundHandover(const InboundHandover&) = delete;
    InboundHandover& operator=(const InboundHandover&) = delete;
    void set_sink(InboundSink& sink);  // before the first hand_over()
    void hand_over(InboundFax fax);

private:
    void run();
    std::atomic<InboundSink*> sink_{nullptr};
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<InboundFax> faxes_;
    bool stopping_ = false;
    std::thread thread_;
};

// An attempt of `call` with what the fax party reported: pages, rate, ECM,
// compression, remote ident, T.30 code and text (the outcome is left to
// the caller, who knows why the call ended).
Attempt attempt_of(const OutgoingCall& call, const PartyReport& party, double line_seconds);
// A received fax as the answering party reported it, for InboundSink::received.
InboundFax inbound_fax_of(const PartyReport& receiver, std::string did, std::string caller,
                          double line_seconds, std::int64_t received_at,
                          std::filesystem::path tiff);
// Digits only: lines compare numbers as they would be dialled.
std::string digits_of(std::string_view number);
// How a SIP final response to our INVITE ends an attempt (outcome.cc).
Outcome outcome_of_sip_status(int status);
// How an Originate that Asterisk reports with this OriginateResponse Reason
// ends an attempt (outcome.cc); 4 (answered) is ok: the fax decides.
Outcome outcome_of_ami_reason(int reason);

}  // namespace faxgw::faxcore
