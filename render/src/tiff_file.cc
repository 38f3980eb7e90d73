// libtiff handles with per-file error collection.
#include "tiff_file.h"

#include <cstdarg>
#include <cstdio>

#include "faxgw/render.h"

namespace faxgw::render {

namespace {

int collect_error(TIFF*, void* user_data, const char* module, const char* fmt, va_list ap) {
    auto& errors = *static_cast<std::string*>(user_data);
    char message[512];
    std::vsnprintf(message, sizeof message, fmt, ap);
    if (!errors.empty()) errors += "; ";
    if (module && *module) errors += std::string(module) + ": ";
    errors += message;
    return 1;  // handled: do not pass on to the global (stderr) handler
}

int ignore_warning(TIFF*, void*, const char*, const char*, va_list) {
    // Warnings are about tags we do not use (e.g. private tags in received
    // faxes); printing them would only clutter the log.
    return 1;
}

struct OptionsDeleter {
    void operator()(TIFFOpenOptions* o) const { TIFFOpenOptionsFree(o); }
};

}  // namespace

TiffFile::TiffFile(const std::filesystem::path& file, const char* mode) {
    std::unique_ptr<TIFFOpenOptions, OptionsDeleter> opts(TIFFOpenOptionsAlloc());
    TIFFOpenOptionsSetErrorHandlerExtR(opts.get(), collect_error, &errors_);
    TIFFOpenOptionsSetWarningHandlerExtR(opts.get(), ignore_warning, nullptr);
    tif_ = TIFFOpenExt(file.c_str(), mode, opts.get());
    if (!tif_) {
        throw Error(errors_.empty() ? "cannot open TIFF" : "cannot open TIFF: " + errors_);
    }
}

TiffFile::~TiffFile() {
    if (tif_) TIFFClose(tif_);
}

void TiffFile::fail(const std::string& what) const {
    throw Error(errors_.empty() ? what : what + ": " + errors_);
}

void TiffFile::close() {
    const bool flushed = TIFFFlush(tif_) == 1;
    TIFFClose(tif_);
    tif_ = nullptr;
    if (!flushed || !errors_.empty()) fail("cannot write TIFF");
}

void replace_file(const std::filesystem::path& from, const std::filesystem::path& to) {
    std::error_code ec;
    std::filesystem::rename(from, to, ec);
    if (ec) throw Error("cannot create " + to.filename().string() + ": " + ec.message());
}

}  // namespace faxgw::render
