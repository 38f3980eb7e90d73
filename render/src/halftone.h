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
// art, flat areas) it thresholds at half grey. With `text` (an image of the
// same size), the thresholded parts are cut from it instead: a rendering
// reduced to the page's rows in a way that keeps thin strokes.
void gray_onto(Page& page, const GrayImage& image, int x0, int y0, Screening screening,
               const GrayImage* text = nullptr);

// Halves an image's rows, two into one (an odd last row stays as it is):
// `mean` averages them (photographs keep their tone); `ink_sum` adds their
// ink (255 - luminance), so that the standard pixel is black when the two
// fine pixels hold half a fine pixel's ink between them: a stroke thinner
// than a row, even one split across two rows in light grey, survives, and
// text cut at half grey from it keeps the hairlines of serif type.
enum class RowFilter { mean, ink_sum };
GrayImage reduce_rows(const GrayImage& image, RowFilter filter);

}  // namespace faxgw::render

namespace faxgw::render {

// A picture (any format render_image reads except TIFF) as grey pixels
// fitted inside max_w x max_h page pixels keeping its aspect ratio on paper;
// y_over_x is the page's lines per inch over its dots per inch.
GrayImage decode_gray_fitted(std::string_view bytes, int max_w, int max_h, double y_over_x,
                             const Options& options);

}  // namespace faxgw::render
