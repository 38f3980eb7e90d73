#pragma once

#include <faxgw/faxcore/line.h>

#include <memory>

#include "config.h"

namespace faxgw {

// The backend of lines.backend, started (a SIP backend listens from here
// on); nullptr for "sim", which faxcore::Gateway runs by itself.
std::unique_ptr<faxcore::LineBackend> make_line_backend(const Config& config);

}  // namespace faxgw
