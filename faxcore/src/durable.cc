// "Durable" means one thing in faxgw: the bytes are in a file under its final
// name, the file and its folder are fsync'd. Written as temp + fsync + rename
// + fsync(dir), as Postfix does for its queue files, so a crash leaves either
// the old state or the complete new file, never a torn one.
#include <faxgw/faxcore.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace faxgw::faxcore {
namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& p) {
    int err = errno;
    // A full disk or quota is the classic temporary condition of a mail system.
    if (err == ENOSPC || err == EDQUOT || err == EAGAIN)
        throw TemporaryError(what + " " + p.string() + ": " + std::strerror(err));
    throw std::system_error(err, std::generic_category(), what + " " + p.string());
}

void fsync_path(const std::filesystem::path& p, int flags) {
    int fd = ::open(p.c_str(), flags | O_CLOEXEC);
    if (fd < 0) fail("open", p);
    if (::fsync(fd) != 0) {
        ::close(fd);
        fail("fsync", p);
    }
    ::close(fd);
}

void fsync_parent(const std::filesystem::path& p) {
    auto dir = p.parent_path();
    fsync_path(dir.empty() ? std::filesystem::path(".") : dir, O_RDONLY | O_DIRECTORY);
}

}  // namespace

void write_file_durably(const std::filesystem::path& path, std::string_view data) {
    std::filesystem::create_directories(path.parent_path());
    auto tmp = path;
    tmp += ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) fail("create", tmp);
    const char* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ::close(fd);
            ::unlink(tmp.c_str());
            fail("write", tmp);
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        ::close(fd);
        ::unlink(tmp.c_str());
        fail("fsync", tmp);
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename", tmp);
    fsync_parent(path);
}

void move_file_durably(const std::filesystem::path& from, const std::filesystem::path& to) {
    std::filesystem::create_directories(to.parent_path());
    fsync_path(from, O_RDONLY);
    if (::rename(from.c_str(), to.c_str()) != 0) fail("rename", from);
    fsync_parent(to);
}

}  // namespace faxgw::faxcore
