// The header line on every page and the cover page.
#define BOOST_TEST_MODULE header
#include <boost/test/unit_test.hpp>

#include "faxgw/render.h"
#include "test_util.h"

using namespace faxgw::render;
using namespace faxgw::render::test;

namespace {

bool rows_equal(const Page& a, const Page& b, int from, int to) {
    return std::equal(a.bits.begin() + from * a.stride(), a.bits.begin() + to * a.stride(),
                      b.bits.begin() + from * b.stride());
}

int ink_in_rows(const Page& p, int from, int to) {
    int n = 0;
    for (int y = from; y < to; ++y)
        for (int x = 0; x < p.width; ++x) n += p.black(x, y);
    return n;
}

HeaderInfo header() {
    HeaderInfo h;
    h.station_id = "+1 555 0100 ACME";
    h.time = 1700000000;
    return h;
}

}  // namespace

BOOST_AUTO_TEST_CASE(header_has_ink_in_the_top_rows_and_changes_nothing_else) {
    const std::vector<Page> original = {pattern_page(2292, Resolution::fine, 1),
                                        Page::blank(1146, Resolution::standard)};
    std::vector<Page> pages = original;
    stamp_header(pages, header());
    BOOST_TEST(header_rows(Resolution::fine) == 40);
    BOOST_TEST(header_rows(Resolution::standard) == 20);
    for (std::size_t i = 0; i < pages.size(); ++i) {
        const int rows = header_rows(pages[i].resolution);
        BOOST_TEST(ink_in_rows(pages[i], 0, rows) > 200);
        BOOST_TEST(rows_equal(pages[i], original[i], rows, pages[i].height));
        BOOST_TEST(pages[i].height == original[i].height);
    }
    // The header band is cleared first: a page full of ink gets a legible line.
    BOOST_TEST(ink_in_rows(pages[0], 0, 40) < 40 * 1728 / 4);
}

BOOST_AUTO_TEST_CASE(header_numbers_pages_and_can_be_turned_off) {
    std::vector<Page> pages(2, Page::blank(2292, Resolution::fine));
    stamp_header(pages, header());
    BOOST_TEST(!(pages[0] == pages[1]));  // "page 1 of 2" vs "page 2 of 2"
    std::vector<Page> off(1, Page::blank(2292, Resolution::fine));
    HeaderInfo disabled = header();
    disabled.enabled = false;
    stamp_header(off, disabled);
    BOOST_TEST(ink_of(off[0]).empty());
    HeaderInfo h = header();
    h.format = "{station}";
    std::vector<Page> a(1, Page::blank(2292, Resolution::fine)), b = a;
    stamp_header(a, h);
    h.station_id = "OTHER";
    stamp_header(b, h);
    BOOST_TEST(!(a[0] == b[0]));
}

BOOST_AUTO_TEST_CASE(cover_page_has_the_fields_and_a_logo) {
    CoverInfo c;
    c.from_name = "Alice Sender";
    c.from_number = "+1 555 0100";
    c.to_name = "Bob Receiver";
    c.to_number = "+1 555 0199";
    c.subject = "Quarterly figures";
    c.time = 1700000000;
    c.pages = 3;
    c.body = "Please find the figures attached.";
    const Page plain = render_cover(c, Options{});
    BOOST_TEST(plain.width == 1728);
    BOOST_TEST(plain.height == 2292);
    const Ink ink = ink_of(plain);
    BOOST_TEST(ink.pixels > 5000);
    BOOST_TEST(ink.top > header_rows(Resolution::fine));  // the header band stays free

    c.logo = read_bytes(samples() / "logo.png");
    const Page logo = render_cover(c, Options{});
    BOOST_TEST(ink_of(logo).pixels > ink.pixels + 2000);
    // Top right, beside the title.
    int plain_ink = 0, logo_ink = 0;
    for (int y = 0; y < 400; ++y)
        for (int x = 1100; x < 1728; ++x) {
            plain_ink += plain.black(x, y);
            logo_ink += logo.black(x, y);
        }
    BOOST_TEST(logo_ink > plain_ink + 2000);

    CoverInfo other = c;
    other.subject = "Something else";
    BOOST_TEST(!(render_cover(other, Options{}) == logo));
}

BOOST_AUTO_TEST_CASE(cover_template_fills_placeholders) {
    CoverInfo c;
    c.from_name = "Alice";
    c.to_name = "Bob";
    c.time = 1700000000;
    c.template_text = "From {from} to {to}: {subject} ({pages} pages, {date})";
    c.subject = "A";
    const Page a = render_cover(c, Options{});
    c.subject = "B";
    const Page b = render_cover(c, Options{});
    BOOST_TEST(!ink_of(a).empty());
    BOOST_TEST(!(a == b));
    Options standard;
    standard.resolution = Resolution::standard;
    BOOST_TEST(render_cover(c, standard).height == 1146);
}
