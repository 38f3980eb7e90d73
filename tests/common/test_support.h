// What many tests need: a temp folder that cleans up after itself, whole
// files read, and the project's sample mails.
#pragma once

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace faxgw::test {

inline const std::filesystem::path source_dir = FAXGW_SOURCE_DIR;

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string templ = (std::filesystem::temp_directory_path() / "faxgw-test-XXXXXX").string();
        if (!::mkdtemp(templ.data())) throw std::runtime_error("cannot make a temp folder");
        path = templ;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

// The whole file; throws if it cannot be read, so a missing fixture fails loudly.
inline std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + p.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline std::string sample_mail(const std::string& name) {
    return slurp(source_dir / "samples" / "mail" / name);
}

// Calls `done` every `step` until it returns true or `limit` has passed;
// returns its last answer.
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit,
                       std::chrono::milliseconds step = std::chrono::milliseconds(50)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (done()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return done();
        std::this_thread::sleep_for(step);
    }
}

}  // namespace faxgw::test
