// Choosing a renderer by what a document contains, not by its name: mail
// attachments often carry wrong or missing extensions and MIME types. The
// type and name are hints only where content cannot tell (HTML, SVG and RTF
// are valid UTF-8 text but must not be printed as source).
#include <glib.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <string>

#include "faxgw/render.h"
#include "isolate.h"
#include "tiff_file.h"

namespace faxgw::render {

namespace {

enum class Kind { pdf, postscript, image, text, unknown };

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string extension_of(std::string_view filename) {
    const std::size_t dot = filename.rfind('.');
    return dot == std::string_view::npos ? "" : lower(filename.substr(dot + 1));
}

bool is_image(std::string_view b) {
    return b.starts_with("\x89PNG\r\n\x1a\n") || b.starts_with("\xFF\xD8\xFF") ||
           b.starts_with("GIF87a") || b.starts_with("GIF89a") ||
           (b.starts_with("BM") && b.size() > 26) ||
           (b.starts_with("RIFF") && b.substr(8, 4) == "WEBP") ||
           b.starts_with(std::string_view("II*\0", 4)) ||
           b.starts_with(std::string_view("MM\0*", 4));
}

// Text formats that are UTF-8 but are not meant to be read as text.
bool is_markup(std::string_view b, std::string_view mime, std::string_view filename) {
    const std::string m = lower(mime.substr(0, mime.find(';')));
    if (m == "text/html" || m == "text/rtf" || m == "application/rtf" || m == "image/svg+xml" ||
        m == "text/enriched" || m == "text/richtext" || m == "application/xhtml+xml")
        return true;
    const std::string ext = extension_of(filename);
    if (ext == "html" || ext == "htm" || ext == "xhtml" || ext == "svg" || ext == "rtf")
        return true;
    std::size_t start = b.find_first_not_of(" \t\r\n");
    if (b.substr(0, 3) == "\xEF\xBB\xBF") start = b.find_first_not_of(" \t\r\n", 3);
    if (start == std::string_view::npos) return false;
    const std::string head = lower(b.substr(start, 64));
    return head.starts_with("<!doctype html") || head.starts_with("<html") ||
           head.starts_with("<svg") || head.starts_with("{\\rtf") ||
           (head.starts_with("<?xml") &&
            lower(b.substr(0, 4096)).find("<svg") != std::string::npos);
}

Kind sniff(std::string_view bytes, std::string_view mime, std::string_view filename) {
    // PDF readers accept the header anywhere in the first kilobyte.
    if (bytes.substr(0, 1024).find("%PDF-") != std::string_view::npos) return Kind::pdf;
    if (bytes.starts_with("%!") || bytes.starts_with("\xC5\xD0\xD3\xC6")) return Kind::postscript;
    if (is_image(bytes)) return Kind::image;
    if (bytes.find('\0') == std::string_view::npos &&
        g_utf8_validate(bytes.data(), static_cast<gssize>(bytes.size()), nullptr) &&
        !is_markup(bytes, mime, filename))
        return Kind::text;
    return Kind::unknown;
}

// What to call a document's type in a refusal: the sender's MIME type if
// there is one, else what its first bytes look like.
std::string type_of(std::string_view bytes, std::string_view mime, std::string_view filename) {
    if (!mime.empty()) return std::string(mime.substr(0, mime.find(';')));
    if (bytes.starts_with("PK\3\4")) return "ZIP archive or Office document";
    if (bytes.starts_with("\xD0\xCF\x11\xE0")) return "Microsoft Office document";
    if (is_markup(bytes, mime, filename)) return "HTML, SVG or RTF";
    if (bytes.empty()) return "empty file";
    const std::string ext = extension_of(filename);
    return ext.empty() ? "unknown type" : "." + ext + " file";
}

std::string read_file(const std::filesystem::path& file, std::uintmax_t max_bytes) {
    std::error_code ec;
    const std::uintmax_t size = std::filesystem::file_size(file, ec);
    if (ec) throw Error("cannot read file: " + ec.message());
    if (size > max_bytes) throw Error("file is too large to fax");
    std::ifstream in(file, std::ios::binary);
    std::string bytes(std::istreambuf_iterator<char>(in), {});
    if (!in && !in.eof()) throw Error("cannot read file");
    return bytes;
}

std::vector<Page> render_kind(std::string_view bytes, Kind kind, const Options& options) {
    switch (kind) {
        case Kind::pdf:
            return render_pdf(bytes, options);
        case Kind::postscript:
            return render_postscript(bytes, options);
        case Kind::image:
            return render_image(bytes, options);
        case Kind::text:
            // A byte-order mark is legal UTF-8 but would print as a blank glyph.
            if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
            return render_text(bytes, options);
        case Kind::unknown:
            break;
    }
    throw Error("cannot be faxed");
}

}  // namespace

std::vector<Page> render_document(std::string_view bytes, std::string_view mime_type,
                                  std::string_view filename, const Options& options) {
    const std::string name = filename.empty() ? std::string("document") : std::string(filename);
    const Kind kind = sniff(bytes, mime_type, filename);
    if (kind == Kind::unknown)
        throw Error("attachment " + name + " (" + type_of(bytes, mime_type, filename) +
                    ") cannot be faxed");
    if (bytes.size() > options.max_input_bytes)
        throw Error(name + ": document is too large to fax (" + std::to_string(bytes.size() >> 20) +
                    " MB, limit " + std::to_string(options.max_input_bytes >> 20) + " MB)");
    const auto render = [&] { return render_kind(bytes, kind, options); };
    std::vector<Page> pages = options.isolate ? run_isolated(name, render, options)
                                              : naming_file(name, [&] { return render(); });
    if (pages.size() > static_cast<std::size_t>(options.max_pages))
        throw Error(name + ": document has " + std::to_string(pages.size()) +
                    " pages, more than the limit of " + std::to_string(options.max_pages));
    return pages;
}

std::vector<Page> render_file(const std::filesystem::path& file, const Options& options) {
    const std::string bytes =
        naming_file(file, [&] { return read_file(file, options.max_input_bytes); });
    return render_document(bytes, "", file.filename().string(), options);
}

}  // namespace faxgw::render
