// Pictures: PNG, JPEG, GIF, BMP and WebP through GdkPixbuf, TIFF of any kind
// through libtiff.
//
// Why GdkPixbuf: it is already in every process that uses Pango/cairo's
// stack on Debian (small: ~0.5 MB more), decodes all the common formats
// through loaders that distros keep patched, applies JPEG EXIF orientation,
// and scales with area averaging (its "bilinear" filter is a box filter when
// reducing), which is what down-sampling a photo to 204 dpi needs. libvips
// is faster on huge images but pulls ~40 MB of dependencies; Magick++
// decodes dozens of risky formats we do not want to expose. WebP needs
// Debian's webp-pixbuf-loader. Multi-page TIFF is not GdkPixbuf's strength
// (first page only), so TIFF goes through libtiff's RGBA reader, which
// handles every compression, bit depth and colour space libtiff knows.
//
// Decompression bombs: the pixel size is read from the file header before
// anything is decoded and checked against options.max_image_pixels.
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "auto_resolution.h"
#include "halftone.h"
#include "sheet.h"
#include "tiff_file.h"

namespace faxgw::render {

namespace {

// Pictures get a narrower margin than text: they are usually meant to fill
// the page.
constexpr double margin_in = 5 / 25.4;

struct PixbufDeleter {
    void operator()(GdkPixbuf* p) const { g_object_unref(p); }
    void operator()(GdkPixbufLoader* p) const { g_object_unref(p); }
};
using PixbufPtr = std::unique_ptr<GdkPixbuf, PixbufDeleter>;
using LoaderPtr = std::unique_ptr<GdkPixbufLoader, PixbufDeleter>;

std::uint32_t be32(std::string_view b, std::size_t at) {
    if (b.size() < at + 4) return 0;
    return std::uint32_t(std::uint8_t(b[at])) << 24 | std::uint32_t(std::uint8_t(b[at + 1])) << 16 |
           std::uint32_t(std::uint8_t(b[at + 2])) << 8 | std::uint8_t(b[at + 3]);
}
std::uint32_t le16(std::string_view b, std::size_t at) {
    if (b.size() < at + 2) return 0;
    return std::uint32_t(std::uint8_t(b[at])) | std::uint32_t(std::uint8_t(b[at + 1])) << 8;
}
std::uint32_t le24(std::string_view b, std::size_t at) {
    return le16(b, at) | (b.size() > at + 2 ? std::uint32_t(std::uint8_t(b[at + 2])) << 16 : 0);
}
std::uint32_t le32(std::string_view b, std::size_t at) {
    return le16(b, at) | le16(b, at + 2) << 16;
}

struct Dimensions {
    std::uint64_t width = 0, height = 0;
};

// Width and height as the file's header declares them, without decoding.
std::optional<Dimensions> declared_size(std::string_view b) {
    if (b.starts_with("\x89PNG")) return Dimensions{be32(b, 16), be32(b, 20)};
    if (b.starts_with("GIF8")) return Dimensions{le16(b, 6), le16(b, 8)};
    if (b.starts_with("BM")) {
        const auto h = static_cast<std::int32_t>(le32(b, 22));
        return Dimensions{le32(b, 18), static_cast<std::uint64_t>(h < 0 ? -std::int64_t(h) : h)};
    }
    if (b.starts_with("RIFF") && b.substr(8, 4) == "WEBP") {
        const std::string_view chunk = b.substr(12, 4);
        if (chunk == "VP8 ") return Dimensions{le16(b, 26) & 0x3fff, le16(b, 28) & 0x3fff};
        if (chunk == "VP8L") {
            const std::uint32_t v = le32(b, 21);
            return Dimensions{(v & 0x3fff) + 1, ((v >> 14) & 0x3fff) + 1};
        }
        if (chunk == "VP8X") return Dimensions{le24(b, 24) + 1, le24(b, 27) + 1};
        return std::nullopt;
    }
    if (b.starts_with("\xFF\xD8")) {
        // Walk the markers to the first start-of-frame.
        std::size_t at = 2;
        while (at + 9 < b.size()) {
            if (std::uint8_t(b[at]) != 0xFF) return std::nullopt;
            const auto marker = std::uint8_t(b[at + 1]);
            if (marker == 0xFF) {
                ++at;
                continue;
            }
            const std::size_t length = be32(b, at) & 0xffff;
            if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
                marker != 0xCC)
                return Dimensions{be32(b, at + 5) & 0xffff, be32(b, at + 5) >> 16};
            if (length < 2) return std::nullopt;
            at += 2 + length;
        }
    }
    return std::nullopt;
}

void check_pixels(std::uint64_t width, std::uint64_t height, const Options& options) {
    if (width == 0 || height == 0) throw Error("picture is empty (0 pixels)");
    if (width * height > options.max_image_pixels)
        throw LimitError("picture is too large (" + std::to_string(width) + "x" +
                         std::to_string(height) + " pixels, more than the limit of " +
                         std::to_string(options.max_image_pixels / 1'000'000) + " megapixels)");
}

PixbufPtr decode_pixbuf(std::string_view bytes, const Options& options) {
    const std::optional<Dimensions> d = declared_size(bytes);
    if (!d || d->width == 0 || d->height == 0)
        throw Error("picture is damaged (its size cannot be read)");
    check_pixels(d->width, d->height, options);
    LoaderPtr loader(gdk_pixbuf_loader_new());
    GError* error = nullptr;
    const bool written = gdk_pixbuf_loader_write(
        loader.get(), reinterpret_cast<const guchar*>(bytes.data()), bytes.size(), &error);
    const bool closed = gdk_pixbuf_loader_close(loader.get(), written ? &error : nullptr);
    std::string message = error ? error->message : "";
    if (error) g_error_free(error);
    GdkPixbuf* pixbuf = gdk_pixbuf_loader_get_pixbuf(loader.get());  // not ours
    if (!written || !closed || !pixbuf)
        throw Error("picture is damaged" + (message.empty() ? "" : " (" + message + ")"));
    check_pixels(gdk_pixbuf_get_width(pixbuf), gdk_pixbuf_get_height(pixbuf), options);
    // Phone photos are stored sideways with an EXIF note on how to hold them.
    return PixbufPtr(gdk_pixbuf_apply_embedded_orientation(pixbuf));
}

// Luminance, composited on white paper where the picture is transparent.
GrayImage gray_of(const GdkPixbuf* pixbuf) {
    GrayImage g;
    g.width = gdk_pixbuf_get_width(pixbuf);
    g.height = gdk_pixbuf_get_height(pixbuf);
    g.pixels.resize(static_cast<std::size_t>(g.width) * g.height);
    const int n = gdk_pixbuf_get_n_channels(pixbuf);
    const bool alpha = gdk_pixbuf_get_has_alpha(pixbuf);
    const int stride = gdk_pixbuf_get_rowstride(pixbuf);
    const guchar* data = gdk_pixbuf_read_pixels(pixbuf);
    for (int y = 0; y < g.height; ++y) {
        const guchar* p = data + static_cast<std::ptrdiff_t>(y) * stride;
        for (int x = 0; x < g.width; ++x, p += n) {
            int v = (299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000;
            if (alpha) v = (v * p[3] + 255 * (255 - p[3]) + 127) / 255;
            g.pixels[static_cast<std::size_t>(y) * g.width + x] = static_cast<std::uint8_t>(v);
        }
    }
    return g;
}

// One picture on one page: turned if landscape, fitted inside the margins
// keeping its aspect ratio, scaled to the fax's non-square pixels, centred.
Page place(const GdkPixbuf* source, const Options& options) {
    PixbufPtr turned;
    if (gdk_pixbuf_get_width(source) > gdk_pixbuf_get_height(source)) {
        turned.reset(gdk_pixbuf_rotate_simple(source, GDK_PIXBUF_ROTATE_CLOCKWISE));
        if (!turned) throw Error("out of memory turning the picture");
        source = turned.get();
    }
    const Sheet sheet = sheet_for(options.paper, options.resolution);
    const double w = gdk_pixbuf_get_width(source), h = gdk_pixbuf_get_height(source);
    const double inches_per_px =
        std::min((sheet.width_in - 2 * margin_in) / w, (sheet.height_in - 2 * margin_in) / h);
    const int tw = std::max(1, static_cast<int>(std::lround(w * inches_per_px * sheet.x_ppi)));
    const int th = std::max(1, static_cast<int>(std::lround(h * inches_per_px * sheet.y_ppi)));
    PixbufPtr scaled(gdk_pixbuf_scale_simple(source, tw, th, GDK_INTERP_BILINEAR));
    if (!scaled) throw Error("out of memory scaling the picture");
    const GrayImage gray = gray_of(scaled.get());
    Page page = Page::blank(sheet.page_height, options.resolution, sheet.page_width);
    gray_onto(page, gray, (sheet.page_width - tw) / 2, (sheet.page_height - th) / 2,
              options.screening);
    return page;
}

// A temporary copy of the bytes, for libtiff, which reads files.
class TempCopy {
public:
    explicit TempCopy(std::string_view bytes) {
        std::string name = (std::filesystem::temp_directory_path() / "faxgw-image-XXXXXX").string();
        const int fd = ::mkstemp(name.data());
        if (fd < 0) throw Error("cannot create a temporary file");
        path_ = name;
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
            if (n <= 0) break;
            done += static_cast<std::size_t>(n);
        }
        ::close(fd);
        if (done != bytes.size()) throw Error("cannot write a temporary file");
    }
    ~TempCopy() {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
    }
    TempCopy(const TempCopy&) = delete;
    TempCopy& operator=(const TempCopy&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

std::vector<Page> render_tiff_image(std::string_view bytes, const Options& options) {
    const TempCopy copy(bytes);
    // A TIFF that already is a fax image is sent as it is: re-rasterising
    // would only lose detail.
    if (is_fax_tiff(copy.path())) {
        std::vector<Page> pages = read_fax_tiff(copy.path());
        if (pages.size() > static_cast<std::size_t>(options.max_pages))
            throw LimitError("TIFF has " + std::to_string(pages.size()) +
                             " pages, more than the limit of " + std::to_string(options.max_pages));
        return pages;
    }
    TiffFile tiff(copy.path(), "r");
    std::vector<Page> pages;
    do {
        if (pages.size() >= static_cast<std::size_t>(options.max_pages))
            throw LimitError("TIFF has more than " + std::to_string(options.max_pages) + " pages");
        std::uint32_t w = 0, h = 0;
        TIFFGetField(tiff.get(), TIFFTAG_IMAGEWIDTH, &w);
        TIFFGetField(tiff.get(), TIFFTAG_IMAGELENGTH, &h);
        check_pixels(w, h, options);
        const std::string where = "TIFF page " + std::to_string(pages.size() + 1);
        // Packed R, G, B, A bytes on little-endian machines, which is the
        // layout GdkPixbuf wants.
        std::vector<std::uint32_t> raster(static_cast<std::size_t>(w) * h);
        if (!TIFFReadRGBAImageOriented(tiff.get(), w, h, raster.data(), ORIENTATION_TOPLEFT, 0))
            tiff.fail("cannot read " + where);
        static_assert(std::endian::native == std::endian::little);
        PixbufPtr pixbuf(gdk_pixbuf_new_from_data(
            reinterpret_cast<const guchar*>(raster.data()), GDK_COLORSPACE_RGB, TRUE, 8,
            static_cast<int>(w), static_cast<int>(h), static_cast<int>(w * 4), nullptr, nullptr));
        pages.push_back(place(pixbuf.get(), options));
    } while (TIFFReadDirectory(tiff.get()));
    if (!tiff.errors().empty())
        tiff.fail("cannot read TIFF after page " + std::to_string(pages.size()));
    return pages;
}

bool is_tiff(std::string_view b) {
    return b.starts_with(std::string_view("II*\0", 4)) ||
           b.starts_with(std::string_view("MM\0*", 4));
}

}  // namespace

namespace {

// At a concrete resolution (the public render_image also takes automatic).
std::vector<Page> render_image_at(std::string_view image_bytes, const Options& options) {
    if (image_bytes.size() > options.max_input_bytes)
        throw LimitError("picture is too large to fax");
    if (is_tiff(image_bytes)) return render_tiff_image(image_bytes, options);
    const PixbufPtr pixbuf = decode_pixbuf(image_bytes, options);
    return {place(pixbuf.get(), options)};
}

}  // namespace

std::vector<Page> render_image(std::string_view image_bytes, const Options& options) {
    return with_resolution(options,
                           [&](const Options& o) { return render_image_at(image_bytes, o); });
}

// For the cover page's logo: the picture as grey pixels of at most
// max_w x max_h page pixels, aspect ratio kept.
GrayImage decode_gray_fitted(std::string_view bytes, int max_w, int max_h, double y_over_x,
                             const Options& options) {
    const PixbufPtr pixbuf = decode_pixbuf(bytes, options);
    const double w = gdk_pixbuf_get_width(pixbuf.get());
    const double h = gdk_pixbuf_get_height(pixbuf.get()) * y_over_x;
    const double s = std::min(max_w / w, max_h / h);
    PixbufPtr scaled(gdk_pixbuf_scale_simple(pixbuf.get(), std::max(1, static_cast<int>(w * s)),
                                             std::max(1, static_cast<int>(h * s)),
                                             GDK_INTERP_BILINEAR));
    if (!scaled) throw Error("out of memory scaling the picture");
    return gray_of(scaled.get());
}

}  // namespace faxgw::render
