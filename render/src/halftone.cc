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
std::array<std::uint8_t, 256> levels_of(const GrayImage& image, const std::vector<bool>& photo,
                                        int blocks_x) {
    std::array<long, 256> hist{};
    long total = 0;
    for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x)
            if (photo[(y / block) * blocks_x + x / block]) {
                ++hist[image.at(x, y)];
                ++total;
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

// Which 16x16 blocks are photographic: most of their pixels are mid-tones.
// Grown by one block so a photo's edges are screened too; a page where
// hardly anything is photographic (anti-aliased text) is thresholded whole.
std::vector<bool> photo_blocks(const GrayImage& image, int bx, int by) {
    std::vector<bool> mid(static_cast<std::size_t>(bx) * by);
    long count = 0;
    for (int j = 0; j < by; ++j)
        for (int i = 0; i < bx; ++i) {
            int n = 0, total = 0;
            for (int y = j * block; y < std::min(image.height, (j + 1) * block); ++y)
                for (int x = i * block; x < std::min(image.width, (i + 1) * block); ++x) {
                    const std::uint8_t v = image.at(x, y);
                    n += v >= mid_low && v <= mid_high;
                    ++total;
                }
            if (2 * n > total) {
                mid[j * bx + i] = true;
                ++count;
            }
        }
    if (count * 100 < static_cast<long>(mid.size())) return std::vector<bool>(mid.size(), false);
    std::vector<bool> grown(mid.size());
    for (int j = 0; j < by; ++j)
        for (int i = 0; i < bx; ++i)
            for (int dj = -1; dj <= 1; ++dj)
                for (int di = -1; di <= 1; ++di) {
                    const int ii = i + di, jj = j + dj;
                    if (ii >= 0 && jj >= 0 && ii < bx && jj < by && mid[jj * bx + ii])
                        grown[j * bx + i] = true;
                }
    return grown;
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

void gray_onto(Page& page, const GrayImage& image, int x0, int y0, Screening screening) {
    if (screening == Screening::floyd_steinberg) return floyd_steinberg(page, image, x0, y0);
    const int bx = (image.width + block - 1) / block, by = (image.height + block - 1) / block;
    std::vector<bool> photo;
    if (screening == Screening::automatic)
        photo = photo_blocks(image, bx, by);
    else
        photo.assign(static_cast<std::size_t>(bx) * by, screening == Screening::clustered_dot);
    const std::array<std::uint8_t, 256> map = levels_of(image, photo, bx);
    const Screen screen(page.resolution);
    for (int y = 0; y < image.height; ++y) {
        const int py = y0 + y;
        if (py < 0 || py >= page.height) continue;
        for (int x = 0; x < image.width; ++x) {
            const int px = x0 + x;
            if (px < 0 || px >= page.width) continue;
            const std::uint8_t v = image.at(x, y);
            // Screen positions are page positions, so neighbouring images
            // and blocks share one continuous screen.
            const bool ink =
                photo[(y / block) * bx + x / block] ? screen.black(px, py, 255 - map[v]) : v < 128;
            if (ink) page.set_black(px, py);
        }
    }
}

}  // namespace faxgw::render
