// The line backends faxgw can run, by the name lines.backend gives.
#include "lines.h"

namespace faxgw {

std::unique_ptr<faxcore::LineBackend> make_line_backend(const Config& config) {
    // The sender is in the origin mailgw wrote: caller ID rules match it.
    const faxcore::SenderOf sender_of = [](const faxcore::Job& job) {
        return mailgw::origin_sender(job.origin);
    };
    if (config.line_backend == "sip") {
        sip::Settings settings = config.sip;
        settings.sender_of = sender_of;
        return sip::make_lines(settings);
    }
    if (config.line_backend == "audiosocket") {
        audiosocket::Settings settings = config.audiosocket;
        settings.ami.sender_of = sender_of;
        return audiosocket::make_lines(settings);
    }
    return nullptr;  // "sim": the gateway's own simulated network
}

}  // namespace faxgw
