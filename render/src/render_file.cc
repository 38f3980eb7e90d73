// Choosing a renderer by what a document contains, not by its name: mail
// attachments often carry wrong or missing extensions and MIME types. The
// type and name are hints only where content cannot tell (HTML, SVG and RTF
// are valid UTF-8 text but must not be printed as source).
#include <glib.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "faxgw/render.h"
#include "isolate.h"
#include "office.h"
#include "program.h"
#include "stream.h"
#include "tiff_file.h"

namespace faxgw::render {

namespace {

enum class Kind { pdf, postscript, image, text, html, office, unknown };

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

bool is_html(std::string_view b, std::string_view mime, std::string_view filename) {
    const std::string m = lower(mime.substr(0, mime.find(';')));
    if (m == "text/html" || m == "application/xhtml+xml") return true;
    const std::string ext = extension_of(filename);
    if (ext == "html" || ext == "htm" || ext == "xhtml") return true;
    std::size_t start = b.find_first_not_of(" \t\r\n");
    if (b.substr(0, 3) == "\xEF\xBB\xBF") start = b.find_first_not_of(" \t\r\n", 3);
    if (start == std::string_view::npos) return false;
    const std::string head = lower(b.substr(start, 64));
    return head.starts_with("<!doctype html") || head.starts_with("<html");
}

// Office documents LibreOffice converts: the extension to give the file and
// the words for a refusal, or empty.
struct OfficeType {
    std::string extension, words;
};

OfficeType office_type(std::string_view b, std::string_view mime, std::string_view filename) {
    const std::string ext = extension_of(filename);
    const std::string m = lower(mime.substr(0, mime.find(';')));
    static const std::pair<const char*, const char*> names[] = {
        {"docx", "Word document"},
        {"doc", "Word document"},
        {"xlsx", "Excel spreadsheet"},
        {"xls", "Excel spreadsheet"},
        {"pptx", "PowerPoint presentation"},
        {"ppt", "PowerPoint presentation"},
        {"odt", "OpenDocument text"},
        {"ods", "OpenDocument spreadsheet"},
        {"odp", "OpenDocument presentation"},
        {"rtf", "RTF document"}};
    const auto by_ext = [](const std::string& e) -> OfficeType {
        for (const auto& [x, w] : names)
            if (e == x) return {x, w};
        return {};
    };
    const bool zip = b.starts_with("PK\3\4"),
               ole = b.starts_with("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
    if (b.starts_with("{\\rtf")) return by_ext("rtf");
    if (zip) {
        const std::string_view head = b.substr(0, 30 + 80);
        if (head.find("mimetypeapplication/vnd.oasis.opendocument.text") != std::string_view::npos)
            return by_ext("odt");
        if (head.find("mimetypeapplication/vnd.oasis.opendocument.spreadsheet") !=
            std::string_view::npos)
            return by_ext("ods");
        if (head.find("mimetypeapplication/vnd.oasis.opendocument.presentation") !=
            std::string_view::npos)
            return by_ext("odp");
        OfficeType t = by_ext(ext);
        if (!t.extension.empty()) return t;
        const std::string_view names_area = b.substr(0, 256 * 1024);
        if (names_area.find("word/") != std::string_view::npos) return by_ext("docx");
        if (names_area.find("xl/") != std::string_view::npos) return by_ext("xlsx");
        if (names_area.find("ppt/") != std::string_view::npos) return by_ext("pptx");
        if (m.find("wordprocessingml") != std::string::npos) return by_ext("docx");
        if (m.find("spreadsheetml") != std::string::npos) return by_ext("xlsx");
        if (m.find("presentationml") != std::string::npos) return by_ext("pptx");
        return {};
    }
    if (ole) {
        OfficeType t = by_ext(ext);
        if (t.extension == "doc" || t.extension == "xls" || t.extension == "ppt") return t;
        if (m == "application/vnd.ms-excel") return by_ext("xls");
        if (m == "application/vnd.ms-powerpoint") return by_ext("ppt");
        return by_ext("doc");
    }
    return {};
}

Kind sniff(std::string_view bytes, std::string_view mime, std::string_view filename) {
    // PDF readers accept the header anywhere in the first kilobyte.
    if (bytes.substr(0, 1024).find("%PDF-") != std::string_view::npos) return Kind::pdf;
    if (bytes.starts_with("%!") || bytes.starts_with("\xC5\xD0\xD3\xC6")) return Kind::postscript;
    if (is_image(bytes)) return Kind::image;
    if (!office_type(bytes, mime, filename).extension.empty()) return Kind::office;
    if (bytes.find('\0') == std::string_view::npos &&
        g_utf8_validate(bytes.data(), static_cast<gssize>(bytes.size()), nullptr) &&
        is_html(bytes, mime, filename))
        return Kind::html;
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
    if (size > max_bytes) throw LimitError("file is too large to fax");
    std::ifstream in(file, std::ios::binary);
    std::string bytes(std::istreambuf_iterator<char>(in), {});
    if (!in && !in.eof()) throw Error("cannot read file");
    return bytes;
}

}  // namespace

std::vector<Page> render_html_in_process(std::string_view html_utf8,
                                         const std::map<std::string, std::string>& cid_images,
                                         const Options& options);
// render_kind runs where the rendering runs (in the isolated child when
// options.isolate): text is laid out there, not in a second, nested child.
std::vector<Page> render_text_in_process(std::string_view utf8, const Options& options);

namespace {

std::vector<Page> render_kind(std::string_view bytes, Kind kind, const std::string& office_ext,
                              const Options& options) {
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
            return render_text_in_process(bytes, options);
        case Kind::html:
            if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
            return render_html_in_process(bytes, {}, options);
        case Kind::office:
            return render_office_in_process(bytes, office_ext, options);
        case Kind::unknown:
            break;
    }
    throw Error("cannot be faxed");
}

}  // namespace

namespace {

// What render_document decides before rendering: refusals come from here.
struct Plan {
    std::string name;
    Kind kind;
    std::string office_ext;
};

Plan plan(std::string_view bytes, std::string_view mime_type, std::string_view filename,
          const Options& options) {
    const std::string name = filename.empty() ? std::string("document") : std::string(filename);
    const Kind kind = sniff(bytes, mime_type, filename);
    if (kind == Kind::unknown)
        throw Error("attachment " + name + " (" + type_of(bytes, mime_type, filename) +
                    ") cannot be faxed");
    if (bytes.size() > options.max_input_bytes)
        throw LimitError(name + ": document is too large to fax (" +
                         std::to_string(bytes.size() >> 20) + " MB, limit " +
                         std::to_string(options.max_input_bytes >> 20) + " MB)");
    std::string office_ext;
    if (kind == Kind::office) {
        const OfficeType t = office_type(bytes, mime_type, filename);
        // The gateway's fault, not the document's: the mail waits for it.
        if (find_program(options.libreoffice).empty())
            throw ResourceError("attachment " + name + " (" + t.words +
                                ") cannot be faxed: LibreOffice is not installed on the gateway");
        office_ext = t.extension;
    }
    return {name, kind, office_ext};
}

std::string too_many_pages(std::size_t pages, const Options& options) {
    return "document has " + std::to_string(pages) + " pages, more than the limit of " +
           std::to_string(options.max_pages);
}

}  // namespace

std::vector<Page> render_document(std::string_view bytes, std::string_view mime_type,
                                  std::string_view filename, const Options& options) {
    const Plan p = plan(bytes, mime_type, filename, options);
    const auto render = [&] { return render_kind(bytes, p.kind, p.office_ext, options); };
    std::vector<Page> pages = options.isolate ? run_isolated(p.name, render, options)
                                              : naming_file(p.name, [&] { return render(); });
    if (pages.size() > static_cast<std::size_t>(options.max_pages))
        throw Error(p.name + ": " + too_many_pages(pages.size(), options));
    return pages;
}

int render_document_to_tiff(std::string_view bytes, std::string_view mime_type,
                            std::string_view filename, const Options& options,
                            const std::filesystem::path& out_tiff) {
    const Plan p = plan(bytes, mime_type, filename, options);
    // Runs where the rendering runs (the child when isolated).
    const PageProducer produce = [&](const std::filesystem::path& file) -> std::size_t {
        // PDF is drawn and written page by page; the others have no
        // page-at-a-time renderer and go through the page vector.
        if (p.kind == Kind::pdf)
            return static_cast<std::size_t>(render_pdf_to_tiff(bytes, options, file));
        const std::vector<Page> pages = render_kind(bytes, p.kind, p.office_ext, options);
        if (pages.size() > static_cast<std::size_t>(options.max_pages))
            throw Error(too_many_pages(pages.size(), options));
        if (!pages.empty()) write_fax_tiff(pages, file);
        return pages.size();
    };
    // Beside the target, so that the finished file is renamed into place.
    const std::filesystem::path dir =
        out_tiff.has_parent_path() ? out_tiff.parent_path() : std::filesystem::path(".");
    const TempFile temp = naming_file(
        out_tiff, [&] { return TempFile(dir, "." + out_tiff.filename().string() + "-"); });
    const std::size_t count = options.isolate
                                  ? run_isolated_to_file(p.name, produce, temp.path(), options)
                                  : naming_file(p.name, [&] { return produce(temp.path()); });
    if (count == 0) return 0;
    if (count > static_cast<std::size_t>(options.max_pages))
        throw Error(p.name + ": " + too_many_pages(count, options));
    // The child's word is checked, not taken: what it left must be a fax
    // TIFF of as many pages as it said.
    naming_file(p.name, [&] {
        if (!is_fax_tiff(temp.path()) || count_tiff_pages(temp.path()) != static_cast<int>(count))
            throw Error("renderer returned a damaged TIFF");
    });
    replace_file(temp.path(), out_tiff);
    return static_cast<int>(count);
}

std::vector<Page> render_file(const std::filesystem::path& file, const Options& options) {
    const std::string bytes =
        naming_file(file, [&] { return read_file(file, options.max_input_bytes); });
    return render_document(bytes, "", file.filename().string(), options);
}

int render_file_to_tiff(const std::filesystem::path& file, const Options& options,
                        const std::filesystem::path& out_tiff) {
    const std::string bytes =
        naming_file(file, [&] { return read_file(file, options.max_input_bytes); });
    return render_document_to_tiff(bytes, "", file.filename().string(), options, out_tiff);
}

}  // namespace faxgw::render
