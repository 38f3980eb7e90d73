// Choosing a renderer by what a file contains, not by its name: mail
// attachments often carry wrong or missing extensions and MIME types.
#include <glib.h>

#include <fstream>
#include <iterator>
#include <string>

#include "faxgw/render.h"
#include "tiff_file.h"

namespace faxgw::render {

namespace {

// Bigger attachments are not faxes anyone wants to wait for.
constexpr std::uintmax_t max_file_bytes = 256u << 20;

enum class Kind { pdf, tiff, text, unknown };

Kind sniff(std::string_view bytes) {
    // PDF readers accept the header anywhere in the first kilobyte.
    if (bytes.substr(0, 1024).find("%PDF-") != std::string_view::npos) return Kind::pdf;
    const std::string_view head = bytes.substr(0, 4);
    if (head == std::string_view("II*\0", 4) || head == std::string_view("MM\0*", 4))
        return Kind::tiff;
    if (bytes.find('\0') == std::string_view::npos &&
        g_utf8_validate(bytes.data(), static_cast<gssize>(bytes.size()), nullptr))
        return Kind::text;
    return Kind::unknown;
}

std::string read_file(const std::filesystem::path& file) {
    std::error_code ec;
    const std::uintmax_t size = std::filesystem::file_size(file, ec);
    if (ec) throw Error("cannot read file: " + ec.message());
    if (size > max_file_bytes) throw Error("file is too large to fax");
    std::ifstream in(file, std::ios::binary);
    std::string bytes(std::istreambuf_iterator<char>(in), {});
    if (!in && !in.eof()) throw Error("cannot read file");
    return bytes;
}

void check_page_limit(const std::vector<Page>& pages, const Options& options) {
    if (pages.size() > static_cast<std::size_t>(options.max_pages))
        throw Error("document has " + std::to_string(pages.size()) +
                    " pages, more than the limit of " + std::to_string(options.max_pages));
}

std::vector<Page> render_tiff(const std::filesystem::path& file, const Options& options) {
    if (!is_fax_tiff(file))
        throw Error(file.filename().string() +
                    ": TIFF is not a fax image (only fax TIFFs are supported yet)");
    std::vector<Page> pages = read_fax_tiff(file);  // errors already name the file
    naming_file(file, [&] { check_page_limit(pages, options); });
    return pages;
}

std::vector<Page> render_bytes(std::string_view bytes, Kind kind, const Options& options) {
    if (kind == Kind::pdf) return render_pdf(bytes, options);
    // A byte-order mark is legal UTF-8 but would print as a blank glyph.
    if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
    return render_text(bytes, options);
}

}  // namespace

std::vector<Page> render_file(const std::filesystem::path& file, const Options& options) {
    const std::string bytes = naming_file(file, [&] { return read_file(file); });
    const Kind kind = sniff(bytes);
    if (kind == Kind::tiff) return render_tiff(file, options);
    if (kind == Kind::unknown) throw Error(file.filename().string() + ": unsupported file type");
    return naming_file(file, [&] { return render_bytes(bytes, kind, options); });
}

}  // namespace faxgw::render
