// Office documents (Word, Excel, PowerPoint, OpenDocument, RTF) through
// LibreOffice: `soffice --headless --convert-to pdf`, then poppler.
//
// LibreOffice is optional (Debian libreoffice-core-nogui with the -writer,
// -calc and -impress -nogui packages, ~310 MB): without it these
// attachments wait (ResourceError) until it is installed. Each conversion
// gets a private, throw-away profile (-env:UserInstallation) so that
// conversions never share state or wait on each other's lock, and has
// macros off (LibreOffice's default security level does not run document
// macros headless).
//
// Documents can link to files and URLs: pictures, text (INCLUDETEXT,
// INCLUDEPICTURE fields, linked sections), OLE objects and spreadsheet
// ranges. Three things keep what they link to off the page:
//  - soffice runs under bubblewrap (run_sandboxed), which shows it only the
//    system's read-only files and the conversion's own folder: the queue's
//    spool, /etc and home folders are not there to be read;
//  - inside render_document's isolated child, and in bubblewrap, there is no
//    network, not even 127.0.0.1;
//  - the profile turns link updating off (profile_settings), so LibreOffice
//    does not even try.
#include "office.h"

#include <string>

#include "faxgw/render.h"
#include "program.h"

namespace faxgw::render {

namespace {

// registrymodifications.xcu of a fresh profile: Writer's and Calc's link
// update mode "never" (Writer 0 = never, 1 = on request, 2 = always; Calc
// 0 = always, 1 = never, 2 = on request), Writer's fields not updated on
// load (INCLUDETEXT would read its file), and links from documents outside
// the trusted locations (none are configured) blocked, which covers linked
// pictures in every application.
constexpr const char* profile_settings = R"XML(<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Writer/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Writer/Content/Update"><prop oor:name="Field" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>1</value></prop></item>
</oor:items>
)XML";

}  // namespace

void write_libreoffice_profile(const std::filesystem::path& profile) {
    std::error_code ec;
    std::filesystem::create_directories(profile / "user", ec);
    if (ec) throw ResourceError("cannot write a LibreOffice profile: " + ec.message());
    write_file(profile / "user/registrymodifications.xcu", profile_settings);
}

std::vector<Page> render_office_in_process(std::string_view bytes, const std::string& extension,
                                           const Options& options) {
    const std::filesystem::path soffice = find_program(options.libreoffice);
    if (soffice.empty()) throw ResourceError("LibreOffice is not installed on the gateway");
    const WorkDir dir("faxgw-office-");
    const std::string in = (dir / ("document." + extension)).string();
    write_file(in, bytes);
    write_libreoffice_profile(dir / "profile");
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
    const int status =
        run_sandboxed(args, dir.path(), dir / "log", std::max(1, options.wall_seconds));
    const std::filesystem::path pdf = dir / "out" / "document.pdf";
    std::error_code ec;
    if (status != 0 || !std::filesystem::exists(pdf, ec))
        throw Error("document cannot be converted (LibreOffice: " + log_tail(dir / "log") + ")");
    return render_pdf(read_whole_file(pdf), options);
}

}  // namespace faxgw::render
