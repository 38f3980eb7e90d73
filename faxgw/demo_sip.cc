#include "demo_sip.h"

#include <random>
#include <stdexcept>

namespace faxgw {
namespace {

using faxcore::digits_of;

// 100 media ports somewhere in 30000-59999 (the demo's calls need three
// each; rtp_listen and the UDPTL socket skip ports in use).
std::pair<int, int> media_range() {
    std::mt19937 rng(std::random_device{}());
    int first = 30000 + static_cast<int>(rng() % 14900) * 2;
    return {first, first + 99};
}

std::string loopback(int port) { return "127.0.0.1:" + std::to_string(port); }

}  // namespace

// The far-end machines: they file what they receive under sim.remote_dir,
// one folder per number, as the simulated network's machines do.
struct DemoFarEnd::Machines final : faxcore::InboundSink {
    struct Lease final : faxcore::LineLease {
        int line() const override { return 0; }
    };
    std::filesystem::path remote_dir;
    std::function<void(const std::string&)> log;
    bool refuses_caller(const std::string&) const override { return false; }
    std::unique_ptr<faxcore::LineLease> reserve_line() override {
        return std::make_unique<Lease>();  // every machine has its own line
    }
    std::filesystem::path inbound_file(const std::string& number,
                                       const std::string& call_id) override {
        auto folder = remote_dir / digits_of(number);
        std::filesystem::create_directories(folder);
        return folder / ("call-" + call_id + ".tif");
    }
    void received(faxcore::InboundFax fax) override {
        if (log)
            log("far end " + fax.did + ": received " + std::to_string(fax.pages) + " page(s) in " +
                fax.tiff.filename().string());
    }
};

DemoFarEnd::DemoFarEnd(Config& config, bool t38, std::function<void(const std::string&)> log)
    : machines_(std::make_unique<Machines>()) {
    machines_->remote_dir = config.gateway.sim.remote_dir;
    machines_->log = std::move(log);

    sip::Settings far;
    far.listen = loopback(sip::free_loopback_sip_port());
    std::tie(far.media_port_min, far.media_port_max) = media_range();
    far.t38 = far.t38_request = t38;  // the machines ask for T.38, as fax ATAs do
    far.lines = 256;
    far.station_id = "FAR END";
    far.user_agent = "faxgw demo far end";
    far.watchdog_seconds = config.gateway.watchdog_seconds;
    far.max_call_seconds = config.gateway.max_call_seconds;
    far.answer = [numbers = config.gateway.sim.numbers](const std::string& dialled) {
        sip::Answer a;
        for (const auto& n : numbers) {
            if (digits_of(n.number) != digits_of(dialled)) continue;
            a.csid = n.csid.empty() ? n.number : n.csid;
            a.b4 = n.b4;
            switch (n.behaviour) {
                case faxcore::SimBehaviour::busy:
                    a.refuse = 486;
                    break;
                case faxcore::SimBehaviour::no_answer:
                    a.ring_forever = true;
                    break;
                case faxcore::SimBehaviour::hangup:
                    a.hangup_after_pages = n.hangup_after_pages;
                    break;
                case faxcore::SimBehaviour::receive:
                    break;
            }
            return a;
        }
        a.refuse = 404;
        return a;
    };
    endpoint_ = sip::make_lines(far);
    endpoint_->listen(*machines_);

    auto& gw = config.sip;
    gw.listen = loopback(sip::free_loopback_sip_port());
    std::tie(gw.media_port_min, gw.media_port_max) = media_range();
    gw.t38 = t38;
    if (!config.gateway.dids.empty()) gw.caller_id = digits_of(config.gateway.dids.front());
    // Nobody-answers numbers ring for real seconds here, not sim.ring_seconds.
    gw.ring_seconds = 5;
    sip::Trunk self{"self", gw.listen, "", "", "", false, 600, {}};
    for (const auto& did : config.gateway.dids) self.prefixes.push_back(digits_of(did));
    gw.trunks = {self, {"network", far.listen, "", "", "", false, 600, {}}};
    config.line_backend = "sip";
}

DemoFarEnd::~DemoFarEnd() = default;

}  // namespace faxgw
