// Public interface of render/: turns documents into fax pages and fax pages
// into files. render knows nothing of queues, lines or mail.
//
// A fax page is exactly 1728 pixels wide, 1 bit deep, 204 dpi across and
// 98, 196 or 391 lines per inch down: the only geometry spandsp 0.0.6 sends.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace faxgw::render {

inline constexpr int fax_width_px = 1728;
inline constexpr int fax_x_dpi = 204;

enum class Resolution { standard, fine, superfine };
int y_dpi(Resolution r);  // 98, 196, 391
Resolution parse_resolution(std::string_view name);  // "standard" | "fine" | "superfine"; throws Error
std::string_view to_string(Resolution r);

enum class Paper { a4, letter, legal };
Paper parse_paper(std::string_view name);  // "a4" | "letter" | "legal"; throws Error
std::string_view to_string(Paper p);

// One fax page. Rows are packed MSB first, stride width/8 bytes, 1 = black
// (TIFF PhotometricInterpretation MinIsWhite, as fax TIFFs are).
struct Page {
    int width = fax_width_px;
    int height = 0;
    Resolution resolution = Resolution::fine;
    std::vector<std::uint8_t> bits;

    static Page blank(int height, Resolution r);
    int stride() const { return width / 8; }
    bool black(int x, int y) const;
    void set_black(int x, int y);
    friend bool operator==(const Page&, const Page&) = default;
};

struct Options {
    Paper paper = Paper::a4;
    Resolution resolution = Resolution::fine;
    std::string text_font = "DejaVu Sans Mono";
    double text_font_points = 10.5;
    // Refuse documents beyond these limits instead of rendering them.
    int max_pages = 500;
};

// What went wrong, in words the sender of the document can read,
// e.g. "invoice.pdf: PDF is damaged (5 of 10 pages readable)".
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Page height in pixels of the chosen paper at the chosen resolution.
int page_height_px(Paper paper, Resolution r);

// UTF-8 text laid out with Pango on pages of the chosen paper; wraps long
// lines, expands tabs, starts a new page at form feeds.
std::vector<Page> render_text(std::string_view utf8, const Options& options);

// PDF bytes rendered page by page, each page fitted to the paper keeping its
// aspect ratio. Throws Error for encrypted, damaged or empty documents.
std::vector<Page> render_pdf(std::string_view pdf_bytes, const Options& options);

// Any file render understands, chosen by content (PDF, fax TIFF, text).
std::vector<Page> render_file(const std::filesystem::path& file, const Options& options);

// Writes pages as one multi-page TIFF, T.6 (G4) compressed, one strip per
// page, with the resolution tags spandsp reads.
void write_fax_tiff(const std::vector<Page>& pages, const std::filesystem::path& out);

// Reads every page of a 1-bit TIFF that is 1728 pixels wide (any fax
// compression) back into pages; throws Error otherwise.
std::vector<Page> read_fax_tiff(const std::filesystem::path& file);

// Number of pages (directories) in a TIFF file; throws Error if unreadable.
int count_tiff_pages(const std::filesystem::path& file);

// A PDF that carries the TIFF's G3/G4 data as it is (no re-encoding), each
// page sized from the TIFF's own resolution.
void fax_tiff_to_pdf(const std::filesystem::path& tiff, const std::filesystem::path& pdf);

}  // namespace faxgw::render
