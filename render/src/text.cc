// Plain text laid out with Pango in a monospaced font.
//
// The text is laid out in points (the paper's own units) a piece at a time,
// paginated by line positions, and each page is drawn line by line into an
// 8-bit alpha surface at the fax's non-square pixel size, then thresholded:
// antialiased rendering thresholded gives smoother strokes than rendering
// 1-bit directly. Pages are drawn and handed on as soon as they are full,
// and layout stops at the first page beyond options.max_pages.
//
// Why pieces: one PangoLayout of a whole long text lost it. Pango keeps
// positions in 32-bit Pango units and its line breaking slows down with the
// length of a paragraph, so a paragraph of 400,000 characters came out as
// one page, 5 MB of words overprinted their last line, and 9.5 MB ran for
// minutes. A piece is at most piece_bytes long and ends at a line end where
// it can; when more text follows, the piece's last line (which the cut may
// have shortened) is laid out again at the start of the next piece, so every
// line breaks where one layout of the whole paragraph would break it.
#include <cairo.h>
#include <pango/pangocairo.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "auto_resolution.h"
#include "bitmap.h"
#include "isolate.h"
#include "sheet.h"

namespace faxgw::render {

namespace {

constexpr double margin_pt = 15 / 25.4 * 72;
constexpr int tab_columns = 8;
// Ink coverage counted as black. Below 50% so that thin horizontal strokes
// survive at standard resolution (98 lines per inch).
constexpr std::uint8_t ink_threshold = 100;
// Bytes of text in one PangoLayout: about 50 lines, far from Pango's limits.
// Pango shapes the rest of a run again for every line it breaks off, so a
// piece costs the square of its length: small pieces keep it linear.
constexpr std::size_t piece_bytes = 4 * 1024;

struct CairoDeleter {
    void operator()(cairo_t* cr) const { cairo_destroy(cr); }
    void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
using CairoPtr = std::unique_ptr<cairo_t, CairoDeleter>;
using SurfacePtr = std::unique_ptr<cairo_surface_t, CairoDeleter>;

struct GObjectDeleter {
    void operator()(gpointer p) const { g_object_unref(p); }
};
using LayoutPtr = std::unique_ptr<PangoLayout, GObjectDeleter>;
using ContextPtr = std::unique_ptr<PangoContext, GObjectDeleter>;

struct Line {
    std::shared_ptr<PangoLayout> layout;  // keeps `line` alive until it is drawn
    PangoLayoutLine* line;                // owned by the layout
    double x;                             // left edge, points from the text area's left
    double top, bottom, baseline;         // points from the section's top
};

// Sections between form feeds, with carriage returns and other control
// characters (which Pango would draw as hex boxes) dropped.
std::vector<std::string> split_sections(std::string_view text) {
    std::vector<std::string> sections(1);
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\f') {
            sections.emplace_back();
        } else if (u >= 0x20 || c == '\n' || c == '\t') {
            if (u != 0x7f) sections.back() += c;
        }
    }
    return sections;
}

bool blank(std::string_view s) {
    return s.find_first_not_of(" \t\n\r\f\v") == std::string_view::npos;
}

ContextPtr make_context() {
    PangoFontMap* map = pango_cairo_font_map_get_default();  // not owned
    ContextPtr context(pango_font_map_create_context(map));
    // Layout in points: 72 user units per inch, whatever the device pixels.
    pango_cairo_context_set_resolution(context.get(), 72);
    cairo_font_options_t* fo = cairo_font_options_create();
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    // Unhinted metrics keep the layout (and so pagination) identical at
    // every resolution; hinting for non-square pixels would distort anyway.
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    pango_cairo_context_set_font_options(context.get(), fo);
    cairo_font_options_destroy(fo);
    return context;
}

LayoutPtr make_layout(PangoContext* context, const Options& options, double width_pt) {
    LayoutPtr layout(pango_layout_new(context));
    PangoFontDescription* font = pango_font_description_from_string(options.text_font.c_str());
    pango_font_description_set_size(font, static_cast<int>(options.text_font_points * PANGO_SCALE));
    pango_layout_set_font_description(layout.get(), font);
    pango_font_description_free(font);

    // Tab stops every 8 character cells, measured on the font actually used.
    pango_layout_set_text(layout.get(), "0", -1);
    int cell = 0;
    pango_layout_get_size(layout.get(), &cell, nullptr);
    PangoTabArray* tabs =
        pango_tab_array_new_with_positions(1, FALSE, PANGO_TAB_LEFT, tab_columns * cell);
    pango_layout_set_tabs(layout.get(), tabs);
    pango_tab_array_free(tabs);

    pango_layout_set_width(layout.get(), static_cast<int>(width_pt * PANGO_SCALE));
    pango_layout_set_wrap(layout.get(), PANGO_WRAP_WORD_CHAR);
    return layout;
}

// The lines of one section, laid out a piece at a time (see the top).
class SectionLines {
public:
    SectionLines(std::string_view text, PangoContext* context, const Options& options,
                 double width_pt)
        : text_(text), context_(context), options_(options), width_pt_(width_pt) {}

    // The next line, or false after the last.
    bool next(Line& line) {
        if (pending_.empty() && !lay_out_next_piece()) return false;
        line = std::move(pending_.front());
        pending_.pop_front();
        return true;
    }

private:
    std::string_view text_;
    PangoContext* context_;
    const Options& options_;
    double width_pt_;
    std::size_t pos_ = 0;  // bytes of text_ laid out for good
    double top_ = 0;       // where the next piece starts, points from the section's top
    bool done_ = false;
    std::deque<Line> pending_;

    // Where the piece starting at pos_ ends: at most piece_bytes on, after
    // the last line end in its second half if there is one, never inside a
    // UTF-8 sequence.
    std::size_t piece_end() const {
        if (text_.size() - pos_ <= piece_bytes) return text_.size();
        std::size_t end = pos_ + piece_bytes;
        const std::size_t newline = text_.rfind('\n', end - 1);
        if (newline != std::string_view::npos && newline >= pos_ + piece_bytes / 2)
            return newline + 1;
        while (end > pos_ && (static_cast<unsigned char>(text_[end]) & 0xC0) == 0x80) --end;
        return end;
    }

    bool lay_out_next_piece() {
        if (done_) return false;
        const std::size_t end = piece_end();
        const bool last_piece = end == text_.size();
        std::shared_ptr<PangoLayout> layout(make_layout(context_, options_, width_pt_).release(),
                                            g_object_unref);
        pango_layout_set_text(layout.get(), text_.data() + pos_, static_cast<int>(end - pos_));
        std::vector<Line> lines;
        std::vector<int> starts;  // byte offset of each line in the piece
        PangoLayoutIter* it = pango_layout_get_iter(layout.get());
        do {
            PangoRectangle logical;
            pango_layout_iter_get_line_extents(it, nullptr, &logical);
            PangoLayoutLine* line = pango_layout_iter_get_line_readonly(it);
            starts.push_back(line->start_index);
            lines.push_back({layout, line, double(logical.x) / PANGO_SCALE,
                             top_ + double(logical.y) / PANGO_SCALE,
                             top_ + double(logical.y + logical.height) / PANGO_SCALE,
                             top_ + double(pango_layout_iter_get_baseline(it)) / PANGO_SCALE});
        } while (pango_layout_iter_next_line(it));
        pango_layout_iter_free(it);

        // The last line goes again into the next piece. A piece of one line
        // (32 KB that take no width, such as combining marks) is kept whole
        // and the next piece starts on a new line.
        if (last_piece) {
            done_ = true;
        } else if (lines.size() < 2) {
            pos_ = end;
            top_ = lines.back().bottom;
        } else {
            pos_ += static_cast<std::size_t>(starts.back());
            top_ = lines.back().top;
            lines.pop_back();
        }
        for (Line& line : lines) pending_.push_back(std::move(line));
        return !pending_.empty();
    }
};

Page draw_page(const std::vector<Line>& lines, const Sheet& sheet, Resolution r) {
    SurfacePtr surface(
        cairo_image_surface_create(CAIRO_FORMAT_A8, sheet.page_width, sheet.page_height));
    CairoPtr cr(cairo_create(surface.get()));
    cairo_translate(cr.get(), sheet.origin_x, sheet.origin_y);
    // 1 pt = x_ppi/72 pixels across and y_ppi/72 down: fax pixels are not square.
    cairo_scale(cr.get(), sheet.x_ppi / 72, sheet.y_ppi / 72);
    cairo_translate(cr.get(), margin_pt, margin_pt);
    cairo_set_source_rgba(cr.get(), 0, 0, 0, 1);
    for (const Line& line : lines) {
        cairo_move_to(cr.get(), line.x, line.baseline);
        pango_cairo_show_layout_line(cr.get(), line.line);
    }
    cairo_surface_flush(surface.get());

    Page page = Page::blank(sheet.page_height, r, sheet.page_width);
    const GrayView alpha{cairo_image_surface_get_data(surface.get()), sheet.page_width,
                         sheet.page_height, cairo_image_surface_get_stride(surface.get())};
    threshold_onto(page, alpha, 0, 0, ink_threshold, false);
    return page;
}

// Lays out `utf8` and hands each page to `emit` as soon as it is drawn, at
// a concrete resolution. Throws Error at the first page beyond
// options.max_pages, before drawing it.
void render_text_pages(std::string_view utf8, const Options& options,
                       const std::function<void(Page&&)>& emit) {
    if (blank(utf8)) return;
    if (!g_utf8_validate(utf8.data(), static_cast<gssize>(utf8.size()), nullptr))
        throw Error("text is not valid UTF-8");

    std::vector<std::string> sections = split_sections(utf8);
    while (blank(sections.back())) sections.pop_back();  // a trailing form feed adds no page

    const Sheet sheet = sheet_for(options.paper, options.resolution);
    const double width_pt = sheet.width_in * 72 - 2 * margin_pt;
    const double height_pt = sheet.height_in * 72 - 2 * margin_pt;
    ContextPtr context = make_context();
    int pages = 0;
    std::vector<Line> page;  // lines of the page being filled
    double page_top = 0;
    const auto finish_page = [&] {
        if (++pages > options.max_pages)
            throw LimitError("text is longer than " + std::to_string(options.max_pages) + " pages");
        for (Line& line : page) line.baseline -= page_top;
        emit(draw_page(page, sheet, options.resolution));
        page.clear();
    };
    for (const std::string& section : sections) {
        SectionLines lines(section, context.get(), options, width_pt);
        for (Line line; lines.next(line);) {
            // A page takes lines while they fit its height.
            if (!page.empty() && line.bottom - page_top > height_pt) finish_page();
            if (page.empty()) page_top = line.top;
            page.push_back(std::move(line));
        }
        if (!page.empty()) finish_page();  // a form feed ends the page
    }
}

std::vector<Page> render_text_at(std::string_view utf8, const Options& options) {
    std::vector<Page> pages;
    render_text_pages(utf8, options, [&](Page&& page) { pages.push_back(std::move(page)); });
    return pages;
}

}  // namespace

// In this process, whatever options.isolate says (for a caller that is
// already the isolated child, such as render_document's).
std::vector<Page> render_text_in_process(std::string_view utf8, const Options& options) {
    return with_resolution(options, [&](const Options& o) { return render_text_at(utf8, o); });
}

std::vector<Page> render_text(std::string_view utf8, const Options& options) {
    if (!options.isolate) {
        const PangoThreadsEnd threads_end;  // the caller may fork renderers next
        return render_text_in_process(utf8, options);
    }
    return run_isolated(
        "text", [&] { return render_text_in_process(utf8, options); }, options);
}

}  // namespace faxgw::render
