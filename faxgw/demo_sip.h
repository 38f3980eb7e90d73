// `faxgw demo --line sip`: the same demo, every call through real SIP, RTP
// and UDPTL on 127.0.0.1. A second SIP endpoint in the demo's process plays
// the far-end fax machines of sim.numbers (busy answers 486, no_answer
// rings until the gateway cancels, hangup sends BYE after its pages); the
// gateway's own DIDs are reached through its own SIP address.
#pragma once

#include <faxgw/faxcore/line.h>

#include <functional>
#include <memory>
#include <string>

#include "config.h"

namespace faxgw {

class DemoFarEnd {
public:
    // Starts the far end's SIP endpoint and points config.sip at it (and at
    // the gateway's own address for its DIDs). `t38`: both ends take T.38.
    DemoFarEnd(Config& config, bool t38, std::function<void(const std::string&)> log);
    ~DemoFarEnd();

private:
    struct Machines;
    std::unique_ptr<Machines> machines_;
    std::unique_ptr<faxcore::LineBackend> endpoint_;
};

}  // namespace faxgw
