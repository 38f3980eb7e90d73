// Where the daemons (`faxgw run`, `milter`, `poll`) write their log. On a
// terminal: plain lines on stderr, as before. Started by systemd with its
// stderr on the journal: journald's native protocol, with the event's
// priority and its fields (FAX_JOB_ID, FAX_NUMBER, FAX_OUTCOME, ...) so
// `journalctl FAX_NUMBER=...` finds a job's story. Started by systemd with
// stderr elsewhere (syslog, a file): "<N>" priority prefixes, which
// systemd and syslog daemons read.
#pragma once

#include <faxgw/faxcore/gateway.h>

#include <string>
#include <string_view>
#include <vector>

namespace faxgw {

struct LogSettings {
    // Phone numbers are personal data: when set, their last digits are
    // masked in every line and field ("+1555100xxxx").
    bool mask_numbers = false;
};

// Masks the last digits of every phone number in `text`: numbers written
// "+" and at least 6 digits, and the given `known` numbers wherever they
// appear (a caller ID without "+").
std::string mask_phone_numbers(std::string_view text, const std::vector<std::string>& known = {});

class Logger {
public:
    enum class Output { text, journal, priority_prefix };

    // The output is chosen from the environment systemd sets
    // (JOURNAL_STREAM, INVOCATION_ID); `identifier` names the lines
    // (SYSLOG_IDENTIFIER), e.g. "faxgw-run".
    Logger(LogSettings settings, std::string identifier);
    Logger(LogSettings settings, std::string identifier, Output output);

    void operator()(const faxcore::LogEvent& event) const;
    // A plain line: a warning when it says so, else information.
    void operator()(const std::string& line) const;

    Output output() const { return output_; }

private:
    faxcore::LogEvent masked(const faxcore::LogEvent& event) const;

    LogSettings settings_;
    std::string identifier_;
    Output output_;
};

// Which output systemd's environment asks for: the journal when stderr is
// the stream JOURNAL_STREAM names, priority prefixes under systemd
// otherwise, plain text elsewhere.
Logger::Output output_for_environment();

}  // namespace faxgw
