// The filter's worker processes: at most `size` mails are rendered at once,
// each in a warm, single-threaded process of its own (see milter.h).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "worker_protocol.h"

namespace faxgw::milter {

class WorkerPool {
public:
    // Starts `size` workers with `command` (argv; the socket is their fd 0).
    WorkerPool(std::vector<std::string> command, int size,
               std::function<void(const std::string&)> log);
    // Closes the workers' sockets and waits for them: each ends after the
    // mail in its hands.
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Has a worker decide `request`, waiting for a free one first; calls
    // `waiting` about every 10 s meanwhile. A worker that fails or takes
    // longer than `limit` is replaced, and the answer is try_later.
    WorkerReply decide(const WorkerRequest& request, std::chrono::seconds limit,
                       const std::function<void()>& waiting);

private:
    struct Worker {
        pid_t pid = -1;
        int fd = -1;
    };
    Worker spawn();
    void end(Worker& worker, bool kill);
    Worker take(const std::function<void()>& waiting);
    void give_back(Worker worker);

    std::vector<std::string> command_;
    std::function<void(const std::string&)> log_;
    std::mutex mutex_;
    std::condition_variable free_;
    std::vector<Worker> idle_;
    int unstarted_ = 0;  // slots whose worker has to be (re)started
};

}  // namespace faxgw::milter
