// Fuzz target "tiff": a TIFF as a sender attaches it or a receiver's
// library writes it, read as fax pages one at a time, as submit() joins
// them; wide (B4) pages are also narrowed, as for a receiver without B4,
// and the tag checks narrow_fax_tiff and tiff_to_pdf make are run.
#include <faxgw/render.h>

#include "fuzz_target.h"
#include "tiff_file.h"

namespace {

using namespace faxgw::render;

void read_pages(const std::filesystem::path& file) {
    FaxTiffReader reader(file);
    faxgw::fuzz::require(reader.pages() >= 0, "a page count is not negative");
    while (auto page = reader.next()) {
        faxgw::fuzz::require(
            page->bits.size() == static_cast<std::size_t>(page->stride()) * page->height,
            "a page holds stride x height bytes");
        // Narrowed up to the height of an A4 page at standard resolution:
        // a taller page only repeats rows (narrow_page works row by row and
        // block by block), and one of 6,000 rows took 280 ms under the
        // fuzzer's comparison tracing, 65,536 rows (which the reader allows)
        // seconds; such inputs starved the campaign of executions.
        if (page->width == b4_width_px && page->height <= 1143) {
            const Page narrow = narrow_page(*page);
            faxgw::fuzz::require(narrow.width == fax_width_px, "a narrowed page is 1728 wide");
        }
    }
}

template <typename Fn>
void refused_or_done(Fn fn) {
    try {
        fn();
    } catch (const Error&) {
        // refused with a line naming the file
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static faxgw::fuzz::MemoryFile file;
    const auto path = file.hold(faxgw::fuzz::bytes_of(data, size));
    refused_or_done([&] { read_pages(path); });
    refused_or_done([&] { is_fax_tiff(path); });
    refused_or_done([&] { widest_page(path); });
    refused_or_done([&] { is_single_strip_g4(path); });
    return 0;
}
