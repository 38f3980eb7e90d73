// Public interface of milter/: faxgw inside the mail admin's own Postfix or
// Sendmail. A libmilter filter answers each fax recipient at RCPT TO
// (mailgw::check_recipient) and each fax mail at the end of DATA
// (mailgw::submit), so the sender's client shows the answer at once instead
// of a bounce later. Mail without fax recipients is let through at DATA,
// unread.
//
// libmilter calls back on a thread per SMTP session, and rendering forks
// isolated children, which a process full of threads must not do. So the
// mails are rendered and queued in worker processes: started once (exec'd,
// single-threaded), kept warm (fonts, libraries loaded), at most
// `renderers` at a time. A burst of large PDFs waits for a worker; mail
// without fax recipients never does.
#pragma once

#include <faxgw/faxcore.h>
#include <faxgw/mailgw.h>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace faxgw::milter {

struct Settings {
    // Where the MTA connects, in libmilter's words: inet:PORT@HOST,
    // inet6:PORT@HOST or unix:/path (local:/path). A unix socket is
    // opened to the group (mode 0660): add the MTA's user to it.
    std::string socket = "inet:10029@127.0.0.1";
    int renderers = 0;  // worker processes rendering at once; 0 = one per processor core
    // A mail larger than this is answered 552 5.3.4 without keeping more
    // of it in memory.
    std::size_t max_message_bytes = 64u << 20;
    // The longest one mail may take in a worker (waiting included) before
    // the sender is told 451 4.3.0 and the worker is replaced.
    int decide_seconds = 600;
};

struct Services {
    const mailgw::Settings* mail = nullptr;
    std::filesystem::path var;  // the queue (RCPT TO checks the senders' limits in it)
    // The program and arguments of one worker: a process that calls
    // mailgw::serve_worker() on its standard input, a socket (faxgw
    // submit-worker).
    std::vector<std::string> worker_command;
    std::function<void(const std::string&)> log;  // one line per decision and fault
};

// Throws std::invalid_argument unless `spec` is inet:PORT@HOST,
// inet6:PORT@HOST, unix:PATH or local:PATH (libmilter would take anything
// else for the path of a unix socket).
void check_socket_spec(const std::string& spec);

// The file of a unix:PATH (or local:PATH) spec; nullopt for inet sockets.
std::optional<std::filesystem::path> unix_socket_path(const std::string& spec);

// Starts the workers and waits until they are warm, then listens on
// settings.socket and filters until SIGTERM, SIGHUP or SIGINT.
// Mails being decided then finish (their senders get their answers);
// sessions between commands are closed, and the MTA applies its
// milter_default_action (tempfail: 451). Returns a sysexits code: 0 after
// a signal, 71 when the socket cannot be opened, 78 for a bad spec.
int serve(const Settings& settings, const Services& services);

}  // namespace faxgw::milter
