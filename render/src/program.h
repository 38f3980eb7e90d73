// Private: running helper programs (WeasyPrint, LibreOffice) from a
// renderer: posix_spawn with an argument vector, never a shell.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "faxgw/render.h"

namespace faxgw::render {

// A fresh private folder (mode 0700) under the temp dir, removed with its
// contents.
class WorkDir {
public:
    explicit WorkDir(const char* prefix);
    ~WorkDir();
    WorkDir(const WorkDir&) = delete;
    WorkDir& operator=(const WorkDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

// The executable file `name` names: itself if it has a slash, else the
// first match on PATH. Empty if there is none.
std::filesystem::path find_program(const std::string& name);

// Runs args[0] (a path) with args, stdin from /dev/null, stdout and stderr
// into `log`, the environment plus `env` ("NAME=value" entries replace
// those of the same name), and waits at most `seconds`: then it is killed
// and Error "rendering took longer than N s" is thrown. Returns the exit
// status; throws Error if it could not be started or died of a signal.
int run_program(const std::vector<std::string>& args, const std::filesystem::path& log, int seconds,
                const std::vector<std::string>& env = {});

// The last `max` bytes of a log file, on one line.
std::string log_tail(const std::filesystem::path& log, std::size_t max = 200);

void write_file(const std::filesystem::path& file, std::string_view bytes);
std::string read_whole_file(const std::filesystem::path& file);

}  // namespace faxgw::render
