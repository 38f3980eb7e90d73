// Two faxgw gateways on 127.0.0.1 that call each other over SIP: the
// caller's trunk is the answerer's SIP address, the answerer's DID the
// number dialled. Each has its own state folder, queue and media ports.
#pragma once

#include <faxgw/faxcore/gateway.h>
#include <faxgw/lines/sip.h>

#include <optional>
#include <random>
#include <stdexcept>
#include <string>

#include "fixture.h"
#include "sipp.h"
#include "sqlite_queue.h"

namespace faxgw::test {

// A range of `count` ports (even start, for RTP) unlikely to be in use:
// random within 30000-59999, so that parallel tests rarely share one.
inline std::pair<int, int> media_ports(int count = 40) {
    static std::mt19937 rng(std::random_device{}());
    int first = 30000 + static_cast<int>(rng() % 15000) * 2;
    return {first, first + count - 1};
}

struct SipGateway {
    TempDir dir;
    faxcore::SqliteQueue queue{dir.path};
    sip::Settings sip;
    std::vector<std::string> refused_callers;  // GatewaySettings::refused_callers
    int max_attempts = 1;                      // GatewaySettings::retry.max_attempts
    std::vector<std::string> log;
    std::optional<faxcore::Gateway> gateway;

    SipGateway(std::string did, int port) {
        sip.listen = "127.0.0.1:" + std::to_string(port);
        std::tie(sip.media_port_min, sip.media_port_max) = media_ports();
        sip.dids = {std::move(did)};
        sip.station_id = "GW " + std::to_string(port);
        sip.watchdog_seconds = 30;
        sip.ring_seconds = 10;
    }
    faxcore::GatewaySettings gateway_settings() const {
        faxcore::GatewaySettings g;
        g.lines = sip.lines;
        g.dids = sip.dids;
        g.station_id = sip.station_id;
        g.retry.max_attempts = max_attempts;
        g.refused_callers = refused_callers;
        return g;
    }
    // Starts the SIP stack (and with it the listener for inbound calls).
    void start() {
        gateway.emplace(
            queue, gateway_settings(), dir.path, [this](const std::string& l) { log.push_back(l); },
            sip::make_lines(sip));
    }
    void call_through(const std::string& name, int port) {
        sip.trunks.push_back(
            {name, "127.0.0.1:" + std::to_string(port), "", "", "", false, 600, {}});
    }
};

}  // namespace faxgw::test
