// Fax TIFF to PDF through Debian's tiff2pdf.
//
// tiff2pdf (libtiff-tools) already does exactly this job: it copies
// single-strip G4 data into the PDF untouched as a CCITTFax stream and sizes
// each page from the TIFF's own x and y resolution. Writing a PDF by hand
// would duplicate it; linking it is impossible (it is a program, not a
// library). It runs with an argv vector, never through a shell.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "faxgw/render.h"
#include "tiff_file.h"

extern char** environ;

namespace faxgw::render {

namespace {

class FileActions {
public:
    FileActions() { posix_spawn_file_actions_init(&actions_); }
    ~FileActions() { posix_spawn_file_actions_destroy(&actions_); }
    FileActions(const FileActions&) = delete;
    FileActions& operator=(const FileActions&) = delete;
    posix_spawn_file_actions_t* get() { return &actions_; }

private:
    posix_spawn_file_actions_t actions_;
};

// Closes a descriptor when it goes out of scope.
struct Fd {
    int fd = -1;
    ~Fd() { reset(); }
    void reset() {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
};

// Keeps a file name that starts with '-' from being read as an option.
std::string as_argument(const std::filesystem::path& p) {
    const std::string s = p.string();
    return s.starts_with('-') ? "./" + s : s;
}

std::string read_all(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0)
            out.append(buf, static_cast<std::size_t>(n));
        else if (n == 0 || errno != EINTR)
            break;
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

int wait_for(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Runs argv[0] from PATH with stdin and stdout on /dev/null; throws Error
// with its stderr if it does not exit 0.
void run(const std::vector<std::string>& args) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        throw Error("cannot run " + args[0] + ": " + std::strerror(errno));
    Fd read_end{pipe_fds[0]}, write_end{pipe_fds[1]};

    FileActions actions;
    posix_spawn_file_actions_addopen(actions.get(), 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(actions.get(), 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(actions.get(), write_end.fd, 2);

    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int err = posix_spawnp(&pid, argv[0], actions.get(), nullptr, argv.data(), environ);
    if (err != 0) throw Error("cannot run " + args[0] + ": " + std::strerror(err));
    write_end.reset();  // so the read below ends when the child exits

    const std::string errors = read_all(read_end.fd);
    const int code = wait_for(pid);
    if (code != 0)
        throw Error(args[0] + " failed" +
                    (errors.empty() ? " (exit " + std::to_string(code) + ")" : ": " + errors));
}

// Removes a temporary file on scope exit, unless it was renamed away.
struct TempFile {
    std::filesystem::path path;
    ~TempFile() {
        std::error_code ignored;
        if (!path.empty()) std::filesystem::remove(path, ignored);
    }
};

}  // namespace

void fax_tiff_to_pdf(const std::filesystem::path& tiff, const std::filesystem::path& pdf) {
    std::filesystem::path input = tiff;
    // tiff2pdf copies only single-strip G4 through; anything else (spandsp
    // receives as multi-strip G3) it would store uncompressed, ~0.5 MB a
    // page. Re-encoding as G4 first is lossless and keeps the PDF small.
    TempFile g4{};
    if (!is_single_strip_g4(tiff)) {
        g4.path = pdf.string() + ".g4.tif";
        write_fax_tiff(read_fax_tiff(tiff), g4.path);
        input = g4.path;
    }
    TempFile partial{pdf.string() + ".partial"};
    naming_file(tiff, [&] {
        run({"tiff2pdf", "-o", as_argument(partial.path), as_argument(input)});
    });
    replace_file(partial.path, pdf);
    partial.path.clear();
}

}  // namespace faxgw::render
