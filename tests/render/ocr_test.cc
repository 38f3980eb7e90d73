// Legibility: pages rendered from known text are read back with Tesseract
// (see ocr.h) and compared with the source, character by character.
//
// Thresholds sit below what was measured on the 2-core Debian 12 CI kind of
// machine (Tesseract 5.3.0, eng 4.1.0) with a margin for other font or
// Tesseract builds; a renderer that loses strokes, shears rows or scales a
// page wrongly drops far below them. Measured character accuracy:
//   letter.txt, 10.5 pt (default)     standard 0.999   fine 0.999
//   letter.txt, 6 pt                  standard 0.986   fine 0.998
//   three-pages.pdf (12 pt Times)     standard 1.000   fine 1.000
//   three-pages.ps  (Ghostscript)     standard 1.000   fine 1.000
//   serif-letter-11pt.pdf (Times)     standard 1.000   fine 1.000  (gs 1.000 / 1.000)
//   serif-letter-9pt.pdf  (Times)     standard 0.995   fine 1.000  (gs 0.988 / 0.999)
// (PDF pages at standard are drawn at fine and reduced keeping ink; before
// that, sampling row centres lost the cross-bars of t and f: 9 pt read 0.953.)
#define BOOST_TEST_MODULE ocr
#include "ocr.h"

#include <boost/test/unit_test.hpp>
#include <string>

#include "faxgw/render.h"
#include "test_util.h"

using namespace faxgw::render;
using namespace faxgw::render::test;

namespace {

double ocr_accuracy(const std::vector<Page>& pages, const std::string& source) {
    const TempDir dir;
    const std::string text = ocr::read_pages(pages, dir.path());
    const double a = ocr::accuracy(text, source);
    BOOST_TEST_MESSAGE("character accuracy " << a << "; Tesseract read:\n" << text);
    return a;
}

std::vector<Page> render_sample(const std::string& name, Resolution r) {
    Options o;
    o.resolution = r;
    return render_document(read_bytes(samples() / name), "", name, o);
}

struct NeedsTesseract {
    NeedsTesseract() {
        if (!have_tool("tesseract"))
            BOOST_FAIL("tesseract is not installed (Debian tesseract-ocr tesseract-ocr-eng)");
    }
};

}  // namespace

BOOST_GLOBAL_FIXTURE(NeedsTesseract);

BOOST_AUTO_TEST_CASE(accuracy_measure_tells_text_apart) {
    BOOST_TEST(ocr::accuracy("Dear  reader,\nthis is\ttext ", "Dear reader, this is text") == 1.0);
    BOOST_TEST(ocr::accuracy("Dear reader, th1s is text", "Dear reader, this is text") == 0.96);
    BOOST_TEST(ocr::accuracy("", "Dear reader") == 0.0);
    BOOST_TEST(ocr::accuracy(read_bytes(samples() / "letter.txt"), ocr::three_pages_text()) < 0.5);
}

BOOST_AUTO_TEST_CASE(text_is_legible_at_standard_and_fine) {
    const std::string letter = read_bytes(samples() / "letter.txt");
    for (Resolution r : {Resolution::standard, Resolution::fine}) {
        BOOST_TEST_CONTEXT(r) {
            Options o;
            o.resolution = r;
            const auto pages = render_text(letter, o);
            BOOST_TEST_REQUIRE(pages.size() == 1u);
            BOOST_TEST(ocr_accuracy(pages, letter) >= (r == Resolution::fine ? 0.98 : 0.97));
        }
    }
}

BOOST_AUTO_TEST_CASE(small_print_is_legible_at_fine) {
    const std::string letter = read_bytes(samples() / "letter.txt");
    Options o;
    o.text_font_points = 6;
    o.resolution = Resolution::fine;
    BOOST_TEST(ocr_accuracy(render_text(letter, o), letter) >= 0.97);
}

BOOST_AUTO_TEST_CASE(text_pdf_is_legible) {
    BOOST_TEST(ocr_accuracy(render_sample("three-pages.pdf", Resolution::fine),
                            ocr::three_pages_text()) >= 0.97);
    BOOST_TEST(ocr_accuracy(render_sample("three-pages.pdf", Resolution::standard),
                            ocr::three_pages_text()) >= 0.95);
}

// Serif body type has horizontal strokes thinner than a standard row
// (0.26 mm): a rasteriser that samples row centres turns "e" into "c" and
// loses hyphens and the bars of t and f (0.49 before pages were drawn at
// fine and reduced keeping ink; Ghostscript at standard reads 1.000).
BOOST_AUTO_TEST_CASE(serif_letter_is_legible_at_standard) {
    for (const char* name : {"serif-letter-11pt.pdf", "serif-letter-9pt.pdf"}) {
        BOOST_TEST_CONTEXT(name) {
            const auto pages = render_sample(name, Resolution::standard);
            BOOST_TEST_REQUIRE(pages.size() == 1u);
            BOOST_TEST(pages[0].resolution == Resolution::standard);
            BOOST_TEST(ocr_accuracy(pages, ocr::serif_letter_text()) >= 0.98);
        }
    }
}

BOOST_AUTO_TEST_CASE(postscript_is_legible_at_fine) {
    BOOST_TEST(ocr_accuracy(render_sample("three-pages.ps", Resolution::fine),
                            ocr::three_pages_text()) >= 0.97);
}

BOOST_AUTO_TEST_CASE(a_page_read_with_every_other_row_lost_is_not_legible) {
    // The measure must be able to fail: a fine page whose odd rows are
    // dropped and which is then read as if it were fine is squashed to half
    // height (what a resolution mix-up does to a fax).
    const std::string letter = read_bytes(samples() / "letter.txt");
    Options o;
    o.resolution = Resolution::fine;
    o.text_font_points = 6;
    Page page = render_text(letter, o).at(0);
    Page squashed = Page::blank(page.height / 2, Resolution::fine);
    for (int y = 0; y < squashed.height; ++y)
        std::copy_n(page.bits.begin() + static_cast<long>(2 * y) * page.stride(), page.stride(),
                    squashed.bits.begin() + static_cast<long>(y) * page.stride());
    BOOST_TEST(ocr_accuracy({squashed}, letter) < 0.9);
}
