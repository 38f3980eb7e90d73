// HTML (mail bodies and attachments) through WeasyPrint, then poppler.
//
// Engines considered (all in Debian 12):
//  - WeasyPrint 57 (package weasyprint, ~190 MB with Python and its
//    libraries): CSS 2/3 with paged media, no JavaScript at all, and every
//    resource it loads goes through one url_fetcher function we supply, so
//    "cid: and data: only, nothing else" is a few lines and holds for
//    images, style sheets, @import and fonts alike. ~0.5-1 s per mail.
//  - wkhtmltopdf 0.12.6 (~100 MB): QtWebKit, unmaintained upstream (archived
//    2023) with known server-side request forgery reports; JavaScript on by
//    default; blocking the network means a proxy trick or --disable-* flags
//    that cover some request kinds only.
//  - Chromium headless --print-to-pdf: the best CSS, but several hundred MB,
//    a JavaScript engine, needs its own sandbox (awkward as root) and only a
//    command-line proxy to keep it off the network; seconds of start-up.
//  - LibreOffice --convert-to pdf: imports HTML as a Writer document, losing
//    much CSS; kept for Office files (office.cc).
// WeasyPrint wins on safety (no scripts, one choke point for fetches) at
// acceptable quality and cost.
//
// How it runs: the weasyprint launcher on PATH names its Python in its
// first line; that Python runs the script below (-I: no user site, no
// PYTHON* variables) on files in a private folder: the HTML, and each cid:
// picture as a file named by the hex of its Content-ID. The url_fetcher
// serves cid: from there, data: as WeasyPrint would, and refuses anything
// else (http, https, ftp, file, relative paths: base_url is None) without
// touching the network. The PDF then goes through render_pdf. Python runs
// under bubblewrap (run_sandboxed): should the fetcher ever be bypassed, a
// file:// URL finds only the system's read-only files and the private
// folder, and there is no network to reach.
#include <map>
#include <string>

#include "faxgw/render.h"
#include "isolate.h"
#include "program.h"
#include "tiff_file.h"

namespace faxgw::render {

namespace {

constexpr const char* script = R"PY(
import sys
try:
    import weasyprint
except ImportError:
    sys.exit(3)
import os, urllib.parse
html_file, pdf_file, cid_dir = sys.argv[1:4]

def fetch(url):
    scheme = url.split(':', 1)[0].lower()
    if scheme == 'data':
        return weasyprint.default_url_fetcher(url, timeout=1)
    if scheme == 'cid':
        cid = urllib.parse.unquote(url[4:]).strip().strip('<>')
        path = os.path.join(cid_dir, cid.encode('utf-8', 'replace').hex()[:200])
        with open(path, 'rb') as f:
            return {'string': f.read()}
    raise ValueError('not fetched: %s URL' % scheme)

with open(html_file, encoding='utf-8', errors='replace') as f:
    html = f.read()
page = weasyprint.CSS(string='@page { size: %s; margin: 15mm }' % sys.argv[4])
weasyprint.HTML(string=html, base_url=None, url_fetcher=fetch).write_pdf(
    pdf_file, stylesheets=[page], presentational_hints=True)
)PY";

std::string hex(std::string_view s) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out.substr(0, 200);
}

// The Python interpreter the weasyprint launcher runs with.
std::filesystem::path weasyprint_python(const Options& options) {
    const std::filesystem::path launcher = find_program(options.weasyprint);
    if (launcher.empty())
        throw ResourceError("HTML cannot be faxed: WeasyPrint is not installed on the gateway");
    std::string first = read_whole_file(launcher).substr(0, 256);
    first = first.substr(0, first.find('\n'));
    if (!first.starts_with("#!"))
        throw ResourceError("HTML cannot be faxed: WeasyPrint launcher not understood");
    std::string interp = first.substr(2);
    interp = interp.substr(interp.find_first_not_of(' '));
    interp = interp.substr(0, interp.find(' '));
    return interp;
}

}  // namespace

std::vector<Page> render_html_in_process(std::string_view html_utf8,
                                         const std::map<std::string, std::string>& cid_images,
                                         const Options& options) {
    const std::filesystem::path python = weasyprint_python(options);
    const WorkDir dir("faxgw-html-");
    const std::filesystem::path cids = dir / "cid";
    std::filesystem::create_directory(cids);
    for (const auto& [id, bytes] : cid_images) {
        std::string_view cid = id;
        while (!cid.empty() && (cid.front() == '<' || cid.front() == ' ')) cid.remove_prefix(1);
        while (!cid.empty() && (cid.back() == '>' || cid.back() == ' ')) cid.remove_suffix(1);
        write_file(cids / hex(cid), bytes);
    }
    write_file(dir / "in.html", html_utf8);
    const std::string paper = options.paper == Paper::a4       ? "A4"
                              : options.paper == Paper::letter ? "letter"
                                                               : "legal";
    const std::vector<std::string> args = {
        python.string(), "-I", "-c", script, (dir / "in.html").string(), (dir / "out.pdf").string(),
        cids.string(),   paper};
    // HOME and the caches in the private folder: fontconfig may write there.
    const int status =
        run_sandboxed(args, dir.path(), dir / "log", std::max(1, options.wall_seconds),
                      {"XDG_CACHE_HOME=" + (dir / "cache").string()});
    if (status == 3)
        throw ResourceError("HTML cannot be faxed: WeasyPrint is not installed on the gateway");
    if (status != 0)
        throw Error("HTML cannot be rendered (WeasyPrint: " + log_tail(dir / "log") + ")");
    return render_pdf(read_whole_file(dir / "out.pdf"), options);
}

std::vector<Page> render_html(std::string_view html_utf8,
                              const std::map<std::string, std::string>& cid_images,
                              const Options& options) {
    const auto render = [&] { return render_html_in_process(html_utf8, cid_images, options); };
    return options.isolate ? run_isolated("HTML", render, options) : render();
}

}  // namespace faxgw::render
