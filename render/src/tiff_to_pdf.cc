// Fax TIFF to PDF through Debian's tiff2pdf.
//
// tiff2pdf (libtiff-tools) already does exactly this job: it copies
// single-strip G4 data into the PDF untouched as a CCITTFax stream and sizes
// each page from the TIFF's own x and y resolution. Writing a PDF by hand
// would duplicate it; linking it is impossible (it is a program, not a
// library). It runs with an argv vector, never through a shell.
#include <string>

#include "faxgw/render.h"
#include "program.h"
#include "tiff_file.h"

namespace faxgw::render {

namespace {

// Keeps a file name that starts with '-' from being read as an option.
std::string as_argument(const std::filesystem::path& p) {
    const std::string s = p.string();
    return s.starts_with('-') ? "./" + s : s;
}

// Runs tiff2pdf through run_program; throws Error with what it printed if
// it does not exit 0.
void run_tiff2pdf(const std::filesystem::path& out, const std::filesystem::path& in) {
    const std::filesystem::path tool = find_program("tiff2pdf");
    if (tool.empty()) throw Error("tiff2pdf (libtiff-tools) is not installed on the gateway");
    const WorkDir work("faxgw-tiff2pdf");
    const auto log = work / "tiff2pdf.log";
    const int code =
        run_program({tool.string(), "-o", as_argument(out), as_argument(in)}, log, 120);
    if (code != 0) {
        const std::string errors = log_tail(log);
        throw Error("tiff2pdf failed" +
                    (errors.empty() ? " (exit " + std::to_string(code) + ")" : ": " + errors));
    }
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
    naming_file(tiff, [&] { run_tiff2pdf(partial.path, input); });
    replace_file(partial.path, pdf);
    partial.path.clear();
}

}  // namespace faxgw::render
