// Fax TIFF to PDF: page count, physical page size, CCITT data kept.
#define BOOST_TEST_MODULE render_tiff_to_pdf
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <regex>
#include <sstream>
#include <string>

#include "faxgw/render.h"
#include "test_util.h"

using namespace faxgw::render;
using namespace faxgw::render::test;

namespace {

struct PdfInfo {
    int pages = 0;
    double width_pt = 0, height_pt = 0;
};

PdfInfo pdfinfo(const std::filesystem::path& pdf) {
    const Output out = run("pdfinfo " + pdf.string());
    BOOST_TEST_REQUIRE(out.status == 0, out.text);
    PdfInfo info;
    std::smatch m;
    if (std::regex_search(out.text, m, std::regex(R"(Pages:\s+(\d+))")))
        info.pages = std::stoi(m[1]);
    if (std::regex_search(out.text, m, std::regex(R"(Page size:\s+([\d.]+) x ([\d.]+) pts)"))) {
        info.width_pt = std::stod(m[1]);
        info.height_pt = std::stod(m[2]);
    }
    return info;
}

// One row of `pdfimages -list` per image.
struct ImageRow {
    int width = 0, height = 0;
    std::string encoding;
    int x_ppi = 0, y_ppi = 0;
};

std::vector<ImageRow> pdfimages(const std::filesystem::path& pdf) {
    const Output out = run("pdfimages -list " + pdf.string());
    BOOST_TEST_REQUIRE(out.status == 0, out.text);
    std::vector<ImageRow> rows;
    std::istringstream lines(out.text);
    std::string line;
    std::getline(lines, line);  // header
    std::getline(lines, line);  // ------
    while (std::getline(lines, line)) {
        // page num type width height color comp bpc enc interp object ID x-ppi y-ppi size ratio
        std::istringstream f(line);
        std::string page, num, type, color, comp, bpc, interp, object, id;
        ImageRow r;
        f >> page >> num >> type >> r.width >> r.height >> color >> comp >> bpc >> r.encoding >>
            interp >> object >> id >> r.x_ppi >> r.y_ppi;
        if (f) rows.push_back(r);
    }
    return rows;
}

std::vector<Page> a4_pages(Resolution r, int count) {
    std::vector<Page> pages;
    for (int i = 0; i < count; ++i)
        pages.push_back(pattern_page(page_height_px(Paper::a4, r), r, i + 1));
    return pages;
}

// dir/g3.tif: the pages as spandsp stores received faxes, G3 in several
// strips (which tiff2pdf alone would copy uncompressed).
void write_as_multi_strip_g3(const std::vector<Page>& pages, const TempDir& dir) {
    write_fax_tiff(pages, dir / "g4.tif");
    const Output cp =
        run("tiffcp -c g3:2d -r 64 " + (dir / "g4.tif").string() + " " + (dir / "g3.tif").string());
    BOOST_TEST_REQUIRE(cp.status == 0, cp.text);
}

}  // namespace

BOOST_AUTO_TEST_CASE(pages_keep_their_physical_size_at_every_resolution) {
    TempDir dir;
    for (Resolution r : {Resolution::standard, Resolution::fine, Resolution::superfine}) {
        BOOST_TEST_CONTEXT(to_string(r)) {
            write_fax_tiff(a4_pages(r, 1), dir / "in.tif");
            fax_tiff_to_pdf(dir / "in.tif", dir / "out.pdf");
            const PdfInfo info = pdfinfo(dir / "out.pdf");
            BOOST_TEST(info.pages == 1);
            // 1728 px at 204 dpi across; A4 height at any line density
            // (a standard page must not come out squashed).
            BOOST_TEST(std::abs(info.width_pt - 1728 / 204.0 * 72) < 1.0);  // 609.9
            BOOST_TEST(std::abs(info.height_pt - 842) < 2.0);
        }
    }
    BOOST_TEST(!std::filesystem::exists(dir / "out.pdf.partial"));
}

BOOST_AUTO_TEST_CASE(every_page_is_carried_as_ccitt_data) {
    TempDir dir;
    write_fax_tiff(a4_pages(Resolution::fine, 3), dir / "in.tif");
    fax_tiff_to_pdf(dir / "in.tif", dir / "out.pdf");
    BOOST_TEST(pdfinfo(dir / "out.pdf").pages == 3);
    const auto images = pdfimages(dir / "out.pdf");
    BOOST_TEST_REQUIRE(images.size() == 3u);
    for (const ImageRow& image : images) {
        BOOST_TEST(image.encoding == "ccitt");
        BOOST_TEST(image.width == 1728);
        BOOST_TEST(image.height == 2292);
        BOOST_TEST(image.x_ppi == 204);
        BOOST_TEST(image.y_ppi == 196);
    }
}

BOOST_AUTO_TEST_CASE(g3_multi_strip_input_still_gives_ccitt) {
    TempDir dir;
    write_as_multi_strip_g3(a4_pages(Resolution::standard, 2), dir);
    fax_tiff_to_pdf(dir / "g3.tif", dir / "out.pdf");
    const PdfInfo info = pdfinfo(dir / "out.pdf");
    BOOST_TEST(info.pages == 2);
    BOOST_TEST(std::abs(info.height_pt - 842) < 2.0);
    const auto images = pdfimages(dir / "out.pdf");
    BOOST_TEST_REQUIRE(images.size() == 2u);
    BOOST_TEST(images[0].encoding == "ccitt");
    BOOST_TEST(!std::filesystem::exists(dir / "out.pdf.g4.tif"));
}

// A B4 fax received from a B4 sender: 2048 px is 255 mm (722.8 pt) across,
// also when spandsp stored it as multi-strip G3.
BOOST_AUTO_TEST_CASE(a_received_b4_fax_keeps_its_width) {
    TempDir dir;
    Options b4;
    b4.paper = Paper::b4;
    write_as_multi_strip_g3(render_text("B4 page", b4), dir);
    fax_tiff_to_pdf(dir / "g3.tif", dir / "out.pdf");
    const PdfInfo info = pdfinfo(dir / "out.pdf");
    BOOST_TEST(info.pages == 1);
    BOOST_TEST(std::abs(info.width_pt - 2048 / 204.0 * 72) < 1.0);  // 722.8
    BOOST_TEST(std::abs(info.height_pt - 353 / 25.4 * 72) < 2.0);
    const auto images = pdfimages(dir / "out.pdf");
    BOOST_TEST_REQUIRE(images.size() == 1u);
    BOOST_TEST(images[0].encoding == "ccitt");
    BOOST_TEST(images[0].width == 2048);
}

BOOST_AUTO_TEST_CASE(failures_throw_and_leave_nothing_behind) {
    TempDir dir;
    BOOST_CHECK_THROW(fax_tiff_to_pdf(dir / "missing.tif", dir / "out.pdf"), Error);
    write_bytes(dir / "junk.tif", "II*\0not a tiff at all");
    try {
        fax_tiff_to_pdf(dir / "junk.tif", dir / "out.pdf");
        BOOST_ERROR("junk converted");
    } catch (const Error& e) {
        BOOST_TEST_MESSAGE("Error: " << e.what());
        BOOST_TEST(std::string(e.what()).find("junk.tif") != std::string::npos);
    }
    BOOST_TEST(!std::filesystem::exists(dir / "out.pdf"));
    BOOST_TEST(!std::filesystem::exists(dir / "out.pdf.partial"));
}
