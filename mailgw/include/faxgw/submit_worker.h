// mailgw::submit() in warm worker processes, for the front ends that live
// on: the milter (faxgw milter), the IMAP watch of `faxgw run` and `faxgw
// poll` (imap::Services::decide), and the submit service of `faxgw run`,
// which `faxgw submit` hands its mail to (faxgw/submit_service.h).
//
// A worker is a single-threaded process (`faxgw submit-worker`, exec'd)
// that has loaded its libraries, fonts and number plans once, and decides
// one mail at a time: rendering forks isolated children, which a process
// full of threads must not do. Starting those libraries costs a one-page
// mail more CPU than rendering it (tests/bench/bench_submit_cpu.cc).
//
// Requests and replies go over a socket as frames of an 8-byte length and
// that many bytes: the envelope and the reply as JSON, the message as it
// is. Hand-written, because it is two frames between two builds of the
// same program: no RPC library would make it shorter.
#pragma once

#include <faxgw/faxcore.h>
#include <faxgw/mailgw.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace faxgw::mailgw {

struct WorkerRequest {
    Envelope envelope;
    std::string message;  // RFC 5322, as the MTA gave it
    // The settings the sender of the request decided with (config_digest
    // of faxgw/submit_service.h); a worker whose own differ declines the mail
    // instead of deciding it with other rules. Empty: any (the milter's
    // workers are started with its own settings).
    std::string config_digest;
};

struct WorkerReply {
    Verdict verdict = Verdict::try_later;
    std::string message;
    std::vector<std::pair<std::int64_t, std::string>> jobs;  // job id, number
    // No worker decided the mail: its settings differ from the request's,
    // or none could be started, or it failed (verdict try_later). Whoever
    // can decide it elsewhere does; the milter answers try_later.
    bool declined = false;
};

// The socket failed or the other end went away, mid-frame or before one.
class ChannelError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Blocking writes and reads of whole frames; throw ChannelError.
void send_request(int fd, const WorkerRequest& request);
void send_reply(int fd, const WorkerReply& reply);
// nullopt: the other end closed between requests (the worker's cue to end).
// A message over `max_message_bytes` is a ChannelError, before memory is
// taken for it.
std::optional<WorkerRequest> receive_request(
    int fd, std::uint64_t max_message_bytes = std::numeric_limits<std::uint64_t>::max());

// Waits for the reply, calling `waiting` about every `interval` (the
// milter keeps the MTA from timing out meanwhile), for at most `limit`.
// Throws ChannelError, also when the limit passes.
WorkerReply receive_reply(int fd, std::chrono::seconds interval, std::chrono::seconds limit,
                          const std::function<void()>& waiting);

// The worker: loads the renderer's fonts (so the first mail does not pay
// for them) and says it is ready, then reads mails on `fd` and answers each
// with what submit() made of it, until the other end closes. A request
// whose config_digest is neither empty nor `config_digest` is declined,
// and the worker ends (its pool starts one that reads the settings anew).
// Returns 0, or 74 when the socket fails.
int serve_worker(int fd, const Settings& mail, faxcore::Queue& queue,
                 const std::string& config_digest);

// Worker processes: at most `size` mails are decided at once, each in a
// warm worker of its own.
class WorkerPool {
public:
    // Starts `size` workers with `command` (argv; the socket is their fd
    // 0) and waits until they are warm.
    WorkerPool(std::vector<std::string> command, int size,
               std::function<void(const std::string&)> log);
    // Closes the workers' sockets and waits for them: each ends after the
    // mail in its hands.
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Has a worker decide `request`, waiting for a free one first; calls
    // `waiting` about every 10 s meanwhile. A worker that ended while idle
    // is replaced before it is given the request; one that fails, takes
    // longer than `limit` or declines is replaced; one that declines (it
    // read other settings) is replaced and the request asked of the next.
    // The answer is declined (and try_later) when a worker failed or one
    // started for the request declined too.
    // With WhenBusy::decline a request that finds every worker busy is
    // declined at once instead.
    enum class WhenBusy { wait, decline };
    WorkerReply decide(const WorkerRequest& request, std::chrono::seconds limit,
                       const std::function<void()>& waiting, WhenBusy when_busy = WhenBusy::wait);

private:
    struct Worker {
        pid_t pid = -1;
        int fd = -1;
        bool started_for_a_request = false;  // not warm and idle before
    };
    Worker spawn();
    static bool still_there(const Worker& worker);
    void end(Worker& worker, bool kill);
    std::optional<Worker> take(const std::function<void()>& waiting, WhenBusy when_busy);
    void give_back(Worker worker);

    std::vector<std::string> command_;
    std::function<void(const std::string&)> log_;
    std::mutex mutex_;
    std::condition_variable free_;
    std::vector<Worker> idle_;
    int unstarted_ = 0;  // slots whose worker has to be (re)started
};

}  // namespace faxgw::mailgw
