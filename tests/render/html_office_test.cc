// HTML through WeasyPrint (render_html, and render_document for text/html)
// and Office documents through LibreOffice, including the refusals when
// either is missing, and LibreOffice kept from pictures a document links to
// by URL. Words are checked with Tesseract (ocr.h).
#define BOOST_TEST_MODULE html_office
#include <boost/test/unit_test.hpp>
#include <map>
#include <string>

#include "faxgw/render.h"
#include "network.h"
#include "ocr.h"
#include "test_util.h"

using namespace faxgw::render;
using namespace faxgw::render::test;

namespace {

std::string ocr_text(const std::vector<Page>& pages) {
    const TempDir dir;
    const std::string text = ocr::read_pages(pages, dir.path());
    BOOST_TEST_MESSAGE("Tesseract read:\n" << text);
    return text;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        BOOST_TEST_MESSAGE("Error: " << e.what());
        return e.what();
    } catch (const ResourceError& e) {
        // The gateway's fault: the mail is retried, so the test says which.
        BOOST_TEST_MESSAGE("ResourceError: " << e.what());
        return std::string("ResourceError: ") + e.what();
    }
    return "(no error)";
}

bool have_weasyprint() {
    if (have_tool("weasyprint")) return true;
    BOOST_TEST_MESSAGE("SKIPPED: WeasyPrint is not installed (Debian package weasyprint)");
    return false;
}

bool have_libreoffice() {
    if (have_tool("soffice")) return true;
    BOOST_TEST_MESSAGE("SKIPPED: LibreOffice is not installed (libreoffice-writer-nogui)");
    return false;
}

// An OpenDocument text whose one picture is linked to `url`, not embedded
// (make_linked_odt.py); empty, with a message, without python3.
std::string odt_linking_to(const std::string& url) {
    const TempDir dir;
    const Output made =
        run("python3 " +
            (std::filesystem::path(FAXGW_SOURCE_DIR) / "tests/render/make_linked_odt.py").string() +
            " '" + url + "' " + (dir / "linked.odt").string());
    if (made.status == 0) return read_bytes(dir / "linked.odt");
    BOOST_TEST_MESSAGE("SKIPPED: cannot make the document with python3: " << made.text);
    return {};
}

}  // namespace

BOOST_AUTO_TEST_CASE(html_renders_structure_words_and_cid_picture) {
    if (!have_weasyprint()) return;
    const std::string html = read_bytes(samples() / "mail.html");
    const std::map<std::string, std::string> cids = {
        {"<logo@faxgw.example>", read_bytes(samples() / "logo.png")}};
    const auto pages = render_html(html, cids, Options{});
    BOOST_TEST_REQUIRE(pages.size() == 1u);
    BOOST_TEST(pages[0].width == 1728);
    BOOST_TEST(pages[0].height == page_height_px(Paper::a4, Resolution::fine));
    BOOST_TEST(pages[0].resolution == Resolution::fine);
    const std::string text = ocr_text(pages);
    for (const char* word :
         {"Quarterly Order", "confirmed order", "Delivery by Friday", "Payment within thirty days",
          "Widgets", "120", "Brackets", "Kind regards"})
        BOOST_TEST_CONTEXT(word) { BOOST_TEST(text.find(word) != std::string::npos); }
    // The cid picture is drawn: without it the page has less ink.
    const auto without = render_html(html, {}, Options{});
    BOOST_TEST(ink_of(pages[0]).pixels > ink_of(without.at(0)).pixels + 2000);
}

BOOST_AUTO_TEST_CASE(remote_pictures_are_not_fetched) {
    if (!have_weasyprint()) return;
    // 192.0.2.1 is TEST-NET-1: a fetch would hang until a time-out; the
    // wall limit makes an attempt fail the test instead of slowing it.
    Options o;
    o.wall_seconds = 20;
    const std::string html =
        "<html><body><p>Remote pictures stay out</p>"
        "<img src=\"http://192.0.2.1/a.png\"><img src=\"https://192.0.2.1/b.png\">"
        "<link rel=stylesheet href=\"http://192.0.2.1/c.css\">"
        "<img src=\"file:///etc/hostname\"><img src=\"../../etc/passwd\"></body></html>";
    const auto pages = render_html(html, {}, o);
    BOOST_TEST_REQUIRE(pages.size() == 1u);
    BOOST_TEST(ocr_text(pages).find("Remote pictures stay out") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(render_document_sends_html_to_the_engine) {
    if (!have_weasyprint()) return;
    const std::string html = "<!DOCTYPE html><html><body><h1>Hello Fax</h1></body></html>";
    Options o;
    o.resolution = Resolution::standard;
    const auto pages = render_document(html, "text/html; charset=utf-8", "", o);
    BOOST_TEST_REQUIRE(pages.size() == 1u);
    BOOST_TEST(pages[0].height == page_height_px(Paper::a4, Resolution::standard));
    BOOST_TEST(ocr_text(pages).find("<h1>") == std::string::npos);  // not printed as source
}

BOOST_AUTO_TEST_CASE(missing_weasyprint_is_a_clear_temporary_error) {
    Options o;
    o.weasyprint = "/nonexistent/weasyprint";
    const std::string e =
        error_of([&] { render_document("<html><body>x</body></html>", "", "note.html", o); });
    BOOST_TEST(e ==
               "ResourceError: note.html: HTML cannot be faxed: WeasyPrint is not installed on "
               "the gateway");
}

BOOST_AUTO_TEST_CASE(word_document_renders_through_libreoffice) {
    if (!have_libreoffice()) return;
    const auto pages = render_file(samples() / "letter.docx", Options{});
    BOOST_TEST_REQUIRE(pages.size() == 1u);
    BOOST_TEST(pages[0].width == 1728);
    BOOST_TEST(pages[0].height == page_height_px(Paper::a4, Resolution::fine));
    // Same text as letter.txt, laid out by LibreOffice in its own font.
    const double a = ocr::accuracy(ocr_text(pages), read_bytes(samples() / "letter.txt"));
    BOOST_TEST_MESSAGE("accuracy " << a);
    BOOST_TEST(a >= 0.9);
}

BOOST_AUTO_TEST_CASE(libreoffice_fetches_no_linked_picture) {
    if (!have_libreoffice()) return;
    if (!kernel_allows_network_namespaces()) {
        BOOST_TEST_MESSAGE("SKIPPED: the kernel allows no network namespace here");
        return;
    }
    const LoopbackServer server(read_bytes(samples() / "logo.png"));
    const std::string odt = odt_linking_to(server.url("/picture.png"));
    if (odt.empty()) return;
    const auto pages = render_document(odt, "", "linked.odt", Options{});
    BOOST_TEST(server.connections() == 0);
    BOOST_TEST_REQUIRE(pages.size() == 1u);
    BOOST_TEST(ocr_text(pages).find("Linked picture below") != std::string::npos);

    // What the isolation prevents: rendered in-process, LibreOffice fetches
    // the picture and draws it. (Should a LibreOffice stop fetching, the
    // check above proves nothing, hence the warning.)
    Options in_process;
    in_process.isolate = false;
    const auto fetched = render_document(odt, "", "linked.odt", in_process);
    BOOST_WARN_MESSAGE(server.connections() > 0,
                       "LibreOffice fetched nothing even with the network: this test no longer "
                       "shows that isolation keeps it from fetching");
    if (server.connections() > 0 && fetched.size() == 1u)
        BOOST_TEST(ink_of(fetched[0]).pixels > ink_of(pages[0]).pixels + 2000);
}

BOOST_AUTO_TEST_CASE(office_documents_wait_named_without_libreoffice) {
    Options o;
    o.libreoffice = "/nonexistent/soffice";
    const std::string docx = read_bytes(samples() / "letter.docx");
    BOOST_TEST(
        error_of([&] { render_document(docx, "", "report.docx", o); }) ==
        "ResourceError: attachment report.docx (Word document) cannot be faxed: LibreOffice is not "
        "installed on the gateway");
    // Known by content without a name or type, too.
    BOOST_TEST(
        error_of([&] { render_document(docx, "", "", o); }) ==
        "ResourceError: attachment document (Word document) cannot be faxed: LibreOffice is not "
        "installed on the gateway");
    BOOST_TEST(
        error_of([&] { render_document("{\\rtf1 hello}", "", "memo.rtf", o); }) ==
        "ResourceError: attachment memo.rtf (RTF document) cannot be faxed: LibreOffice is not "
        "installed on the gateway");
}
