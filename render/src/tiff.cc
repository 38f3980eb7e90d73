// Multi-page fax TIFFs: written as spandsp wants them, read as anyone
// (including spandsp's receiver) writes them.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <system_error>

#include "faxgw/render.h"
#include "tiff_file.h"

namespace faxgw::render {

namespace {

// A received page longer than this (about 8 m at superfine) is not a fax.
constexpr std::uint32_t max_rows = 65536;

void set_page_tags(TIFF* tif, const Page& page, int number, int total) {
    TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(page.width));
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(page.height));
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 1);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
    TIFFSetField(tif, TIFFTAG_T6OPTIONS, 0);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);  // 1 = black, as Page
    TIFFSetField(tif, TIFFTAG_FILLORDER, FILLORDER_MSB2LSB);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tif, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, static_cast<std::uint32_t>(page.height));
    // spandsp judges the resolution to send from these two tags alone.
    TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
    TIFFSetField(tif, TIFFTAG_XRESOLUTION, static_cast<float>(fax_x_dpi));
    TIFFSetField(tif, TIFFTAG_YRESOLUTION, static_cast<float>(y_dpi(page.resolution)));
    TIFFSetField(tif, TIFFTAG_PAGENUMBER, static_cast<std::uint16_t>(number),
                 static_cast<std::uint16_t>(total));
}

bool is_fax_width(std::uint32_t width) { return width == fax_width_px || width == b4_width_px; }

void check_page(const Page& page) {
    if (!is_fax_width(static_cast<std::uint32_t>(page.width)) || page.height <= 0 ||
        page.bits.size() != static_cast<std::size_t>(page.stride()) * page.height)
        throw Error("cannot write TIFF: page is not a 1728- or 2048-pixel fax page");
}

// Lines per inch from the tags. spandsp writes received faxes in lines per
// centimetre (e.g. 77.2 for fine).
Resolution resolution_of(TIFF* tif) {
    float y_res = 0;
    if (!TIFFGetField(tif, TIFFTAG_YRESOLUTION, &y_res) || y_res <= 0)
        return Resolution::fine;  // untagged: assume the commonest
    std::uint16_t unit = RESUNIT_INCH;
    TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
    const double lpi = unit == RESUNIT_CENTIMETER ? y_res * 2.54 : y_res;
    Resolution best = Resolution::standard;
    for (Resolution r : {Resolution::fine, Resolution::superfine})
        if (std::abs(lpi - y_dpi(r)) < std::abs(lpi - y_dpi(best))) best = r;
    return best;
}

struct Shape {
    std::uint32_t width = 0, height = 0;
    std::uint16_t bits = 0, samples = 0;
};

Shape shape_of(TIFF* tif) {
    Shape s;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &s.width);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &s.height);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &s.bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &s.samples);
    return s;
}

bool fax_shaped(const Shape& s) {
    return is_fax_width(s.width) && s.bits == 1 && s.samples == 1 && s.height > 0 &&
           s.height <= max_rows;
}

Page read_page(const TiffFile& tiff, int index) {
    TIFF* tif = tiff.get();
    const Shape shape = shape_of(tif);
    const std::string where = "TIFF page " + std::to_string(index + 1);
    if (!fax_shaped(shape))
        throw Error(where + " is not a 1-bit 1728- or 2048-pixel fax page (" +
                    std::to_string(shape.width) + "x" + std::to_string(shape.height) + ", " +
                    std::to_string(std::uint32_t{shape.bits} * shape.samples) + " bits per pixel)");
    std::uint16_t photometric = PHOTOMETRIC_MINISWHITE;
    TIFFGetFieldDefaulted(tif, TIFFTAG_PHOTOMETRIC, &photometric);

    Page page = Page::blank(static_cast<int>(shape.height), resolution_of(tif),
                            static_cast<int>(shape.width));
    if (TIFFScanlineSize(tif) != page.stride()) tiff.fail("cannot read " + where);
    // Scanline by scanline so any strip layout and any codec libtiff knows
    // works; libtiff also undoes FillOrder LSB2MSB.
    for (int y = 0; y < page.height; ++y) {
        std::uint8_t* row = page.bits.data() + static_cast<std::size_t>(y) * page.stride();
        if (TIFFReadScanline(tif, row, static_cast<std::uint32_t>(y), 0) < 0)
            tiff.fail("cannot read " + where + " (damaged at row " + std::to_string(y) + ")");
        if (photometric == PHOTOMETRIC_MINISBLACK)
            for (int i = 0; i < page.stride(); ++i) row[i] = static_cast<std::uint8_t>(~row[i]);
    }
    return page;
}

}  // namespace

struct FaxTiffWriter::State {
    std::filesystem::path out, partial;
    int total = 0;
    int pages = 0;
    std::unique_ptr<TiffFile> tiff;
};

FaxTiffWriter::FaxTiffWriter(const std::filesystem::path& out, int total_pages)
    : state_(std::make_unique<State>()) {
    state_->out = out;
    // Written beside the target and renamed, so a reader (the sender) never
    // sees a half-written file.
    state_->partial = out.string() + ".partial";
    state_->total = std::max(0, total_pages);
    state_->tiff =
        naming_file(out, [&] { return std::make_unique<TiffFile>(state_->partial, "w"); });
}

FaxTiffWriter::~FaxTiffWriter() {
    if (!state_->tiff) return;  // closed
    state_->tiff.reset();
    std::error_code ignored;
    std::filesystem::remove(state_->partial, ignored);
}

int FaxTiffWriter::pages() const { return state_->pages; }

void FaxTiffWriter::append(const Page& page) {
    State& s = *state_;
    naming_file(s.out, [&] {
        if (!s.tiff) throw Error("cannot write TIFF: already closed");
        check_page(page);
        const std::string what = "cannot write TIFF page " + std::to_string(s.pages + 1);
        set_page_tags(s.tiff->get(), page, s.pages, s.total);
        // libtiff wants a non-const buffer even though it only reads it.
        std::vector<std::uint8_t> data = page.bits;
        if (TIFFWriteEncodedStrip(s.tiff->get(), 0, data.data(),
                                  static_cast<tmsize_t>(data.size())) < 0)
            s.tiff->fail(what);
        // Writes the page's directory and frees libtiff's copy of the strip.
        if (!TIFFWriteDirectory(s.tiff->get())) s.tiff->fail(what);
    });
    ++s.pages;
}

void FaxTiffWriter::close() {
    State& s = *state_;
    naming_file(s.out, [&] {
        if (!s.tiff) throw Error("cannot write TIFF: already closed");
        if (s.pages == 0) throw Error("cannot write TIFF: no pages");
        s.tiff->close();
    });
    s.tiff.reset();
    try {
        replace_file(s.partial, s.out);
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove(s.partial, ignored);
        throw;
    }
}

void write_fax_tiff(const std::vector<Page>& pages, const std::filesystem::path& out) {
    if (pages.empty()) throw Error("cannot write TIFF: no pages");
    for (const Page& page : pages) check_page(page);
    FaxTiffWriter writer(out, static_cast<int>(pages.size()));
    for (const Page& page : pages) writer.append(page);
    writer.close();
}

struct FaxTiffReader::State {
    std::filesystem::path file;
    std::unique_ptr<TiffFile> tiff;
    int total = 0;
    int read = 0;
    bool at_end = false;
};

FaxTiffReader::FaxTiffReader(const std::filesystem::path& file)
    : state_(std::make_unique<State>()) {
    state_->file = file;
    state_->tiff = naming_file(file, [&] { return std::make_unique<TiffFile>(file, "r"); });
    state_->total = static_cast<int>(TIFFNumberOfDirectories(state_->tiff->get()));
}

FaxTiffReader::~FaxTiffReader() = default;

int FaxTiffReader::pages() const { return state_->total; }

std::optional<Page> FaxTiffReader::next() {
    State& s = *state_;
    if (s.at_end) return std::nullopt;
    return naming_file(s.file, [&]() -> std::optional<Page> {
        // libtiff stands on the first directory once opened; each later
        // page is one TIFFReadDirectory further.
        if (s.read > 0 && !TIFFReadDirectory(s.tiff->get())) {
            s.at_end = true;
            // TIFFReadDirectory also returns 0 on a damaged directory chain.
            if (!s.tiff->errors().empty())
                s.tiff->fail("cannot read TIFF after page " + std::to_string(s.read));
            return std::nullopt;
        }
        Page page = read_page(*s.tiff, s.read);
        ++s.read;
        return page;
    });
}

std::vector<Page> read_fax_tiff(const std::filesystem::path& file) {
    FaxTiffReader reader(file);
    std::vector<Page> pages;
    while (auto page = reader.next()) pages.push_back(std::move(*page));
    return pages;
}

int count_tiff_pages(const std::filesystem::path& file) {
    return naming_file(file, [&] {
        TiffFile tiff(file, "r");
        return static_cast<int>(TIFFNumberOfDirectories(tiff.get()));
    });
}

bool is_fax_tiff(const std::filesystem::path& file) {
    return naming_file(file, [&] {
        TiffFile tiff(file, "r");
        do {
            if (!fax_shaped(shape_of(tiff.get()))) return false;
        } while (TIFFReadDirectory(tiff.get()));
        return true;
    });
}

std::uint32_t widest_page(const std::filesystem::path& file) {
    return naming_file(file, [&] {
        TiffFile tiff(file, "r");
        std::uint32_t widest = 0;
        do {
            widest = std::max(widest, shape_of(tiff.get()).width);
        } while (TIFFReadDirectory(tiff.get()));
        return widest;
    });
}

bool is_single_strip_g4(const std::filesystem::path& file) {
    return naming_file(file, [&] {
        TiffFile tiff(file, "r");
        do {
            std::uint16_t compression = COMPRESSION_NONE;
            TIFFGetFieldDefaulted(tiff.get(), TIFFTAG_COMPRESSION, &compression);
            if (compression != COMPRESSION_CCITTFAX4 || TIFFNumberOfStrips(tiff.get()) != 1)
                return false;
        } while (TIFFReadDirectory(tiff.get()));
        return true;
    });
}

}  // namespace faxgw::render

namespace faxgw::render {

std::size_t g4_bytes(const Page& page) {
    check_page(page);
    std::string name = (std::filesystem::temp_directory_path() / "faxgw-g4-XXXXXX").string();
    const int fd = ::mkstemp(name.data());
    if (fd < 0) throw Error("cannot create a temporary file");
    ::close(fd);
    const std::filesystem::path file = name;
    std::uint64_t bytes = 0;
    try {
        TiffFile tiff(file, "w");
        set_page_tags(tiff.get(), page, 0, 1);
        std::vector<std::uint8_t> data = page.bits;
        if (TIFFWriteEncodedStrip(tiff.get(), 0, data.data(), static_cast<tmsize_t>(data.size())) <
            0)
            tiff.fail("cannot encode page");
        if (!TIFFWriteDirectory(tiff.get())) tiff.fail("cannot encode page");
        tiff.close();
        TiffFile back(file, "r");
        std::uint64_t* counts = nullptr;
        if (TIFFGetField(back.get(), TIFFTAG_STRIPBYTECOUNTS, &counts) && counts) bytes = counts[0];
    } catch (...) {
        std::filesystem::remove(file);
        throw;
    }
    std::filesystem::remove(file);
    return static_cast<std::size_t>(bytes);
}

}  // namespace faxgw::render
