// The simulated telephone network, one line backend (line.h): a dialled
// number reaches either the gateway's own inbound side (its DIDs) or a
// virtual remote fax machine that receives, is busy, does not answer or
// hangs up part-way. Every answered call is a real T.30 session
// (session.h), on a simulated clock the scheduler may jump.
//
// A call to one of the gateway's own DIDs comes back in through the same
// InboundSink a real line uses. It takes no second line: the simulated
// network's "other end" of the gateway is not one of its lines.
#pragma once

#include <faxgw/faxcore/gateway.h>
#include <faxgw/faxcore/line.h>

#include "session.h"

namespace faxgw::faxcore {

class SimNetwork final : public LineBackend {
public:
    SimNetwork(const GatewaySettings& settings, std::filesystem::path var_dir);

    std::string line_name(int index) const override { return "sim" + std::to_string(index); }
    bool simulated_time() const override { return true; }
    void listen(InboundSink& sink) override { inbound_ = &sink; }
    Attempt place_call(const OutgoingCall& call, const PageConfirmed& on_page,
                       std::stop_token stop) override;

private:
    const SimNumber* remote(const std::string& number) const;
    bool is_did(const std::string& number) const;
    Attempt call_remote(const OutgoingCall& call, const SimNumber& far_end,
                        const PageConfirmed& on_page) const;
    Attempt call_inbound(const OutgoingCall& call, const PageConfirmed& on_page) const;
    CallLimits limits(const OutgoingCall& call) const;

    GatewaySettings settings_;
    std::filesystem::path remote_dir_;
    InboundSink* inbound_ = nullptr;
};

}  // namespace faxgw::faxcore
