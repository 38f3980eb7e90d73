// What isolating a renderer costs per document: the private namespaces and
// root of run_isolated's child against a plain fork() child, and bubblewrap
// around Ghostscript against Ghostscript alone, in the same run. Prints
// median milliseconds of N runs (argument 1, default 20).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "faxgw/render.h"
#include "program.h"

using namespace faxgw::render;

namespace {

double median_ms(int runs, const std::function<void()>& f) {
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
        const auto start = std::chrono::steady_clock::now();
        f();
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

std::string read(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void row(const char* what, double without, double with) {
    std::printf("%-34s %10.1f %10.1f %10.1f\n", what, without, with, with - without);
}

}  // namespace

int main(int argc, char** argv) {
    const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
    const std::filesystem::path docs = std::filesystem::path(FAXGW_SOURCE_DIR) / "samples/docs";
    std::printf("median of %d runs, ms: without isolation, with, difference\n", runs);
    std::printf("%-34s %10s %10s %10s\n", "", "without", "with", "cost");

    // The child alone: fork() and wait, against run_isolated's keeper and
    // renderer with their namespaces, private root and a page written back.
    const Page page = Page::blank(page_height_px(Paper::a4, Resolution::fine), Resolution::fine);
    const double plain_fork = median_ms(runs, [] {
        const pid_t pid = ::fork();
        if (pid == 0) ::_exit(0);
        ::waitpid(pid, nullptr, 0);
    });
    const double isolated_child = median_ms(
        runs, [&] { run_isolated("bench", [&] { return std::vector<Page>{page}; }, {}); });
    row("empty child (fork vs run_isolated)", plain_fork, isolated_child);

    Options in_process;
    in_process.isolate = false;
    const std::string gif = read(docs / "photo.gif");
    row("photo.gif render_document",
        median_ms(runs, [&] { render_document(gif, "", "photo.gif", in_process); }),
        median_ms(runs, [&] { render_document(gif, "", "photo.gif", {}); }));

    // Ghostscript on a three-page PostScript file, alone and in bubblewrap.
    const WorkDir work("faxgw-bench-");
    std::filesystem::copy_file(docs / "three-pages.ps", work / "in.ps");
    const std::vector<std::string> gs = {find_program("gs").string(),
                                         "-q",
                                         "-dSAFER",
                                         "-dBATCH",
                                         "-dNOPAUSE",
                                         "-sDEVICE=tiffg4",
                                         "-sOutputFile=" + (work / "out.tif").string(),
                                         (work / "in.ps").string()};
    row("gs three-pages.ps (bwrap)", median_ms(runs, [&] { run_program(gs, work / "log", 60); }),
        median_ms(runs, [&] { run_sandboxed(gs, work.path(), work / "log", 60); }));
    return 0;
}
