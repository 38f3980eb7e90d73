// What the commands that run the lines (run, demo, poll) do with mail:
// see commands.h. Apart from main.cc since delivery links libcurl, which
// faxgw itself does without (service_program.h).
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <iostream>
#include <mutex>
#include <optional>

#include "commands.h"

namespace faxgw {

void hand_results_to_mail(faxcore::Queue& queue, mailgw::Outbox& outbox, const Config& config) {
    // A mail that cannot be written now (disk full, bad folder) stays pending
    // in the queue and is tried again after the next event; the lines go on.
    try {
        mailgw::write_notifications(queue, config.mail);  // to the outbox in config.mail.var
    } catch (const std::exception& e) {
        std::cerr << "faxgw: warning: notifications not written: " << e.what() << std::endl;
    }
    try {
        mailgw::deliver_inbound(queue, outbox, config.mail);
    } catch (const std::exception& e) {
        std::cerr << "faxgw: warning: received faxes not delivered: " << e.what() << std::endl;
    }
}

void deliver_mail_until(const std::stop_token& stop, const LiveConfig& live,
                        const std::function<void(const std::string&)>& log) {
    std::optional<mailgw::Outbox> outbox;
    std::mutex mutex;
    std::condition_variable_any woken;
    while (!stop.stop_requested()) {
        // The database may be locked or damaged for a while: the lines go on,
        // and so does this thread, a little later.
        try {
            const auto config = live.get();
            if (!outbox) outbox.emplace(config->var);
            const auto due = outbox->next_due();
            if (due && *due <= std::time(nullptr)) outbox->deliver_due(config->mail.relay, log);
        } catch (const std::exception& e) {
            log(std::string("faxgw: warning: mail not delivered: ") + e.what());
        }
        std::unique_lock lock(mutex);
        woken.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
    }
}

}  // namespace faxgw
