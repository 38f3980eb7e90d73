// The line backends faxgw can run, by the name lines.backend gives.
#include "lines.h"

namespace faxgw {

std::unique_ptr<faxcore::LineBackend> make_line_backend(const Config& config) {
    if (config.line_backend == "sip") return sip::make_lines(config.sip);
    if (config.line_backend == "audiosocket") return audiosocket::make_lines(config.audiosocket);
    return nullptr;  // "sim": the gateway's own simulated network
}

}  // namespace faxgw
