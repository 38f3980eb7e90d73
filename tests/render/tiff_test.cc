// Fax TIFFs: written with the tags spandsp needs, read back from any
// bilevel layout libtiff decodes.
#define BOOST_TEST_MODULE render_tiff
#include <spandsp.h>
#include <tiffio.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "faxgw/render.h"
#include "test_util.h"

using namespace faxgw::render;
using namespace faxgw::render::test;

namespace {

constexpr Resolution all_resolutions[] = {Resolution::standard, Resolution::fine,
                                          Resolution::superfine};

struct TiffCloser {
    void operator()(TIFF* t) const { TIFFClose(t); }
};
using TiffPtr = std::unique_ptr<TIFF, TiffCloser>;

TiffPtr open_tiff(const std::filesystem::path& file, const char* mode) {
    TiffPtr t(TIFFOpen(file.c_str(), mode));
    BOOST_TEST_REQUIRE(t.get() != nullptr);
    return t;
}

// How a foreign fax TIFF is laid out; written with libtiff directly.
struct Layout {
    std::uint16_t compression = COMPRESSION_CCITTFAX3;
    std::uint32_t g3_options = 0;
    std::uint16_t photometric = PHOTOMETRIC_MINISWHITE;
    std::uint16_t fill_order = FILLORDER_MSB2LSB;
    std::uint32_t rows_per_strip = 64;
    std::uint16_t unit = RESUNIT_INCH;
    float y_res = 196;
    std::uint32_t width = 1728;
};

void write_foreign(const std::filesystem::path& file, const std::vector<Page>& pages,
                   const Layout& l) {
    TiffPtr t = open_tiff(file, "w");
    for (const Page& page : pages) {
        TIFFSetField(t.get(), TIFFTAG_IMAGEWIDTH, l.width);
        TIFFSetField(t.get(), TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(page.height));
        TIFFSetField(t.get(), TIFFTAG_BITSPERSAMPLE, 1);
        TIFFSetField(t.get(), TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(t.get(), TIFFTAG_COMPRESSION, l.compression);
        if (l.compression == COMPRESSION_CCITTFAX3)
            TIFFSetField(t.get(), TIFFTAG_GROUP3OPTIONS, l.g3_options);
        TIFFSetField(t.get(), TIFFTAG_PHOTOMETRIC, l.photometric);
        TIFFSetField(t.get(), TIFFTAG_FILLORDER, l.fill_order);
        TIFFSetField(t.get(), TIFFTAG_ROWSPERSTRIP, l.rows_per_strip);
        TIFFSetField(t.get(), TIFFTAG_RESOLUTIONUNIT, l.unit);
        TIFFSetField(t.get(), TIFFTAG_XRESOLUTION, l.unit == RESUNIT_CENTIMETER ? 80.31f : 204.0f);
        TIFFSetField(t.get(), TIFFTAG_YRESOLUTION, l.y_res);
        for (int y = 0; y < page.height; ++y) {
            std::vector<std::uint8_t> row(page.bits.begin() + y * 216,
                                          page.bits.begin() + (y + 1) * 216);
            if (l.photometric == PHOTOMETRIC_MINISBLACK)
                for (auto& b : row) b = static_cast<std::uint8_t>(~b);
            row.resize(l.width / 8);
            BOOST_TEST_REQUIRE(TIFFWriteScanline(t.get(), row.data(), y, 0) == 1);
        }
        BOOST_TEST_REQUIRE(TIFFWriteDirectory(t.get()) == 1);
    }
}

bool same_pages(const std::vector<Page>& a, const std::vector<Page>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].height != b[i].height || a[i].bits != b[i].bits) return false;
    return true;
}

std::vector<Page> two_pages(Resolution r) {
    return {pattern_page(page_height_px(Paper::a4, r), r, 1),
            pattern_page(page_height_px(Paper::letter, r), r, 2)};
}

}  // namespace

BOOST_AUTO_TEST_CASE(write_then_read_is_pixel_identical) {
    TempDir dir;
    for (Resolution r : all_resolutions) {
        BOOST_TEST_CONTEXT(to_string(r)) {
            const auto pages = two_pages(r);
            write_fax_tiff(pages, dir / "out.tif");
            const auto back = read_fax_tiff(dir / "out.tif");
            BOOST_TEST_REQUIRE(back.size() == 2u);
            BOOST_TEST((back == pages));  // bits, height and resolution
            BOOST_TEST(count_tiff_pages(dir / "out.tif") == 2);
        }
    }
    BOOST_TEST(!std::filesystem::exists(dir / "out.tif.partial"));
}

BOOST_AUTO_TEST_CASE(tags_are_what_spandsp_reads) {
    TempDir dir;
    for (Resolution r : all_resolutions) {
        BOOST_TEST_CONTEXT(to_string(r)) {
            write_fax_tiff(two_pages(r), dir / "out.tif");
            TiffPtr t = open_tiff(dir / "out.tif", "r");
            int index = 0;
            do {
                std::uint32_t width = 0, height = 0, rows = 0, subfile = 0, t6 = 99;
                std::uint16_t bits = 0, spp = 0, compression = 0, photometric = 9, fill = 0,
                              unit = 0, orientation = 0, planar = 0, page = 9, total = 9;
                float x_res = 0, y_res = 0;
                BOOST_TEST(TIFFGetField(t.get(), TIFFTAG_IMAGEWIDTH, &width));
                BOOST_TEST(TIFFGetField(t.get(), TIFFTAG_IMAGELENGTH, &height));
                BOOST_TEST(TIFFGetField(t.get(), TIFFTAG_BITSPERSAMPLE, &bits));
                BOOST_TEST(TIFFGetField(t.get(), TIFFTAG_SAMPLESPERPIXEL, &spp));
                BOOST_TEST(TIFFGetField(t.get(), TIFFTAG_COMPRESSION, &compression));
                BOOST_TEST(TIFFGetField(t.get(), TIFFTAG_T6OPTIONS, &t6));
                BOOST_TEST(TIFFGetField(t.get(), TIFFTAG_PHOTOMETRIC, &photometric));
                BOOST_TEST(TIFFGetField(t.get(), TIFFTAG_FILLORDER, &fill));
                BOOST_TEST(TIFFGetField(t.get(), TIFFTAG_ROWSPERSTRIP, &rows));
                BOOST_TEST(TIFFGetField(t.get(), TIFFTAG_XRESOLUTION, &x_res));
                BOOST_TEST(TIFFGetField(t.get(), TIFFTAG_YRESOLUTION, &y_res));
                BOOST_TEST(TIFFGetField(t.get(), TIFFTAG_RESOLUTIONUNIT, &unit));
                BOOST_TEST(TIFFGetField(t.get(), TIFFTAG_SUBFILETYPE, &subfile));
                BOOST_TEST(TIFFGetField(t.get(), TIFFTAG_PAGENUMBER, &page, &total));
                BOOST_TEST(TIFFGetField(t.get(), TIFFTAG_ORIENTATION, &orientation));
                BOOST_TEST(TIFFGetField(t.get(), TIFFTAG_PLANARCONFIG, &planar));
                BOOST_TEST(width == 1728u);
                BOOST_TEST(height == static_cast<std::uint32_t>(
                                         index == 0 ? page_height_px(Paper::a4, r)
                                                    : page_height_px(Paper::letter, r)));
                BOOST_TEST(bits == 1);
                BOOST_TEST(spp == 1);
                BOOST_TEST(compression == COMPRESSION_CCITTFAX4);
                BOOST_TEST(t6 == 0u);
                BOOST_TEST(photometric == PHOTOMETRIC_MINISWHITE);
                BOOST_TEST(fill == FILLORDER_MSB2LSB);
                BOOST_TEST(rows == height);
                BOOST_TEST(TIFFNumberOfStrips(t.get()) == 1u);
                BOOST_TEST(x_res == 204.0f);
                BOOST_TEST(y_res == static_cast<float>(y_dpi(r)));
                BOOST_TEST(unit == RESUNIT_INCH);
                BOOST_TEST(subfile == static_cast<std::uint32_t>(FILETYPE_PAGE));
                BOOST_TEST(page == index);
                BOOST_TEST(total == 2);
                BOOST_TEST(orientation == ORIENTATION_TOPLEFT);
                BOOST_TEST(planar == PLANARCONFIG_CONTIG);
                ++index;
            } while (TIFFReadDirectory(t.get()));
            BOOST_TEST(index == 2);
        }
    }
}

BOOST_AUTO_TEST_CASE(spandsp_can_send_the_file) {
    TempDir dir;
    const struct {
        Resolution r;
        int spandsp_y;
    } cases[] = {{Resolution::standard, T4_Y_RESOLUTION_STANDARD},
                 {Resolution::fine, T4_Y_RESOLUTION_FINE},
                 {Resolution::superfine, T4_Y_RESOLUTION_SUPERFINE}};
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(to_string(c.r)) {
            write_fax_tiff(two_pages(c.r), dir / "send.tif");
            t4_state_t* t4 = t4_tx_init(nullptr, (dir / "send.tif").c_str(), -1, -1);
            BOOST_TEST_REQUIRE(t4 != nullptr);
            BOOST_TEST(t4_tx_get_pages_in_file(t4) == 2);
            BOOST_TEST(t4_tx_get_image_width(t4) == 1728);
            BOOST_TEST(t4_tx_get_x_resolution(t4) == T4_X_RESOLUTION_R8);
            BOOST_TEST(t4_tx_get_y_resolution(t4) == c.spandsp_y);
            // Encode the first page as T.4 for the line, as a call would.
            t4_tx_set_tx_encoding(t4, T4_COMPRESSION_ITU_T4_2D);
            t4_tx_set_min_bits_per_row(t4, 0);
            BOOST_TEST_REQUIRE(t4_tx_start_page(t4) == 0);
            std::vector<std::uint8_t> chunk(4096);
            long bytes = 0;
            for (int n;
                 (n = t4_tx_get_chunk(t4, chunk.data(), static_cast<int>(chunk.size()))) > 0;)
                bytes += n;
            BOOST_TEST(bytes > 1000);
            t4_tx_end_page(t4);
            t4_tx_free(t4);
        }
    }
}

BOOST_AUTO_TEST_CASE(foreign_layouts_read_back) {
    TempDir dir;
    const std::vector<Page> pages = {pattern_page(300, Resolution::fine, 3),
                                     pattern_page(200, Resolution::fine, 4)};
    struct Case {
        const char* name;
        Layout layout;
    };
    Layout g3_1d, g3_2d, none, black_is_one, lsb, g4_strips;
    g3_2d.g3_options = GROUP3OPT_2DENCODING | GROUP3OPT_FILLBITS;
    none.compression = COMPRESSION_NONE;
    black_is_one.compression = COMPRESSION_NONE;
    black_is_one.photometric = PHOTOMETRIC_MINISBLACK;
    lsb.fill_order = FILLORDER_LSB2MSB;  // how many fax modems store bits
    g4_strips.compression = COMPRESSION_CCITTFAX4;
    for (const Case& c :
         {Case{"G3 1-D", g3_1d}, Case{"G3 2-D", g3_2d}, Case{"uncompressed", none},
          Case{"MinIsBlack", black_is_one}, Case{"LSB2MSB", lsb}, Case{"G4 strips", g4_strips}}) {
        BOOST_TEST_CONTEXT(c.name) {
            write_foreign(dir / "in.tif", pages, c.layout);
            const auto back = read_fax_tiff(dir / "in.tif");
            BOOST_TEST(same_pages(back, pages));
            BOOST_TEST(count_tiff_pages(dir / "in.tif") == 2);
        }
    }
}

BOOST_AUTO_TEST_CASE(resolution_is_read_in_inches_or_centimetres) {
    TempDir dir;
    const std::vector<Page> page = {pattern_page(50, Resolution::fine, 5)};
    const struct {
        std::uint16_t unit;
        float y;
        Resolution expected;
    } cases[] = {
        {RESUNIT_CENTIMETER, 38.5f, Resolution::standard},  // as spandsp writes received faxes
        {RESUNIT_CENTIMETER, 77.0f, Resolution::fine},
        {RESUNIT_CENTIMETER, 77.2f, Resolution::fine},
        {RESUNIT_CENTIMETER, 154.0f, Resolution::superfine},
        {RESUNIT_INCH, 98.0f, Resolution::standard},
        {RESUNIT_INCH, 200.0f, Resolution::fine},
        {RESUNIT_INCH, 400.0f, Resolution::superfine}};
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.y << (c.unit == RESUNIT_CENTIMETER ? " per cm" : " per inch")) {
            Layout l;
            l.unit = c.unit;
            l.y_res = c.y;
            write_foreign(dir / "res.tif", page, l);
            BOOST_TEST(read_fax_tiff(dir / "res.tif").at(0).resolution == c.expected);
        }
    }
}

BOOST_AUTO_TEST_CASE(non_fax_tiff_is_refused) {
    TempDir dir;
    Layout narrow;
    narrow.compression = COMPRESSION_NONE;
    narrow.width = 800;
    write_foreign(dir / "narrow.tif", {pattern_page(20, Resolution::fine, 6)}, narrow);
    try {
        read_fax_tiff(dir / "narrow.tif");
        BOOST_ERROR("800-pixel TIFF was read as a fax");
    } catch (const Error& e) {
        BOOST_TEST_MESSAGE("Error: " << e.what());
        BOOST_TEST(std::string(e.what()).find("narrow.tif") != std::string::npos);
        BOOST_TEST(std::string(e.what()).find("800") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(unreadable_files_throw_error) {
    TempDir dir;
    write_bytes(dir / "junk.tif", "II*\0 this is not really a TIFF");
    BOOST_CHECK_THROW(read_fax_tiff(dir / "junk.tif"), Error);
    BOOST_CHECK_THROW(count_tiff_pages(dir / "junk.tif"), Error);
    BOOST_CHECK_THROW(read_fax_tiff(dir / "missing.tif"), Error);
    BOOST_CHECK_THROW(count_tiff_pages(dir / "missing.tif"), Error);

    // Cut a valid file short: the second page's data is gone.
    write_fax_tiff(two_pages(Resolution::fine), dir / "whole.tif");
    const std::string whole = read_bytes(dir / "whole.tif");
    write_bytes(dir / "cut.tif", std::string_view(whole).substr(0, whole.size() / 2));
    BOOST_CHECK_THROW(read_fax_tiff(dir / "cut.tif"), Error);
}

BOOST_AUTO_TEST_CASE(bad_writes_throw_error) {
    TempDir dir;
    BOOST_CHECK_THROW(write_fax_tiff({}, dir / "none.tif"), Error);
    BOOST_CHECK_THROW(write_fax_tiff(two_pages(Resolution::fine), dir / "no/such/dir/x.tif"),
                      Error);
    Page odd = Page::blank(10, Resolution::fine);
    odd.bits.resize(5);
    BOOST_CHECK_THROW(write_fax_tiff({odd}, dir / "odd.tif"), Error);
    BOOST_TEST(!std::filesystem::exists(dir / "odd.tif"));
}
