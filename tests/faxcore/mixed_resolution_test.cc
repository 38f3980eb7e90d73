// Proves that a fax whose pages change vertical resolution from page to page
// (standard, fine, superfine in any order) goes through a real spandsp T.30
// call intact: every page arrives, in order, at its own resolution and height,
// with identical pixels. (spandsp's sender ends the page before each change of
// format with EOM, returns to phase B and sends a new DCS.) Also when the call
// resumes mid-document, as a retry does from the first unconfirmed page.
#define BOOST_TEST_MODULE faxcore mixed resolution
#include <boost/test/unit_test.hpp>
#include <random>
#include <set>

#include "fixture.h"
#include "session.h"

using namespace faxgw;
using faxcore::Outcome;
using render::Resolution;

namespace {

// A4 page at `resolution` with text-like lines of ink that differ on every
// page, plus the page number as a row of bars near the top, so a page that is
// lost, sent twice or swapped with another of the same resolution cannot
// compare equal.
render::Page distinct_page(int page_number, Resolution resolution) {
    const int height = render::page_height_px(render::Paper::a4, resolution);
    auto page = render::Page::blank(height, resolution);
    std::mt19937 rng(static_cast<unsigned>(page_number) * 7919u);
    const int line_pitch = render::y_dpi(resolution) / 6;  // six lines to the inch
    for (int top = line_pitch * 2; top + line_pitch < height - line_pitch; top += line_pitch) {
        int x = 100 + static_cast<int>(rng() % 40);
        while (x < render::fax_width_px - 150) {
            const int word_width = 30 + static_cast<int>(rng() % 120);
            const int ink_height = line_pitch / 2 + static_cast<int>(rng() % (line_pitch / 4 + 1));
            for (int y = top; y < top + ink_height; ++y)
                for (int dx = 0; dx < word_width; ++dx)
                    if ((dx / 5 + y / 3 + page_number) % 3 != 0) page.set_black(x + dx, y);
            x += word_width + 20 + static_cast<int>(rng() % 30);
        }
    }
    for (int bar = 0; bar < page_number; ++bar)
        for (int y = 10; y < 10 + line_pitch; ++y)
            for (int dx = 0; dx < 16; ++dx) page.set_black(1600 - bar * 32 + dx, y);
    return page;
}

std::vector<render::Page> pages_at(const std::vector<Resolution>& resolutions) {
    std::vector<render::Page> pages;
    for (std::size_t i = 0; i < resolutions.size(); ++i)
        pages.push_back(distinct_page(static_cast<int>(i) + 1, resolutions[i]));
    return pages;
}

// Every received page matches the one sent in its place: resolution, height
// and every bit.
void check_pages_arrived_intact(const std::vector<render::Page>& sent,
                                const std::vector<render::Page>& received) {
    BOOST_TEST_REQUIRE(received.size() == sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) {
        BOOST_TEST_CONTEXT("received page " << i + 1 << " (sent at "
                                            << render::to_string(sent[i].resolution) << ")") {
            BOOST_TEST(render::y_dpi(received[i].resolution) == render::y_dpi(sent[i].resolution));
            BOOST_TEST(received[i].width == sent[i].width);
            BOOST_TEST(received[i].height == sent[i].height);
            BOOST_TEST((received[i].bits == sent[i].bits), "pixels differ");
        }
    }
}

const std::vector<Resolution> standard_fine_standard_superfine = {
    Resolution::standard, Resolution::fine, Resolution::standard, Resolution::superfine};

// One call of the standard, fine, standard, superfine document from
// first_page on, with the confirmations the sender reported.
struct MixedCall {
    test::TempDir dir;
    std::vector<render::Page> pages = pages_at(standard_fine_standard_superfine);
    std::vector<int> confirmations;
    faxcore::CallReport report;

    explicit MixedCall(int first_page) {
        const auto document = test::write_document(dir.path, "mixed.tif", pages);
        report = faxcore::run_back_to_back_call(
            {document, first_page, 0, "faxgw mixed"}, {dir.path / "received.tif", "REMOTE", 0}, {},
            [&](int confirmed) { confirmations.push_back(confirmed); });
    }
    std::vector<render::Page> received() const {
        return render::read_fax_tiff(dir.path / "received.tif");
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(the_test_pages_differ_from_each_other) {
    auto pages = pages_at({Resolution::standard, Resolution::standard, Resolution::standard});
    std::set<std::vector<std::uint8_t>> distinct;
    for (const auto& page : pages) distinct.insert(page.bits);
    BOOST_TEST(distinct.size() == pages.size());
}

BOOST_AUTO_TEST_CASE(every_page_arrives_at_its_own_resolution) {
    MixedCall call(1);
    const auto& report = call.report;
    BOOST_TEST(report.outcome == Outcome::ok, report.t30_text << " " << report.detail);
    BOOST_TEST(report.t30_code == 0);
    BOOST_TEST(report.pages_confirmed == 4);
    BOOST_TEST(report.pages_received == 4);
    BOOST_TEST(report.receiver_complete);
    BOOST_TEST((call.confirmations == std::vector<int>{1, 2, 3, 4}));
    check_pages_arrived_intact(call.pages, call.received());
}

// A retry resumes from the first unconfirmed page; here that page is fine,
// between a standard page before it (not sent) and a standard one after it.
BOOST_AUTO_TEST_CASE(a_retry_from_page_2_sends_the_rest_at_their_own_resolutions) {
    MixedCall call(2);
    const auto& report = call.report;
    BOOST_TEST(report.outcome == Outcome::ok, report.t30_text << " " << report.detail);
    BOOST_TEST(report.pages_confirmed == 3);
    BOOST_TEST(report.pages_received == 3);
    BOOST_TEST((call.confirmations == std::vector<int>{1, 2, 3}));
    check_pages_arrived_intact({call.pages.begin() + 1, call.pages.end()}, call.received());
}
