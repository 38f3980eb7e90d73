// Shared by the faxcore tests: a temp state folder and synthetic documents
// whose pages differ from each other (so a page sent twice or out of order
// shows up in a pixel comparison).
#pragma once

#include <faxgw/faxcore.h>
#include <faxgw/render.h>

#include <filesystem>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "test_support.h"

namespace faxgw::faxcore {
// So that Boost.Test can print what it compares.
inline std::ostream& operator<<(std::ostream& os, JobState s) { return os << to_string(s); }
inline std::ostream& operator<<(std::ostream& os, Outcome o) { return os << describe(o).name; }
}  // namespace faxgw::faxcore

namespace faxgw::test {

// Pages with text-like blocks of ink, different on every page.
inline std::vector<render::Page> synthetic_pages(int count, render::Resolution res,
                                                 unsigned seed = 1) {
    std::mt19937 rng(seed);
    std::vector<render::Page> pages;
    const int height = render::page_height_px(render::Paper::a4, res);
    for (int p = 0; p < count; ++p) {
        auto page = render::Page::blank(height, res);
        for (int line = 0; line < 40; ++line) {
            int y0 = 100 + line * (height - 200) / 40;
            for (int word = 0; word < 12; ++word) {
                int x0 = 120 + word * 120 + static_cast<int>(rng() % 30);
                int w = 40 + static_cast<int>(rng() % 60), h = 6 + static_cast<int>(rng() % 10);
                for (int y = y0; y < y0 + h && y < height; ++y)
                    for (int x = x0; x < x0 + w && x < 1700; ++x)
                        if ((x / 9 + p) % 4 != 0) page.set_black(x, y);
            }
        }
        pages.push_back(std::move(page));
    }
    return pages;
}

// synthetic_pages on 2048-pixel (B4) pages, moved right by `shift` pixels
// so that the extra width is used.
inline std::vector<render::Page> wide_synthetic_pages(int count, int shift) {
    std::vector<render::Page> wide;
    for (const auto& page : synthetic_pages(count, render::Resolution::fine)) {
        auto w = render::Page::blank(page.height, page.resolution, render::b4_width_px);
        for (int y = 0; y < page.height; ++y)
            for (int x = 0; x < page.width; ++x)
                if (page.black(x, y)) w.set_black(x + shift, y);
        wide.push_back(std::move(w));
    }
    return wide;
}

inline std::filesystem::path write_document(const std::filesystem::path& dir,
                                            const std::string& name,
                                            const std::vector<render::Page>& pages) {
    std::filesystem::create_directories(dir);
    auto file = dir / name;
    render::write_fax_tiff(pages, file);
    return file;
}

inline faxcore::Submission submission(faxcore::Queue& q, const std::string& key,
                                      const std::vector<render::Page>& pages,
                                      std::vector<std::string> numbers) {
    faxcore::Submission s;
    s.document = write_document(q.scratch_dir(), key + ".tif", pages);
    s.pages = static_cast<int>(pages.size());
    s.origin_key = key;
    s.origin = R"({"test":true})";
    for (auto& n : numbers) s.destinations.push_back({n, n.substr(1)});
    return s;
}

}  // namespace faxgw::test
