// The line backends faxgw can run, by the name lines.backend gives.
#include "lines.h"

namespace faxgw {

std::unique_ptr<faxcore::LineBackend> make_line_backend(const Config& config) {
    if (config.line_backend == "sip") {
        sip::Settings settings = config.sip;
        // The sender is in the origin mailgw wrote: sip.caller_ids match it.
        settings.sender_of = [](const faxcore::Job& job) {
            return mailgw::origin_sender(job.origin);
        };
        return sip::make_lines(settings);
    }
    if (config.line_backend == "audiosocket") return audiosocket::make_lines(config.audiosocket);
    return nullptr;  // "sim": the gateway's own simulated network
}

}  // namespace faxgw
