// faxgw: an email-to-fax and fax-to-email gateway. One executable with
// subcommands; `faxgw SUBCOMMAND --help` describes each.
#include <sysexits.h>

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <iostream>
#include <mutex>
#include <optional>

#include "commands.h"

namespace faxgw {

void CommonOptions::add_to(CLI::App& cmd) {
    cmd.add_option("--config", config_file, "TOML configuration file (default: built-in settings)")
        ->check(CLI::ExistingFile);
    cmd.add_option("--var", var,
                   "State folder: queue, spool, mailboxes (default: paths.var, \"var\")");
}

void report_warnings(const Config& config) {
    for (const auto& w : config.warnings) std::cerr << "faxgw: warning: " << w << "\n";
}

void hand_results_to_mail(faxcore::Queue& queue, mailgw::Outbox& outbox, const Config& config) {
    // A mail that cannot be written now (disk full, bad folder) stays pending
    // in the queue and is tried again after the next event; the lines go on.
    try {
        mailgw::write_notifications(queue, config.mail);  // to the outbox in config.mail.var
    } catch (const std::exception& e) {
        std::cerr << "faxgw: warning: notifications not written: " << e.what() << std::endl;
    }
    try {
        mailgw::deliver_inbound(queue, outbox, config.mail);
    } catch (const std::exception& e) {
        std::cerr << "faxgw: warning: received faxes not delivered: " << e.what() << std::endl;
    }
}

void deliver_mail_until(const std::stop_token& stop, const LiveConfig& live,
                        const std::function<void(const std::string&)>& log) {
    std::optional<mailgw::Outbox> outbox;
    std::mutex mutex;
    std::condition_variable_any woken;
    while (!stop.stop_requested()) {
        // The database may be locked or damaged for a while: the lines go on,
        // and so does this thread, a little later.
        try {
            const auto config = live.get();
            if (!outbox) outbox.emplace(config->var);
            const auto due = outbox->next_due();
            if (due && *due <= std::time(nullptr)) outbox->deliver_due(config->mail.relay, log);
        } catch (const std::exception& e) {
            log(std::string("faxgw: warning: mail not delivered: ") + e.what());
        }
        std::unique_lock lock(mutex);
        woken.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
    }
}

}  // namespace faxgw

int main(int argc, char** argv) {
    using namespace faxgw;
    CLI::App app{"faxgw: email-to-fax and fax-to-email gateway", "faxgw"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "faxgw " FAXGW_VERSION);
    int exit_code = 0;
    CLI::App* submit = add_submit_command(app, exit_code);
    add_run_command(app, exit_code);
    add_demo_command(app, exit_code);
    add_jobs_command(app, exit_code);
    add_render_command(app, exit_code);
    add_send_command(app, exit_code);
    add_config_command(app, exit_code);
    add_rules_command(app, exit_code);
    add_poll_command(app, exit_code);
    add_milter_command(app, exit_code);
    add_status_command(app, exit_code);
    add_purge_command(app, exit_code);
    add_manual_command(app, exit_code);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // An MTA runs submit: a usage error there is a wrong line in
        // master.cf, to be fixed while the MTA keeps the mail.
        if (submit->parsed() && e.get_exit_code() != 0) return submit_usage_error(e.what());
        return app.exit(e) == 0 ? 0 : EX_USAGE;
    } catch (const ConfigError& e) {
        std::cerr << "faxgw: " << e.what() << "\n";
        return EX_CONFIG;
    } catch (const faxcore::NoStateFolder& e) {
        // A command that reads never makes the folder: a typo stays a typo.
        std::cerr << "faxgw: " << e.what() << "\n";
        return EX_NOINPUT;
    } catch (const faxcore::TemporaryError& e) {
        std::cerr << "faxgw: " << e.what() << "\n";
        return EX_TEMPFAIL;
    } catch (const std::exception& e) {
        std::cerr << "faxgw: " << e.what() << "\n";
        return EX_SOFTWARE;
    }
    return exit_code;
}
