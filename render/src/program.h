// Private: running helper programs (WeasyPrint, LibreOffice, Ghostscript)
// from a renderer: posix_spawn with an argument vector, never a shell, and
// for documents inside bubblewrap.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "faxgw/render.h"

namespace faxgw::render {

// The temporary folder (TMPDIR, else /tmp); ResourceError if it is
// missing or not a folder.
std::filesystem::path temp_folder();

// A fresh private folder (mode 0700) in `in` (empty: the temp dir), removed
// with its contents. ResourceError if it cannot be made (full, unwritable).
class WorkDir {
public:
    explicit WorkDir(const char* prefix, const std::filesystem::path& in = {});
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
// those of the same name), and waits at most `seconds`. Returns the exit
// status. Throws ResourceError (the gateway's fault, not the document's)
// "rendering took longer than N s" when it was killed for that, and when it
// could not be started or died of a signal other than its processor-time
// limit (RLIMIT_CPU, which gives Error "... used more than N s of processor
// time").
int run_program(const std::vector<std::string>& args, const std::filesystem::path& log, int seconds,
                const std::vector<std::string>& env = {});

// System files, read-only, that the isolated renderer and the programs it
// runs see besides their scratch folder: /usr (with the /bin, /lib, ...
// links to it) and what of /etc and /var the renderers read (fonts, the
// dynamic linker's cache, LibreOffice's and Ghostscript's configuration).
// Nothing else: no state folder, no /home, no /etc/passwd.
const std::vector<std::filesystem::path>& sandbox_system_paths();

// run_program for programs that read documents: inside bubblewrap (bwrap),
// which shows them sandbox_system_paths read-only, `work` read-write (the
// only folder their arguments may name), a /dev of harmless devices, a
// /proc of their own and an empty private /tmp; with no network, no
// namespace of the caller, no capabilities, a session of their own (no
// terminal to inject input into), an environment of PATH, HOME=work and
// `env` only, and killed when the caller dies. ResourceError as run_program,
// and when bubblewrap is missing or cannot set up the sandbox.
int run_sandboxed(const std::vector<std::string>& args, const std::filesystem::path& work,
                  const std::filesystem::path& log, int seconds,
                  const std::vector<std::string>& env = {});

// Ghostscript's command line (`gs`: its path) that renders the PostScript
// or EPS file `in` into the fax TIFF `out`. -dSAFER among them: a test runs
// it outside bubblewrap to see that on its own.
std::vector<std::string> ghostscript_arguments(const std::filesystem::path& gs,
                                               const std::filesystem::path& in,
                                               const std::filesystem::path& out,
                                               const Options& options);

// The last `max` bytes of a log file, on one line.
std::string log_tail(const std::filesystem::path& log, std::size_t max = 200);

void write_file(const std::filesystem::path& file, std::string_view bytes);
std::string read_whole_file(const std::filesystem::path& file);

}  // namespace faxgw::render
