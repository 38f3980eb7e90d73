// Private: rendering with Resolution::automatic (see auto_resolution.cc).
#pragma once

#include <utility>
#include <vector>

#include "faxgw/render.h"

namespace faxgw::render {

inline const std::vector<Page>& page_list(const std::vector<Page>& pages) { return pages; }
inline std::vector<Page> page_list(const Page& page) { return {page}; }

// Calls render(options) with a concrete resolution: the one asked for, or
// for Resolution::automatic fine first and, when legible_resolution says the
// document reads as well at standard, once more at standard (strokes_kept:
// see legible_resolution).
template <typename Render>
auto with_resolution(const Options& options, Render&& render, bool strokes_kept = false) {
    if (options.resolution != Resolution::automatic) return render(options);
    Options o = options;
    o.resolution = Resolution::fine;
    auto fine = render(o);
    if (legible_resolution(page_list(fine), strokes_kept) == Resolution::fine) return fine;
    o.resolution = Resolution::standard;
    return render(o);
}

}  // namespace faxgw::render
