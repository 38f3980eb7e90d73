// What every fuzz target shares. A target defines LLVMFuzzerTestOneInput;
// libFuzzer calls it in the clang build (FAXGW_FUZZ), replay_main.cc calls
// it once per seed file in every other build, so the seed corpus is a
// regression test everywhere.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace faxgw::fuzz {

inline std::string_view bytes_of(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// A property the code promises was broken: a finding, like a crash.
inline void require(bool holds, const char* promise) {
    if (holds) return;
    std::fprintf(stderr, "fuzz target: broken promise: %s\n", promise);
    std::abort();
}

// An input for code that reads only a file by its name (load_config,
// libtiff): an anonymous in-memory file (memfd), reopened by its
// /proc/self/fd name. Nothing touches a disk, nothing is left behind when a
// run crashes, and it costs no directory per run.
class MemoryFile {
public:
    MemoryFile() : fd_(::memfd_create("faxgw-fuzz-input", MFD_CLOEXEC)) {
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "memfd_create");
    }
    ~MemoryFile() { ::close(fd_); }
    MemoryFile(const MemoryFile&) = delete;
    MemoryFile& operator=(const MemoryFile&) = delete;

    // Replaces the content; returns the name under which to open it.
    std::filesystem::path hold(std::string_view content) {
        if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, content.data(), content.size(), 0) !=
                                            static_cast<ssize_t>(content.size()))
            throw std::system_error(errno, std::generic_category(), "writing the memfd");
        return "/proc/self/fd/" + std::to_string(fd_);
    }

private:
    int fd_;
};

}  // namespace faxgw::fuzz
