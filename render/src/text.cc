// Plain text laid out with Pango in a monospaced font.
//
// The text is laid out once per form-feed section in points (the paper's own
// units), paginated by line positions, and each page is drawn line by line
// into an 8-bit alpha surface at the fax's non-square pixel size, then
// thresholded: antialiased rendering thresholded gives smoother strokes than
// rendering 1-bit directly.
#include <cairo.h>
#include <pango/pangocairo.h>

#include <memory>
#include <string>
#include <vector>

#include "auto_resolution.h"
#include "bitmap.h"
#include "sheet.h"

namespace faxgw::render {

namespace {

constexpr double margin_pt = 15 / 25.4 * 72;
constexpr int tab_columns = 8;
// Ink coverage counted as black. Below 50% so that thin horizontal strokes
// survive at standard resolution (98 lines per inch).
constexpr std::uint8_t ink_threshold = 100;

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
    PangoLayoutLine* line;         // owned by the layout
    double x;                      // left edge, points from the text area's left
    double top, bottom, baseline;  // points from the section's top
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

std::vector<Line> lines_of(PangoLayout* layout) {
    std::vector<Line> lines;
    PangoLayoutIter* it = pango_layout_get_iter(layout);
    do {
        PangoRectangle logical;
        pango_layout_iter_get_line_extents(it, nullptr, &logical);
        lines.push_back({pango_layout_iter_get_line_readonly(it), double(logical.x) / PANGO_SCALE,
                         double(logical.y) / PANGO_SCALE,
                         double(logical.y + logical.height) / PANGO_SCALE,
                         double(pango_layout_iter_get_baseline(it)) / PANGO_SCALE});
    } while (pango_layout_iter_next_line(it));
    pango_layout_iter_free(it);
    return lines;
}

// Groups lines into pages: a page takes lines while they fit its height.
std::vector<std::vector<Line>> paginate(const std::vector<Line>& lines, double height_pt) {
    std::vector<std::vector<Line>> pages;
    double page_top = 0;
    for (const Line& line : lines) {
        if (pages.empty() || (line.bottom - page_top > height_pt && !pages.back().empty())) {
            pages.emplace_back();
            page_top = line.top;
        }
        Line moved = line;
        moved.baseline -= page_top;
        pages.back().push_back(moved);
    }
    return pages;
}

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

void check_page_limit(std::size_t pages, const Options& options) {
    if (pages > static_cast<std::size_t>(options.max_pages))
        throw Error("text is longer than " + std::to_string(options.max_pages) + " pages");
}

}  // namespace

namespace {

// At a concrete resolution (the public render_text also takes automatic).
std::vector<Page> render_text_at(std::string_view utf8, const Options& options) {
    std::vector<Page> pages;
    if (blank(utf8)) return pages;
    if (!g_utf8_validate(utf8.data(), static_cast<gssize>(utf8.size()), nullptr))
        throw Error("text is not valid UTF-8");

    std::vector<std::string> sections = split_sections(utf8);
    while (blank(sections.back())) sections.pop_back();  // a trailing form feed adds no page

    const Sheet sheet = sheet_for(options.paper, options.resolution);
    const double width_pt = sheet.width_in * 72 - 2 * margin_pt;
    const double height_pt = sheet.height_in * 72 - 2 * margin_pt;
    ContextPtr context = make_context();
    for (const std::string& section : sections) {
        LayoutPtr layout = make_layout(context.get(), options, width_pt);
        pango_layout_set_text(layout.get(), section.data(), static_cast<int>(section.size()));
        for (const auto& lines : paginate(lines_of(layout.get()), height_pt)) {
            check_page_limit(pages.size() + 1, options);
            pages.push_back(draw_page(lines, sheet, options.resolution));
        }
    }
    return pages;
}

}  // namespace

std::vector<Page> render_text(std::string_view utf8, const Options& options) {
    return with_resolution(options, [&](const Options& o) { return render_text_at(utf8, o); });
}

}  // namespace faxgw::render
