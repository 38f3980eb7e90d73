// Private: where a sheet of paper lands on a fax page.
#pragma once

#include "faxgw/render.h"

namespace faxgw::render {

// A sheet of the chosen paper mapped onto a fax page. Paper wider than the
// page at 204 dpi (Letter, Legal: 1734 of 1728 px) is scaled down uniformly
// so it fits; narrower paper (A4: 1687 px, B4: 2008 of 2048) is centred.
struct Sheet {
    double width_in = 0;  // paper size in inches
    double height_in = 0;
    double x_ppi = 0;  // device pixels per inch of paper, across and down
    double y_ppi = 0;
    double origin_x = 0;  // device pixel where the paper's top left lands
    double origin_y = 0;
    int page_width = 0;   // pixels across the fax page (page_width_px)
    int page_height = 0;  // rows of the fax page
};

Sheet sheet_for(Paper paper, Resolution r);

}  // namespace faxgw::render
