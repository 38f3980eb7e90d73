// faxgw: an email-to-fax and fax-to-email gateway. One command with
// subcommands; `faxgw SUBCOMMAND --help` describes each. Built twice: as
// faxgw, and as faxgwd (FAXGW_SERVICE_PROGRAM), which has the long-running
// commands too (service_program.h).
#include <sysexits.h>

#include <iostream>

#include "commands.h"
#include "service_program.h"
#include "submit_service.h"

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

}  // namespace faxgw

int main(int argc, char** argv) {
    using namespace faxgw;
#ifndef FAXGW_SERVICE_PROGRAM
    if (int code = 0; hand_over_to_service_program(argv, code)) return code;
#endif
    CLI::App app{"faxgw: email-to-fax and fax-to-email gateway", "faxgw"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "faxgw " FAXGW_VERSION);
    int exit_code = 0;
    CLI::App* submit = add_submit_command(app, exit_code);
#ifdef FAXGW_SERVICE_PROGRAM
    add_run_command(app, exit_code);
    add_demo_command(app, exit_code);
#else
    add_service_command_summaries(app, {"run", "demo"});
#endif
    add_jobs_command(app, exit_code);
    add_render_command(app, exit_code);
    add_send_command(app, exit_code);
    add_config_command(app, exit_code);
    add_rules_command(app, exit_code);
#ifdef FAXGW_SERVICE_PROGRAM
    add_poll_command(app, exit_code);
    add_milter_command(app, exit_code);
    add_submit_worker_command(app, exit_code);
#else
    add_service_command_summaries(app, {"poll", "milter"});
#endif
    add_status_command(app, exit_code);
    add_purge_command(app, exit_code);
#ifdef FAXGW_SERVICE_PROGRAM
    add_manual_command(app, exit_code);
#endif
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
