// Fuzz target "config": a configuration file as `faxgw config --check`,
// `submit` and `run` read it. Every error must be a ConfigError naming
// FILE:LINE:COL; any other exception escapes and is a finding.
#include "config.h"

#include "fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static faxgw::fuzz::MemoryFile file;
    const auto path = file.hold(faxgw::fuzz::bytes_of(data, size));
    try {
        faxgw::load_config(path, std::nullopt);
    } catch (const faxgw::ConfigError&) {
        // refused with its place
    }
    return 0;
}
