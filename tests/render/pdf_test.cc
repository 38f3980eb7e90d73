// PDF rendering: page count, fitting, rotation, and refusing bad documents.
#define BOOST_TEST_MODULE render_pdf
#include <bit>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <string>

#include "faxgw/render.h"
#include "test_util.h"

using namespace faxgw::render;
using namespace faxgw::render::test;

namespace {

std::string sample_pdf() { return read_bytes(samples() / "three-pages.pdf"); }

// PDF made by Ghostscript from a PostScript or PDF file, with gs options.
std::string gs_pdf(const TempDir& dir, const std::filesystem::path& input,
                   const std::string& gs_options = "") {
    const Output out = run("gs -q -dSAFER -dBATCH -dNOPAUSE -sDEVICE=pdfwrite " + gs_options +
                           " -o " + (dir / "out.pdf").string() + " " + input.string());
    BOOST_TEST_REQUIRE(out.status == 0, out.text);
    return read_bytes(dir / "out.pdf");
}

void check_message(const Error& e, const std::string& expected) {
    BOOST_TEST_MESSAGE("Error: " << e.what());
    BOOST_TEST(std::string(e.what()).find(expected) != std::string::npos, e.what());
}

}  // namespace

BOOST_AUTO_TEST_CASE(three_page_sample_gives_three_fax_pages) {
    for (Resolution r : {Resolution::standard, Resolution::fine, Resolution::superfine}) {
        BOOST_TEST_CONTEXT(to_string(r)) {
            Options o;
            o.resolution = r;
            const auto pages = render_pdf(sample_pdf(), o);
            BOOST_TEST_REQUIRE(pages.size() == 3u);
            for (const Page& page : pages) {
                BOOST_TEST(page.width == 1728);
                BOOST_TEST(page.height == page_height_px(Paper::a4, r));
                BOOST_TEST(page.resolution == r);
                BOOST_TEST(ink_of(page).pixels > 1000);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(a4_page_lands_where_it_was_drawn) {
    // The sample's frame runs from 15 to 195 mm across and 10 to 287 mm up.
    const Page page = render_pdf(sample_pdf(), Options{}).at(0);
    const Ink ink = ink_of(page);
    const double left = (1728 - 210 / 25.4 * 204) / 2;
    auto across = [&](double mm) { return left + mm / 25.4 * 204; };
    auto down = [&](double mm_from_top) { return mm_from_top / 25.4 * 196; };
    BOOST_TEST(std::abs(ink.left - across(15)) <= 3);
    BOOST_TEST(std::abs(ink.right - across(195)) <= 3);
    BOOST_TEST(std::abs(ink.top - down(297 - 287)) <= 3);
    BOOST_TEST(std::abs(ink.bottom - down(297 - 10)) <= 3);
}

BOOST_AUTO_TEST_CASE(a4_document_fits_letter_paper) {
    Options o;
    o.paper = Paper::letter;
    const auto pages = render_pdf(sample_pdf(), o);
    BOOST_TEST_REQUIRE(pages.size() == 3u);
    const Ink ink = ink_of(pages[0]);
    BOOST_TEST(pages[0].height == 2156);
    BOOST_TEST(ink.top >= 0);
    BOOST_TEST(ink.bottom < 2156);
    // Height-limited: 11 in of paper for 297 mm of page, and 8.5 in paper
    // itself shrunk from 1734 to 1728 px.
    const double scale = 11 * 72 / 842.0 * (1728 / (8.5 * 204));
    BOOST_TEST(std::abs((ink.bottom - ink.top) - 277 / 25.4 * 196 * scale) <= 3);
}

BOOST_AUTO_TEST_CASE(landscape_page_is_turned_to_portrait) {
    TempDir dir;
    // A landscape page with a black band along its top edge.
    write_bytes(dir / "landscape.ps",
                "%!PS\n<< /PageSize [842 595] >> setpagedevice\n"
                "0 545 842 50 rectfill showpage\n");
    const std::string pdf = gs_pdf(dir, dir / "landscape.ps");
    const auto pages = render_pdf(pdf, Options{});
    BOOST_TEST_REQUIRE(pages.size() == 1u);
    const Ink ink = ink_of(pages[0]);
    const double tall_in = (ink.bottom - ink.top + 1) / 196.0;
    const double wide_in = (ink.right - ink.left + 1) / 204.0;
    BOOST_TEST(tall_in > 10.5);  // the band now runs down the page
    BOOST_TEST(wide_in < 1.0);
}

namespace {

// The PDF cut after each of `keeps` bytes must be refused as damaged.
void check_cut_short_is_damaged(const std::string& pdf, std::initializer_list<std::size_t> keeps) {
    for (std::size_t keep : keeps) {
        BOOST_TEST_CONTEXT("kept " << keep << " of " << pdf.size() << " bytes") {
            try {
                render_pdf(std::string_view(pdf).substr(0, keep), Options{});
                BOOST_ERROR("truncated PDF was rendered");
            } catch (const Error& e) {
                check_message(e, "damaged");
            }
        }
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(truncated_pdf_is_refused_as_damaged) {
    const std::string pdf = sample_pdf();
    check_cut_short_is_damaged(
        pdf, {pdf.size() / 4, pdf.size() / 2, pdf.size() * 3 / 4, pdf.size() - 40});
}

BOOST_AUTO_TEST_CASE(truncated_linearized_pdf_is_refused_as_damaged) {
    // A linearized ("fast web view") PDF has a cross-reference table at the
    // front, so poppler opens it even when the rest is missing.
    TempDir dir;
    const std::string pdf = gs_pdf(dir, samples() / "three-pages.ps", "-dFastWebView");
    BOOST_TEST_REQUIRE(pdf.find("/Linearized") != std::string::npos);
    check_cut_short_is_damaged(pdf, {pdf.size() * 3 / 10, pdf.size() / 2});
}

BOOST_AUTO_TEST_CASE(encrypted_pdf_is_refused) {
    TempDir dir;
    const auto sample = samples() / "three-pages.pdf";
    const std::string locked = gs_pdf(dir, sample, "-sOwnerPassword=owner -sUserPassword=user");
    try {
        render_pdf(locked, Options{});
        BOOST_ERROR("encrypted PDF was rendered");
    } catch (const Error& e) {
        check_message(e, "encrypted");
    }
    // Only an owner password (restrictions, no password to open): readable.
    const std::string restricted = gs_pdf(dir, sample, "-sOwnerPassword=owner");
    BOOST_TEST(render_pdf(restricted, Options{}).size() == 3u);
}

BOOST_AUTO_TEST_CASE(not_a_pdf_is_refused) {
    BOOST_CHECK_THROW(render_pdf("hello, world", Options{}), Error);
    BOOST_CHECK_THROW(render_pdf("", Options{}), Error);
}

BOOST_AUTO_TEST_CASE(page_limit_is_enforced) {
    Options o;
    o.max_pages = 2;
    try {
        render_pdf(sample_pdf(), o);
        BOOST_ERROR("page limit ignored");
    } catch (const Error& e) {
        check_message(e, "3 pages");
    }
}

// Pages without pictures are drawn in 1-bit by poppler unless they draw
// grey (pdf.cc, GreyWatching). A grey fill on such a page must still come out
// screened, neither solid nor white. A ramp of nine greys (one flat grey
// alone is stretched to black by the photo tone curve).
BOOST_AUTO_TEST_CASE(grey_fill_without_pictures_is_screened) {
    const TempDir dir;
    write_bytes(dir / "grey.ps",
                "%!PS\n/Times-Roman findfont 12 scalefont setfont\n"
                "72 750 moveto (A grey box below) show\n"
                "1 1 9 { dup 10 div setgray 1 sub 40 mul 72 add 300 40 300 rectfill } for\n"
                "showpage\n");
    const std::string pdf = gs_pdf(dir, dir / "grey.ps", "-sPAPERSIZE=a4");
    BOOST_TEST_REQUIRE(pdf.find("/Image") == std::string::npos);  // the 1-bit path is tried
    Options o;
    o.resolution = Resolution::fine;
    const Page page = render_pdf(pdf, o).at(0);
    // The middle of the 50 % box: 232..272 pt across, 300..600 pt up on A4.
    const int x0 = 240 * 204 / 72, x1 = 264 * 204 / 72,
              y0 = static_cast<int>((842 - 550) / 72.0 * 196),
              y1 = static_cast<int>((842 - 350) / 72.0 * 196);
    long black = 0, pixels = 0;
    for (int y = y0; y < y1; ++y)
        for (int xb = x0 / 8; xb < x1 / 8; ++xb) {
            const std::uint8_t b = page.bits[static_cast<std::size_t>(y) * page.stride() + xb];
            black += std::popcount(static_cast<unsigned>(b));
            pixels += 8;
        }
    BOOST_TEST_MESSAGE("grey box: " << black * 100 / pixels << " % black");
    BOOST_TEST(black > pixels / 4);
    BOOST_TEST(black < pixels * 3 / 4);
}
