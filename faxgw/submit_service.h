// The submit service: `faxgw run` keeps submit.workers warm worker
// processes (mailgw/submit_worker.h) and listens on submit.socket in the
// state folder; `faxgw submit` hands its mail there and prints the
// answer. Each `faxgw submit` would otherwise start the number plans,
// fonts and file-type rules again for one mail, which costs more CPU than
// rendering a page (tests/bench/bench_submit_cpu.cc).
//
// Whenever the service cannot take the mail (no `faxgw run`, every worker
// busy, a worker that died, a configuration file other than the
// service's, a socket cut), `faxgw submit` decides it itself, as without
// the service; a burst of mails so renders in parallel as before.
// That never queues a mail twice: a mail is queued under a key of its
// sender, Message-ID and content, in one transaction, so a second
// decision of a mail the service did queue finds it queued.
#pragma once

#include <faxgw/imap.h>
#include <faxgw/submit_worker.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"

namespace faxgw {

// The largest mail `faxgw submit` hands to the service (the milter's
// default limit, milter.max_message_mb); a larger one it decides itself,
// so that the service never holds more than this per connection.
inline constexpr std::size_t service_max_message_bytes = std::size_t{64} << 20;

// What identifies the settings a command runs with: this build and the
// bytes of its --config file (none: the built-in defaults).
std::string config_digest(const CommonOptions& options);

// The service's socket in the state folder `var`.
std::filesystem::path submit_socket(const std::filesystem::path& var);

// Has the service of the `faxgw run` of `var` decide `request`. nullopt
// when it did not: nothing listens, the socket failed, or the service
// declined the mail (then the caller decides it).
std::optional<mailgw::WorkerReply> submit_to_service(const std::filesystem::path& var,
                                                     const mailgw::WorkerRequest& request);

#ifdef FAXGW_SERVICE_PROGRAM
// `faxgw run`'s side: starts the workers, waits until they are warm, and
// serves the socket on a thread of its own until destroyed. The socket is
// open to the service's own user and root only (mode 0600, and the peer's
// credentials are checked).
class SubmitService {
public:
    SubmitService(const CommonOptions& options, const Config& config,
                  std::function<void(const std::string&)> log);
    // Stops taking mail, lets the mails in hand finish, ends the workers.
    ~SubmitService();
    SubmitService(const SubmitService&) = delete;
    SubmitService& operator=(const SubmitService&) = delete;

private:
    void accept_loop();
    void serve_connection(int fd);

    std::filesystem::path socket_path_;
    std::function<void(const std::string&)> log_;
    std::unique_ptr<mailgw::WorkerPool> pool_;
    int listener_ = -1;
    std::mutex mutex_;
    std::condition_variable idle_;
    int connections_ = 0;
    std::thread acceptor_;
};

// For a front end that decides mails on threads of its own (the IMAP watch
// of `faxgw poll` and `faxgw run`): `size` warm workers with this program's
// settings, and the function that has one of them decide a mail, waiting
// for a free one. The workers end when the last copy of the function goes.
// Waits until they are warm (a minute at most each).
imap::Decide decide_in_workers(const CommonOptions& options, const Config& config, int size,
                               std::function<void(const std::string&)> log);

// The argv of a worker: this program's `submit-worker` with the same
// configuration file and state folder.
std::vector<std::string> submit_worker_command(const CommonOptions& options, const Config& config);

// The hidden command `submit-worker` that command starts.
CLI::App* add_submit_worker_command(CLI::App& app, int& exit_code);
#endif

}  // namespace faxgw
