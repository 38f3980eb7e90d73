// Helpers shared by the render tests: temporary directories, running
// command-line tools and looking at where the ink is on a page.
#pragma once

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>

#include "faxgw/render.h"

namespace faxgw::render {

// So that Boost.Test can print them when a check fails.
inline std::ostream& operator<<(std::ostream& os, Resolution r) { return os << to_string(r); }
inline std::ostream& operator<<(std::ostream& os, Paper p) { return os << to_string(p); }

}  // namespace faxgw::render

namespace faxgw::render::test {

inline std::filesystem::path samples() {
    return std::filesystem::path(FAXGW_SOURCE_DIR) / "samples/docs";
}

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
public:
    TempDir() {
        std::random_device rd;
        path_ =
            std::filesystem::temp_directory_path() / ("faxgw-render-test-" + std::to_string(rd()));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

inline std::string read_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

inline void write_bytes(const std::filesystem::path& file, std::string_view bytes) {
    std::ofstream(file, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

struct Output {
    int status;
    std::string text;  // stdout and stderr
};

// Runs a shell command line (tests only; file names are our temp paths).
inline Output run(const std::string& command) {
    FILE* p = ::popen((command + " 2>&1").c_str(), "r");
    if (!p) throw std::runtime_error("cannot run " + command);
    std::string text;
    std::array<char, 4096> buf;
    while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) text.append(buf.data(), n);
    const int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

inline bool have_tool(const std::string& name) { return run("command -v " + name).status == 0; }

// Bounding box of the black pixels; empty() if the page is white.
struct Ink {
    int left = 1 << 30, top = 1 << 30, right = -1, bottom = -1;  // inclusive
    long pixels = 0;
    bool empty() const { return pixels == 0; }
};

inline Ink ink_of(const Page& page) {
    Ink ink;
    for (int y = 0; y < page.height; ++y)
        for (int x = 0; x < page.width; ++x)
            if (page.black(x, y)) {
                ink.left = std::min(ink.left, x);
                ink.right = std::max(ink.right, x);
                ink.top = std::min(ink.top, y);
                ink.bottom = std::max(ink.bottom, y);
                ++ink.pixels;
            }
    return ink;
}

inline int inked_rows(const Page& page) {
    int rows = 0;
    for (int y = 0; y < page.height; ++y) {
        const auto row = page.bits.begin() + static_cast<long>(y) * page.stride();
        rows += std::any_of(row, row + page.stride(), [](std::uint8_t b) { return b != 0; });
    }
    return rows;
}

// A page with a recognisable, asymmetric pattern, for round trips.
inline Page pattern_page(int height, Resolution r, unsigned seed) {
    Page page = Page::blank(height, r);
    std::mt19937 gen(seed);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < page.width; ++x)
            if ((x / 16 + y / 8) % 3 == 0 || gen() % 97 == 0) page.set_black(x, y);
    for (int x = 0; x < page.width; ++x) page.set_black(x, 0);  // top edge
    return page;
}

}  // namespace faxgw::render::test
