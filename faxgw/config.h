// faxgw's settings: every key is declared once in config.cc with its type,
// default and one line of documentation. From that one table come the loaded
// settings, `faxgw config --defaults`, the warning for unknown keys and
// conf/faxgw.toml (a test keeps the file and the table in step).
#pragma once

#include <faxgw/faxcore/gateway.h>
#include <faxgw/faxcore/retention.h>
#include <faxgw/imap.h>
#include <faxgw/lines/audiosocket.h>
#include <faxgw/lines/sip.h>
#include <faxgw/mailgw.h>
#include <faxgw/milter.h>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "logging.h"

namespace faxgw {

struct Config {
    std::filesystem::path var;  // the state folder: queue, spool, mailboxes
    faxcore::GatewaySettings gateway;
    faxcore::RetentionSettings retention;  // [retention]: what `faxgw run` purges, and when
    std::string line_backend = "sim";      // lines.backend
    sip::Settings sip;                     // lines.backend = "sip"; gateway fields copied in
    audiosocket::Settings audiosocket;     // lines.backend = "audiosocket": [audiosocket], [ami]
    mailgw::Settings mail;
    std::vector<imap::Account> imap_accounts;  // [[imap.accounts]]: mailboxes `faxgw poll` watches
    milter::Settings milter;                   // [milter]: `faxgw milter`
    struct Submit {
        // Warm worker processes of `faxgw run` that `faxgw submit` hands
        // its mail to; 0 = none (every `faxgw submit` does all the work).
        int workers = 2;
    } submit;             // [submit]
    LogSettings logging;  // [logging]: the daemons' log
    struct Metrics {
        std::string host;  // an IP address; empty = no endpoint
        int port = 0;
    } metrics;  // metrics.listen: where `faxgw run` serves /metrics and /health
    std::vector<std::string> warnings;  // unknown keys and the like
};

// A configuration error with its place: "FILE:LINE:COL: what is wrong".
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Built-in defaults, overlaid with FILE when given; --var overrides
// [paths] var. Relative paths in the settings are taken below var.
Config load_config(const std::optional<std::filesystem::path>& file,
                   const std::optional<std::filesystem::path>& var_override);

// Only what `faxgw submit` needs to reach the submit service of `faxgw
// run` (submit_service.h): paths.var (or --var) and submit.workers, checked
// as load_config checks them. The rest of FILE is read by whoever decides
// the mail: the service's worker, or load_config when there is none. It
// spares a mail the service decides the start of libphonenumber, which
// load_config needs to check the dial rules.
Config load_submit_service_route(const std::optional<std::filesystem::path>& file,
                                 const std::optional<std::filesystem::path>& var_override);

// A milter socket spec with a relative unix path made absolute below `var`
// ("unix:milter.sock" -> "unix:/var/lib/faxgw/milter.sock"); others as given.
std::string milter_socket_below(const std::filesystem::path& var, const std::string& spec);

// The documented sample configuration (every key with its default).
std::string sample_config();

// One key of the table as the manual page faxgw.toml(5) shows it.
struct KeyDoc {
    std::string section;       // "paths"
    std::string name;          // "var"
    std::string default_toml;  // "\"var\"", as in the sample
    std::string doc;           // plain text; '\n' between its lines
    std::string range;         // "1 to 64", or empty
};

// Every key, in the order of the sample configuration.
std::vector<KeyDoc> key_docs();

}  // namespace faxgw
