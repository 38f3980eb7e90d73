// Text layout: geometry, margins, wrapping, tabs, form feeds, scripts.
#define BOOST_TEST_MODULE render_text
#include <pango/pangocairo.h>

#include <algorithm>
#include <bit>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <string>

#include "faxgw/render.h"
#include "test_util.h"

using namespace faxgw::render;
using namespace faxgw::render::test;

namespace {

Options with(Resolution r, Paper p = Paper::a4) {
    Options o;
    o.resolution = r;
    o.paper = p;
    return o;
}

// 15 mm margins in pixels, less a little for glyphs that overhang their box.
int margin_x() { return static_cast<int>((1728 - 210 / 25.4 * 204) / 2 + 15 / 25.4 * 204) - 4; }
int margin_y(Resolution r) { return static_cast<int>(15 / 25.4 * y_dpi(r)) - 4; }

}  // namespace

BOOST_AUTO_TEST_CASE(empty_or_blank_text_gives_no_pages) {
    BOOST_TEST(render_text("", Options{}).empty());
    BOOST_TEST(render_text(" \n\t\r\n\f  \n", Options{}).empty());
}

BOOST_AUTO_TEST_CASE(a_line_is_inked_inside_the_margins_only) {
    for (Resolution r : {Resolution::standard, Resolution::fine, Resolution::superfine}) {
        BOOST_TEST_CONTEXT(to_string(r)) {
            const auto pages = render_text("Hello, fax world! |||| ____ MMMM", with(r));
            BOOST_TEST_REQUIRE(pages.size() == 1u);
            const Page& page = pages[0];
            BOOST_TEST(page.width == 1728);
            BOOST_TEST(page.height == page_height_px(Paper::a4, r));
            BOOST_TEST(page.resolution == r);
            const Ink ink = ink_of(page);
            BOOST_TEST_REQUIRE(!ink.empty());
            BOOST_TEST(ink.left >= margin_x());
            BOOST_TEST(ink.left <= margin_x() + 20);  // starts at the left margin
            BOOST_TEST(ink.top >= margin_y(r));
            // One 10.5 pt line is about 0.17 inch tall.
            BOOST_TEST(ink.bottom - ink.top < 0.25 * y_dpi(r));
            BOOST_TEST(ink.bottom < page.height / 4);
        }
    }
}

BOOST_AUTO_TEST_CASE(letter_paper_is_scaled_into_the_fax_width) {
    const auto pages = render_text(std::string(200, 'W'), with(Resolution::fine, Paper::letter));
    BOOST_TEST_REQUIRE(pages.size() == 1u);
    BOOST_TEST(pages[0].height == 2156);
    const Ink ink = ink_of(pages[0]);
    BOOST_TEST(ink.left >= 110);
    BOOST_TEST(ink.right <= 1728 - 110);
}

BOOST_AUTO_TEST_CASE(form_feed_starts_a_new_page) {
    const auto pages = render_text("first page\fsecond page\n", Options{});
    BOOST_TEST_REQUIRE(pages.size() == 2u);
    BOOST_TEST(!ink_of(pages[0]).empty());
    BOOST_TEST(!ink_of(pages[1]).empty());
    // The second page starts at the top, not below the first page's line.
    BOOST_TEST(std::abs(ink_of(pages[1]).top - ink_of(pages[0]).top) < 10);
    // A trailing form feed adds no empty page.
    BOOST_TEST(render_text("one page\f", Options{}).size() == 1u);
    BOOST_TEST(render_text("one\f\fthree", Options{}).size() == 3u);
}

BOOST_AUTO_TEST_CASE(long_lines_wrap_at_the_right_margin) {
    const Page one = render_text("short line", Options{}).at(0);
    const std::string words = [] {
        std::string s;
        for (int i = 0; i < 60; ++i) s += "wrapping words ";
        return s;
    }();
    for (const std::string& text : {words, std::string(400, 'x')}) {
        const auto pages = render_text(text, Options{});
        BOOST_TEST_REQUIRE(pages.size() == 1u);
        const Ink ink = ink_of(pages[0]);
        BOOST_TEST(inked_rows(pages[0]) > 3 * inked_rows(one));
        BOOST_TEST(ink.right <= 1728 - margin_x());
        BOOST_TEST(ink.right > 1728 - margin_x() - 60);  // lines fill the width
    }
}

BOOST_AUTO_TEST_CASE(long_text_is_paginated_within_the_margins) {
    std::string text;
    for (int i = 1; i <= 150; ++i) text += "line " + std::to_string(i) + "\n";
    for (Resolution r : {Resolution::standard, Resolution::fine}) {
        const auto pages = render_text(text, with(r));
        BOOST_TEST_REQUIRE(pages.size() == 3u);  // about 60 lines a page
        for (const Page& page : pages) {
            const Ink ink = ink_of(page);
            BOOST_TEST(ink.top >= margin_y(r));
            BOOST_TEST(ink.bottom < page.height - margin_y(r));
        }
        BOOST_TEST(ink_of(pages[0]).bottom > pages[0].height * 3 / 4);  // page is used
    }
}

BOOST_AUTO_TEST_CASE(resolution_changes_pixels_not_layout) {
    const std::string text = "top line\n\n\n\nfifth line";
    const Ink standard = ink_of(render_text(text, with(Resolution::standard)).at(0));
    const Ink fine = ink_of(render_text(text, with(Resolution::fine)).at(0));
    BOOST_TEST(std::abs(fine.top - 2 * standard.top) <= 3);
    BOOST_TEST(std::abs(fine.bottom - 2 * standard.bottom) <= 4);
    BOOST_TEST(std::abs(fine.left - standard.left) <= 1);
}

BOOST_AUTO_TEST_CASE(tabs_expand_to_eight_columns) {
    const Ink tabbed = ink_of(render_text("\tX", Options{}).at(0));
    const Ink spaced = ink_of(render_text("        X", Options{}).at(0));
    const Ink partial = ink_of(render_text("abc\tX", Options{}).at(0));
    BOOST_TEST(std::abs(tabbed.left - spaced.left) <= 1);
    BOOST_TEST(std::abs(partial.right - spaced.right) <= 1);
}

BOOST_AUTO_TEST_CASE(non_ascii_text_renders) {
    for (const char* text : {"Grüße", "Привет", "東京"}) {
        BOOST_TEST_CONTEXT(text) {
            const auto pages = render_text(text, Options{});
            BOOST_TEST_REQUIRE(pages.size() == 1u);
            BOOST_TEST(ink_of(pages[0]).pixels > 200);
        }
    }
    BOOST_CHECK_THROW(render_text("caf\xe9", Options{}), Error);  // Latin-1, not UTF-8
}

BOOST_AUTO_TEST_CASE(sample_text_gives_two_pages) {
    const auto pages = render_text(read_bytes(samples() / "hello.txt"), Options{});
    BOOST_TEST(pages.size() == 2u);
}

BOOST_AUTO_TEST_CASE(page_limit_is_enforced) {
    Options o;
    o.max_pages = 2;
    BOOST_CHECK_THROW(render_text("1\f2\f3", o), Error);
    BOOST_TEST(render_text("1\f2", o).size() == 2u);
}

namespace {

// Glyphs Pango could not find in any installed font (drawn as hex boxes),
// for `text` laid out in `font` as render_text lays it out. Counted in an
// isolated child, so that this process uses Pango only through render.
int unknown_glyphs(const std::string& text, const std::string& font) {
    const std::string count = run_isolated_bytes(
        "glyph count",
        [&] {
            PangoFontMap* map = pango_cairo_font_map_get_default();  // not owned
            PangoContext* context = pango_font_map_create_context(map);
            PangoLayout* layout = pango_layout_new(context);
            PangoFontDescription* desc = pango_font_description_from_string(font.c_str());
            pango_layout_set_font_description(layout, desc);
            pango_font_description_free(desc);
            pango_layout_set_text(layout, text.c_str(), -1);
            const int unknown = pango_layout_get_unknown_glyphs_count(layout);
            g_object_unref(layout);
            g_object_unref(context);
            return std::to_string(unknown);
        },
        Options{});
    return std::stoi(count);
}

// The text with U+200C ZERO WIDTH NON-JOINER between all its letters: the
// same letters in their isolated forms.
std::string unjoined(std::string_view utf8) {
    std::string out;
    for (std::size_t i = 0; i < utf8.size(); ++i) {
        out += utf8[i];
        const bool end_of_char =
            i + 1 == utf8.size() || (static_cast<unsigned char>(utf8[i + 1]) & 0xC0) != 0x80;
        if (end_of_char && i + 1 < utf8.size() && utf8[i + 1] != ' ' && utf8[i] != ' ')
            out += "\u200C";
    }
    return out;
}

}  // namespace

// Hebrew and Arabic come from DejaVu Sans (Debian fonts-dejavu-core, through
// fontconfig's fallback from the monospaced text font): drawn with real
// glyphs, right to left, and Arabic letters joined by Pango's shaping.
BOOST_AUTO_TEST_CASE(right_to_left_scripts_are_shaped_not_boxed) {
    const std::string hebrew = "שלום עולם", arabic = "مرحبا بالعالم";
    for (const std::string& text : {hebrew, arabic}) {
        BOOST_TEST_CONTEXT(text) {
            BOOST_TEST(unknown_glyphs(text, Options{}.text_font) == 0,
                       "no font for this script: install fonts-dejavu-core");
            const auto pages = render_text(text, Options{});
            BOOST_TEST_REQUIRE(pages.size() == 1u);
            const Ink ink = ink_of(pages[0]);
            BOOST_TEST(ink.pixels > 200);
            // A right-to-left paragraph starts at the right margin.
            BOOST_TEST(ink.right > 1728 - margin_x() - 20);
            BOOST_TEST(ink.left > 1728 / 2);
        }
    }
    // Joining changes the letters' shapes; the non-joiner alone draws nothing
    // (Latin text with it renders as without it).
    BOOST_TEST(render_text(unjoined("Hello world"), Options{}) ==
               render_text("Hello world", Options{}));
    BOOST_TEST(!(render_text(unjoined(arabic), Options{}) == render_text(arabic, Options{})));
    // Hebrew letters do not join: the non-joiner changes nothing.
    BOOST_TEST(render_text(unjoined(hebrew), Options{}) == render_text(hebrew, Options{}));
}

// The header line is drawn with Pango in the caller, which forks a renderer
// for the next document. Each new font description makes Pango start two
// threads that match and sort fonts, and it returns once the match is
// there: the sort may still be running. The renderer forked next must
// finish (isolation_test.cc shows deterministically why it might not).
// Under AddressSanitizer, whose fork leaves its allocator's lock as such a
// thread held it, renderers hung on that lock until their limit while
// render left those threads running (in 3 of 6 runs of this case side by
// side, with the header stamped by a test's own Pango call).
BOOST_AUTO_TEST_CASE(a_renderer_forked_right_after_a_header_line_finishes) {
    Options quick;
    quick.wall_seconds = 20;
    for (int points = 6; points < 36; ++points) {
        BOOST_TEST_CONTEXT("header at " << points << " points") {
            HeaderInfo header;
            header.font = "Serif";
            header.font_points = points;
            std::vector<Page> pages = render_text("مرحبا", quick);
            BOOST_TEST_REQUIRE(pages.size() == 1u);
            stamp_header(pages, header);
        }
    }
}

namespace {

// Text lines on the pages: bands of inked rows between blank ones.
int text_lines(const std::vector<Page>& pages) {
    int lines = 0;
    for (const Page& page : pages) {
        bool in_line = false;
        for (int y = 0; y < page.height; ++y) {
            const auto row = page.bits.begin() + std::ptrdiff_t(y) * page.stride();
            const bool inked = std::any_of(row, row + page.stride(), [](auto b) { return b != 0; });
            if (inked && !in_line) ++lines;
            in_line = inked;
        }
    }
    return lines;
}

long ink_pixels(const std::vector<Page>& pages) {
    long pixels = 0;
    for (const Page& page : pages)
        for (std::uint8_t b : page.bits) pixels += std::popcount(b);
    return pixels;
}

// One paragraph of `words` words of x-height letters only (lines never touch).
std::string paragraph(int words) {
    std::string text;
    for (int i = 0; i < words; ++i) text += i % 2 ? "xoxoxox " : "oxoxoxo ";
    return text;
}

}  // namespace

// One paragraph of 400,000 characters came out as one page, and a long one
// overprinted its last line on the rest: Pango cannot lay out that much in
// one layout. Every line must arrive, and pages follow the text's length.
BOOST_AUTO_TEST_CASE(every_line_of_a_long_paragraph_arrives) {
    const Options o = with(Resolution::standard);
    const auto short_pages = render_text(paragraph(1250), o);  // 10,000 characters
    const auto long_pages = render_text(paragraph(50000), o);  // 400,000 characters
    const int short_lines = text_lines(short_pages);
    const int long_lines = text_lines(long_pages);
    BOOST_TEST_REQUIRE(short_lines > 50);
    BOOST_TEST(std::abs(long_lines - 40 * short_lines) <= 40 * short_lines / 100,
               long_lines << " lines for 40 x " << short_lines);
    const double ink_ratio = double(ink_pixels(long_pages)) / double(ink_pixels(short_pages));
    BOOST_TEST(std::abs(ink_ratio - 40) < 0.4, "ink ratio " << ink_ratio);
    const int lines_per_page = text_lines({long_pages.front()});
    BOOST_TEST(long_pages.size() ==
               std::size_t((long_lines + lines_per_page - 1) / lines_per_page));
}

// 5 MB on one line gave one page with exit 0: a text either arrives whole
// or is refused for its length.
BOOST_AUTO_TEST_CASE(one_long_line_is_paginated_or_refused) {
    Options o = with(Resolution::standard);
    const std::string line(400000, 'x');  // no space: broken between characters
    o.max_pages = 20;
    BOOST_CHECK_EXCEPTION(render_text(line, o), Error, [](const Error& e) {
        return std::string(e.what()).find("longer than 20 pages") != std::string::npos;
    });
    o.max_pages = 500;
    const auto pages = render_text(line, o);
    BOOST_TEST(pages.size() > 60u);
    const long per_page = ink_pixels({pages.front()});
    BOOST_TEST(ink_pixels({pages[pages.size() / 2]}) == per_page);  // full pages alike
}

// Text ran inside the caller, outside every renderer limit (a 9.5 MB body
// used 10 CPU minutes in `faxgw submit`).
BOOST_AUTO_TEST_CASE(text_is_laid_out_in_an_isolated_child) {
    const auto pages = render_text("isolated", Options{});
    BOOST_TEST(pages.size() == 1u);
    BOOST_TEST(last_child_usage().peak_rss_kb > 0);
    Options in_process;
    in_process.isolate = false;
    BOOST_TEST(render_text("isolated", in_process) == pages);
}
