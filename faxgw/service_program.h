// faxgw and faxgwd. The commands that run for long (run, milter, poll,
// demo) and the one that writes the manual pages are in faxgwd, a program
// beside faxgw that links the network libraries: libre (SIP), libcurl
// (SMTP), libetpan (IMAP), libmilter, cpp-httplib, libsystemd and what they
// pull in. faxgw has every other command and does without them, since an
// MTA starts it for every mail (`faxgw submit`), and the dynamic loader's
// work grows with every library loaded (tests/bench/bench_submit_cpu.cc has
// the figures). For those commands faxgw replaces itself with faxgwd
// (execv: the same process, so a service manager watches the same pid).
#pragma once

#include <CLI/CLI.hpp>
#include <initializer_list>
#include <string_view>

namespace faxgw {

struct ServiceCommand {
    std::string_view name;
    std::string_view summary;  // "" for a command hidden from --help
};

// The commands faxgwd has and faxgw hands over; each add_*_command of
// faxgwd takes its summary from here.
inline constexpr ServiceCommand service_commands[] = {
    {"run", "Run the gateway: send queued faxes, receive faxes, mail the results"},
    {"demo", "Run the sample mails through an embedded gateway and show the results"},
    {"poll", "Take fax mails from the IMAP mailboxes of [[imap.accounts]]"},
    {"milter", "Decide fax mails inside Postfix or Sendmail, during the SMTP dialogue"},
    {"submit-worker", ""},
    {"manual", ""},
};

std::string service_command_summary(std::string_view name);

// faxgw: lists these service commands in `app`'s help, where faxgwd has
// them, so that `faxgw --help` names every command as faxgw(8) does.
void add_service_command_summaries(CLI::App& app, std::initializer_list<std::string_view> names);

// faxgw: if argv names a service command, runs faxgwd with the same
// arguments in place of this process; returns only if it does not, or
// cannot (then it has printed why and `exit_code` is 69, EX_UNAVAILABLE).
bool hand_over_to_service_program(char** argv, int& exit_code);

}  // namespace faxgw
