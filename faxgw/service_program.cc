#include "service_program.h"

#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

namespace faxgw {

namespace {

const ServiceCommand* find_service_command(std::string_view name) {
    for (const ServiceCommand& c : service_commands)
        if (c.name == name) return &c;
    return nullptr;
}

// Where faxgwd is: beside faxgw (the build tree), or where the install put
// it relative to faxgw (FAXGW_SERVICE_FROM_BIN, <libexecdir>/faxgw).
std::filesystem::path service_program() {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const auto folder = ec ? std::filesystem::path(".") : self.parent_path();
    const auto beside = folder / "faxgwd";
    if (std::filesystem::exists(beside, ec)) return beside;
    return (folder / FAXGW_SERVICE_FROM_BIN / "faxgwd").lexically_normal();
}

}  // namespace

std::string service_command_summary(std::string_view name) {
    const ServiceCommand* c = find_service_command(name);
    return c ? std::string(c->summary) : std::string();
}

void add_service_command_summaries(CLI::App& app, std::initializer_list<std::string_view> names) {
    // Never parsed: hand_over_to_service_program() has run faxgwd first.
    for (std::string_view name : names)
        app.add_subcommand(std::string(name), service_command_summary(name))->allow_extras();
}

bool hand_over_to_service_program(char** argv, int& exit_code) {
    if (!argv[0] || !argv[1] || !find_service_command(argv[1])) return false;
    const auto program = service_program();
    ::execv(program.c_str(), argv);
    std::cerr << "faxgw: " << argv[1] << " is a command of " << program.string()
              << ", which cannot be run: " << std::strerror(errno) << "\n";
    exit_code = EX_UNAVAILABLE;
    return true;
}

}  // namespace faxgw
