// Thresholding 8-bit renderings down to the 1-bit fax page.
#include "bitmap.h"

#include <algorithm>
#include <cstring>

namespace faxgw::render {

void threshold_onto(Page& page, const GrayView& image, int x0, int y0, std::uint8_t threshold,
                    bool dark_is_low) {
    const int y_begin = std::max(0, -y0);
    const int y_end = std::min(image.height, page.height - y0);
    const int x_begin = std::max(0, -x0);
    const int x_end = std::min(image.width, page.width - x0);
    // Paper is mostly blank: 8 pixels of it (no coverage, or white grey)
    // are passed in one comparison, where no threshold makes them ink.
    const std::uint64_t blank = dark_is_low ? ~std::uint64_t{0} : 0;
    for (int y = y_begin; y < y_end; ++y) {
        const std::uint8_t* row = image.data + static_cast<std::ptrdiff_t>(y) * image.stride;
        int x = x_begin;
        while (x < x_end) {
            if (x + 8 <= x_end) {
                std::uint64_t eight;
                std::memcpy(&eight, row + x, sizeof eight);
                if (eight == blank && (dark_is_low || threshold > 0)) {
                    x += 8;
                    continue;
                }
            }
            const int stop = std::min(x + 8, x_end);
            for (; x < stop; ++x) {
                const bool ink = dark_is_low ? row[x] < threshold : row[x] >= threshold;
                if (ink) page.set_black(x0 + x, y0 + y);
            }
        }
    }
}

}  // namespace faxgw::render
