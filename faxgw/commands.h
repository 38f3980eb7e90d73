// The faxgw subcommands. Each cmd_*.cc adds one subcommand to the CLI and
// opens with its manual (what it does, its exit status), which is the
// subcommand's footer: `faxgw CMD --help` prints it and faxgw(8) is written
// from it (manual.h).
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
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

// The settings a long-running command works with. `faxgw run` swaps them
// whole on SIGHUP; readers take a snapshot per unit of work (a round, a
// delivery) and never hold a reference across rounds.
class LiveConfig {
public:
    explicit LiveConfig(Config config)
        : current_(std::make_shared<const Config>(std::move(config))) {}
    std::shared_ptr<const Config> get() const { return current_.load(); }
    void set(Config config) { current_.store(std::make_shared<const Config>(std::move(config))); }

private:
    std::atomic<std::shared_ptr<const Config>> current_;
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
CLI::App* add_poll_command(CLI::App& app, int& exit_code);
CLI::App* add_milter_command(CLI::App& app, int& exit_code);
CLI::App* add_status_command(CLI::App& app, int& exit_code);
CLI::App* add_purge_command(CLI::App& app, int& exit_code);
// Hidden: writes faxgw(8) or faxgw.toml(5) from `app` (manual.h).
CLI::App* add_manual_command(CLI::App& app, int& exit_code);

// What the IMAP poller needs from the configuration: state folder, mail
// settings, and refusals written to paths.outbox. For `faxgw poll`, and for
// `faxgw run` to start imap::watch_all() on a thread of its own.
imap::Services imap_services(const Config& config);

#ifdef FAXGW_SERVICE_PROGRAM
// The decide function of a watch of config's mailboxes: warm workers
// (decide_in_workers), one per account and at most one per core. Workers
// that cannot start are tried again when a mail needs them; meanwhile
// their mails are left for later.
imap::Decide mailbox_workers(const CommonOptions& options, const Config& config,
                             const std::function<void(const std::string&)>& log);
#endif

// `faxgw submit` called wrongly or misconfigured: the 4.3.5 line on
// standard output and the code that makes the MTA try again (75), since a
// wrong line in master.cf or faxgw.toml must not bounce every fax mail.
int submit_usage_error(const std::string& what);

// Prints config warnings (unknown keys) to stderr.
void report_warnings(const Config& config);

// After each round of calls, whichever command runs the lines, hands what
// the gateway finished to mail: notifications and received faxes are posted to the outbox
// (delivered by deliver_mail_until or, in the demo, once at the end).
void hand_results_to_mail(faxcore::Queue& queue, mailgw::Outbox& outbox, const Config& config);

// Delivers the outbox's mail as it falls due (smtp.url, or the Maildirs,
// of the settings current at each delivery), until `stop`; failures are
// logged, one line each.
void deliver_mail_until(const std::stop_token& stop, const LiveConfig& config,
                        const std::function<void(const std::string&)>& log);

// Retention for `faxgw run`: purges (as `faxgw purge` does) when
// `next_purge` (unix seconds; 0 = at once) has come, and sets it
// retention.interval_seconds on. A failure is logged and tried next time.
void purge_when_due(std::int64_t& next_purge, faxcore::Queue& queue, mailgw::Outbox& outbox,
                    const Config& config, const std::function<void(const std::string&)>& log);

}  // namespace faxgw
