// Resolutions, paper sizes and the Page bitmap.
#define BOOST_TEST_MODULE render_geometry
#include <boost/test/unit_test.hpp>

#include "faxgw/render.h"
#include "test_util.h"

using namespace faxgw::render;

BOOST_AUTO_TEST_CASE(resolutions_are_the_three_spandsp_sends) {
    BOOST_TEST(y_dpi(Resolution::standard) == 98);
    BOOST_TEST(y_dpi(Resolution::fine) == 196);
    BOOST_TEST(y_dpi(Resolution::superfine) == 391);
    for (Resolution r : {Resolution::standard, Resolution::fine, Resolution::superfine})
        BOOST_TEST((parse_resolution(to_string(r)) == r));
    BOOST_CHECK_THROW(parse_resolution("ultra"), Error);
    BOOST_CHECK_THROW(parse_resolution(""), Error);
}

BOOST_AUTO_TEST_CASE(paper_names_round_trip) {
    for (Paper p : {Paper::a4, Paper::letter, Paper::legal})
        BOOST_TEST((parse_paper(to_string(p)) == p));
    BOOST_TEST(to_string(Paper::a4) == "a4");
    BOOST_CHECK_THROW(parse_paper("A3"), Error);
}

BOOST_AUTO_TEST_CASE(page_heights_follow_paper_and_resolution) {
    BOOST_TEST(page_height_px(Paper::a4, Resolution::standard) == 1146);
    BOOST_TEST(page_height_px(Paper::a4, Resolution::fine) == 2292);
    BOOST_TEST(page_height_px(Paper::a4, Resolution::superfine) == 4572);
    BOOST_TEST(page_height_px(Paper::letter, Resolution::standard) == 1078);
    BOOST_TEST(page_height_px(Paper::letter, Resolution::fine) == 2156);
    BOOST_TEST(page_height_px(Paper::letter, Resolution::superfine) == 4301);
    BOOST_TEST(page_height_px(Paper::legal, Resolution::fine) == 2744);
}

BOOST_AUTO_TEST_CASE(blank_page_is_white_and_fax_wide) {
    const Page page = Page::blank(100, Resolution::standard);
    BOOST_TEST(page.width == 1728);
    BOOST_TEST(page.stride() == 216);
    BOOST_TEST(page.bits.size() == 216u * 100);
    BOOST_TEST(page.resolution == Resolution::standard);
    BOOST_TEST(!page.black(0, 0));
}

BOOST_AUTO_TEST_CASE(pixels_are_packed_msb_first_one_is_black) {
    Page page = Page::blank(3, Resolution::fine);
    page.set_black(0, 0);
    page.set_black(9, 1);
    page.set_black(1727, 2);
    BOOST_TEST(page.bits[0] == 0x80);
    BOOST_TEST(page.bits[216 + 1] == 0x40);
    BOOST_TEST(page.bits[2 * 216 + 215] == 0x01);
    BOOST_TEST(page.black(9, 1));
    BOOST_TEST(!page.black(8, 1));
    // Outside the page: reads white, writes are ignored.
    page.set_black(1728, 0);
    page.set_black(-1, 0);
    page.set_black(0, 3);
    BOOST_TEST(!page.black(1728, 0));
    BOOST_TEST(page.bits.size() == 216u * 3);
}

BOOST_AUTO_TEST_CASE(pages_compare_by_content) {
    Page a = Page::blank(10, Resolution::fine), b = Page::blank(10, Resolution::fine);
    BOOST_TEST((a == b));
    b.set_black(5, 5);
    BOOST_TEST(!(a == b));
    BOOST_TEST(!(a == Page::blank(10, Resolution::standard)));
}
