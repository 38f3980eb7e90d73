// Pictures on fax pages: photographs are screened so they keep their tones
// and stay cheap on the line; text and line art are cut crisply.
#define BOOST_TEST_MODULE halftone
#include <boost/test/unit_test.hpp>

#include "faxgw/render.h"
#include "test_util.h"

using namespace faxgw::render;
using namespace faxgw::render::test;

namespace {

Page render_with(const std::string& sample, Screening s) {
    Options o;
    o.screening = s;
    o.isolate = false;
    const auto pages = render_document(read_bytes(samples() / sample), "", sample, o);
    BOOST_TEST_REQUIRE(pages.size() >= 1u);
    return pages[0];
}

// Share of black pixels in a w x h window at (x, y).
double black_share(const Page& p, int x, int y, int w, int h) {
    long black = 0;
    for (int j = y; j < y + h; ++j)
        for (int i = x; i < x + w; ++i) black += p.black(i, j);
    return double(black) / (w * h);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_photo_is_halftoned_not_thresholded) {
    const Page page = render_with("photo.jpg", Screening::automatic);
    const Ink ink = ink_of(page);
    // Inside the photo: both black and white pixels, in a range of shares
    // (a thresholded photo would be mostly all-black or all-white areas).
    const int cx = (ink.left + ink.right) / 2, cy = (ink.top + ink.bottom) / 2;
    int mixed = 0;
    for (int j = -3; j <= 3; ++j)
        for (int i = -3; i <= 3; ++i) {
            const double s = black_share(page, cx + i * 200 - 32, cy + j * 250 - 32, 64, 64);
            mixed += s > 0.05 && s < 0.95;
        }
    BOOST_TEST(mixed >= 30, mixed << " of 49 windows have both black and white");
    const Page thresholded = render_with("photo.jpg", Screening::threshold);
    BOOST_TEST(!(page == thresholded));
}

BOOST_AUTO_TEST_CASE(halftoned_photo_costs_less_line_time_than_floyd_steinberg) {
    const std::size_t screened = g4_bytes(render_with("photo.jpg", Screening::automatic));
    const std::size_t diffused = g4_bytes(render_with("photo.jpg", Screening::floyd_steinberg));
    BOOST_TEST_MESSAGE("G4 bytes: clustered dot " << screened << ", Floyd-Steinberg " << diffused);
    BOOST_TEST(screened * 2 < diffused);
    // Both keep the tones: similar shares of black overall.
    const double a = double(ink_of(render_with("photo.jpg", Screening::automatic)).pixels);
    const double b = double(ink_of(render_with("photo.jpg", Screening::floyd_steinberg)).pixels);
    BOOST_TEST(a / b > 0.6);
    BOOST_TEST(a / b < 1.6);
}

BOOST_AUTO_TEST_CASE(text_and_line_art_are_thresholded) {
    // A scanned text page: automatic gives exactly what a
    // plain threshold gives.
    BOOST_TEST((render_with("scan.tif", Screening::automatic) ==
                render_with("scan.tif", Screening::threshold)));
    // The text PDF is not screened either.
    BOOST_TEST((render_with("three-pages.pdf", Screening::automatic) ==
                render_with("three-pages.pdf", Screening::threshold)));
}

BOOST_AUTO_TEST_CASE(photo_in_a_pdf_is_screened_and_its_caption_is_not) {
    const Page page = render_with("image.pdf", Screening::automatic);
    const Page cut = render_with("image.pdf", Screening::threshold);
    BOOST_TEST(!(page == cut));
    // The caption at the top (above the photo) is the same either way.
    const int rows = 200;
    BOOST_TEST(
        std::equal(page.bits.begin(), page.bits.begin() + rows * page.stride(), cut.bits.begin()));
    BOOST_TEST(g4_bytes(page) < g4_bytes(render_with("image.pdf", Screening::floyd_steinberg)));
}
