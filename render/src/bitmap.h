// Private: turning 8-bit images into 1-bit fax pages.
#pragma once

#include <cstdint>

#include "faxgw/render.h"

namespace faxgw::render {

// An 8-bit image somebody else owns: one byte per pixel.
struct GrayView {
    const std::uint8_t* data = nullptr;
    int width = 0;
    int height = 0;
    int stride = 0;  // bytes per row
};

// Sets page pixels black where the image byte is at or above `threshold`
// (ink coverage) or, with `dark_is_low`, below it (luminance). The image is
// placed with its top left at (x0, y0); parts outside the page are dropped.
void threshold_onto(Page& page, const GrayView& image, int x0, int y0, std::uint8_t threshold,
                    bool dark_is_low);

}  // namespace faxgw::render
