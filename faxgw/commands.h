// The faxgw subcommands. Each cmd_*.cc adds one subcommand to the CLI and
// opens with its manual: what it does, its options, its exit status.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <optional>
#include <string>

#include "config.h"

namespace faxgw {

// --config FILE and --var DIR, taken by every subcommand.
struct CommonOptions {
    std::optional<std::filesystem::path> config_file;
    std::optional<std::filesystem::path> var;
    void add_to(CLI::App& cmd);
    Config load() const { return load_config(config_file, var); }
};

// Each returns the subcommand it added; its callback sets `exit_code`.
CLI::App* add_submit_command(CLI::App& app, int& exit_code);
CLI::App* add_run_command(CLI::App& app, int& exit_code);
CLI::App* add_demo_command(CLI::App& app, int& exit_code);
CLI::App* add_jobs_command(CLI::App& app, int& exit_code);
CLI::App* add_render_command(CLI::App& app, int& exit_code);
CLI::App* add_send_command(CLI::App& app, int& exit_code);
CLI::App* add_config_command(CLI::App& app, int& exit_code);
CLI::App* add_rules_command(CLI::App& app, int& exit_code);

// Prints config warnings (unknown keys) to stderr.
void report_warnings(const Config& config);

// Writes notifications and delivers received faxes: what mailgw does after
// each round of calls, whichever command runs the lines.
void hand_results_to_mail(faxcore::Queue& queue, const Config& config);

}  // namespace faxgw
