// The claim of one process on a state folder (see RunLock in gateway.h).
#include <faxgw/faxcore/gateway.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <system_error>

namespace faxgw::faxcore {

// One open run.lock per folder and process: flock() locks belong to an open
// file, so a second open() in the same process would be refused by the
// first. Sharing it lets a command take the lock before it builds its
// Gateway (which takes it too).
struct RunLock::Held {
    int fd = -1;
    ~Held() {
        if (fd >= 0) ::close(fd);  // releases the flock
    }
};

namespace {

std::mutex registry_mutex;
std::map<std::filesystem::path, std::weak_ptr<RunLock::Held>>& registry() {
    static std::map<std::filesystem::path, std::weak_ptr<RunLock::Held>> held;
    return held;
}

}  // namespace

RunLock::RunLock(const std::filesystem::path& var_dir) {
    std::filesystem::create_directories(var_dir);
    auto path = std::filesystem::weakly_canonical(var_dir / "run.lock");
    std::lock_guard lock(registry_mutex);
    if (auto shared = registry()[path].lock()) {
        held_ = std::move(shared);
        return;
    }
    auto held = std::make_shared<Held>();
    held->fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (held->fd < 0)
        throw std::system_error(errno, std::generic_category(), "open " + path.string());
    if (::flock(held->fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            throw StateFolderBusy("another faxgw process runs the gateway on " + var_dir.string());
        throw std::system_error(errno, std::generic_category(), "flock " + path.string());
    }
    registry()[path] = held;
    held_ = std::move(held);
}

RunLock::~RunLock() = default;

}  // namespace faxgw::faxcore
