// Resolution::automatic ("auto"): every renderer picks standard or fine per
// document by legibility, and no page comes out "automatic".
#define BOOST_TEST_MODULE auto_resolution
#include <boost/test/unit_test.hpp>
#include <string>

#include "faxgw/render.h"
#include "test_util.h"

using namespace faxgw::render;
using namespace faxgw::render::test;

namespace {

Options automatic() {
    Options o;
    o.resolution = Resolution::automatic;
    return o;
}

void check_pages(const std::vector<Page>& pages, Resolution expected) {
    BOOST_TEST_REQUIRE(!pages.empty());
    for (const Page& p : pages) {
        BOOST_TEST(p.resolution == expected);
        BOOST_TEST(p.width == 1728);
        BOOST_TEST(p.height == page_height_px(Paper::a4, expected));
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(auto_is_a_name_but_no_page_geometry) {
    BOOST_TEST(parse_resolution("auto") == Resolution::automatic);
    BOOST_TEST(to_string(Resolution::automatic) == "auto");
    BOOST_TEST(parse_resolution(to_string(Resolution::automatic)) == Resolution::automatic);
    BOOST_CHECK_THROW(y_dpi(Resolution::automatic), Error);
    BOOST_CHECK_THROW(page_height_px(Paper::a4, Resolution::automatic), Error);
    BOOST_CHECK_THROW(parse_resolution("medium"), Error);
}

BOOST_AUTO_TEST_CASE(ordinary_text_goes_at_standard_and_small_print_at_fine) {
    const std::string letter = read_bytes(samples() / "letter.txt");
    check_pages(render_text(letter, automatic()), Resolution::standard);  // 10.5 pt
    Options small = automatic();
    small.text_font_points = 6;
    check_pages(render_text(letter, small), Resolution::fine);
    // The same page rendered at standard directly and through auto is identical.
    Options standard;
    standard.resolution = Resolution::standard;
    BOOST_TEST((render_text(letter, automatic()) == render_text(letter, standard)));
}

BOOST_AUTO_TEST_CASE(measures_text_height_and_strokes) {
    const std::string letter = read_bytes(samples() / "letter.txt");
    Options o;
    const PageLegibility normal = measure_legibility(render_text(letter, o).at(0));
    o.text_font_points = 6;
    const PageLegibility small = measure_legibility(render_text(letter, o).at(0));
    BOOST_TEST_MESSAGE("10.5 pt: " << normal.text_height_mm << " mm, 6 pt: " << small.text_height_mm
                                   << " mm");
    BOOST_TEST(normal.glyphs > 500);
    BOOST_TEST(normal.text_height_mm > 1.8);
    BOOST_TEST(normal.text_height_mm < 2.6);
    BOOST_TEST(small.text_height_mm < 1.4);
    BOOST_TEST(normal.stroke_mm > 0.2);
    BOOST_TEST(!normal.picture);
    BOOST_TEST(measure_legibility(Page::blank(100, Resolution::fine)).ink == 0.0);
}

BOOST_AUTO_TEST_CASE(documents_choose_by_content) {
    for (const auto& [name, expected] :
         {std::pair<std::string, Resolution>{"photo.jpg", Resolution::fine},
          {"image.pdf", Resolution::fine},
          {"three-pages.ps", Resolution::standard},
          {"three-pages.pdf", Resolution::standard},
          // Times at 9 and 11 pt: standard reads >= 0.99 (the ocr test).
          {"serif-letter-9pt.pdf", Resolution::standard},
          {"serif-letter-11pt.pdf", Resolution::standard}}) {
        BOOST_TEST_CONTEXT(name) {
            Options fine;
            const auto fine_pages = render_document(read_bytes(samples() / name), "", name, fine);
            const PageLegibility m = measure_legibility(fine_pages.at(0));
            BOOST_TEST_MESSAGE(name << ": text " << m.text_height_mm << " mm, stroke "
                                    << m.stroke_mm << " mm, picture " << m.picture);
            check_pages(render_document(read_bytes(samples() / name), "", name, automatic()),
                        expected);
        }
    }
}

BOOST_AUTO_TEST_CASE(hairlines_keep_fine) {
    // A drawing of one-row lines: nothing glyph-like, thin strokes.
    Page page = Page::blank(page_height_px(Paper::a4, Resolution::fine), Resolution::fine);
    for (int y = 200; y < 2000; y += 40)
        for (int x = 100; x < 1600; ++x) page.set_black(x, y);
    BOOST_TEST(legible_resolution({page}) == Resolution::fine);
    BOOST_TEST(legible_resolution({}) == Resolution::standard);
}

BOOST_AUTO_TEST_CASE(cover_and_header_work_with_auto) {
    CoverInfo info;
    info.to_name = "Law Office";
    info.subject = "Contract";
    info.pages = 2;
    const Page cover = render_cover(info, automatic());
    BOOST_TEST((cover.resolution == Resolution::standard || cover.resolution == Resolution::fine));
    BOOST_TEST(cover.height == page_height_px(Paper::a4, cover.resolution));
    std::vector<Page> pages{cover};
    HeaderInfo header;
    header.station_id = "+1 555 0100";
    stamp_header(pages, header);
    BOOST_TEST(!ink_of(pages[0]).empty());
}
