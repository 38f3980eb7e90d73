// Public interface of render/: turns documents into fax pages and fax pages
// into files. render knows nothing of queues, lines or mail.
//
// A fax page is 1728 pixels wide (215 mm, the width every fax machine
// prints), or 2048 (255 mm) for B4 paper, 1 bit deep, 204 dpi across and 98,
// 196 or 391 lines per inch down: the geometry spandsp 0.0.6 sends. Only
// some receivers take 2048-pixel pages, so a fax that has them is also kept
// as narrow_fax_tiff makes it, for the others.
#pragma once

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace faxgw::render {

inline constexpr int fax_width_px = 1728;
inline constexpr int b4_width_px = 2048;
inline constexpr int fax_x_dpi = 204;

// `automatic` ("auto") is a request, never a page's resolution: each
// renderer given Options with it renders the document at fine, asks
// legible_resolution and renders it again at standard if that suffices, so
// every Page it returns is standard or fine (one resolution per document;
// a fax of several documents may mix them). y_dpi and page_height_px throw
// Error for it.
enum class Resolution { standard, fine, superfine, automatic };
int y_dpi(Resolution r);  // 98, 196, 391
Resolution parse_resolution(
    std::string_view name);  // "standard" | "fine" | "superfine" | "auto"; throws Error
std::string_view to_string(Resolution r);  // automatic: "auto"

// B4 is ISO B4 (250 x 353 mm) on 2048-pixel pages.
enum class Paper { a4, letter, legal, b4 };
Paper parse_paper(std::string_view name);  // "a4" | "letter" | "legal" | "b4"; throws Error
std::string_view to_string(Paper p);

// One fax page. Rows are packed MSB first, stride width/8 bytes, 1 = black
// (TIFF PhotometricInterpretation MinIsWhite, as fax TIFFs are).
struct Page {
    int width = fax_width_px;  // or b4_width_px
    int height = 0;
    Resolution resolution = Resolution::fine;
    std::vector<std::uint8_t> bits;

    static Page blank(int height, Resolution r, int width = fax_width_px);
    int stride() const { return width / 8; }
    bool black(int x, int y) const;
    void set_black(int x, int y);
    friend bool operator==(const Page&, const Page&) = default;
};

// How grey pictures become black and white. `automatic` thresholds text and
// line art crisply and screens photographs (a line screen, 51 lines per
// inch, cheap in T.6), deciding per region of each page; the others force
// one method on every image (floyd_steinberg exists for comparisons: it
// costs several times the line time).
enum class Screening { automatic, threshold, line_screen, floyd_steinberg };

struct Options {
    Paper paper = Paper::a4;
    Resolution resolution = Resolution::fine;
    std::string text_font = "DejaVu Sans Mono";
    double text_font_points = 10.5;
    Screening screening = Screening::automatic;
    // Refuse documents beyond these limits instead of rendering them.
    int max_pages = 500;
    std::uintmax_t max_input_bytes = 64u << 20;   // bytes of one document
    std::uint64_t max_image_pixels = 50'000'000;  // width x height of one decoded image
    // render_document runs each document in a child process with these
    // limits: address space it may add (MB), CPU seconds, wall-clock seconds.
    bool isolate = true;
    int memory_mb = 512;
    int cpu_seconds = 60;
    int wall_seconds = 60;
    // Processor time all the documents of one fax may use together. render
    // renders one document a call; mailgw's compose_fax stops at the
    // document that crosses this (a mail of many parts, each under
    // cpu_seconds, would otherwise cost their sum on every retry).
    int total_cpu_seconds = 300;
    // Where the isolated child's working folder and its pages file go while
    // a document renders (empty: TMPDIR). A caller killed mid-render (kill
    // -9) cannot remove them; faxgw puts them in the state folder's
    // spool/tmp, which the spool sweep empties of what is left there.
    std::filesystem::path scratch_folder;
    // Helper programs, by name on PATH or by path. HTML goes through
    // WeasyPrint (its launcher's Python runs it), Office documents (DOCX,
    // XLSX, PPTX, ODT, ODS, ODP, DOC, XLS, PPT, RTF) through LibreOffice,
    // each under bubblewrap (bwrap); when one is missing those documents
    // give ResourceError naming them (the gateway's fault: mail waits).
    std::string weasyprint = "weasyprint";
    std::string libreoffice = "soffice";
};

// What went wrong, in words the sender of the document can read,
// e.g. "invoice.pdf: PDF is damaged (5 of 10 pages readable)".
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The document is over one of the gateway's limits (pages, bytes, picture
// size), not damaged or of a type that cannot be faxed: an SMTP front end
// answers 552 5.3.4 rather than 554 5.6.1. Still an Error.
class LimitError : public Error {
public:
    using Error::Error;
};

// The gateway, not the document, failed: a renderer ran out of wall-clock
// time, a program is missing or crashed, the disk or TMPDIR is full or
// unwritable. The mail is retried later, never refused. Deliberately not an
// Error, so that a `catch (const Error&)` meant for the document's faults
// never takes it for one. Error stays for properties of the document
// (damaged, unsupported, too many pages, over the CPU-time or memory limit).
class ResourceError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What legible_resolution measures on one page (see auto_resolution.cc).
struct PageLegibility {
    double ink = 0;             // fraction of black pixels
    int glyphs = 0;             // connected components of glyph size
    double text_height_mm = 0;  // their median height (about the x-height)
    double stroke_mm = 0;       // median thickness of horizontal strokes in them
    bool picture = false;       // halftone dots or large solid areas
};
PageLegibility measure_legibility(const Page& page);

// The lowest resolution at which a document, given as its pages rendered
// at fine, stays legible: standard when every inked page is text of at
// least 1.4 mm median glyph height (7 pt sans, 9 pt serif) with strokes of 2 fine rows or more
// and no picture; fine otherwise (small print, thin type, drawings,
// photographs). Blank documents: standard.
// With `strokes_kept` the document's standard rendering keeps strokes
// thinner than a standard row (PDF pages are drawn at fine and reduced
// keeping ink), so thin strokes alone do not call for fine.
Resolution legible_resolution(const std::vector<Page>& fine_pages, bool strokes_kept = false);

// Page height in pixels of the chosen paper at the chosen resolution.
int page_height_px(Paper paper, Resolution r);
// Page width in pixels: b4_width_px for B4, fax_width_px for the others.
int page_width_px(Paper paper);

// UTF-8 text laid out with Pango on pages of the chosen paper; wraps long
// lines, expands tabs, starts a new page at form feeds.
std::vector<Page> render_text(std::string_view utf8, const Options& options);

// PDF bytes rendered page by page, each page fitted to the paper keeping its
// aspect ratio. Throws Error for encrypted, damaged or empty documents.
std::vector<Page> render_pdf(std::string_view pdf_bytes, const Options& options);

// The one entry point for untrusted documents (mail attachments). The
// renderer is chosen by content: PDF, PostScript/EPS (Ghostscript, -dSAFER),
// PNG, JPEG, GIF, BMP, WebP, TIFF of any kind (a fax TIFF passes through as
// it is), HTML (render_html), Office documents through LibreOffice when it is
// installed (else ResourceError "attachment NAME (Word document) cannot be
// faxed: LibreOffice is not installed on the gateway") and UTF-8 text; mime_type
// and filename are hints (they tell HTML, SVG or RTF from plain text) and
// name the document in errors. Anything else
// throws Error "attachment NAME (TYPE) cannot be faxed". With
// options.isolate (the default) the rendering runs in a child process under
// the memory, CPU and wall-clock limits of options, with no network and no
// file of the host in view (so pictures and text a document links to, by URL
// or by path, stay out); a renderer that crashes or runs out of memory or
// processor time gives an Error "NAME: <reason>" and the caller carries on.
// Errors about the document read "NAME: <what is wrong>"; faults of the
// gateway (wall-clock timeout, a program missing or crashed, a full TMPDIR)
// are ResourceError.
std::vector<Page> render_document(std::string_view bytes, std::string_view mime_type,
                                  std::string_view filename, const Options& options);

// Runs `render` in a forked child process under options' memory_mb,
// cpu_seconds and wall_seconds limits (render_document's isolation, for
// callers with renderers of their own) and returns its pages. The child
// sees no file of the host but the system's read-only files (/usr, fonts)
// and a scratch folder (its TMPDIR), has no network, not even 127.0.0.1,
// and dies with its caller, as does everything it starts (namespaces of its
// own: see isolate.cc). Throws Error "NAME: <reason>": the renderer's own
// Error message, "ran out of memory (limit N MB)", "rendering used more
// than N s of processor time" or "renderer crashed (signal N, ...)"; and
// ResourceError "NAME: <reason>" for the renderer's own ResourceError,
// "rendering took longer than N s", or when the kernel allows no isolation
// (user namespaces off) or no child process.
std::vector<Page> run_isolated(const std::string& name,
                               const std::function<std::vector<Page>()>& render,
                               const Options& options);

// run_isolated for work that is not rendering (e.g. unpacking an archive
// with a library that has had memory-safety bugs): runs `work` in the same
// kind of child, which sees no file but an empty scratch folder (its
// TMPDIR) and the system's read-only files, has no network and dies with
// its caller, under options' limits, and returns the bytes `work` returned.
// Errors as run_isolated's: an Error or ResourceError thrown by work comes
// back as one "NAME: <message>".
std::string run_isolated_bytes(const std::string& name, const std::function<std::string()>& work,
                               const Options& options);

// What the last child process render_document ran on this thread used
// (zero if it rendered in-process).
struct ChildUsage {
    double cpu_seconds = 0;
    double wall_seconds = 0;
    long peak_rss_kb = 0;
};
ChildUsage last_child_usage();
// Processor time of every isolated child this thread has run so far.
double children_cpu_seconds();

// HTML (a mail body or attachment) laid out by WeasyPrint on the chosen
// paper and rendered through the PDF path. Pictures come only from
// cid_images (Content-ID, with or without <>, to the picture's bytes) and
// data: URLs; nothing is fetched from the network or read from local files
// (remote images are left out). Runs in an isolated child when
// options.isolate. Throws Error ("HTML: ...") if WeasyPrint is missing or
// fails. render_document sends text/html here without cid pictures.
std::vector<Page> render_html(std::string_view html_utf8,
                              const std::map<std::string, std::string>& cid_images,
                              const Options& options);

// render_document straight into a fax TIFF (as write_fax_tiff writes it),
// for long documents: a PDF is drawn one page at a time and each page is
// appended to the file and freed before the next is drawn, so memory stays
// that of a page or two whatever the page count (other types render as
// render_document does, then are written). With options.isolate all of it
// happens in the child process. Returns the number of pages; `out_tiff` is
// then replaced whole (written beside it and renamed), or not touched at all
// when this throws or the document has no pages (0). Errors as
// render_document's; last_child_usage() tells what the child used.
int render_document_to_tiff(std::string_view bytes, std::string_view mime_type,
                            std::string_view filename, const Options& options,
                            const std::filesystem::path& out_tiff);

// Any file render understands: render_document on the file's bytes.
std::vector<Page> render_file(const std::filesystem::path& file, const Options& options);
// Any file render understands straight into a fax TIFF:
// render_document_to_tiff on the file's bytes (the pages are not read back).
int render_file_to_tiff(const std::filesystem::path& file, const Options& options,
                        const std::filesystem::path& out_tiff);

// PostScript or EPS through Ghostscript (-dSAFER, tiffg4 at 204 x y dpi on
// the chosen paper). In-process: untrusted input goes through render_document.
std::vector<Page> render_postscript(std::string_view ps_bytes, const Options& options);

// A picture (PNG, JPEG, GIF, BMP, WebP, TIFF) fitted to the page keeping its
// aspect ratio, turned if landscape, photographs halftoned. In-process.
std::vector<Page> render_image(std::string_view image_bytes, const Options& options);

// The header line a fax machine prints across the top of every page.
struct HeaderInfo {
    bool enabled = true;
    std::string station_id;  // the sending number or name, e.g. "+1 555 0100 ACME"
    std::time_t time = 0;    // 0: now
    std::string format = "{date}  {station}  page {page} of {pages}";  // placeholders as shown
    std::string font = "DejaVu Sans";
    double font_points = 9;
};

// Rows at the top of a page of resolution r that stamp_header may overwrite
// (about 5 mm: 40 rows at fine).
int header_rows(Resolution r);

// Blanks the top header_rows() of every page and writes the header line
// there, numbering pages 1..pages.size(). Nothing else on the page changes.
// Does nothing when !info.enabled.
void stamp_header(std::vector<Page>& pages, const HeaderInfo& info);

// The same for one page of a fax that is stamped page by page: `number` of
// `total` (1-based). Give all pages of a fax one info.time, or the date may
// change in the middle.
void stamp_header(Page& page, int number, int total, const HeaderInfo& info);

// What a cover page says.
struct CoverInfo {
    std::string from_name, from_number;
    std::string to_name, to_number;
    std::string subject;
    std::time_t time = 0;  // 0: now
    int pages = 0;         // pages that follow the cover (the cover says pages + 1 in all)
    std::string body;      // optional free text under the fields
    // Replaces the standard layout when not empty: plain text in which
    // {from} {to} {subject} {date} {pages} are replaced.
    std::string template_text;
    std::string logo;  // optional picture bytes (PNG, JPEG, ...), drawn top right
};

Page render_cover(const CoverInfo& info, const Options& options);

// Bytes of the pages as T.6 (G4) data, as write_fax_tiff would store them:
// what a page costs on the line.
std::size_t g4_bytes(const Page& page);

// Writes pages as one multi-page TIFF, T.6 (G4) compressed, one strip per
// page, with the resolution tags spandsp reads.
void write_fax_tiff(const std::vector<Page>& pages, const std::filesystem::path& out);

// write_fax_tiff one page at a time (write_fax_tiff is this writer): each
// page is encoded and written when appended, so the caller may free it. The
// file is written as `out`.partial and renamed to `out` by close(), so a
// reader never sees half a fax; destroyed without close(), the writer removes
// the partial file and leaves `out` as it was. Throws Error naming `out`.
class FaxTiffWriter {
public:
    // total_pages goes into every page's PageNumber tag (0: not known).
    explicit FaxTiffWriter(const std::filesystem::path& out, int total_pages = 0);
    ~FaxTiffWriter();
    FaxTiffWriter(const FaxTiffWriter&) = delete;
    FaxTiffWriter& operator=(const FaxTiffWriter&) = delete;

    void append(const Page& page);  // a 1728-pixel fax page, else Error
    int pages() const;              // appended so far
    void close();                   // Error if no page was appended

private:
    struct State;
    std::unique_ptr<State> state_;
};

// Reads every page of a 1-bit TIFF whose pages are 1728 or 2048 pixels wide
// (any fax compression) back into pages; throws Error otherwise.
std::vector<Page> read_fax_tiff(const std::filesystem::path& file);

// read_fax_tiff one page at a time, for documents too long to hold whole.
// Throws Error naming the file, as read_fax_tiff does.
class FaxTiffReader {
public:
    explicit FaxTiffReader(const std::filesystem::path& file);
    ~FaxTiffReader();
    FaxTiffReader(const FaxTiffReader&) = delete;
    FaxTiffReader& operator=(const FaxTiffReader&) = delete;

    int pages() const;           // pages (directories) in the file
    std::optional<Page> next();  // the next page; nullopt after the last

private:
    struct State;
    std::unique_ptr<State> state_;
};

// A fax page as a receiver that prints only 215 mm gets it: a 2048-pixel
// page scaled down to 1728 pixels (and its height in proportion, 84 %),
// with text thresholded and pictures screened again; 1728-pixel pages are
// returned as they are.
Page narrow_page(const Page& page);

// When the fax TIFF `in` has pages wider than 1728 pixels, writes `out`: the
// same pages, each through narrow_page, and returns true. Otherwise returns
// false and writes nothing. Throws Error naming the file.
bool narrow_fax_tiff(const std::filesystem::path& in, const std::filesystem::path& out);

// Number of pages (directories) in a TIFF file; throws Error if unreadable.
int count_tiff_pages(const std::filesystem::path& file);

// A PDF that carries the TIFF's G3/G4 data as it is (no re-encoding), each
// page sized from the TIFF's own resolution.
void fax_tiff_to_pdf(const std::filesystem::path& tiff, const std::filesystem::path& pdf);

}  // namespace faxgw::render
