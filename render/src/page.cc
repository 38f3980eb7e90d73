// Resolutions, paper names and the Page bitmap itself.
#include <cmath>
#include <string>

#include "faxgw/render.h"

namespace faxgw::render {

int y_dpi(Resolution r) {
    switch (r) {
        case Resolution::standard:
            return 98;
        case Resolution::fine:
            return 196;
        case Resolution::superfine:
            return 391;
        case Resolution::automatic:
            throw Error("resolution \"auto\" is decided per document; no page has it");
    }
    throw Error("unknown resolution");
}

Resolution parse_resolution(std::string_view name) {
    if (name == "standard") return Resolution::standard;
    if (name == "fine") return Resolution::fine;
    if (name == "superfine") return Resolution::superfine;
    if (name == "auto" || name == "automatic") return Resolution::automatic;
    throw Error("unknown resolution \"" + std::string(name) +
                "\" (expected standard, fine, superfine or auto)");
}

std::string_view to_string(Resolution r) {
    switch (r) {
        case Resolution::standard:
            return "standard";
        case Resolution::fine:
            return "fine";
        case Resolution::superfine:
            return "superfine";
        case Resolution::automatic:
            return "auto";
    }
    return "?";
}

Paper parse_paper(std::string_view name) {
    if (name == "a4") return Paper::a4;
    if (name == "letter") return Paper::letter;
    if (name == "legal") return Paper::legal;
    if (name == "b4") return Paper::b4;
    throw Error("unknown paper \"" + std::string(name) + "\" (expected a4, letter, legal or b4)");
}

std::string_view to_string(Paper p) {
    switch (p) {
        case Paper::a4:
            return "a4";
        case Paper::letter:
            return "letter";
        case Paper::legal:
            return "legal";
        case Paper::b4:
            return "b4";
    }
    return "?";
}

int page_height_px(Paper paper, Resolution r) {
    double inches = 0;
    switch (paper) {
        case Paper::a4:
            inches = 297 / 25.4;
            break;
        case Paper::letter:
            inches = 11;
            break;
        case Paper::legal:
            inches = 14;
            break;
        case Paper::b4:
            inches = 353 / 25.4;
            break;
    }
    return static_cast<int>(std::lround(inches * y_dpi(r)));
}

int page_width_px(Paper paper) { return paper == Paper::b4 ? b4_width_px : fax_width_px; }

Page Page::blank(int height, Resolution r, int width) {
    Page page;
    page.width = width;
    page.height = height;
    page.resolution = r;
    page.bits.assign(static_cast<std::size_t>(page.stride()) * height, 0);
    return page;
}

// Out-of-range pixels read as white and ignore writes, so callers that
// draw near the edges need no clipping of their own.
bool Page::black(int x, int y) const {
    if (x < 0 || y < 0 || x >= width || y >= height) return false;
    return bits[static_cast<std::size_t>(y) * stride() + x / 8] & (0x80 >> (x % 8));
}

void Page::set_black(int x, int y) {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    bits[static_cast<std::size_t>(y) * stride() + x / 8] |=
        static_cast<std::uint8_t>(0x80 >> (x % 8));
}

}  // namespace faxgw::render
