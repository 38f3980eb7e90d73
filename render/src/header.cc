// The header line across the top of each page and the cover page, both
// laid out with Pango in points and drawn at the fax's non-square pixels.
#include <cairo.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <memory>
#include <string>

#include "auto_resolution.h"
#include "bitmap.h"
#include "halftone.h"
#include "isolate.h"
#include "sheet.h"

namespace faxgw::render {

namespace {

constexpr std::uint8_t ink_threshold = 100;  // as text.cc: thin strokes survive

struct CairoDeleter {
    void operator()(cairo_t* cr) const { cairo_destroy(cr); }
    void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct GObjectDeleter {
    void operator()(gpointer p) const { g_object_unref(p); }
};

// An 8-bit alpha canvas of w x h fax pixels whose user units are points.
class Canvas {
public:
    Canvas(int w, int h, Resolution r, double fit = 1.0)
        : surface_(cairo_image_surface_create(CAIRO_FORMAT_A8, w, h)),
          cr_(cairo_create(surface_.get())) {
        cairo_scale(cr_.get(), fax_x_dpi * fit / 72.0, y_dpi(r) * fit / 72.0);
        cairo_set_source_rgba(cr_.get(), 0, 0, 0, 1);
    }
    cairo_t* cr() const { return cr_.get(); }

    // Draws text at (x, y) points (top left), wrapped at width points;
    // returns its height in points.
    double text(std::string_view s, const std::string& font, double points, double x, double y,
                double width, bool right_aligned = false) {
        const PangoThreadsEnd threads_end;  // this runs in the caller, which forks renderers
        std::unique_ptr<PangoLayout, GObjectDeleter> layout(pango_cairo_create_layout(cr()));
        PangoFontDescription* fd = pango_font_description_from_string(font.c_str());
        pango_font_description_set_size(fd, static_cast<int>(points * PANGO_SCALE));
        pango_layout_set_font_description(layout.get(), fd);
        pango_font_description_free(fd);
        cairo_font_options_t* fo = cairo_font_options_create();
        cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
        cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
        pango_cairo_context_set_font_options(pango_layout_get_context(layout.get()), fo);
        cairo_font_options_destroy(fo);
        pango_cairo_context_set_resolution(pango_layout_get_context(layout.get()), 72);
        pango_layout_context_changed(layout.get());
        pango_layout_set_width(layout.get(), static_cast<int>(width * PANGO_SCALE));
        pango_layout_set_wrap(layout.get(), PANGO_WRAP_WORD_CHAR);
        if (right_aligned) pango_layout_set_alignment(layout.get(), PANGO_ALIGN_RIGHT);
        pango_layout_set_text(layout.get(), s.data(), static_cast<int>(s.size()));
        cairo_move_to(cr(), x, y);
        pango_cairo_show_layout(cr(), layout.get());
        int w = 0, h = 0;
        pango_layout_get_size(layout.get(), &w, &h);
        return static_cast<double>(h) / PANGO_SCALE;
    }
    void rule(double x, double y, double width, double thickness) {
        cairo_rectangle(cr(), x, y, width, thickness);
        cairo_fill(cr());
    }
    GrayView alpha() {
        cairo_surface_flush(surface_.get());
        return {cairo_image_surface_get_data(surface_.get()),
                cairo_image_surface_get_width(surface_.get()),
                cairo_image_surface_get_height(surface_.get()),
                cairo_image_surface_get_stride(surface_.get())};
    }

private:
    std::unique_ptr<cairo_surface_t, CairoDeleter> surface_;
    std::unique_ptr<cairo_t, CairoDeleter> cr_;
};

std::string format_time(std::time_t t, const char* format) {
    if (t == 0) t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, format, &tm);
    return buf;
}

std::string replace_all(std::string s, std::string_view key, std::string_view value) {
    for (std::size_t at = s.find(key); at != std::string::npos; at = s.find(key, at + value.size()))
        s.replace(at, key.size(), value);
    return s;
}

}  // namespace

int header_rows(Resolution r) {
    return static_cast<int>(std::lround(40.0 * y_dpi(r) / y_dpi(Resolution::fine)));
}

void stamp_header(Page& page, int number, int total, const HeaderInfo& info) {
    if (!info.enabled) return;
    const double margin_pt = 10 / 25.4 * 72;
    const int rows = std::min(header_rows(page.resolution), page.height);
    std::string line = replace_all(info.format, "{date}", format_time(info.time, "%Y-%m-%d %H:%M"));
    line = replace_all(line, "{station}", info.station_id);
    line = replace_all(line, "{pages}", std::to_string(total));
    line = replace_all(line, "{page}", std::to_string(number));
    Canvas canvas(page.width, rows, page.resolution);
    const double rows_pt = rows * 72.0 / y_dpi(page.resolution);
    // One line, vertically centred in the band (Pango's line height is
    // about 1.2 x the font size).
    const double top = std::max(0.0, (rows_pt - info.font_points * 1.2) / 2);
    canvas.text(line, info.font, info.font_points, margin_pt, top,
                page.width * 72.0 / fax_x_dpi - 2 * margin_pt);
    std::fill(page.bits.begin(), page.bits.begin() + static_cast<long>(rows) * page.stride(), 0);
    threshold_onto(page, canvas.alpha(), 0, 0, ink_threshold, false);
}

void stamp_header(std::vector<Page>& pages, const HeaderInfo& info) {
    HeaderInfo one_time = info;
    if (one_time.time == 0) one_time.time = std::time(nullptr);
    const int total = static_cast<int>(pages.size());
    for (int i = 0; i < total; ++i)
        stamp_header(pages[static_cast<std::size_t>(i)], i + 1, total, one_time);
}

namespace {

// At a concrete resolution (the public render_cover also takes automatic).
Page render_cover_at(const CoverInfo& info, const Options& options) {
    const Sheet sheet = sheet_for(options.paper, options.resolution);
    const double fit = sheet.x_ppi / fax_x_dpi;
    Canvas canvas(sheet.page_width, sheet.page_height, options.resolution, fit);
    // Paper coordinates in points from here on.
    cairo_translate(canvas.cr(), sheet.origin_x * 72 / sheet.x_ppi,
                    sheet.origin_y * 72 / sheet.y_ppi);
    const double margin = 20 / 25.4 * 72;
    const double width = sheet.width_in * 72 - 2 * margin;
    // Below the header band, which stamp_header may overwrite.
    double y = margin;
    const std::string sans = "DejaVu Sans", bold = "DejaVu Sans Bold";
    const std::string date = format_time(info.time, "%Y-%m-%d %H:%M");
    const std::string pages = std::to_string(info.pages + 1);
    const auto who = [](const std::string& name, const std::string& number) {
        if (name.empty()) return number;
        if (number.empty()) return name;
        return name + "  (" + number + ")";
    };
    const std::string from = who(info.from_name, info.from_number);
    const std::string to = who(info.to_name, info.to_number);

    if (!info.template_text.empty()) {
        std::string text = replace_all(info.template_text, "{from}", from);
        text = replace_all(text, "{to}", to);
        text = replace_all(text, "{subject}", info.subject);
        text = replace_all(text, "{date}", date);
        text = replace_all(text, "{pages}", pages);
        canvas.text(text, sans, 12, margin, y, width);
    } else {
        y += canvas.text("FAX", bold, 40, margin, y, width) + 12;
        canvas.rule(margin, y, width, 2);
        y += 14;
        const double label_w = 90;
        for (const auto& [label, value] : {std::pair<std::string, std::string>{"To:", to},
                                           {"From:", from},
                                           {"Subject:", info.subject},
                                           {"Date:", date},
                                           {"Pages:", pages + " including this cover page"}}) {
            canvas.text(label, bold, 14, margin, y, label_w);
            y +=
                std::max(20.0, canvas.text(value, sans, 14, margin + label_w, y, width - label_w)) +
                8;
        }
        canvas.rule(margin, y, width, 1);
        y += 18;
        if (!info.body.empty()) canvas.text(info.body, sans, 12, margin, y, width);
    }
    Page page = Page::blank(sheet.page_height, options.resolution, sheet.page_width);
    threshold_onto(page, canvas.alpha(), 0, 0, ink_threshold, false);
    if (!info.logo.empty()) {
        // Top right, at most 2 x 1 inches.
        const int max_w = static_cast<int>(2 * sheet.x_ppi),
                  max_h = static_cast<int>(1 * sheet.y_ppi);
        const GrayImage logo =
            decode_gray_fitted(info.logo, max_w, max_h,
                               static_cast<double>(y_dpi(options.resolution)) / fax_x_dpi, options);
        const int x0 = static_cast<int>(sheet.origin_x + sheet.width_in * sheet.x_ppi -
                                        margin / 72 * sheet.x_ppi) -
                       logo.width;
        const int y0 = static_cast<int>(sheet.origin_y + margin / 72 * sheet.y_ppi);
        gray_onto(page, logo, x0, y0, options.screening);
    }
    return page;
}

}  // namespace

Page render_cover(const CoverInfo& info, const Options& options) {
    return with_resolution(options, [&](const Options& o) { return render_cover_at(info, o); });
}

}  // namespace faxgw::render
