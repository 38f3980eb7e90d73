// Generates the picture samples in this folder reproducibly, without
// ImageMagick: a synthetic photograph (smooth shading, a face-like figure,
// fine texture) as JPEG, GIF, BMP and WebP, a logo PNG with transparency, a
// two-page scanned-like TIFF (a 200 dpi 1-bit G4 page and an 8-bit grey
// page) and a PDF that embeds the photo. Built and run by make-samples.sh.
#include <cairo-pdf.h>
#include <cairo.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <pango/pangocairo.h>
#include <tiffio.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::uint32_t lcg = 12345;
double noise() {
    lcg = lcg * 1664525u + 1013904223u;
    return (lcg >> 8) / double(1 << 24) - 0.5;
}

void text(cairo_t* cr, const char* s, const char* font, double x, double y, double width) {
    PangoLayout* layout = pango_cairo_create_layout(cr);
    PangoFontDescription* fd = pango_font_description_from_string(font);
    pango_layout_set_font_description(layout, fd);
    pango_font_description_free(fd);
    pango_layout_set_width(layout, static_cast<int>(width * PANGO_SCALE));
    pango_layout_set_wrap(layout, PANGO_WRAP_WORD);
    pango_layout_set_text(layout, s, -1);
    cairo_move_to(cr, x, y);
    pango_cairo_show_layout(cr, layout);
    g_object_unref(layout);
}

// A landscape "photograph" of w x h pixels, RGB.
GdkPixbuf* photo(int w, int h) {
    cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t* cr = cairo_create(s);
    cairo_scale(cr, w / 1200.0, h / 900.0);
    cairo_pattern_t* sky = cairo_pattern_create_linear(0, 0, 0, 600);
    cairo_pattern_add_color_stop_rgb(sky, 0, 0.25, 0.45, 0.8);
    cairo_pattern_add_color_stop_rgb(sky, 1, 0.85, 0.9, 0.95);
    cairo_set_source(cr, sky);
    cairo_paint(cr);
    cairo_pattern_destroy(sky);
    cairo_pattern_t* sun = cairo_pattern_create_radial(950, 160, 10, 950, 160, 160);
    cairo_pattern_add_color_stop_rgba(sun, 0, 1, 1, 0.85, 1);
    cairo_pattern_add_color_stop_rgba(sun, 1, 1, 1, 0.85, 0);
    cairo_set_source(cr, sun);
    cairo_paint(cr);
    cairo_pattern_destroy(sun);
    for (int i = 0; i < 3; ++i) {  // hills
        cairo_move_to(cr, 0, 560 + 60 * i);
        cairo_curve_to(cr, 300, 420 + 70 * i, 700, 700 - 40 * i, 1200, 500 + 60 * i);
        cairo_line_to(cr, 1200, 900);
        cairo_line_to(cr, 0, 900);
        cairo_pattern_t* g = cairo_pattern_create_linear(0, 450, 0, 900);
        cairo_pattern_add_color_stop_rgb(g, 0, 0.35 - 0.1 * i, 0.55 - 0.12 * i, 0.25);
        cairo_pattern_add_color_stop_rgb(g, 1, 0.1, 0.2 - 0.05 * i, 0.08);
        cairo_set_source(cr, g);
        cairo_fill(cr);
        cairo_pattern_destroy(g);
    }
    // A face: shaded head, eyes, mouth.
    cairo_pattern_t* head = cairo_pattern_create_radial(380, 380, 20, 420, 420, 190);
    cairo_pattern_add_color_stop_rgb(head, 0, 0.98, 0.85, 0.72);
    cairo_pattern_add_color_stop_rgb(head, 1, 0.55, 0.38, 0.28);
    cairo_arc(cr, 420, 420, 180, 0, 2 * M_PI);
    cairo_set_source(cr, head);
    cairo_fill(cr);
    cairo_pattern_destroy(head);
    cairo_set_source_rgb(cr, 0.1, 0.08, 0.06);
    cairo_arc(cr, 360, 380, 22, 0, 2 * M_PI);
    cairo_fill(cr);
    cairo_arc(cr, 480, 380, 22, 0, 2 * M_PI);
    cairo_fill(cr);
    cairo_set_line_width(cr, 12);
    cairo_arc(cr, 420, 450, 80, 0.2 * M_PI, 0.8 * M_PI);
    cairo_stroke(cr);
    cairo_destroy(cr);
    cairo_surface_flush(s);

    GdkPixbuf* p = gdk_pixbuf_new(GDK_COLORSPACE_RGB, FALSE, 8, w, h);
    const unsigned char* src = cairo_image_surface_get_data(s);
    const int ss = cairo_image_surface_get_stride(s);
    guchar* dst = gdk_pixbuf_get_pixels(p);
    const int ds = gdk_pixbuf_get_rowstride(p);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const std::uint32_t v = *reinterpret_cast<const std::uint32_t*>(src + y * ss + 4 * x);
            const double n = 14 * noise();  // grain
            for (int c = 0; c < 3; ++c) {
                const double cv = ((v >> (16 - 8 * c)) & 0xff) + n;
                dst[y * ds + 3 * x + c] = static_cast<guchar>(std::fmin(255, std::fmax(0, cv)));
            }
        }
    cairo_surface_destroy(s);
    return p;
}

void save(GdkPixbuf* p, const char* file, const char* type, const char* key = nullptr,
          const char* value = nullptr) {
    GError* e = nullptr;
    if (!gdk_pixbuf_save(p, file, type, &e, key, value, nullptr)) {
        std::fprintf(stderr, "%s: %s\n", file, e->message);
        std::exit(1);
    }
}

// A GIF writer that needs no LZW compression: 16 grey levels, and a clear
// code every 12 pixels so the code size stays at 5 bits.
void save_gif(GdkPixbuf* p, const char* file) {
    const int w = gdk_pixbuf_get_width(p), h = gdk_pixbuf_get_height(p);
    std::string out = "GIF89a";
    auto u16 = [&](int v) {
        out += char(v & 0xff);
        out += char(v >> 8);
    };
    u16(w);
    u16(h);
    out += char(0xF3);  // global colour table of 16
    out += '\0';
    out += '\0';
    for (int i = 0; i < 16; ++i) out += std::string(3, char(i * 17));
    out += ',';
    u16(0);
    u16(0);
    u16(w);
    u16(h);
    out += '\0';
    out += char(4);  // minimum code size
    std::string data;
    std::uint32_t acc = 0;
    int bits = 0;
    auto code = [&](int c) {
        acc |= std::uint32_t(c) << bits;
        bits += 5;
        while (bits >= 8) {
            data += char(acc & 0xff);
            acc >>= 8;
            bits -= 8;
        }
    };
    const guchar* px = gdk_pixbuf_get_pixels(p);
    const int rs = gdk_pixbuf_get_rowstride(p), n = gdk_pixbuf_get_n_channels(p);
    int count = 0;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            if (count++ % 12 == 0) code(16);
            const guchar* q = px + y * rs + n * x;
            code(((299 * q[0] + 587 * q[1] + 114 * q[2]) / 1000) >> 4);
        }
    code(17);
    if (bits > 0) data += char(acc & 0xff);
    for (std::size_t i = 0; i < data.size(); i += 255) {
        const std::string sub = data.substr(i, 255);
        out += char(sub.size());
        out += sub;
    }
    out += '\0';
    out += ';';
    std::ofstream(file, std::ios::binary) << out;
}

void logo(const char* file) {
    cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 360, 120);
    cairo_t* cr = cairo_create(s);
    cairo_set_source_rgb(cr, 0.1, 0.2, 0.6);
    cairo_arc(cr, 60, 60, 50, 0, 2 * M_PI);
    cairo_fill(cr);
    text(cr, "ACME", "DejaVu Sans Bold 48", 125, 20, 240);
    cairo_destroy(cr);
    cairo_surface_write_to_png(s, file);
    cairo_surface_destroy(s);
}

// Page 1: a 200 dpi bilevel A4 scan (G4); page 2: an 8-bit grey 100 dpi scan.
void scan(const char* file) {
    TIFF* t = TIFFOpen(file, "w");
    const char* words =
        "Invoice 2024-117. Delivery of 40 boxes of printer paper, A4, 80 g/m2, as ordered on "
        "the 3rd. Payment within 30 days to the account shown overleaf. Questions: call us. ";
    for (int page = 0; page < 2; ++page) {
        const int dpi = page == 0 ? 200 : 100;
        const int w = static_cast<int>(8.27 * dpi), h = static_cast<int>(11.69 * dpi);
        cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_A8, w, h);
        cairo_t* cr = cairo_create(s);
        cairo_scale(cr, dpi / 72.0, dpi / 72.0);
        cairo_rotate(cr, 0.006);  // fed slightly askew
        std::string body;
        for (int i = 0; i < 12; ++i) body += words;
        text(cr, page == 0 ? "ACME Supplies Ltd." : "Page 2 of the scan", "DejaVu Serif Bold 20",
             60, 60, 480);
        text(cr, body.c_str(), "DejaVu Serif 11", 60, 120, 470);
        cairo_destroy(cr);
        cairo_surface_flush(s);
        const unsigned char* a = cairo_image_surface_get_data(s);
        const int as = cairo_image_surface_get_stride(s);
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
        TIFFSetField(t, TIFFTAG_XRESOLUTION, float(dpi));
        TIFFSetField(t, TIFFTAG_YRESOLUTION, float(dpi));
        TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
        TIFFSetField(t, TIFFTAG_PAGENUMBER, page, 2);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, h);
        if (page == 0) {
            TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
            TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
            TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
            std::vector<unsigned char> row((w + 7) / 8);
            for (int y = 0; y < h; ++y) {
                std::fill(row.begin(), row.end(), 0);
                for (int x = 0; x < w; ++x)
                    if (a[y * as + x] + 60 * noise() > 110) row[x / 8] |= 0x80 >> (x % 8);
                TIFFWriteScanline(t, row.data(), y, 0);
            }
        } else {
            TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
            TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
            TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
            std::vector<unsigned char> row(w);
            for (int y = 0; y < h; ++y) {
                for (int x = 0; x < w; ++x)
                    row[x] = static_cast<unsigned char>(235 - a[y * as + x] * 200 / 255);
                TIFFWriteScanline(t, row.data(), y, 0);
            }
        }
        TIFFWriteDirectory(t);
        cairo_surface_destroy(s);
    }
    TIFFClose(t);
}

// An A4 PDF with a caption and the JPEG photo embedded as JPEG.
void image_pdf(const char* file, const char* jpeg) {
    cairo_surface_t* pdf = cairo_pdf_surface_create(file, 595, 842);
    cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_CREATE_DATE, "2024-01-01T00:00:00Z");
    cairo_t* cr = cairo_create(pdf);
    text(cr, "Site photograph, north slope", "DejaVu Sans Bold 16", 50, 50, 495);
    GdkPixbuf* p = gdk_pixbuf_new_from_file(jpeg, nullptr);
    const int w = gdk_pixbuf_get_width(p), h = gdk_pixbuf_get_height(p);
    cairo_surface_t* img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    std::ifstream in(jpeg, std::ios::binary);
    static std::string bytes((std::istreambuf_iterator<char>(in)), {});
    cairo_surface_set_mime_data(img, CAIRO_MIME_TYPE_JPEG,
                                reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                                nullptr, nullptr);
    cairo_save(cr);
    cairo_translate(cr, 50, 100);
    cairo_scale(cr, 495.0 / w, 495.0 / w);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_paint(cr);
    cairo_restore(cr);
    text(cr, "Taken at noon. The figure in front shows the scale.", "DejaVu Serif 12", 50,
         100 + 495.0 * h / w + 20, 495);
    cairo_destroy(cr);
    cairo_surface_destroy(pdf);
    cairo_surface_destroy(img);
    g_object_unref(p);
}

}  // namespace

int main() {
    GdkPixbuf* big = photo(1200, 900);
    save(big, "photo.jpg", "jpeg", "quality", "85");
    GdkPixbuf* small = gdk_pixbuf_scale_simple(big, 320, 240, GDK_INTERP_BILINEAR);
    save(small, "photo.bmp", "bmp");
    save(small, "photo.webp", "webp", "quality", "80");
    save_gif(small, "photo.gif");
    logo("logo.png");
    scan("scan.tif");
    image_pdf("image.pdf", "photo.jpg");
    g_object_unref(small);
    g_object_unref(big);
    return 0;
}
