// Private: renderers that hand out pages one at a time, for
// render_document_to_tiff (memory of a page or two, whatever the length).
#pragma once

#include <filesystem>
#include <functional>
#include <string_view>

#include "faxgw/render.h"

namespace faxgw::render {

// Receives each page as it is drawn, with the document's page count.
using PageSink = std::function<void(Page&& page, int count)>;

// render_pdf at a concrete resolution (not automatic), page by page; the
// same checks and Errors as render_pdf.
void render_pdf_pages(std::string_view pdf_bytes, const Options& options, const PageSink& sink);

// render_pdf written to `out` (FaxTiffWriter) page by page, automatic
// resolution included (a second pass at standard when it suffices). Returns
// the page count.
int render_pdf_to_tiff(std::string_view pdf_bytes, const Options& options,
                       const std::filesystem::path& out);

}  // namespace faxgw::render
