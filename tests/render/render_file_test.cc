// render_file: choosing the renderer by content and naming the file in errors.
#define BOOST_TEST_MODULE render_file
#include <tiffio.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "faxgw/render.h"
#include "test_util.h"

using namespace faxgw::render;
using namespace faxgw::render::test;

namespace {

std::string error_of(const std::filesystem::path& file) {
    try {
        render_file(file, Options{});
    } catch (const Error& e) {
        BOOST_TEST_MESSAGE("Error: " << e.what());
        return e.what();
    }
    return "(no error)";
}

void write_gray_tiff(const std::filesystem::path& file) {
    TIFF* t = TIFFOpen(file.c_str(), "w");
    BOOST_TEST_REQUIRE(t != nullptr);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 64);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 8);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    std::vector<std::uint8_t> row(64, 128);
    for (int y = 0; y < 8; ++y) TIFFWriteScanline(t, row.data(), y, 0);
    TIFFClose(t);
}

}  // namespace

BOOST_AUTO_TEST_CASE(pdf_text_and_fax_tiff_are_recognised_by_content) {
    TempDir dir;
    BOOST_TEST(render_file(samples() / "three-pages.pdf", Options{}).size() == 3u);
    BOOST_TEST(render_file(samples() / "hello.txt", Options{}).size() == 2u);

    // Names lie: a PDF called .txt is still a PDF.
    write_bytes(dir / "letter.txt", read_bytes(samples() / "three-pages.pdf"));
    BOOST_TEST(render_file(dir / "letter.txt", Options{}).size() == 3u);

    const std::vector<Page> fax = {pattern_page(1146, Resolution::standard, 7)};
    write_fax_tiff(fax, dir / "fax.bin");
    BOOST_TEST((render_file(dir / "fax.bin", Options{}) == fax));
}

BOOST_AUTO_TEST_CASE(text_with_bom_and_crlf_renders) {
    TempDir dir;
    write_bytes(dir / "crlf.txt", "\xEF\xBB\xBFline one\r\nline two\r\n");
    const auto pages = render_file(dir / "crlf.txt", Options{});
    BOOST_TEST_REQUIRE(pages.size() == 1u);
    BOOST_TEST(ink_of(pages[0]).pixels > 100);
}

BOOST_AUTO_TEST_CASE(unsupported_files_are_refused_by_name) {
    TempDir dir;
    write_bytes(dir / "latin1.txt",
                "Gr\xfc\xdf"
                "e\n");  // not UTF-8
    BOOST_TEST(error_of(dir / "latin1.txt") == "attachment latin1.txt (.txt file) cannot be faxed");
    write_bytes(dir / "drawing.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>\n");
    BOOST_TEST(error_of(dir / "drawing.svg") ==
               "attachment drawing.svg (HTML, SVG or RTF) cannot be faxed");
    // A cut-off picture is a damaged document, not an unknown type.
    write_bytes(dir / "picture.png", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
    BOOST_TEST(error_of(dir / "picture.png").starts_with("picture.png: picture is damaged"));
}

BOOST_AUTO_TEST_CASE(grey_tiff_is_fitted_to_a_fax_page) {
    TempDir dir;
    write_gray_tiff(dir / "photo.tif");
    const auto pages = render_file(dir / "photo.tif", Options{});
    BOOST_TEST_REQUIRE(pages.size() == 1u);
    BOOST_TEST(pages[0].width == 1728);
    BOOST_TEST(pages[0].height == 2292);
}

BOOST_AUTO_TEST_CASE(document_errors_name_the_file) {
    TempDir dir;
    const std::string pdf = read_bytes(samples() / "three-pages.pdf");
    write_bytes(dir / "invoice.pdf", std::string_view(pdf).substr(0, pdf.size() / 2));
    const std::string damaged = error_of(dir / "invoice.pdf");
    BOOST_TEST(damaged.starts_with("invoice.pdf: PDF is damaged"), damaged);
    BOOST_TEST(error_of(dir / "missing.pdf").starts_with("missing.pdf: "));
    Options two;
    two.max_pages = 2;
    BOOST_CHECK_THROW(render_file(samples() / "three-pages.pdf", two), Error);
}

BOOST_AUTO_TEST_CASE(empty_text_file_gives_no_pages) {
    TempDir dir;
    write_bytes(dir / "empty.txt", "\n\n  \n");
    BOOST_TEST(render_file(dir / "empty.txt", Options{}).empty());
}
