// Thresholding 8-bit renderings down to the 1-bit fax page.
#include "bitmap.h"

#include <algorithm>

namespace faxgw::render {

void threshold_onto(Page& page, const GrayView& image, int x0, int y0, std::uint8_t threshold,
                    bool dark_is_low) {
    const int y_begin = std::max(0, -y0);
    const int y_end = std::min(image.height, page.height - y0);
    const int x_begin = std::max(0, -x0);
    const int x_end = std::min(image.width, page.width - x0);
    for (int y = y_begin; y < y_end; ++y) {
        const std::uint8_t* row = image.data + static_cast<std::ptrdiff_t>(y) * image.stride;
        for (int x = x_begin; x < x_end; ++x) {
            const bool ink = dark_is_low ? row[x] < threshold : row[x] >= threshold;
            if (ink) page.set_black(x0 + x, y0 + y);
        }
    }
}

}  // namespace faxgw::render
