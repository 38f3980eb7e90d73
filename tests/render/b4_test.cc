// B4 paper: 2048-pixel pages from every renderer, and the 1728-pixel copy
// for receivers without B4 (narrow_page, narrow_fax_tiff), which must stay
// legible (Tesseract).
#define BOOST_TEST_MODULE render_b4
#include <boost/test/unit_test.hpp>

#include "faxgw/render.h"
#include "ocr.h"
#include "test_util.h"

using namespace faxgw::render;
using namespace faxgw::render::test;

namespace {

Options b4() {
    Options o;
    o.paper = Paper::b4;
    return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(b4_pages_are_2048_pixels_wide) {
    BOOST_TEST((parse_paper("b4") == Paper::b4));
    BOOST_TEST(to_string(Paper::b4) == "b4");
    BOOST_TEST(page_width_px(Paper::b4) == 2048);
    BOOST_TEST(page_width_px(Paper::a4) == 1728);
    BOOST_TEST(page_height_px(Paper::b4, Resolution::fine) == 2724);  // 353 mm
    for (const char* name : {"letter.txt", "three-pages.pdf", "three-pages.ps", "photo.jpg"}) {
        BOOST_TEST_CONTEXT(name) {
            const auto pages = render_document(read_bytes(samples() / name), "", name, b4());
            BOOST_TEST_REQUIRE(!pages.empty());
            for (const Page& page : pages) {
                BOOST_TEST(page.width == 2048);
                BOOST_TEST(page.height == 2724);
            }
        }
    }
    CoverInfo info;
    info.subject = "B4";
    Page cover = render_cover(info, b4());
    BOOST_TEST(cover.width == 2048);
}

BOOST_AUTO_TEST_CASE(a_b4_page_narrows_to_1728_in_proportion) {
    const auto wide = render_document(read_bytes(samples() / "three-pages.pdf"), "", "x", b4());
    const Page narrow = narrow_page(wide[0]);
    BOOST_TEST(narrow.width == 1728);
    BOOST_TEST(narrow.height == 2298);  // 2724 x 1728 / 2048
    BOOST_TEST(narrow.resolution == wide[0].resolution);
    // About as much ink on 71 % of the area: nothing lost, nothing smeared.
    const double ratio = static_cast<double>(ink_of(narrow).pixels) / ink_of(wide[0]).pixels;
    BOOST_TEST(ratio > 0.6);
    BOOST_TEST(ratio < 0.85);
    const Page a4 = Page::blank(100, Resolution::fine);
    BOOST_TEST((narrow_page(a4) == a4));
}

BOOST_AUTO_TEST_CASE(the_narrow_copy_stays_legible) {
    if (!have_tool("tesseract")) BOOST_FAIL("tesseract is not installed");
    const std::string letter = read_bytes(samples() / "letter.txt");
    const auto wide = render_document(letter, "text/plain", "letter.txt", b4());
    std::vector<Page> narrow;
    for (const Page& page : wide) narrow.push_back(narrow_page(page));
    const TempDir dir;
    const double accuracy = ocr::accuracy(ocr::read_pages(narrow, dir.path()), letter);
    BOOST_TEST_MESSAGE("narrowed B4 letter: character accuracy " << accuracy);
    BOOST_TEST(accuracy > 0.97);
}

BOOST_AUTO_TEST_CASE(narrow_fax_tiff_writes_only_when_needed) {
    const TempDir dir;
    const auto a4_pages = render_document(read_bytes(samples() / "letter.txt"), "", "l", Options{});
    write_fax_tiff(a4_pages, dir.path() / "a4.tif");
    BOOST_TEST(!narrow_fax_tiff(dir.path() / "a4.tif", dir.path() / "a4-narrow.tif"));
    BOOST_TEST(!std::filesystem::exists(dir.path() / "a4-narrow.tif"));

    // A wide page among narrow ones (a B4 fax TIFF attached to an A4 fax).
    std::vector<Page> mixed = a4_pages;
    mixed.push_back(render_document(read_bytes(samples() / "photo.jpg"), "", "p", b4())[0]);
    write_fax_tiff(mixed, dir.path() / "mixed.tif");
    BOOST_TEST(narrow_fax_tiff(dir.path() / "mixed.tif", dir.path() / "narrow.tif"));
    const auto narrowed = read_fax_tiff(dir.path() / "narrow.tif");
    BOOST_TEST_REQUIRE(narrowed.size() == mixed.size());
    for (std::size_t i = 0; i + 1 < mixed.size(); ++i) BOOST_TEST((narrowed[i] == mixed[i]));
    BOOST_TEST(narrowed.back().width == 1728);
}
