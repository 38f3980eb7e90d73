#define BOOST_TEST_MODULE faxcore session
#include "session.h"

#include <boost/test/unit_test.hpp>

#include "fixture.h"

using namespace faxgw;
using faxcore::Outcome;

namespace {

std::vector<render::Page> slice(const std::vector<render::Page>& v, int from, int to) {
    return {v.begin() + from, v.begin() + to};
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_resolution_arrives_pixel_identical) {
    for (auto res :
         {render::Resolution::standard, render::Resolution::fine, render::Resolution::superfine}) {
        test::TempDir dir;
        auto pages = test::synthetic_pages(2, res);
        auto doc = test::write_document(dir.path, "doc.tif", pages);
        std::vector<int> confirmations;
        auto r = faxcore::run_back_to_back_call({doc, 1, 0, "faxgw test"},
                                                {dir.path / "rx.tif", "REMOTE", 0}, {},
                                                [&](int n) { confirmations.push_back(n); });
        BOOST_TEST_CONTEXT("resolution " << render::to_string(res)) {
            BOOST_TEST(r.outcome == Outcome::ok);
            BOOST_TEST(r.pages_confirmed == 2);
            BOOST_TEST((confirmations == std::vector<int>{1, 2}));
            BOOST_TEST(r.remote_csid == "REMOTE");
            BOOST_TEST(r.caller_tsi == "faxgw test");
            BOOST_TEST(r.bit_rate == 14400);  // both ends offer V.17
            BOOST_TEST(r.ecm);
            BOOST_TEST(r.compression == "T.6");
            BOOST_TEST(r.t30_code == 0);
            BOOST_TEST(r.line_seconds > 10.0);
            BOOST_TEST((render::read_fax_tiff(dir.path / "rx.tif") == pages));
        }
    }
}

BOOST_AUTO_TEST_CASE(a_call_can_start_at_a_later_page) {
    test::TempDir dir;
    auto pages = test::synthetic_pages(3, render::Resolution::fine);
    auto doc = test::write_document(dir.path, "doc.tif", pages);
    auto r =
        faxcore::run_back_to_back_call({doc, 2, 0, "faxgw"}, {dir.path / "rx.tif", "R", 0}, {}, {});
    BOOST_TEST(r.outcome == Outcome::ok);
    BOOST_TEST(r.pages_confirmed == 2);
    BOOST_TEST((render::read_fax_tiff(dir.path / "rx.tif") == slice(pages, 1, 3)));
}

BOOST_AUTO_TEST_CASE(a_far_end_that_hangs_up_leaves_the_confirmed_pages) {
    test::TempDir dir;
    auto pages = test::synthetic_pages(3, render::Resolution::fine);
    auto doc = test::write_document(dir.path, "doc.tif", pages);
    auto r =
        faxcore::run_back_to_back_call({doc, 1, 0, "faxgw"}, {dir.path / "rx.tif", "R", 1}, {}, {});
    BOOST_TEST(r.outcome == Outcome::hangup);
    BOOST_TEST(r.pages_confirmed == 1);
    BOOST_TEST(r.detail.find("hung up") != std::string::npos);
    BOOST_TEST((render::read_fax_tiff(dir.path / "rx.tif") == slice(pages, 0, 1)));
}

BOOST_AUTO_TEST_CASE(the_watchdog_hangs_up_a_call_without_progress) {
    test::TempDir dir;
    auto doc = test::write_document(dir.path, "doc.tif",
                                    test::synthetic_pages(1, render::Resolution::fine));
    // The first T.30 event comes seconds into a call: a 1 s watchdog must fire.
    faxcore::CallLimits limits;
    limits.watchdog_seconds = 1;
    auto r = faxcore::run_back_to_back_call({doc, 1, 0, "faxgw"}, {dir.path / "rx.tif", "R", 0},
                                            limits, {});
    BOOST_TEST(r.outcome == Outcome::watchdog);
    BOOST_TEST(r.line_seconds < 2.0);
    BOOST_TEST(r.detail.find("no T.30 progress") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_unreadable_document_is_a_bad_document) {
    test::TempDir dir;
    auto r = faxcore::run_back_to_back_call({dir.path / "missing.tif", 1, 0, "faxgw"},
                                            {dir.path / "rx.tif", "R", 0}, {}, {});
    BOOST_TEST(r.outcome == Outcome::bad_document);
    BOOST_TEST(r.pages_confirmed == 0);
}
