// Halftoning for fax. What decides is the line time: a fax page costs about
// 8 s + its T.6 bytes at 14400 bit/s, and T.6 codes runs of equal pixels and
// their changes against the row above. Dispersed dithers (Floyd-Steinberg,
// Bayer) put a black/white change at almost every pixel and make a photo page
// cost 800-900 s. A screen whose rows repeat the row above costs least: T.6
// codes a change in the same place as above in one bit. So photographs are
// screened with horizontal lines, 51 to the inch (the viewing scale at which
// a reader sees tone, not pattern; see faxgw-bench-render's fidelity), each
// line growing in thickness with the ink: whole rows, which cost next to
// nothing, plus one partly filled row of 8-pixel dashes. A 45-degree dot
// screen of the same tone moves every edge by a pixel from row to row; on
// the sample photo page it cost twice the bytes of this screen, at the same
// fidelity.
#include "halftone.h"

#include <algorithm>
#include <cmath>

namespace faxgw::render {

namespace {

constexpr int block = 16;
// "Mid-tone" luminance: a photograph's, rather than paper, ink (scanned ink
// is often a dark grey) or the grey edges of anti-aliased glyphs.
constexpr std::uint8_t mid_low = 40, mid_high = 215;
// A block whose lightest pixel is darker than this has no paper in it: next
// to a photograph it is the photograph's shadow, not text.
constexpr std::uint8_t shadow_below = 128;

// Threshold tile of the line screen. A period of `rows` rows (0.5 mm: 2 at
// standard, 4 at fine, 8 at superfine) holds one line; its rows fill from
// the middle out, each one from left to right in 8-pixel dashes, so a tone
// between whole rows gives one row of dashes and the rows around it repeat
// their neighbours. The tile is two periods high: the second line's dashes
// are shifted by half a dash (the pattern does not form vertical stripes) and
// take every other rank, so the tile has 2 x rows x 8 tone steps (65 at
// fine), within 1 % of the ink asked for.
class Screen {
public:
    explicit Screen(Resolution r) {
        rows_ = std::max(2, static_cast<int>(std::lround(y_dpi(r) / 51.0)));
        std::vector<int> order(rows_);
        for (int y = 0; y < rows_; ++y) order[y] = y;
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
            return std::abs(2 * a + 1 - rows_) < std::abs(2 * b + 1 - rows_);
        });
        const int steps = 2 * rows_ * dash;
        levels_.resize(static_cast<std::size_t>(2 * rows_) * dash);
        int rank = 0;
        for (const int y : order)
            for (int x = 0; x < dash; ++x, ++rank) {
                level(y, x) = to_level(2 * rank, steps);
                level(rows_ + y, (x + dash / 2) % dash) = to_level(2 * rank + 1, steps);
            }
    }
    // True if a pixel of ink coverage `ink` (0 white .. 255 black) at page
    // position (x, y) is black.
    bool black(int x, int y, int ink) const {
        return ink > levels_[static_cast<std::size_t>(y % (2 * rows_)) * dash + x % dash];
    }

private:
    static constexpr int dash = 8;
    static std::uint8_t to_level(int rank, int steps) {
        return static_cast<std::uint8_t>(std::lround((rank + 0.5) / steps * 255));
    }
    std::uint8_t& level(int y, int x) { return levels_[static_cast<std::size_t>(y) * dash + x]; }
    int rows_ = 0;
    std::vector<std::uint8_t> levels_;
};

// Mid-tone pixels among `n` contiguous ones: a loop the compiler vectorises.
int mid_tones(const std::uint8_t* p, int n) {
    int count = 0;
    for (int i = 0; i < n; ++i)
        count += static_cast<std::uint8_t>(p[i] - mid_low) <= mid_high - mid_low;
    return count;
}

// Steps of more than 32 levels between neighbours among `n` contiguous
// pixels (and the one after them, if `n` < `all`).
int sharp_steps(const std::uint8_t* p, int n, int all) {
    int count = 0;
    const int last = std::min(n, all - 1);
    for (int i = 0; i < last; ++i) count += std::abs(p[i + 1] - p[i]) > 32;
    return count;
}

// The lightest of `n` contiguous pixels (vectorised too).
std::uint8_t lightest(const std::uint8_t* p, int n) {
    std::uint8_t most = 0;
    for (int i = 0; i < n; ++i) most = std::max(most, p[i]);
    return most;
}

// Blocks between photographic blocks, on the left and the right or above
// and below, within 8 blocks (a hand's breadth): a highlight or a shadow
// inside a photograph, such as the sun in a sky or a bright band along a
// ridge. Cut at half grey they would print as hard-edged white or black
// blots in the screened tones around them; screened they keep their tone
// (paper white and full black screen to themselves).
std::vector<char> fill_holes(const std::vector<char>& photo, int bx, int by) {
    constexpr int reach = 8;
    const auto is_photo = [&](int i, int j) {
        return i >= 0 && j >= 0 && i < bx && j < by && photo[j * bx + i];
    };
    const auto seen = [&](int i, int j, int di, int dj) {
        for (int k = 1; k <= reach; ++k)
            if (is_photo(i + k * di, j + k * dj)) return true;
        return false;
    };
    std::vector<char> filled = photo;
    for (int j = 0; j < by; ++j)
        for (int i = 0; i < bx; ++i)
            if (!photo[j * bx + i] && ((seen(i, j, -1, 0) && seen(i, j, 1, 0)) ||
                                       (seen(i, j, 0, -1) && seen(i, j, 0, 1))))
                filled[j * bx + i] = 1;
    return filled;
}

// The photo blocks spread into the shadow blocks they touch, and on through
// the shadows those touch: a photograph's dark parts (a night sky, the
// ground in shade, luminance below 40) are not mid-tones, and cut at half
// grey they printed solid black, the largest tone error on photo pages.
// Dark text on paper never joins: its blocks hold paper.
std::vector<char> spread_into_shadows(std::vector<char> photo, const std::vector<char>& shadow,
                                      int bx, int by) {
    std::vector<int> todo;
    for (int b = 0; b < bx * by; ++b)
        if (photo[b]) todo.push_back(b);
    while (!todo.empty()) {
        const int b = todo.back(), i = b % bx, j = b / bx;
        todo.pop_back();
        for (const auto& [di, dj] :
             {std::pair{-1, 0}, std::pair{1, 0}, std::pair{0, -1}, std::pair{0, 1}}) {
            const int ii = i + di, jj = j + dj, next = jj * bx + ii;
            if (ii < 0 || jj < 0 || ii >= bx || jj >= by || photo[next] || !shadow[next]) continue;
            photo[next] = 1;
            todo.push_back(next);
        }
    }
    return photo;
}

// Which 16x16 blocks are photographic: most of their pixels are mid-tones
// and few neighbours differ sharply (a scanned or blurred text block can be
// mostly grey glyph edges, but its edges are steep: in the sample scan a
// fifth to a half of its neighbours step by more than 32 levels, in 99 of
// 100 blocks of the sample photograph under 7 %; the limit is an eighth).
// Grown by one block so a photo's edges are screened too, into its
// shadows (see spread_into_shadows) and with its holes filled, which takes
// back a textured part that looked sharp (see fill_holes); a page where
// hardly anything is photographic is thresholded whole (all false). Every
// other row of a block is looked at: a photograph's tones do not change
// from one row to the next, and the classification is a fifth of a text
// page's cost otherwise.
std::vector<char> photo_blocks(const GrayImage& image, int bx, int by) {
    std::vector<char> mid(static_cast<std::size_t>(bx) * by), shadow(mid.size());
    std::vector<int> n(static_cast<std::size_t>(bx)), total(static_cast<std::size_t>(bx)),
        sharp(static_cast<std::size_t>(bx));
    std::vector<std::uint8_t> light(static_cast<std::size_t>(bx));
    long count = 0;
    for (int j = 0; j < by; ++j) {
        std::fill(n.begin(), n.end(), 0);
        std::fill(total.begin(), total.end(), 0);
        std::fill(light.begin(), light.end(), 0);
        std::fill(sharp.begin(), sharp.end(), 0);
        for (int y = j * block; y < std::min(image.height, (j + 1) * block); y += 2) {
            const std::uint8_t* row =
                image.pixels.data() + static_cast<std::size_t>(y) * image.width;
            for (int i = 0; i < bx; ++i) {
                const int w = std::min(block, image.width - i * block);
                n[i] += mid_tones(row + i * block, w);
                total[i] += w;
                light[i] = std::max(light[i], lightest(row + i * block, w));
                sharp[i] += sharp_steps(row + i * block, w, image.width - i * block);
            }
        }
        for (int i = 0; i < bx; ++i) {
            shadow[j * bx + i] = light[i] < shadow_below;
            if (2 * n[i] > total[i] && 8 * sharp[i] < total[i]) {
                mid[j * bx + i] = 1;
                ++count;
            }
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
    return fill_holes(spread_into_shadows(std::move(grown), shadow, bx, by), bx, by);
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
        photo.assign(static_cast<std::size_t>(bx) * by, screening == Screening::line_screen);
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
            // and blocks share one continuous screen. Tones are screened as
            // they are, not stretched: the source's tone is the goal.
            const bool ink =
                blocks[x / block] ? screen.black(px, py, 255 - row[x]) : text_row[x] < 128;
            if (ink) page.set_black(px, py);
        }
    }
}

}  // namespace faxgw::render
