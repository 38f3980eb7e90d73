// Wakes the queue runner (`faxgw run`) the moment a job is queued, as
// Postfix's pickup service is woken through a FIFO, instead of it polling.
// Also wakes it when a call on one of its own lines ends.
#pragma once

#include <chrono>
#include <filesystem>

namespace faxgw::faxcore {

class Wakeup {
public:
    explicit Wakeup(const std::filesystem::path& var_dir);
    ~Wakeup();
    Wakeup(const Wakeup&) = delete;
    Wakeup& operator=(const Wakeup&) = delete;

    // Sleeps until woken or `max` has passed.
    void wait(std::chrono::milliseconds max);
    // From any thread of this process.
    void notify();

private:
    int fifo_ = -1;
    int pipe_[2] = {-1, -1};
};

// From any process: pokes the queue runner of var_dir if one listens.
void wake_queue_runner(const std::filesystem::path& var_dir);

}  // namespace faxgw::faxcore
