// A wide (B4, 2048-pixel) fax over a real T.30 call: it goes as it is to a
// receiver whose DIS offers 255 mm paper, and its narrow copy goes to one
// that offers only 215 mm, chosen in phase B of the same call.
#define BOOST_TEST_MODULE faxcore b4
#include <boost/test/unit_test.hpp>

#include "fixture.h"
#include "session.h"

using namespace faxgw;
using faxcore::Outcome;

namespace {

struct WideDocument {
    test::TempDir dir;
    std::vector<render::Page> wide = test::wide_synthetic_pages(3, 160);
    std::filesystem::path document = test::write_document(dir.path, "wide.tif", wide);
    std::filesystem::path narrow = dir.path / "narrow.tif";
    WideDocument() { BOOST_TEST_REQUIRE(render::narrow_fax_tiff(document, narrow)); }

    faxcore::CallReport send(int first_page, bool receiver_takes_b4, bool with_narrow = true) {
        faxcore::SendSpec spec{document, first_page, 0, "faxgw b4", with_narrow ? narrow : ""};
        faxcore::ReceiveSpec receive{dir.path / "rx.tif", "REMOTE", 0, receiver_takes_b4};
        return faxcore::run_back_to_back_call(spec, receive, {}, {});
    }
    std::vector<render::Page> received() const {
        return render::read_fax_tiff(dir.path / "rx.tif");
    }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(b4, WideDocument)

BOOST_AUTO_TEST_CASE(a_b4_receiver_gets_the_wide_pages) {
    auto r = send(1, true);
    BOOST_TEST(r.outcome == Outcome::ok);
    BOOST_TEST(r.pages_confirmed == 3);
    BOOST_TEST(!r.sent_narrow);
    BOOST_TEST((received() == wide));
}

BOOST_AUTO_TEST_CASE(a_215_mm_receiver_gets_the_narrow_copy) {
    auto r = send(1, false);
    BOOST_TEST(r.outcome == Outcome::ok, r.t30_text);
    BOOST_TEST(r.pages_confirmed == 3);
    BOOST_TEST(r.sent_narrow);
    BOOST_TEST((received() == render::read_fax_tiff(narrow)));
}

BOOST_AUTO_TEST_CASE(a_retry_resumes_in_the_narrow_copy) {
    auto r = send(2, false);
    BOOST_TEST(r.outcome == Outcome::ok, r.t30_text);
    BOOST_TEST(r.pages_confirmed == 2);
    auto narrow_pages = render::read_fax_tiff(narrow);
    BOOST_TEST(
        (received() == std::vector<render::Page>(narrow_pages.begin() + 1, narrow_pages.end())));
}

BOOST_AUTO_TEST_CASE(without_a_narrow_copy_the_call_fails_as_incompatible) {
    auto r = send(1, false, false);
    BOOST_TEST(r.outcome == Outcome::incompatible);
    BOOST_TEST(r.pages_confirmed == 0);
    BOOST_TEST(r.t30_text == "Far end cannot receive at the size of image");
}

BOOST_AUTO_TEST_SUITE_END()
