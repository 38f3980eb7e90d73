// Private: running a renderer in a child process under limits, seeing
// nothing but its scratch folder (run_isolated is declared in the public
// header).
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "faxgw/render.h"

namespace faxgw::render {

// A fresh empty file (mkstemp) in `dir` (empty: temp_folder()), removed
// with its ".partial" companion (FaxTiffWriter's) when this goes.
// ResourceError if it cannot be made.
class TempFile {
public:
    explicit TempFile(const std::filesystem::path& dir = {},
                      const std::string& prefix = "faxgw-pages-");
    ~TempFile();
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// Writes a document's pages as a fax TIFF to the file given (none if it has
// no pages) and returns how many.
using PageProducer = std::function<std::size_t(const std::filesystem::path& file)>;

// run_isolated's child process, limits and errors, with the child writing
// the fax TIFF `out` itself through `produce` (run_isolated's producer
// renders the whole vector first). The child cannot see `out`'s folder: it
// writes into its scratch folder, and the file is moved to `out` when the
// child is done. Returns the page count the child reported.
std::size_t run_isolated_to_file(const std::string& name, const PageProducer& produce,
                                 const std::filesystem::path& out, const Options& options);

// On leaving its scope, waits until the process has no more threads than it
// had on entering it (5 s at most). Pango (1.50) matches and sorts the fonts
// for each new font description in threads of its own, which end by
// themselves a few milliseconds after Pango has returned. A renderer forked
// while one still runs is left the locks that thread held at that moment
// (fontconfig's; under AddressSanitizer the allocator's, which its fork does
// not take), held for good: it waits on them until its wall-clock limit. So
// render's Pango calls in the caller's own process run in such a scope: the
// header line, the cover page, and render_text with isolate off.
class PangoThreadsEnd {
public:
    PangoThreadsEnd();
    ~PangoThreadsEnd();
    PangoThreadsEnd(const PangoThreadsEnd&) = delete;
    PangoThreadsEnd& operator=(const PangoThreadsEnd&) = delete;

private:
    std::size_t threads_before_;
};

}  // namespace faxgw::render
