// Office documents (Word, Excel, PowerPoint, OpenDocument, RTF) through
// LibreOffice: `soffice --headless --convert-to pdf`, then poppler.
//
// LibreOffice is optional (Debian libreoffice-core-nogui with the -writer,
// -calc and -impress -nogui packages, ~310 MB): without it these
// attachments are refused by name before anything is started. Each
// conversion gets a private, throw-away profile (-env:UserInstallation) so
// that conversions never share state or wait on each other's lock, runs
// inside render_document's isolated child (its limits apply to soffice too:
// it is in the child's process group) and has macros off (LibreOffice's
// default security level does not run document macros headless).
// LibreOffice loads pictures a document links to by URL (an http:// image
// in a DOCX or ODT): inside render_document's child it cannot, as that child
// has no network, not even 127.0.0.1 (isolate.cc). With options.isolate off
// nothing stops it, so untrusted documents need isolation.
#include <string>

#include "faxgw/render.h"
#include "program.h"

namespace faxgw::render {

std::vector<Page> render_office_in_process(std::string_view bytes, const std::string& extension,
                                           const Options& options) {
    const std::filesystem::path soffice = find_program(options.libreoffice);
    if (soffice.empty()) throw Error("LibreOffice is not installed on the gateway");
    const WorkDir dir("faxgw-office-");
    const std::string in = (dir / ("document." + extension)).string();
    write_file(in, bytes);
    const std::vector<std::string> args = {
        soffice.string(),
        "-env:UserInstallation=file://" + (dir / "profile").string(),
        "--headless",
        "--invisible",
        "--nologo",
        "--norestore",
        "--nodefault",
        "--nolockcheck",
        "--convert-to",
        "pdf",
        "--outdir",
        (dir / "out").string(),
        in};
    const int status = run_program(args, dir / "log", std::max(1, options.wall_seconds),
                                   {"HOME=" + dir.path().string()});
    const std::filesystem::path pdf = dir / "out" / "document.pdf";
    std::error_code ec;
    if (status != 0 || !std::filesystem::exists(pdf, ec))
        throw Error("document cannot be converted (LibreOffice: " + log_tail(dir / "log") + ")");
    return render_pdf(read_whole_file(pdf), options);
}

}  // namespace faxgw::render
