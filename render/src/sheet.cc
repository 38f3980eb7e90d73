// How a sheet of paper maps onto the fax page width.
#include "sheet.h"

#include <algorithm>

namespace faxgw::render {

namespace {

struct PaperSize {
    double width_in;
    double height_in;
};

PaperSize size_of(Paper paper) {
    switch (paper) {
        case Paper::a4:
            return {210 / 25.4, 297 / 25.4};
        case Paper::letter:
            return {8.5, 11};
        case Paper::legal:
            return {8.5, 14};
        case Paper::b4:
            return {250 / 25.4, 353 / 25.4};
    }
    throw Error("unknown paper");
}

}  // namespace

Sheet sheet_for(Paper paper, Resolution r) {
    const PaperSize size = size_of(paper);
    // Only shrink: a fax receiver prints at its own paper width, so 8.5 in
    // paper (1734 px) must lose a few pixels rather than be cropped.
    const int page_width = page_width_px(paper);
    const double fit = std::min(1.0, page_width / (size.width_in * fax_x_dpi));
    Sheet s;
    s.page_width = page_width;
    s.width_in = size.width_in;
    s.height_in = size.height_in;
    s.x_ppi = fax_x_dpi * fit;
    s.y_ppi = y_dpi(r) * fit;
    s.page_height = page_height_px(paper, r);
    s.origin_x = (page_width - size.width_in * s.x_ppi) / 2;
    s.origin_y = (s.page_height - size.height_in * s.y_ppi) / 2;
    return s;
}

}  // namespace faxgw::render
