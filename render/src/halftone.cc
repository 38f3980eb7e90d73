// Halftoning for fax. What decides is the line time: a fax page costs about
// 8 s + its T.6 bytes at 14400 bit/s, and T.6 codes runs of equal pixels and
// their changes against the row above. Dispersed dithers (Floyd-Steinberg,
// Bayer) put a black/white change at almost every pixel and make a photo page
// cost 800-900 s; a clustered-dot screen keeps long runs and rows that repeat
// the row above, so it compresses far better at the same tone. The screen here
// is a classic 45-degree round dot, ~51 lines per inch at 204 dpi (a cell of
// 8 x 8 pixels with two dots), coarse enough for T.6 and for fax printers'
// dot gain, fine enough that faces stay recognisable.
#include "halftone.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

namespace faxgw::render {

namespace {

constexpr int block = 16;
constexpr std::uint8_t mid_low = 40, mid_high = 215;  // "mid-tone" luminance

// Threshold tile for a 45-degree clustered-dot screen. Pixels are ranked by
// their distance to the nearest dot centre (dot centres at the tile corners
// and its middle); a pixel turns black once the grey's ink coverage exceeds
// its rank, so dots grow from the centre out and meet at 50 %. The tile is
// stretched vertically with the resolution so the dots stay round on paper.
class Screen {
public:
    explicit Screen(Resolution r) {
        w_ = 8;
        h_ = std::max(2, static_cast<int>(std::lround(8.0 * y_dpi(r) / fax_x_dpi)) & ~1);
        const double sy = static_cast<double>(w_) / h_;  // pixel height in pixel widths
        std::vector<std::pair<double, int>> order;
        for (int y = 0; y < h_; ++y)
            for (int x = 0; x < w_; ++x) {
                double best = 1e9;
                for (auto [cx, cy] : std::array<std::pair<double, double>, 5>{
                         {{0, 0}, {w_, 0}, {0, h_}, {w_, h_}, {w_ / 2.0, h_ / 2.0}}}) {
                    const double dx = x + 0.5 - cx, dy = (y + 0.5 - cy) * sy;
                    best = std::min(best, dx * dx + dy * dy);
                }
                // Ties alternate between the two dots of the tile.
                order.emplace_back(best + 1e-6 * ((x + y) % 2), y * w_ + x);
            }
        std::sort(order.begin(), order.end());
        levels_.resize(order.size());
        const double n = static_cast<double>(order.size());
        for (std::size_t i = 0; i < order.size(); ++i)
            levels_[order[i].second] = static_cast<std::uint8_t>(std::lround((i + 0.5) / n * 255));
    }
    // True if a pixel of ink coverage `ink` (0 white .. 255 black) at page
    // position (x, y) is black.
    bool black(int x, int y, int ink) const { return ink > levels_[(y % h_) * w_ + x % w_]; }

private:
    int w_ = 0, h_ = 0;
    std::vector<std::uint8_t> levels_;
};

// Stretches the photo's tones so its darkest 1 % is black and lightest 1 %
// white: scanned and phone photos are often flat, and a fax has no grey to
// spare.
std::array<std::uint8_t, 256> levels_of(const GrayImage& image, const std::vector<char>& photo,
                                        int blocks_x) {
    std::array<long, 256> hist{};
    long total = 0;
    for (int y = 0; y < image.height; ++y) {
        const std::uint8_t* row = image.pixels.data() + static_cast<std::size_t>(y) * image.width;
        const char* blocks = photo.data() + static_cast<std::size_t>(y / block) * blocks_x;
        for (int x = 0; x < image.width; ++x)
            if (blocks[x / block]) {
                ++hist[row[x]];
                ++total;
            }
    }
    std::array<std::uint8_t, 256> map{};
    std::iota(map.begin(), map.end(), 0);
    if (total == 0) return map;
    int lo = 0, hi = 255;
    for (long seen = 0; lo < 255 && (seen += hist[lo]) < total / 100;) ++lo;
    for (long seen = 0; hi > 0 && (seen += hist[hi]) < total / 100;) --hi;
    if (hi - lo < 32) return map;
    for (int v = 0; v < 256; ++v)
        map[v] = static_cast<std::uint8_t>(std::clamp((v - lo) * 255 / (hi - lo), 0, 255));
    return map;
}

// Mid-tone pixels among `n` contiguous ones: a loop the compiler vectorises.
int mid_tones(const std::uint8_t* p, int n) {
    int count = 0;
    for (int i = 0; i < n; ++i)
        count += static_cast<std::uint8_t>(p[i] - mid_low) <= mid_high - mid_low;
    return count;
}

// Which 16x16 blocks are photographic: most of their pixels are mid-tones.
// Grown by one block so a photo's edges are screened too; a page where
// hardly anything is photographic (anti-aliased text) is thresholded whole
// (all false). Every other row of a block is looked at: a photograph's
// tones do not change from one row to the next, and the classification is
// a fifth of a text page's cost otherwise.
std::vector<char> photo_blocks(const GrayImage& image, int bx, int by) {
    std::vector<char> mid(static_cast<std::size_t>(bx) * by);
    std::vector<int> n(static_cast<std::size_t>(bx)), total(static_cast<std::size_t>(bx));
    long count = 0;
    for (int j = 0; j < by; ++j) {
        std::fill(n.begin(), n.end(), 0);
        std::fill(total.begin(), total.end(), 0);
        for (int y = j * block; y < std::min(image.height, (j + 1) * block); y += 2) {
            const std::uint8_t* row =
                image.pixels.data() + static_cast<std::size_t>(y) * image.width;
            for (int i = 0; i < bx; ++i) {
                const int w = std::min(block, image.width - i * block);
                n[i] += mid_tones(row + i * block, w);
                total[i] += w;
            }
        }
        for (int i = 0; i < bx; ++i)
            if (2 * n[i] > total[i]) {
                mid[j * bx + i] = 1;
                ++count;
            }
    }
    if (count * 100 < static_cast<long>(mid.size())) return std::vector<char>(mid.size(), 0);
    std::vector<char> grown(mid.size());
    for (int j = 0; j < by; ++j)
        for (int i = 0; i < bx; ++i)
            for (int dj = -1; dj <= 1; ++dj)
                for (int di = -1; di <= 1; ++di) {
                    const int ii = i + di, jj = j + dj;
                    if (ii >= 0 && jj >= 0 && ii < bx && jj < by && mid[jj * bx + ii])
                        grown[j * bx + i] = 1;
                }
    return grown;
}

// Row y of `image` cut at half grey onto page row py from column x0:
// flags first, then packed eight at a time (both loops vectorise).
void threshold_row(Page& page, const std::uint8_t* row, int width, int x0, int py,
                   std::vector<std::uint8_t>& flags) {
    const int x_begin = std::max(0, -x0), x_end = std::min(width, page.width - x0);
    if (x_begin >= x_end) return;
    std::fill(flags.begin(), flags.end(), 0);
    std::uint8_t* f = flags.data() + x0;
    for (int x = x_begin; x < x_end; ++x) f[x] = row[x] < 128;
    std::uint8_t* bits = page.bits.data() + static_cast<std::size_t>(py) * page.stride();
    const std::uint8_t* g = flags.data();
    for (int b = 0; b < page.stride(); ++b, g += 8)
        bits[b] |= static_cast<std::uint8_t>(g[0] << 7 | g[1] << 6 | g[2] << 5 | g[3] << 4 |
                                             g[4] << 3 | g[5] << 2 | g[6] << 1 | g[7]);
}

void floyd_steinberg(Page& page, const GrayImage& image, int x0, int y0) {
    std::vector<int> cur(image.width + 2), next(image.width + 2);
    for (int y = 0; y < image.height; ++y) {
        std::fill(next.begin(), next.end(), 0);
        for (int x = 0; x < image.width; ++x) {
            const int v = image.at(x, y) + cur[x + 1] / 16;
            const int out = v < 128 ? 0 : 255;
            if (out == 0) page.set_black(x0 + x, y0 + y);
            const int err = v - out;
            cur[x + 2] += err * 7;
            next[x] += err * 3;
            next[x + 1] += err * 5;
            next[x + 2] += err;
        }
        std::swap(cur, next);
    }
}

}  // namespace

GrayImage reduce_rows(const GrayImage& image, RowFilter filter) {
    GrayImage out;
    out.width = image.width;
    out.height = (image.height + 1) / 2;
    out.pixels.resize(static_cast<std::size_t>(out.width) * out.height);
    for (int y = 0; y < out.height; ++y) {
        const std::uint8_t* a = image.pixels.data() + static_cast<std::size_t>(2 * y) * image.width;
        const std::uint8_t* b = 2 * y + 1 < image.height ? a + image.width : a;
        std::uint8_t* o = out.pixels.data() + static_cast<std::size_t>(y) * out.width;
        if (filter == RowFilter::ink_sum)
            for (int x = 0; x < out.width; ++x)
                o[x] = static_cast<std::uint8_t>(std::max(0, a[x] + b[x] - 255));
        else
            for (int x = 0; x < out.width; ++x)
                o[x] = static_cast<std::uint8_t>((a[x] + b[x] + 1) / 2);
    }
    return out;
}

void gray_onto(Page& page, const GrayImage& image, int x0, int y0, Screening screening,
               const GrayImage* text) {
    if (screening == Screening::floyd_steinberg) return floyd_steinberg(page, image, x0, y0);
    if (!text) text = &image;
    const int bx = (image.width + block - 1) / block, by = (image.height + block - 1) / block;
    std::vector<char> photo;
    if (screening == Screening::automatic)
        photo = photo_blocks(image, bx, by);
    else
        photo.assign(static_cast<std::size_t>(bx) * by, screening == Screening::clustered_dot);
    const bool any_photo = std::find(photo.begin(), photo.end(), 1) != photo.end();
    // Text pages (the common case) skip the tone curve and the screen.
    const std::array<std::uint8_t, 256> map =
        any_photo ? levels_of(image, photo, bx) : std::array<std::uint8_t, 256>{};
    const Screen screen(page.resolution);
    std::vector<std::uint8_t> flags(static_cast<std::size_t>(page.width) + 8);
    for (int y = 0; y < image.height; ++y) {
        const int py = y0 + y;
        if (py < 0 || py >= page.height) continue;
        const char* blocks = photo.data() + static_cast<std::size_t>(y / block) * bx;
        const std::uint8_t* text_row =
            text->pixels.data() + static_cast<std::size_t>(y) * text->width;
        if (std::find(blocks, blocks + bx, 1) == blocks + bx) {
            threshold_row(page, text_row, image.width, x0, py, flags);
            continue;
        }
        const std::uint8_t* row = image.pixels.data() + static_cast<std::size_t>(y) * image.width;
        for (int x = 0; x < image.width; ++x) {
            const int px = x0 + x;
            if (px < 0 || px >= page.width) continue;
            // Screen positions are page positions, so neighbouring images
            // and blocks share one continuous screen.
            const bool ink =
                blocks[x / block] ? screen.black(px, py, 255 - map[row[x]]) : text_row[x] < 128;
            if (ink) page.set_black(px, py);
        }
    }
}

}  // namespace faxgw::render
