// PostScript and EPS through Ghostscript's own fax device.
//
// gs is run as a program (run_program: an argument vector, no shell)
// rather than through libgs: libgs would have to run in this process, it
// holds global state (one instance per process) and its 60 ms start-up is
// the same either way. -dSAFER keeps the document away from files and
// programs; it also runs under bubblewrap (run_sandboxed), so that even a
// way around -dSAFER finds no file of the gateway to read. Paper: -sPAPERSIZE (gs silently ignores
// -sPaperSize) with -dFIXEDMEDIA so the document's own page size is fitted (-dEPSFitPage,
// -dPDFFitPage) instead of obeyed; the tiffg4 device pads or crops the
// width to 1728, or 2048 for B4 (its AdjustWidth default), which
// read_fax_tiff checks.
#include <algorithm>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>

#include "auto_resolution.h"
#include "faxgw/render.h"
#include "program.h"
#include "tiff_file.h"

namespace faxgw::render {

namespace {

// The last line Ghostscript printed that says what went wrong.
std::string gs_complaint(const std::filesystem::path& log) {
    std::ifstream in(log);
    std::string line, best;
    while (std::getline(in, line)) {
        if (line.find("Error") != std::string::npos && best.empty()) best = line;
    }
    if (best.size() > 160) best.resize(160);
    return best;
}

// "%%Pages: N" from the DSC comments, 0 if absent or "(atend)".
int declared_pages(std::string_view ps) {
    static const std::regex pages(R"(%%Pages:\s*(\d+))");
    std::match_results<std::string_view::const_iterator> m;
    const std::string_view head = ps.substr(0, 64 * 1024);
    if (std::regex_search(head.begin(), head.end(), m, pages)) return std::stoi(m[1].str());
    const std::string_view tail = ps.substr(ps.size() - std::min<std::size_t>(ps.size(), 4096));
    if (std::regex_search(tail.begin(), tail.end(), m, pages)) return std::stoi(m[1].str());
    return 0;
}

}  // namespace

std::vector<std::string> ghostscript_arguments(const std::filesystem::path& gs,
                                               const std::filesystem::path& in,
                                               const std::filesystem::path& out,
                                               const Options& options) {
    return {gs.string(),
            "-q",
            "-dSAFER",
            "-dBATCH",
            "-dNOPAUSE",
            "-dNOINTERPOLATE",
            "-sDEVICE=tiffg4",
            "-r" + std::to_string(fax_x_dpi) + "x" + std::to_string(y_dpi(options.resolution)),
            "-sPAPERSIZE=" + std::string(to_string(options.paper)),
            "-dFIXEDMEDIA",
            "-dPDFFitPage",
            "-dEPSFitPage",
            "-dPDFSTOPONERROR",
            "-sOutputFile=" + out.string(),
            "-f",
            in.string()};
}

namespace {

// At a concrete resolution (the public render_postscript also takes automatic).
std::vector<Page> render_postscript_at(std::string_view ps_bytes, const Options& options) {
    if (ps_bytes.size() > options.max_input_bytes)
        throw LimitError("PostScript is too large to fax");
    const WorkDir dir("faxgw-gs");
    const std::filesystem::path in = dir / "in.ps", out = dir / "out.tif", log = dir / "gs.log";
    write_file(in, ps_bytes);
    const std::filesystem::path gs = find_program("gs");
    if (gs.empty()) throw ResourceError("Ghostscript (gs) is not installed on the gateway");
    const int status = run_sandboxed(ghostscript_arguments(gs, in, out, options), dir.path(), log,
                                     std::max(1, options.wall_seconds));
    if (status != 0) {
        const std::string why = gs_complaint(log);
        throw Error("PostScript cannot be rendered (Ghostscript: " +
                    (why.empty() ? "exit status " + std::to_string(status) : why) + ")");
    }
    std::error_code ec;
    if (!std::filesystem::exists(out, ec) || std::filesystem::file_size(out, ec) == 0)
        throw Error("PostScript has no pages");
    const int count = count_tiff_pages(out);
    if (count > options.max_pages)
        throw LimitError("PostScript has " + std::to_string(count) +
                         " pages, more than the limit of " + std::to_string(options.max_pages));
    const int declared = declared_pages(ps_bytes);
    if (declared > 0 && count < declared)
        throw Error("PostScript is damaged (" + std::to_string(count) + " of " +
                    std::to_string(declared) + " pages rendered)");
    std::vector<Page> pages = read_fax_tiff(out);
    // gs's paper sizes are whole points: its B4 (1001 pt) is a row longer
    // than 353 mm at fine. Every renderer's pages are page_height_px high,
    // so the row of paper edge is dropped (or a missing one added, white).
    const int rows = page_height_px(options.paper, options.resolution);
    for (Page& p : pages) {
        p.resolution = options.resolution;
        p.height = rows;
        p.bits.resize(static_cast<std::size_t>(p.stride()) * rows, 0);
    }
    return pages;
}

}  // namespace

std::vector<Page> render_postscript(std::string_view ps_bytes, const Options& options) {
    return with_resolution(options,
                           [&](const Options& o) { return render_postscript_at(ps_bytes, o); });
}

}  // namespace faxgw::render
