// compose_fax(): parts in, one fax document (and its narrow copy) out.
#include <faxgw/mailgw.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <optional>
#include <system_error>

namespace faxgw::mailgw {
namespace {

// A new empty file in `dir`, for render to write into.
std::filesystem::path make_scratch_file(const std::filesystem::path& dir) {
    std::string name = (dir / "mail-XXXXXX.tif").string();
    int fd = mkstemps(name.data(), 4);
    if (fd < 0)
        throw render::ResourceError("cannot create a scratch file in " + dir.string() + ": " +
                                    std::generic_category().message(errno));
    ::close(fd);
    return name;
}

void remove_quietly(const std::filesystem::path& path) {
    std::error_code ignored;
    if (!path.empty()) std::filesystem::remove(path, ignored);
}

// A scratch file that is gone again when compose_fax returns.
class ScratchFile {
public:
    explicit ScratchFile(const std::filesystem::path& dir) : path_(make_scratch_file(dir)) {}
    ~ScratchFile() { remove_quietly(path_); }
    ScratchFile(const ScratchFile&) = delete;
    ScratchFile& operator=(const ScratchFile&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// Runs a step that only reads and writes the gateway's own files: whatever
// goes wrong there (disk full, folder gone) is the gateway's fault, never
// the document's, even where render reports it as render::Error.
template <typename Step>
auto own_files(const char* what, Step step) {
    try {
        return step();
    } catch (const render::ResourceError&) {
        throw;
    } catch (const std::exception& e) {
        throw render::ResourceError(std::string(what) + ": " + e.what());
    }
}

// Why the gateway may have failed a document itself: its scratch folder
// (where the renderer, Ghostscript and LibreOffice write) or TMPDIR nearly
// full, or not writable. A renderer's child reports a failed write as the
// document's error (a TIFF it could not write looks like one it could not
// make), so while room is short a refusal is deferred instead: that costs
// a damaged document a retry, where bouncing would lose a good one.
std::optional<std::string> short_of_room(const std::filesystem::path& scratch_dir,
                                         std::size_t input_bytes) {
    const std::uintmax_t margin = (std::uintmax_t{8} << 20) + 4 * std::uintmax_t{input_bytes};
    std::error_code ec;
    auto tmp = std::filesystem::temp_directory_path(ec);
    for (const auto& dir : {scratch_dir, tmp}) {
        if (dir.empty()) continue;
        auto space = std::filesystem::space(dir, ec);
        if (!ec && space.available < margin) return dir.string() + " is nearly full";
        if (::access(dir.c_str(), W_OK) != 0) return dir.string() + " is not writable";
    }
    return std::nullopt;
}

struct RenderedPart {
    std::unique_ptr<ScratchFile> file;
    int pages = 0;
};

std::string name_of(const DocumentPart& part) {
    return part.name.empty() ? "without a name" : part.name;
}

// Text already decoded to UTF-8 is laid out directly; everything else is an
// untrusted document that render sniffs and renders in a child process,
// straight into the file, so that a long attachment is never held whole.
int render_part(const DocumentPart& part, const render::Options& options,
                const std::filesystem::path& out) {
    auto write_pages = [&](const std::vector<render::Page>& pages) {
        own_files("cannot write a rendered part", [&] {
            if (!pages.empty()) render::write_fax_tiff(pages, out);
        });
        return static_cast<int>(pages.size());
    };
    switch (part.kind) {
        case DocumentPart::Kind::text:
            return write_pages(render::render_text(part.content, options));
        case DocumentPart::Kind::html:
            return write_pages(render::render_html(part.content, part.inline_images, options));
        case DocumentPart::Kind::document:
            break;
    }
    try {
        return render::render_document_to_tiff(part.content, part.type, name_of(part), options,
                                               out);
    } catch (const render::Error& e) {
        if (auto shortage = short_of_room(out.parent_path(), part.content.size()))
            throw render::ResourceError(std::string(e.what()) + " (" + *shortage + ")");
        throw;
    }
}

std::vector<RenderedPart> render_parts(const std::vector<DocumentPart>& parts,
                                       const ComposeOptions& options,
                                       const std::filesystem::path& scratch_dir) {
    std::vector<RenderedPart> rendered;
    int pages = 0;
    const double cpu_before = render::children_cpu_seconds();
    for (const auto& part : parts) {
        RenderedPart r{std::make_unique<ScratchFile>(scratch_dir), 0};
        r.pages = render_part(part, options.render, r.file->path());
        // A blank text body is nothing; a document without pages is a
        // document the sender meant to send that would silently go missing.
        if (r.pages == 0 && part.kind != DocumentPart::Kind::text)
            throw render::Error("attachment " + name_of(part) + " (" + part.type +
                                ") has no pages to fax");
        pages += r.pages;
        // Stop at the part that crosses the limit: each part may have up to
        // max_pages of its own, and a thousand of them must not be rendered
        // before the sum is refused.
        if (pages > options.render.max_pages)
            throw render::LimitError(options.what + " has at least " + std::to_string(pages) +
                                     " pages, more than the limit of " +
                                     std::to_string(options.render.max_pages));
        if (render::children_cpu_seconds() - cpu_before > options.render.total_cpu_seconds)
            throw render::LimitError(options.what + " needs more than " +
                                     std::to_string(options.render.total_cpu_seconds) +
                                     " s of processor time to render (limit reached at " +
                                     (part.name.empty() ? "a part without a name" : part.name) +
                                     ")");
        if (r.pages > 0) rendered.push_back(std::move(r));
    }
    if (pages == 0) throw render::Error(options.what + " has nothing to fax");
    return rendered;
}

// Joins the cover and the parts into the fax document, stamping the header
// line on each page as it passes, numbered over the whole fax (cover
// included) as the law (e.g. US TCPA) wants. One page is in memory at a time.
int join_pages(const std::optional<render::Page>& cover, const std::vector<RenderedPart>& parts,
               int total, const render::HeaderInfo& header, const std::filesystem::path& out) {
    render::HeaderInfo one_time = header;
    if (one_time.time == 0) one_time.time = std::time(nullptr);
    render::FaxTiffWriter writer(out, total);
    auto add = [&](render::Page page) {
        render::stamp_header(page, writer.pages() + 1, total, one_time);
        writer.append(page);
    };
    if (cover) add(*cover);
    for (const auto& part : parts) {
        render::FaxTiffReader reader(part.file->path());
        while (auto page = reader.next()) add(std::move(*page));
    }
    writer.close();
    return writer.pages();
}

}  // namespace

render::CoverInfo cover_of(const CoverSettings& settings) {
    render::CoverInfo info;
    info.template_text = settings.template_text;
    if (settings.logo.empty()) return info;
    std::ifstream in(settings.logo, std::ios::binary);
    info.logo.assign(std::istreambuf_iterator<char>(in), {});
    if (!in.is_open() || info.logo.empty())
        throw ConfigurationError("cover logo " + settings.logo.string() + " cannot be read");
    return info;
}

ComposedFax::ComposedFax(const std::filesystem::path& scratch_dir)
    : document(make_scratch_file(scratch_dir)) {}

ComposedFax::~ComposedFax() {
    remove_quietly(document);
    remove_quietly(narrow_document);
}

namespace {

// One document: the cover (if any), the rendered parts, the narrow copy.
std::unique_ptr<ComposedFax> join_document(const std::vector<RenderedPart>& rendered,
                                           const render::CoverInfo* cover_info,
                                           const ComposeOptions& options,
                                           const std::filesystem::path& scratch_dir) {
    int document_pages = 0;
    for (const auto& part : rendered) document_pages += part.pages;
    std::optional<render::Page> cover;
    if (cover_info) {
        render::CoverInfo info = *cover_info;
        info.pages = document_pages;
        try {
            cover = render::render_cover(info, options.render);
        } catch (const render::Error& e) {
            // The cover is drawn from the settings (template, logo).
            throw ConfigurationError(std::string("cover page: ") + e.what());
        }
    }
    auto fax = std::make_unique<ComposedFax>(scratch_dir);
    const int total = document_pages + (cover ? 1 : 0);
    fax->pages = own_files("cannot write the fax document", [&] {
        return join_pages(cover, rendered, total, options.header, fax->document);
    });
    // B4 pages (or a wide TIFF attachment) go to most receivers narrowed.
    auto narrow = make_scratch_file(scratch_dir);
    bool wide = own_files("cannot write the narrow copy", [&] {
        try {
            return render::narrow_fax_tiff(fax->document, narrow);
        } catch (...) {
            remove_quietly(narrow);
            throw;
        }
    });
    if (wide)
        fax->narrow_document = narrow;
    else
        remove_quietly(narrow);
    return fax;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::vector<std::unique_ptr<ComposedFax>> compose_fax(const std::vector<DocumentPart>& parts,
                                                      const ComposeOptions& asked,
                                                      const std::filesystem::path& scratch_dir) {
    auto started = std::chrono::steady_clock::now();
    ComposeOptions options = asked;
    // The renderers' working folders go there too, where the spool sweep
    // finds what a killed submit leaves.
    options.render.scratch_folder = scratch_dir;
    // Once for every document: a cover names one receiver, the parts are
    // the same for all.
    const auto rendered = render_parts(parts, options, scratch_dir);
    std::vector<std::unique_ptr<ComposedFax>> faxes;
    auto add = [&](const render::CoverInfo* cover) {
        faxes.push_back(join_document(rendered, cover, options, scratch_dir));
        // The parts' rendering is counted with the first document.
        faxes.back()->render_seconds = seconds_since(started);
        started = std::chrono::steady_clock::now();
    };
    if (options.covers.empty()) add(nullptr);
    for (const auto& cover : options.covers) add(&cover);
    return faxes;
}

}  // namespace faxgw::mailgw
