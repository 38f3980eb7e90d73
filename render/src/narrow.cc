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
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

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

// Adds row y's black pixels to `black`, per output column (`owner`: the
// output column of each source column; shrinking, each source column
// belongs to exactly one), and says whether it had any. Only set bits cost
// anything: a page may have 65,536 rows, and fax pages are mostly white.
bool add_row(const Page& page, int y, const std::vector<int>& owner, std::vector<int>& black) {
    const std::uint8_t* bits = page.bits.data() + static_cast<std::size_t>(y) * page.stride();
    bool any = false;
    for (int b = 0; b < page.stride(); ++b)
        for (std::uint8_t byte = bits[b]; byte != 0;) {
            const int bit = std::countl_zero(byte);
            ++black[owner[b * 8 + bit]];
            byte = static_cast<std::uint8_t>(byte & ~(0x80u >> bit));
            any = true;
        }
    return any;
}

}  // namespace

Page narrow_page(const Page& page) {
    if (page.width <= fax_width_px) return page;
    const int width = fax_width_px;
    const int height = std::max(
        1, static_cast<int>(std::lround(static_cast<double>(page.height) * width / page.width)));
    std::vector<Span> cols(width);
    std::vector<int> owner(page.width);
    for (int x = 0; x < width; ++x) {
        cols[x] = span_of(x, page.width, width);
        for (int sx = cols[x].begin; sx < cols[x].end; ++sx) owner[sx] = x;
    }
    GrayImage gray;
    gray.width = width;
    gray.height = height;
    gray.pixels.resize(static_cast<std::size_t>(width) * height);
    std::vector<int> black(width);
    for (int y = 0; y < height; ++y) {
        const Span rows = span_of(y, page.height, height);
        std::fill(black.begin(), black.end(), 0);
        bool ink = false;
        for (int sy = rows.begin; sy < rows.end; ++sy) ink |= add_row(page, sy, owner, black);
        std::uint8_t* out = gray.pixels.data() + static_cast<std::size_t>(y) * width;
        if (!ink) {
            std::fill(out, out + width, std::uint8_t{255});  // white paper
            continue;
        }
        for (int x = 0; x < width; ++x) {
            const int area = (rows.end - rows.begin) * (cols[x].end - cols[x].begin);
            out[x] = static_cast<std::uint8_t>(255 - 255 * black[x] / area);
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
