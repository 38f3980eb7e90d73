// PDF pages rendered with poppler and fitted to the paper.
//
// poppler's own (private) API, not its cpp wrapper, for speed: the wrapper's
// page_renderer makes a new SplashOutputDev, and with it a new font engine,
// for every page it draws, so FreeType's glyph cache started cold on every
// page, and each page's fonts were looked up again in fontconfig
// (together a third of a text page's CPU). Here a thread keeps one PDFDoc
// and one SplashOutputDev per way of drawing for all its pages. Debian pins
// the poppler version that libpoppler-private-dev is built with, and the
// package's ABI is tied to it (a new poppler is a new soname and a rebuild),
// so the private API is safe to use where it is packaged.
#include <Error.h>
#include <GfxFont.h>
#include <GfxState.h>
#include <GlobalParams.h>
#include <PDFDoc.h>
#include <SplashOutputDev.h>
#include <Stream.h>
#include <splash/SplashBitmap.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "auto_resolution.h"
#include "bitmap.h"
#include "halftone.h"
#include "sheet.h"
#include "stream.h"

namespace faxgw::render {

namespace {

// Luminance below half is black: poppler's antialiasing makes text edges
// grey, and half-way keeps stroke widths as drawn.
constexpr std::uint8_t dark_threshold = 128;

// poppler reports problems only through a process-wide callback (and
// prints them to stderr without one). Counting them per thread keeps the
// daemon's log to our one Error and lets render_pdf recognise damage even
// where poppler carries on.
thread_local int poppler_errors = 0;

class PopplerErrors {
public:
    PopplerErrors() {
        // poppler's settings (font lookup, encodings) live in one global,
        // made once before any document is opened.
        static std::once_flag once;
        std::call_once(once, [] {
            globalParams = std::make_unique<GlobalParams>();
            setErrorCallback([](ErrorCategory, Goffset, const char*) { ++poppler_errors; });
        });
        poppler_errors = 0;
    }
    int count() const { return poppler_errors; }
};

// A PDF ends with %%EOF; readers accept it anywhere in the last kilobyte.
// Without it the file was most likely cut off on the way (a mail relay's
// size limit), and poppler quietly rebuilds what is left.
bool looks_truncated(std::string_view bytes) {
    const std::size_t tail = std::min<std::size_t>(bytes.size(), 1024);
    return bytes.substr(bytes.size() - tail).find("%%EOF") == std::string_view::npos;
}

// The document read in place from `bytes`, which must outlive it.
std::unique_ptr<PDFDoc> load(std::string_view bytes, const PopplerErrors& errors) {
    if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        throw LimitError("PDF is too large");
    auto doc = std::make_unique<PDFDoc>(
        new MemStream(bytes.data(), 0, static_cast<Goffset>(bytes.size()), Object(objNull)));
    if (!doc->isOk() && doc->getErrorCode() == errEncrypted)
        throw Error("PDF is encrypted with a password (send it without password protection)");
    if (!doc->isOk()) throw Error("PDF is damaged or not a PDF (it cannot be opened)");
    if (looks_truncated(bytes) && errors.count() > 0)
        throw Error("PDF is damaged (the file is incomplete)");
    return doc;
}

// Page size in points as it is displayed, i.e. after the page's own /Rotate.
struct Size {
    double width;
    double height;
};

// `number` counts from 1, as poppler does.
Size displayed_size(PDFDoc& doc, int number) {
    const double width = doc.getPageCropWidth(number), height = doc.getPageCropHeight(number);
    const int rotate = doc.getPageRotate(number);
    const bool sideways = rotate == 90 || rotate == 270;
    return sideways ? Size{height, width} : Size{width, height};
}

// How a page goes on the sheet, for both ways of drawing it.
struct Placement {
    Size size;            // in points, portrait
    bool turn;            // faxes are printed portrait: a landscape page is turned
    bool reduce;          // drawn at twice the rows, reduced to standard afterwards
    double x_ppi, y_ppi;  // the resolution to draw at: scaled to fit the sheet
};

// Nothing for a page without area. Standard pages are drawn at fine and
// brought to standard afterwards: at 98 lpi a row is 0.26 mm, thicker than
// the horizontal strokes of body text, and a rasteriser sampling row
// centres loses them ("e" reads "c", hyphens and the bars of t and f
// vanish).
std::optional<Placement> place_on_sheet(PDFDoc& doc, int number, const Sheet& sheet, Resolution r) {
    Size size = displayed_size(doc, number);
    if (size.width <= 0 || size.height <= 0) return std::nullopt;
    // A landscape page is turned rather than shrunk to a strip across the top.
    const bool turn = size.width > size.height;
    if (turn) std::swap(size.width, size.height);
    const double scale =
        std::min(sheet.width_in * 72 / size.width, sheet.height_in * 72 / size.height);
    const bool reduce = r == Resolution::standard;
    return Placement{size, turn, reduce, sheet.x_ppi * scale,
                     (reduce ? 2 : 1) * sheet.y_ppi * scale};
}

// poppler looks a font that the PDF does not embed up in fontconfig for
// every font object, and remembers nothing between them: a document of
// several parts (each with its own font objects) or several output devices
// asked again each time, at a third of a millisecond a time. It does look
// first among the font files it was given by name (GlobalParams::addFontFile),
// so the first place found for each standard font is given back to it by
// name. Only the 14 standard names: for them the lookup by name and the
// standard-font lookup both end in the same file read the same way
// (GfxFont::locateFont, getExternalFont); other names can resolve to
// collections or substitutes that a file by name would not reproduce.
class FontRemembering : public SplashOutputDev {
public:
    using SplashOutputDev::SplashOutputDev;

    void startPage(int number, GfxState* state, XRef* xref) override {
        xref_ = xref;
        SplashOutputDev::startPage(number, state, xref);
    }

    void updateFont(GfxState* state) override {
        if (const std::shared_ptr<GfxFont>& font = state->getFont()) remember(*font);
        SplashOutputDev::updateFont(state);
    }

private:
    void remember(GfxFont& font) {
        static constexpr std::array<std::string_view, 14> standard = {
            "Courier",     "Courier-Bold",   "Courier-BoldOblique",   "Courier-Oblique",
            "Helvetica",   "Helvetica-Bold", "Helvetica-BoldOblique", "Helvetica-Oblique",
            "Symbol",      "Times-Bold",     "Times-BoldItalic",      "Times-Italic",
            "Times-Roman", "ZapfDingbats"};
        static std::mutex mutex;
        static std::set<std::string, std::less<>> given;
        const std::optional<std::string>& name = font.getName();
        Ref embedded;
        if (!name || font.isCIDFont() || font.getEmbeddedFontID(&embedded) ||
            std::find(standard.begin(), standard.end(), *name) == standard.end())
            return;
        {
            const std::lock_guard lock(mutex);
            if (given.count(*name)) return;
        }
        const std::optional<GfxFontLoc> place = font.locateFont(xref_, nullptr);
        if (!place || place->locType != gfxFontLocExternal || place->fontNum != 0) return;
        const std::lock_guard lock(mutex);
        if (!given.insert(*name).second) return;
        const GooString font_name(*name), path(place->path);
        globalParams->addFontFile(&font_name, &path);
    }

    XRef* xref_ = nullptr;  // the page's, as poppler's own lookup uses
};

// The 1-bit device, watching what the page draws: anything grey or coloured
// (fills, strokes or text in a colour that is neither black nor white,
// transparency, shadings, images) sets saw_grey() and stops the page (a
// page of black and white never goes grey). It takes the place of a grey
// drawing at a quarter of the resolution, looked at for mid-tones, that
// drew every page a second time: it says grey where that did (and for
// grey too small to cover 9 of its pixels too, or grey hidden under white).
class GreyWatching : public FontRemembering {
public:
    using FontRemembering::FontRemembering;

    bool saw_grey() const { return grey_; }
    void start_watching() { grey_ = false; }
    static bool stop(void* self) { return static_cast<GreyWatching*>(self)->grey_; }

    void stroke(GfxState* state) override {
        check_stroke(state);
        FontRemembering::stroke(state);
    }
    void fill(GfxState* state) override {
        check_fill(state);
        FontRemembering::fill(state);
    }
    void eoFill(GfxState* state) override {
        check_fill(state);
        FontRemembering::eoFill(state);
    }
    void drawChar(GfxState* state, double x, double y, double dx, double dy, double origin_x,
                  double origin_y, CharCode code, int bytes, const Unicode* u, int u_len) override {
        // Text render modes: 0, 2, 4, 6 fill; 1, 2, 5, 6 stroke; 3, 7 neither.
        const int mode = state->getRender() & 7;
        if (mode == 0 || mode == 2 || mode == 4 || mode == 6) check_fill(state);
        if (mode == 1 || mode == 2 || mode == 5 || mode == 6) check_stroke(state);
        FontRemembering::drawChar(state, x, y, dx, dy, origin_x, origin_y, code, bytes, u, u_len);
    }
    bool useShadedFills(int type) override {
        grey_ = true;
        return FontRemembering::useShadedFills(type);
    }
    void drawImageMask(GfxState* state, Object* ref, Stream* str, int width, int height,
                       bool invert, bool interpolate, bool inline_image) override {
        grey_ = true;
        FontRemembering::drawImageMask(state, ref, str, width, height, invert, interpolate,
                                       inline_image);
    }
    void setSoftMaskFromImageMask(GfxState* state, Object* ref, Stream* str, int width, int height,
                                  bool invert, bool inline_image, double* base_matrix) override {
        grey_ = true;
        FontRemembering::setSoftMaskFromImageMask(state, ref, str, width, height, invert,
                                                  inline_image, base_matrix);
    }
    void drawImage(GfxState* state, Object* ref, Stream* str, int width, int height,
                   GfxImageColorMap* color_map, bool interpolate, const int* mask_colors,
                   bool inline_image) override {
        grey_ = true;
        FontRemembering::drawImage(state, ref, str, width, height, color_map, interpolate,
                                   mask_colors, inline_image);
    }
    void drawMaskedImage(GfxState* state, Object* ref, Stream* str, int width, int height,
                         GfxImageColorMap* color_map, bool interpolate, Stream* mask_str,
                         int mask_width, int mask_height, bool mask_invert,
                         bool mask_interpolate) override {
        grey_ = true;
        FontRemembering::drawMaskedImage(state, ref, str, width, height, color_map, interpolate,
                                         mask_str, mask_width, mask_height, mask_invert,
                                         mask_interpolate);
    }
    void drawSoftMaskedImage(GfxState* state, Object* ref, Stream* str, int width, int height,
                             GfxImageColorMap* color_map, bool interpolate, Stream* mask_str,
                             int mask_width, int mask_height, GfxImageColorMap* mask_color_map,
                             bool mask_interpolate) override {
        grey_ = true;
        FontRemembering::drawSoftMaskedImage(state, ref, str, width, height, color_map, interpolate,
                                             mask_str, mask_width, mask_height, mask_color_map,
                                             mask_interpolate);
    }
    void beginTransparencyGroup(GfxState* state, const double* bbox, GfxColorSpace* space,
                                bool isolated, bool knockout, bool for_soft_mask) override {
        grey_ = true;
        FontRemembering::beginTransparencyGroup(state, bbox, space, isolated, knockout,
                                                for_soft_mask);
    }
    void setSoftMask(GfxState* state, const double* bbox, bool alpha, Function* transfer,
                     GfxColor* backdrop) override {
        grey_ = true;
        FontRemembering::setSoftMask(state, bbox, alpha, transfer, backdrop);
    }

private:
    // Grey as the quarter-resolution drawing judged it: a pixel from 17 to
    // 239 was a mid-tone; darker is black, lighter white.
    static bool mid_tone(GfxColorSpace* space, const GfxColor* colour) {
        GfxGray gray;
        space->getGray(colour, &gray);
        const int byte = colToByte(gray);
        return byte >= 17 && byte <= 239;
    }
    // Patterns (their colours are drawn apart), see-through paint and
    // blending count as grey.
    void check(GfxState* state, GfxColorSpace* space, const GfxColor* colour, double opacity) {
        if (opacity < 1 || state->getBlendMode() != gfxBlendNormal || !space ||
            space->getMode() == csPattern || mid_tone(space, colour))
            grey_ = true;
    }
    void check_fill(GfxState* state) {
        check(state, state->getFillColorSpace(), state->getFillColor(), state->getFillOpacity());
    }
    void check_stroke(GfxState* state) {
        check(state, state->getStrokeColorSpace(), state->getStrokeColor(),
              state->getStrokeOpacity());
    }

    bool grey_ = false;
};

// A document opened once and drawn page by page, by one thread: the output
// devices, and with them the font engines and their glyph caches, are kept
// from page to page (a device's colour mode, antialiasing and font engine
// are fixed when it starts on a document, so each way of drawing has one).
class PdfDrawer {
public:
    PdfDrawer(std::string_view bytes, const PopplerErrors& errors) : doc_(load(bytes, errors)) {}
    PdfDrawer(const PdfDrawer&) = delete;
    PdfDrawer& operator=(const PdfDrawer&) = delete;

    PDFDoc& doc() { return *doc_; }

    // Page `number` (from 1) in grey, at the resolution given, turned a
    // quarter clockwise with `turn`. Glyphs have grey edges (the threshold
    // then cuts them where the outline runs); vector art is drawn without
    // antialiasing: 4x4 supersampled fills cost a quarter of a text page and
    // are cut away by the threshold anyway. The bitmap stays the device's
    // and is overwritten by its next page.
    const SplashBitmap* draw_grey(int number, double x_ppi, double y_ppi, bool turn) {
        if (!grey_) grey_ = start<FontRemembering>(splashModeMono8, true);
        return draw(*grey_, number, x_ppi, y_ppi, turn, -1, -1);
    }

    // The top left `width` x `height` pixels of the page in black and white
    // (Splash's 1-bit mode: glyphs from FreeType's monochrome renderer, whose
    // dropout control keeps every stroke at least a pixel wide); nullptr as
    // soon as the page draws anything grey (GreyWatching).
    const SplashBitmap* draw_mono(int number, double x_ppi, double y_ppi, bool turn, int width,
                                  int height) {
        if (!mono_) mono_ = start<GreyWatching>(splashModeMono1, false);
        mono_->start_watching();
        const SplashBitmap* bitmap = draw(*mono_, number, x_ppi, y_ppi, turn, width, height);
        return mono_->saw_grey() ? nullptr : bitmap;
    }

private:
    template <typename Device>
    std::unique_ptr<Device> start(SplashColorMode mode, bool glyph_antialiasing) {
        SplashColor white = {255, 255, 255};
        auto device = std::make_unique<Device>(mode, 4, false, white, true, splashThinLineSolid);
        device->setFontAntialias(glyph_antialiasing);
        device->setVectorAntialias(false);
        device->setFreeTypeHinting(false, false);
        device->startDoc(doc_.get());
        return device;
    }

    // A slice from the top left corner with `slice_w` and `slice_h` (the
    // whole page with -1). A GreyWatching device stops the page once it has
    // seen grey.
    const SplashBitmap* draw(SplashOutputDev& device, int number, double x_ppi, double y_ppi,
                             bool turn, int slice_w, int slice_h) {
        const int x = slice_w < 0 ? -1 : 0, y = slice_h < 0 ? -1 : 0;
        auto* watching = dynamic_cast<GreyWatching*>(&device);
        doc_->displayPageSlice(&device, number, x_ppi, y_ppi, turn ? 90 : 0, false, true, false, x,
                               y, slice_w, slice_h, watching ? GreyWatching::stop : nullptr,
                               watching);
        const SplashBitmap* bitmap = device.getBitmap();
        if (!bitmap || bitmap->getWidth() <= 0 || bitmap->getHeight() <= 0) return nullptr;
        return bitmap;
    }

    // Declared before the devices, which refer to it: destroyed after them.
    std::unique_ptr<PDFDoc> doc_;
    std::unique_ptr<FontRemembering> grey_;
    std::unique_ptr<GreyWatching> mono_;
};

Page render_page_gray(PdfDrawer& drawer, int number, const Sheet& sheet, Resolution r,
                      Screening screening) {
    const auto placed = place_on_sheet(drawer.doc(), number, sheet, r);
    if (!placed) return Page{};
    const bool reduce = placed->reduce, turn = placed->turn;
    const SplashBitmap* image = drawer.draw_grey(number, placed->x_ppi, placed->y_ppi, turn);
    if (!image) return Page{};

    // Text and line art are cut at half grey; photographs on the page are
    // screened (halftone.cc decides by region).
    GrayImage gray;
    gray.width = image->getWidth();
    gray.height = image->getHeight();
    gray.pixels.resize(static_cast<std::size_t>(gray.width) * gray.height);
    const std::uint8_t* data = image->getDataPtr();
    for (int y = 0; y < gray.height; ++y)
        std::copy_n(data + static_cast<std::ptrdiff_t>(y) * image->getRowSize(), gray.width,
                    gray.pixels.begin() + static_cast<std::ptrdiff_t>(y) * gray.width);
    GrayImage text;
    if (reduce) {
        text = reduce_rows(gray, RowFilter::ink_sum);
        gray = reduce_rows(gray, RowFilter::mean);
    }

    Page out = Page::blank(sheet.page_height, r, sheet.page_width);
    const int x0 = static_cast<int>(std::lround((sheet.page_width - gray.width) / 2.0));
    const int y0 = static_cast<int>(
        std::lround(sheet.origin_y + (sheet.height_in * sheet.y_ppi - gray.height) / 2));
    static_assert(dark_threshold == 128);  // gray_onto's threshold for text
    gray_onto(out, gray, x0, std::max(0, y0), screening, reduce ? &text : nullptr);
    return out;
}

// The page drawn by poppler in black and white (PdfDrawer::draw_mono): no
// compositing on white, no grey copy to cut: a third of the grey path's CPU.
// Only for pages of black and white: Splash screens grey in 1-bit with a
// screen of its own, not faxgw's (halftone.cc, chosen for G4 and fax
// printers) and without its photo detection. The document had no image
// XObject (has_pictures), but grey fills, colours, shadings and inline
// images can hide in compressed content, so the 1-bit device watches for
// them, and such a page gives nullopt and goes the grey way. Standard pages are drawn
// at fine and each pair of rows is joined by OR: a stroke in either row
// stays.
std::optional<Page> render_page_mono(PdfDrawer& drawer, int number, const Sheet& sheet,
                                     Resolution r) {
    const auto placed = place_on_sheet(drawer.doc(), number, sheet, r);
    if (!placed) return Page{};
    const Size size = placed->size;
    const bool reduce = placed->reduce, turn = placed->turn;
    const double x_ppi = placed->x_ppi, y_ppi = placed->y_ppi;
    // A slice as wide as the page's whole pixels (beyond the page it is
    // white paper).
    const int content_w = static_cast<int>(size.width * x_ppi / 72);
    const int content_h = static_cast<int>(size.height * y_ppi / 72);
    if (content_w <= 0 || content_h <= 0) return Page{};
    const SplashBitmap* image = drawer.draw_mono(number, x_ppi, y_ppi, turn, content_w, content_h);
    if (!image || image->getWidth() < content_w) return std::nullopt;
    const std::uint8_t* data = image->getDataPtr();
    const int row_bytes = (content_w + 7) / 8, image_height = image->getHeight();

    const int height = reduce ? (image_height + 1) / 2 : image_height;
    Page out = Page::blank(sheet.page_height, r, sheet.page_width);
    const int x0 = static_cast<int>(std::lround((sheet.page_width - content_w) / 2.0));
    const int y0 = std::max(0, static_cast<int>(std::lround(
                                   sheet.origin_y + (sheet.height_in * sheet.y_ppi - height) / 2)));
    const int shift = x0 % 8, first = x0 / 8;
    // The row's ink between a zero byte before and one after it, so that each
    // byte of the fax row takes the bits of two neighbours without a branch
    // (a loop the compiler vectorises).
    std::vector<std::uint8_t> ink(static_cast<std::size_t>(row_bytes) + 2);
    const int last = std::min(out.stride(), first + row_bytes + 1);
    for (int y = 0; y < height && y0 + y < out.height; ++y) {
        // 1 is white in Splash's 1-bit bitmap and black on a fax page.
        const int rows = reduce ? 2 : 1;
        std::fill(ink.begin(), ink.end(), 0);
        for (int k = 0; k < rows && y * rows + k < image_height; ++k) {
            const std::uint8_t* row =
                data + static_cast<std::ptrdiff_t>(y * rows + k) * image->getRowSize();
            for (int b = 0; b < row_bytes; ++b) ink[b + 1] |= static_cast<std::uint8_t>(~row[b]);
        }
        if (content_w % 8) ink[row_bytes] &= static_cast<std::uint8_t>(0xFF << (8 - content_w % 8));
        std::uint8_t* dst = out.bits.data() + static_cast<std::size_t>(y0 + y) * out.stride();
        // Byte `at` of the fax row: its ink byte shifted right, and what the
        // shift pushed out of the byte before (nothing when shift is 0: the
        // left shift by 8 leaves no bits in a byte).
        for (int at = std::max(0, first); at < last; ++at)
            dst[at] |= static_cast<std::uint8_t>((ink[at - first + 1] >> shift) |
                                                 (ink[at - first] << (8 - shift)));
    }
    return out;
}

// Whether a document may draw pictures: image XObjects are streams, which
// PDF never packs into compressed object streams, so their /Subtype /Image
// is always readable in the file (/ImageB and the like in old /ProcSet
// arrays count too: such files just take the grey path).
bool has_pictures(std::string_view pdf_bytes) {
    return pdf_bytes.find("/Image") != std::string_view::npos;
}

// Page `index` (from 0); an empty page if poppler cannot read it.
Page render_page(PdfDrawer& drawer, int index, const Sheet& sheet, Resolution r,
                 Screening screening, bool pictures) {
    const int number = index + 1;
    if (!drawer.doc().getPage(number)) return Page{};
    if (!pictures && (screening == Screening::automatic || screening == Screening::threshold))
        if (std::optional<Page> mono = render_page_mono(drawer, number, sheet, r))
            return std::move(*mono);
    return render_page_gray(drawer, number, sheet, r, screening);
}

bool is_blank(const Page& page) {
    return std::all_of(page.bits.begin(), page.bits.end(), [](std::uint8_t b) { return b == 0; });
}

std::string damaged_message(int readable, int count) {
    return "PDF is damaged (" + std::to_string(readable) + " of " + std::to_string(count) +
           " pages readable)";
}

// Threads drawing pages of a long document, each with a poppler document
// (PdfDrawer) of its own: poppler shares nothing between documents, but a
// document or page is not safe across threads. They run in the isolated child, which forked
// from a single-threaded caller; all are joined before render_pdf_pages
// returns, so no thread outlives a render.
int workers_for(int pages) {
    const unsigned cores = std::thread::hardware_concurrency();
    if (pages < 4 || cores < 2) return 1;
    return static_cast<int>(std::min(cores, 4u));
}

// Pages drawn by `workers` threads and handed to `sink` in order, on this
// thread. A worker draws no more than `window` pages ahead of the page the
// sink takes next, so memory stays a few pages whatever the document's
// length. The first worker draws with `opened` (the caller's, already
// open); the others open their own. Returns poppler's complaints in the
// workers.
int draw_in_parallel(std::string_view pdf_bytes, std::unique_ptr<PdfDrawer> opened, int count,
                     int workers, const Sheet& sheet, const Options& options, bool pictures,
                     const PageSink& sink) {
    struct Drawn {
        Page page;
        bool damaged = false;
    };
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::optional<Drawn>> drawn(static_cast<std::size_t>(count));
    int next = 0, taken = 0, complaints = 0;
    bool stop = false;
    std::exception_ptr failure;
    const int window = 2 * workers;
    const auto work = [&](std::unique_ptr<PdfDrawer> drawer) {
        try {
            const PopplerErrors errors;
            if (!drawer) drawer = std::make_unique<PdfDrawer>(pdf_bytes, errors);
            for (;;) {
                int i = 0;
                {
                    std::unique_lock lock(mutex);
                    changed.wait(lock,
                                 [&] { return stop || next >= count || next - taken < window; });
                    if (stop || next >= count) break;
                    i = next++;
                }
                const int before = errors.count();
                Drawn d;
                d.page =
                    render_page(*drawer, i, sheet, options.resolution, options.screening, pictures);
                d.damaged = d.page.height == 0 || (errors.count() > before && is_blank(d.page));
                {
                    const std::lock_guard lock(mutex);
                    drawn[static_cast<std::size_t>(i)] = std::move(d);
                }
                changed.notify_all();
            }
            const std::lock_guard lock(mutex);
            complaints += errors.count();
        } catch (...) {
            const std::lock_guard lock(mutex);
            if (!failure) failure = std::current_exception();
            stop = true;
        }
        changed.notify_all();
    };
    std::vector<std::thread> threads;
    const auto finish = [&] {
        {
            const std::lock_guard lock(mutex);
            stop = true;
        }
        changed.notify_all();
        for (std::thread& t : threads) t.join();
        threads.clear();
    };
    try {
        for (int w = 0; w < workers; ++w)
            threads.emplace_back(work, w == 0 ? std::move(opened) : nullptr);
        for (int i = 0; i < count; ++i) {
            std::optional<Drawn> d;
            {
                std::unique_lock lock(mutex);
                changed.wait(lock, [&] { return drawn[static_cast<std::size_t>(i)] || failure; });
                if (failure) std::rethrow_exception(failure);
                d.swap(drawn[static_cast<std::size_t>(i)]);
            }
            if (d->damaged) throw Error(damaged_message(i, count));
            sink(std::move(d->page), count);
            {
                const std::lock_guard lock(mutex);
                ++taken;
            }
            changed.notify_all();
        }
    } catch (...) {
        finish();
        throw;
    }
    finish();
    if (failure) std::rethrow_exception(failure);
    return complaints;
}

}  // namespace

// At a concrete resolution: each page goes to `sink` as soon as it is drawn
// (in order; several at a time on several cores for long documents).
void render_pdf_pages(std::string_view pdf_bytes, const Options& options, const PageSink& sink) {
    const PopplerErrors errors;
    auto drawer = std::make_unique<PdfDrawer>(pdf_bytes, errors);
    const int count = drawer->doc().getNumPages();
    if (count <= 0)
        throw Error(errors.count() > 0 ? "PDF is damaged (no readable pages)" : "PDF has no pages");
    if (count > options.max_pages)
        throw LimitError("PDF has " + std::to_string(count) + " pages, more than the limit of " +
                         std::to_string(options.max_pages));

    const Sheet sheet = sheet_for(options.paper, options.resolution);
    const bool pictures = has_pictures(pdf_bytes);
    int complaints = 0;
    if (const int workers = workers_for(count); workers > 1) {
        complaints = draw_in_parallel(pdf_bytes, std::move(drawer), count, workers, sheet, options,
                                      pictures, sink);
    } else {
        for (int i = 0; i < count; ++i) {
            const int errors_before = errors.count();
            Page rendered =
                render_page(*drawer, i, sheet, options.resolution, options.screening, pictures);
            // poppler "succeeds" on damaged files: an empty image, or a blank
            // page it complained about while drawing, is the only sign.
            if (rendered.height == 0 || (errors.count() > errors_before && is_blank(rendered)))
                throw Error(damaged_message(i, count));
            sink(std::move(rendered), count);
        }
    }
    // Complaints while drawing a cut-off file mean something is missing.
    if (looks_truncated(pdf_bytes) && errors.count() + complaints > 0)
        throw Error("PDF is damaged (the file is incomplete)");
}

std::vector<Page> render_pdf(std::string_view pdf_bytes, const Options& options) {
    return with_resolution(
        options,
        [&](const Options& o) {
            std::vector<Page> pages;
            render_pdf_pages(pdf_bytes, o,
                             [&](Page&& page, int) { pages.push_back(std::move(page)); });
            return pages;
        },
        true);  // reduced keeping ink (render_page)
}

int render_pdf_to_tiff(std::string_view pdf_bytes, const Options& options,
                       const std::filesystem::path& out) {
    // One pass at a concrete resolution; with `measure`, also whether every
    // page would read as well at standard (legible_resolution page by page:
    // it is fine for a document as soon as it is for one of its pages).
    const auto pass = [&](const Options& o, bool measure, bool& standard_suffices) {
        std::unique_ptr<FaxTiffWriter> writer;
        render_pdf_pages(pdf_bytes, o, [&](Page&& page, int count) {
            if (!writer) writer = std::make_unique<FaxTiffWriter>(out, count);
            if (measure && standard_suffices) {
                std::vector<Page> one;
                one.push_back(std::move(page));
                standard_suffices = legible_resolution(one, true) == Resolution::standard;
                page = std::move(one.front());
            }
            writer->append(page);
        });
        const int pages = writer->pages();  // render_pdf_pages throws for no pages
        writer->close();
        return pages;
    };
    bool standard_suffices = true;
    if (options.resolution != Resolution::automatic) return pass(options, false, standard_suffices);
    Options o = options;
    o.resolution = Resolution::fine;
    const int pages = pass(o, true, standard_suffices);
    if (!standard_suffices) return pages;
    o.resolution = Resolution::standard;
    return pass(o, false, standard_suffices);
}

}  // namespace faxgw::render
