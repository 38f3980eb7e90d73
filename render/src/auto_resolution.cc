// Resolution::automatic: the lowest resolution at which a document stays
// legible, decided from its pages rendered at fine.
//
// What is measured, per page, on the ink's 8-connected components (found
// from runs of black pixels with a union-find, ~2 ms per page):
//  - text height: the median height of glyph-sized components (0.5 to 20 mm
//    tall, not wider than 4 times their height nor 40 mm). Half the
//    components of running text are x-height letters, so this is close to
//    the x-height.
//  - stroke: the median length of the vertical runs of ink inside those
//    components, i.e. how thick horizontal strokes are. Standard keeps every
//    other row, so a stroke under 2 fine rows may vanish or break up.
//  - picture: halftone dots or large solid areas (a photograph, a scan).
// A document goes at standard only if every page with ink has text at least
// min_text_height tall with strokes of at least min_stroke, and no picture.
//
// The limits come from Tesseract readings of samples/docs/letter.txt in
// DejaVu Sans Mono at several sizes (faxgw-bench-render prints the table).
// Character accuracy standard / fine and the text height measured here:
//    5 pt 0.974 / 0.999  1.04 mm     8 pt 0.995 / 1.000  1.56 mm
//    6 pt 0.986 / 0.998  1.17 mm     9 pt 0.997 / 1.000  1.81 mm
//    7 pt 0.991 / 1.000  1.43 mm    10.5 pt 0.999 / 0.999  2.07 mm
// The goal is standard wherever standard reads at 0.99 or better: 7 pt
// (1.43 mm) does, 6 pt (1.17 mm) does not, so the limit is 1.4 mm.
// PDF pages at standard are drawn at fine and reduced keeping ink
// (pdf.cc), so serif body type keeps its hairlines there: Times from
// samples/docs/serif-letter-*.pdf reads 0.995 at standard at 9 pt (x-height
// 1.43 mm) and 1.000 at 11 pt, and both go at standard. Strokes one fine row thick
// (hairlines) would break up at standard. 12 pt Times through poppler (1.94
// mm, 2-row strokes) reads 1.000 at standard. At standard a page costs about
// 15-30 % less line time (fax-facts: 24 s against 35 s for dense text).
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "faxgw/render.h"

namespace faxgw::render {

namespace {

constexpr double mm_per_row_fine = 25.4 / 196;
constexpr double min_text_height_mm = 1.4;
constexpr double min_stroke_rows = 1.5;  // fine rows (runs are whole rows: 1 fails, 2 passes)

struct Run {
    int x0, x1;  // inclusive
    int label;
};

class UnionFind {
public:
    int make() {
        parent_.push_back(static_cast<int>(parent_.size()));
        return parent_.back();
    }
    int find(int a) {
        while (parent_[a] != a) a = parent_[a] = parent_[parent_[a]];
        return a;
    }
    void unite(int a, int b) {
        a = find(a);
        b = find(b);
        if (a != b) parent_[std::max(a, b)] = std::min(a, b);
    }
    std::size_t size() const { return parent_.size(); }

private:
    std::vector<int> parent_;
};

struct Box {
    int left = 1 << 30, top = 1 << 30, right = -1, bottom = -1;
    long pixels = 0;
    int width() const { return right - left + 1; }
    int height() const { return bottom - top + 1; }
};

std::vector<Run> runs_of_row(const Page& page, int y) {
    std::vector<Run> runs;
    const std::uint8_t* row = page.bits.data() + static_cast<std::size_t>(y) * page.stride();
    int x = 0;
    while (x < page.width) {
        if (row[x / 8] == 0 && x % 8 == 0) {
            x += 8;
            continue;
        }
        if (!(row[x / 8] & (0x80 >> (x % 8)))) {
            ++x;
            continue;
        }
        const int start = x;
        while (x < page.width && (row[x / 8] & (0x80 >> (x % 8)))) ++x;
        runs.push_back({start, x - 1, -1});
    }
    return runs;
}

template <typename T>
double median(std::vector<T> v) {
    if (v.empty()) return 0;
    const auto mid = v.begin() + static_cast<long>(v.size() / 2);
    std::nth_element(v.begin(), mid, v.end());
    return static_cast<double>(*mid);
}

}  // namespace

PageLegibility measure_legibility(const Page& page) {
    PageLegibility m;
    // Components, with the runs of each row labelled.
    UnionFind uf;
    std::vector<std::vector<Run>> rows(static_cast<std::size_t>(page.height));
    long ink = 0;
    for (int y = 0; y < page.height; ++y) {
        std::vector<Run>& cur = rows[static_cast<std::size_t>(y)];
        cur = runs_of_row(page, y);
        const std::vector<Run>* prev = y > 0 ? &rows[static_cast<std::size_t>(y - 1)] : nullptr;
        std::size_t j = 0;
        for (Run& r : cur) {
            ink += r.x1 - r.x0 + 1;
            if (prev) {
                while (j < prev->size() && (*prev)[j].x1 < r.x0 - 1) ++j;
                for (std::size_t k = j; k < prev->size() && (*prev)[k].x0 <= r.x1 + 1; ++k) {
                    if (r.label < 0)
                        r.label = (*prev)[k].label;
                    else
                        uf.unite(r.label, (*prev)[k].label);
                }
            }
            if (r.label < 0) r.label = uf.make();
        }
    }
    m.ink = static_cast<double>(ink) / (static_cast<double>(page.width) * std::max(1, page.height));
    if (ink == 0) return m;
    std::vector<Box> boxes(uf.size());
    for (int y = 0; y < page.height; ++y)
        for (Run& r : rows[static_cast<std::size_t>(y)]) {
            r.label = uf.find(r.label);
            Box& b = boxes[static_cast<std::size_t>(r.label)];
            b.left = std::min(b.left, r.x0);
            b.right = std::max(b.right, r.x1);
            b.top = std::min(b.top, y);
            b.bottom = std::max(b.bottom, y);
            b.pixels += r.x1 - r.x0 + 1;
        }
    // Rows per mm of this page (fine 7.7, standard 3.9).
    const double rows_per_mm = y_dpi(page.resolution) / 25.4;
    const double cols_per_mm = fax_x_dpi / 25.4;
    std::vector<char> glyph(boxes.size(), 0);
    std::vector<int> heights;
    long dots = 0, big_ink = 0;
    for (std::size_t i = 0; i < boxes.size(); ++i) {
        const Box& b = boxes[i];
        if (b.pixels == 0) continue;
        const double h_mm = b.height() / rows_per_mm, w_mm = b.width() / cols_per_mm;
        if (h_mm < 0.4 && w_mm < 0.4) ++dots;
        if (h_mm >= 0.5 && h_mm <= 20 && w_mm <= 4 * h_mm && w_mm <= 40) {
            glyph[i] = 1;
            heights.push_back(b.height());
        } else if (h_mm > 20 || w_mm > 40) {
            // Large: a frame or rule (little ink for its box) or a picture.
            const double fill = static_cast<double>(b.pixels) / (double(b.width()) * b.height());
            if (fill > 0.2) big_ink += b.pixels;
        }
    }
    // Vertical runs of ink (horizontal stroke thickness) inside glyphs.
    std::vector<int> strokes;
    std::vector<int> run_start(static_cast<std::size_t>(page.width), -1);
    for (int y = 0; y <= page.height; ++y) {
        for (int x = 0; x < page.width; x += 1) {
            const bool black = y < page.height && page.black(x, y);
            int& s = run_start[static_cast<std::size_t>(x)];
            if (black && s < 0) s = y;
            if (!black && s >= 0) {
                // Sample the glyph test at the run's first pixel.
                const auto& row = rows[static_cast<std::size_t>(s)];
                const auto it = std::lower_bound(row.begin(), row.end(), x,
                                                 [](const Run& r, int v) { return r.x1 < v; });
                if (it != row.end() && it->x0 <= x && glyph[static_cast<std::size_t>(it->label)])
                    strokes.push_back(y - s);
                s = -1;
            }
        }
    }
    m.glyphs = static_cast<int>(heights.size());
    m.text_height_mm = median(heights) / rows_per_mm;
    m.stroke_mm = median(strokes) / rows_per_mm;
    m.picture = dots > 2000 || static_cast<double>(big_ink) > 0.02 * page.width * page.height;
    return m;
}

Resolution legible_resolution(const std::vector<Page>& pages, bool strokes_kept) {
    for (const Page& p : pages) {
        const PageLegibility m = measure_legibility(p);
        if (m.ink == 0) continue;
        if (m.picture) return Resolution::fine;
        if (m.glyphs == 0) return Resolution::fine;  // drawings only: keep thin lines
        if (m.text_height_mm < min_text_height_mm) return Resolution::fine;
        if (!strokes_kept && m.stroke_mm < min_stroke_rows * mm_per_row_fine)
            return Resolution::fine;
    }
    return Resolution::standard;  // (blank pages too)
}

}  // namespace faxgw::render
