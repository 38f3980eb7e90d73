#include <faxgw/faxcore/line.h>

#include <chrono>

namespace faxgw::faxcore {

Attempt attempt_of(const OutgoingCall& call, const PartyReport& party, double line_seconds) {
    Attempt a;
    a.number = call.attempt;
    a.started_at = call.started_at;
    a.first_page = call.first_page;
    a.pages_confirmed = party.pages_confirmed;
    a.line_seconds = line_seconds;
    a.bit_rate = party.bit_rate;
    a.ecm = party.ecm;
    a.compression = party.compression;
    a.remote_csid = party.remote_ident;
    a.t30_code = party.completion_code < 0 ? 0 : party.completion_code;
    a.t30_text = party.completion_text;
    a.protocol_trace = party.trace;
    return a;
}

InboundFax inbound_fax_of(const PartyReport& receiver, std::string did, std::string caller,
                          double line_seconds, std::int64_t received_at,
                          std::filesystem::path tiff) {
    InboundFax fax;
    fax.did = std::move(did);
    fax.caller = std::move(caller);
    fax.remote_csid = receiver.remote_ident;
    fax.pages = receiver.pages_received;
    fax.complete = receiver.ended && receiver.completion_code == 0;
    fax.t30_text = receiver.completion_text;
    fax.line_seconds = line_seconds;
    fax.bit_rate = receiver.bit_rate;
    fax.received_at = received_at;
    fax.tiff = std::move(tiff);
    return fax;
}

void CallProgress::page_confirmed(int pages) {
    std::lock_guard lock(mutex_);
    pages_.push_back(pages);
    changed_.notify_all();
}

void CallProgress::finish(Attempt attempt) {
    std::lock_guard lock(mutex_);
    result_ = std::move(attempt);
    changed_.notify_all();
}

Attempt CallProgress::wait(const PageConfirmed& on_page) {
    std::unique_lock lock(mutex_);
    for (;;) {
        changed_.wait(lock, [&] { return !pages_.empty() || result_; });
        while (!pages_.empty()) {
            const int n = pages_.front();
            pages_.pop_front();
            lock.unlock();
            if (on_page) on_page(n);
            lock.lock();
        }
        if (result_) return *result_;
    }
}

InboundHandover::InboundHandover() : thread_([this] { run(); }) {}

InboundHandover::~InboundHandover() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    ready_.notify_all();
    thread_.join();
}

void InboundHandover::set_sink(InboundSink& sink) { sink_ = &sink; }

void InboundHandover::hand_over(InboundFax fax) {
    {
        std::lock_guard lock(mutex_);
        faxes_.push_back(std::move(fax));
    }
    ready_.notify_all();
}

void InboundHandover::run() {
    int failures_while_stopping = 0;
    std::unique_lock lock(mutex_);
    for (;;) {
        ready_.wait(lock, [&] { return stopping_ || !faxes_.empty(); });
        if (faxes_.empty()) return;
        const InboundFax fax = faxes_.front();
        lock.unlock();
        bool done = false;
        try {
            sink_.load()->received(fax);
            done = true;
        } catch (const std::exception&) {
            std::this_thread::sleep_for(std::chrono::seconds(1));  // the queue is busy
        }
        lock.lock();
        if (done)
            faxes_.pop_front();
        else if (stopping_ && ++failures_while_stopping > 30)
            return;
    }
}

}  // namespace faxgw::faxcore
