// faxgw config: show or check the configuration.
// Its manual is config_manual below: `--help` shows it, and so does faxgw(8).
#include <iostream>

#include "commands.h"

namespace faxgw {
namespace {

// The manual: DESCRIPTION, EXIT STATUS and the like (faxgw/manual.h).
constexpr const char* config_manual = R"(DESCRIPTION
    --sample prints every key with its default and documentation (this is
    conf/faxgw.toml). --check loads FILE (or the built-in defaults), prints
    warnings for unknown keys, checks that the state folder (paths.var or
    --var) exists, and exits non-zero on errors, starting and creating
    nothing.
EXIT STATUS
    0 fine; 66 the state folder does not exist; 78 configuration error
    (the line names FILE:LINE:COLUMN).
)";

struct ConfigOptions {
    CommonOptions common;
    bool sample = false;
    bool check = false;
};

int show_config(const ConfigOptions& o) {
    if (o.sample) {
        std::cout << sample_config();
        return 0;
    }
    auto config = o.common.load();
    report_warnings(config);
    if (!std::filesystem::is_directory(config.var)) throw faxcore::NoStateFolder(config.var);
    std::cout << "configuration is valid; state folder " << config.var.string() << "\n";
    return 0;
}

}  // namespace

CLI::App* add_config_command(CLI::App& app, int& exit_code) {
    auto* cmd =
        app.add_subcommand("config", "Print the documented defaults or check a configuration");
    cmd->footer(config_manual);
    auto o = std::make_shared<ConfigOptions>();
    o->common.add_to(*cmd);
    auto* sample =
        cmd->add_flag("--sample", o->sample, "Print every key with its default and documentation");
    cmd->add_flag("--check", o->check, "Load the configuration and report errors")
        ->excludes(sample);
    cmd->callback([o, &exit_code] { exit_code = show_config(*o); });
    return cmd;
}

}  // namespace faxgw
