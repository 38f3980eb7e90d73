// page_thumbnail_png(): a small grey picture of a fax page for a report.
#include <png.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "notify.h"

namespace faxgw::mailgw {
namespace {

// Fax pages are 204 pixels per inch across at every resolution.
constexpr double x_dpi = 204.0;
constexpr int shrink = 4;  // 1728 pixels across become 432

// Grey levels (0 black .. 255 white) of `page` shrunk by averaging boxes of
// pixels. Written here because no library at hand reads 1-bit rows packed
// MSB first, and the loop is short; libpng writes the file.
std::vector<std::uint8_t> shrunk_grey(const render::Page& page, int width, int height) {
    const double box_h = static_cast<double>(page.height) / height;
    std::vector<std::uint8_t> grey(static_cast<std::size_t>(width) * height);
    for (int y = 0; y < height; ++y) {
        const int y0 = static_cast<int>(y * box_h);
        const int y1 = std::max(y0 + 1, std::min(page.height, static_cast<int>((y + 1) * box_h)));
        for (int x = 0; x < width; ++x) {
            int black = 0;
            for (int sy = y0; sy < y1; ++sy)
                for (int sx = x * shrink; sx < (x + 1) * shrink; ++sx) black += page.black(sx, sy);
            const int total = (y1 - y0) * shrink;
            grey[static_cast<std::size_t>(y) * width + x] =
                static_cast<std::uint8_t>(255 - 255 * black / total);
        }
    }
    return grey;
}

}  // namespace

std::string page_thumbnail_png(const render::Page& page) {
    if (page.height <= 0) throw std::runtime_error("the page is empty");
    const int width = page.width / shrink;
    const double rows_per_inch = render::y_dpi(page.resolution);
    const int height =
        std::max(1, static_cast<int>(page.height * (x_dpi / rows_per_inch) / shrink + 0.5));
    const auto grey = shrunk_grey(page, width, height);

    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    image.width = static_cast<png_uint_32>(width);
    image.height = static_cast<png_uint_32>(height);
    image.format = PNG_FORMAT_GRAY;
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&image, nullptr, &size, 0, grey.data(), 0, nullptr))
        throw std::runtime_error(std::string("PNG: ") + image.message);
    std::string png(size, '\0');
    if (!png_image_write_to_memory(&image, png.data(), &size, 0, grey.data(), 0, nullptr))
        throw std::runtime_error(std::string("PNG: ") + image.message);
    png.resize(size);
    return png;
}

}  // namespace faxgw::mailgw
