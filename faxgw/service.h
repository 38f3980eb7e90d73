// systemd's service protocol for the daemons, as a Type=notify unit wants
// it: READY=1 once the queue is open and the lines listen, WATCHDOG=1 from
// the scheduler's own loop (a stalled scheduler stops it, and systemd
// restarts the daemon after WatchdogSec), RELOADING=1 then READY=1 around
// a reload on SIGHUP, STOPPING=1 on the way out, and a STATUS= line that
// `systemctl status` shows. Outside systemd (no NOTIFY_SOCKET) every call
// does nothing.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace faxgw {

class ServiceNotifier {
public:
    ServiceNotifier();

    void ready(const std::string& status) const;
    void reloading() const;
    void stopping() const;
    void status(const std::string& status) const;
    void alive() const;  // WATCHDOG=1

    // How often alive() must come: half of WatchdogSec, as sd_watchdog_enabled
    // advises; nothing when systemd watches no deadline.
    std::optional<std::chrono::milliseconds> alive_every() const { return alive_every_; }

private:
    std::optional<std::chrono::milliseconds> alive_every_;
};

}  // namespace faxgw
