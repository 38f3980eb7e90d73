// The simulated telephone network: a dialled number reaches either the
// gateway's own inbound side (its DIDs) or a virtual remote fax machine that
// receives, is busy, does not answer or hangs up part-way. Every answered
// call is a real T.30 session (session.h).
#pragma once

#include <faxgw/faxcore/gateway.h>

#include "session.h"
#include "sqlite_queue.h"

namespace faxgw::faxcore {

struct CallRequest {
    const Job* job = nullptr;
    int attempt = 0;
    int first_page = 1;
    std::string line;
    std::int64_t started_at = 0;  // queue clock
};

struct CallResult {
    Attempt attempt;
};

class SimNetwork {
public:
    SimNetwork(const GatewaySettings& settings, SqliteQueue& queue, std::filesystem::path var_dir);
    CallResult place_call(const CallRequest& call, const PageConfirmed& on_page) const;

private:
    const SimNumber* remote(const std::string& number) const;
    bool is_did(const std::string& number) const;
    CallResult call_remote(const CallRequest& call, const SimNumber& far_end,
                           const PageConfirmed& on_page) const;
    CallResult call_inbound(const CallRequest& call, const PageConfirmed& on_page) const;

    const GatewaySettings& settings_;
    SqliteQueue& queue_;
    std::filesystem::path var_;
    std::filesystem::path remote_dir_;
};

// Digits only: the network compares numbers as they would be dialled.
std::string digits_of(std::string_view number);

}  // namespace faxgw::faxcore
