// Private: turning grey pictures into 1-bit fax pixels.
#pragma once

#include <cstdint>
#include <vector>

#include "faxgw/render.h"

namespace faxgw::render {

// An 8-bit luminance image that owns its pixels: 0 black, 255 white.
struct GrayImage {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> pixels;  // stride == width

    std::uint8_t at(int x, int y) const { return pixels[static_cast<std::size_t>(y) * width + x]; }
};

// Draws the image onto the page with its top left at (x0, y0), by the
// method `screening` asks for; `automatic` looks at 16x16 blocks: where
// most pixels are mid-tones (a photograph) it screens, elsewhere (text, line
// art, flat areas) it thresholds at half grey.
void gray_onto(Page& page, const GrayImage& image, int x0, int y0, Screening screening);

}  // namespace faxgw::render

namespace faxgw::render {

// A picture (any format render_image reads except TIFF) as grey pixels
// fitted inside max_w x max_h page pixels keeping its aspect ratio on paper;
// y_over_x is the page's lines per inch over its dots per inch.
GrayImage decode_gray_fitted(std::string_view bytes, int max_w, int max_h, double y_over_x,
                             const Options& options);

}  // namespace faxgw::render
