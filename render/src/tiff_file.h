// Private: libtiff handles that report errors into a string instead of
// printing them to stderr.
#pragma once

#include <tiffio.h>

#include <filesystem>
#include <memory>
#include <string>

#include "faxgw/render.h"

namespace faxgw::render {

// An open TIFF plus what libtiff complained about while using it. The
// handlers are per file (TIFFOpenExt), not process-wide, so other parts of
// the program that use libtiff (spandsp) keep their own handling and
// concurrent renders do not mix their messages.
class TiffFile {
public:
    // mode as for TIFFOpen ("r", "w"). Throws Error on failure.
    TiffFile(const std::filesystem::path& file, const char* mode);
    TiffFile(const TiffFile&) = delete;
    TiffFile& operator=(const TiffFile&) = delete;
    ~TiffFile();

    TIFF* get() const { return tif_; }
    const std::string& errors() const { return errors_; }
    // Throws Error "what: <libtiff's last message>".
    [[noreturn]] void fail(const std::string& what) const;
    // Flushes and closes; throws if libtiff reported an error while writing.
    void close();

private:
    std::string errors_;
    TIFF* tif_ = nullptr;
};

}  // namespace faxgw::render

namespace faxgw::render {

// True if every page of the TIFF is 1 bit deep and 1728 pixels wide, i.e.
// read_fax_tiff can read it. Throws Error if the file cannot be read at all.
// Runs fn, prefixing the message of any Error with the file's name.
template <typename Fn>
auto naming_file(const std::filesystem::path& file, Fn fn) {
    try {
        return fn();
    } catch (const Error& e) {
        throw Error(file.filename().string() + ": " + e.what());
    }
}

// Renames a finished temporary file over its target; throws Error.
void replace_file(const std::filesystem::path& from, const std::filesystem::path& to);

bool is_fax_tiff(const std::filesystem::path& file);

// The largest ImageWidth of any page, read from the tags (nothing decoded).
std::uint32_t widest_page(const std::filesystem::path& file);

// Whether every page is G4 in a single strip:
// tiff2pdf passes only single-strip G4 data through untouched.
bool is_single_strip_g4(const std::filesystem::path& file);

}  // namespace faxgw::render
