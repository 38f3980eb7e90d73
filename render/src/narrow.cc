// 2048-pixel (B4) fax pages made fit for receivers that print only 215 mm.
//
// spandsp 0.0.6 sends a page at the width it has and gives up ("far end
// cannot receive at the size of image") when the receiver's DIS does not
// offer it; it does not scale. So the gateway keeps a narrow copy of a wide
// fax beside it, and the line sends that copy to such receivers. Scaling
// goes through grey (the share of black source pixels under each output
// pixel) and back through the same text/photo screening as any picture, so
// text stays crisp and halftones do not turn into moiré.
#include <algorithm>
#include <cmath>

#include "faxgw/render.h"
#include "halftone.h"
#include "tiff_file.h"

namespace faxgw::render {

namespace {

// Source pixels [begin, end) that output pixel i covers when n source
// pixels shrink to m (m < n): at least one.
struct Span {
    int begin, end;
};
Span span_of(int i, int n, int m) {
    const int begin = static_cast<int>(static_cast<long>(i) * n / m);
    const int end = static_cast<int>(static_cast<long>(i + 1) * n / m);
    return {begin, std::max(begin + 1, end)};
}

}  // namespace

Page narrow_page(const Page& page) {
    if (page.width <= fax_width_px) return page;
    const int width = fax_width_px;
    const int height = std::max(
        1, static_cast<int>(std::lround(static_cast<double>(page.height) * width / page.width)));
    GrayImage gray;
    gray.width = width;
    gray.height = height;
    gray.pixels.resize(static_cast<std::size_t>(width) * height);
    for (int y = 0; y < height; ++y) {
        const Span rows = span_of(y, page.height, height);
        for (int x = 0; x < width; ++x) {
            const Span cols = span_of(x, page.width, width);
            int black = 0;
            for (int sy = rows.begin; sy < rows.end; ++sy)
                for (int sx = cols.begin; sx < cols.end; ++sx) black += page.black(sx, sy);
            const int area = (rows.end - rows.begin) * (cols.end - cols.begin);
            gray.pixels[static_cast<std::size_t>(y) * width + x] =
                static_cast<std::uint8_t>(255 - 255 * black / area);
        }
    }
    Page narrow = Page::blank(height, page.resolution, width);
    gray_onto(narrow, gray, 0, 0, Screening::automatic);
    return narrow;
}

bool narrow_fax_tiff(const std::filesystem::path& in, const std::filesystem::path& out) {
    // Most faxes are narrow already: their tags say so without decoding.
    if (widest_page(in) <= static_cast<std::uint32_t>(fax_width_px)) return false;
    FaxTiffReader reader(in);
    FaxTiffWriter writer(out, reader.pages());
    while (auto page = reader.next()) writer.append(narrow_page(*page));
    writer.close();
    return true;
}

}  // namespace faxgw::render
