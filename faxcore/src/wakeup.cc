#include "wakeup.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <system_error>

namespace faxgw::faxcore {
namespace {

std::filesystem::path fifo_path(const std::filesystem::path& var) { return var / "wakeup"; }

void drain(int fd) {
    char buf[256];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
}

}  // namespace

Wakeup::Wakeup(const std::filesystem::path& var_dir) {
    auto path = fifo_path(var_dir);
    // Only the gateway's own user pokes it (submit, the milter, the poller
    // run as that user): 0600, whatever the umask.
    if (::mkfifo(path.c_str(), 0600) != 0 && errno != EEXIST)
        throw std::system_error(errno, std::generic_category(), "mkfifo " + path.string());
    // Opened read-write so that the FIFO never reports end-of-file (and poll
    // never spins) while no writer has it open.
    fifo_ = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fifo_ < 0) throw std::system_error(errno, std::generic_category(), "open " + path.string());
    // One made by an older faxgw was world-writable: anyone could keep the
    // queue runner busy.
    ::fchmod(fifo_, 0600);
    if (::pipe2(pipe_, O_NONBLOCK | O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe");
}

Wakeup::~Wakeup() {
    for (int fd : {fifo_, pipe_[0], pipe_[1]})
        if (fd >= 0) ::close(fd);
}

void Wakeup::wait(std::chrono::milliseconds max) {
    pollfd fds[2] = {{fifo_, POLLIN, 0}, {pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(max.count())) > 0) {
        drain(fifo_);
        drain(pipe_[0]);
    }
}

void Wakeup::notify() {
    char one = 1;
    [[maybe_unused]] auto n = ::write(pipe_[1], &one, 1);  // a full pipe is already a wake-up
}

void wake_queue_runner(const std::filesystem::path& var_dir) {
    // ENXIO (nobody listens) or ENOENT (never started): nothing to wake.
    int fd = ::open(fifo_path(var_dir).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return;
    char one = 1;
    [[maybe_unused]] auto n = ::write(fd, &one, 1);
    ::close(fd);
}

}  // namespace faxgw::faxcore
