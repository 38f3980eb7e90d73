// Private: Office documents through LibreOffice (office.cc).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "faxgw/render.h"

namespace faxgw::render {

// The document (of the type `extension` names: "docx", "odt", ...) as pages,
// converted by LibreOffice under bubblewrap. ResourceError if LibreOffice is
// missing, Error if it cannot convert the document.
std::vector<Page> render_office_in_process(std::string_view bytes, const std::string& extension,
                                           const Options& options);

// Writes the settings of a fresh LibreOffice profile (-env:UserInstallation
// names `profile`) that keep LibreOffice from reading what documents link
// to: link updating "never" in Writer and Calc, fields not updated on
// load, links from untrusted documents blocked.
void write_libreoffice_profile(const std::filesystem::path& profile);

}  // namespace faxgw::render
