#include "service.h"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdint>
#include <ctime>

namespace faxgw {
namespace {

// RELOADING=1 carries the monotonic clock since systemd 253 (Type=notify-
// reload); older ones ignore the field.
std::string monotonic_usec() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::to_string(static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000);
}

void notify(const std::string& state) { sd_notify(0, state.c_str()); }

}  // namespace

ServiceNotifier::ServiceNotifier() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        alive_every_ = std::chrono::milliseconds(std::max<std::uint64_t>(usec / 2000, 1));
}

void ServiceNotifier::ready(const std::string& status) const {
    notify("READY=1\nSTATUS=" + status);
}
void ServiceNotifier::reloading() const {
    notify("RELOADING=1\nMONOTONIC_USEC=" + monotonic_usec());
}
void ServiceNotifier::stopping() const { notify("STOPPING=1"); }
void ServiceNotifier::status(const std::string& status) const { notify("STATUS=" + status); }
void ServiceNotifier::alive() const { notify("WATCHDOG=1"); }

}  // namespace faxgw
