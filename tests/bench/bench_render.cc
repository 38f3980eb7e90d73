// faxgw-bench-render: renders the sample corpus (samples/docs) with faxgw's
// renderers (each document in its isolated child, as mail attachments are,
// written to a fax TIFF as `faxgw render` and `faxgw submit` do) and, run by
// run in turn, with `gs -sDEVICE=tiffg4 -r204x196` where Ghostscript reads
// the input (PDF, PostScript). The first document is a 21-page text PDF
// (three-pages.pdf seven times over, joined by pdfunite). Prints per
// document: pages, pages/s (wall clock), CPU ms per page (user + system of
// every process of the render: caller, isolation keeper, renderer and its
// threads, or gs; the median run), each against gs's, peak RSS of the
// rendering process, G4 bytes per page and the estimated line time per page
// at V.17 (8 s + 1.11 x bytes x 8 / 14400). CPU time is the figure to
// compare: the machine may be shared, and wall-clock pages/s then says more
// about the neighbours than about the renderer.
//
// Usage: faxgw-bench-render [DOCS [REPEATS [TABLE]]]. DOCS: the sample
// folder ("" for the source tree's samples/docs); REPEATS: runs of each
// document (3); TABLE: speed, photo, legibility or b4 prints that table
// alone (all of them by default).
//
// Where the CPU of a text page goes (perf record on `faxgw render` of the
// 21-page PDF at fine, 2-core x86-64, Debian 12, poppler 22.12; before ->
// after this benchmark's issue 13 work, per page):
//   before: 41 ms CPU/page. Thresholding/classification (gray_onto, per
//     pixel with a bit vector and bounds checks) 39 %, poppler's vector
//     antialiasing (Splash::drawAALine) 16 %, poppler compositing the page
//     on white 9 %, page faults and memset/memmove of page buffers 12 %,
//     start-up (dynamic linking, fontconfig) ~4 %, G4 encode in the child
//     and decode + re-encode in the caller (faxgw render read the pages
//     back) ~5 %, fork and namespaces < 1 %.
//   then: 6-7 ms CPU/page (`faxgw render`, 0.86 -> ~0.14 s for the 21
//     pages; gs 0.08 s): pages without grey drawn by poppler in 1-bit, the
//     grey path vectorised. Left then: poppler's cpp wrapper made a new font
//     engine (a cold glyph cache) for every page, and every worker looked its
//     fonts up in fontconfig again.
//   now: ~2.2 ms CPU/page in this benchmark (`faxgw render` of the 21 pages
//     ~0.08 s). poppler's own API (libpoppler-private-dev): one PDFDoc and one
//     SplashOutputDev per render thread across pages; the standard fonts
//     looked up in fontconfig once; no separate grey probe (the 1-bit device
//     stops a page that draws grey, which then goes the grey way). What is
//     left in a `faxgw render` run: dynamic linking ~28 %, poppler's drawing
//     ~23 %, G4 encoding ~14 %, page faults ~12 %. Pages of long documents
//     are drawn by two or more threads in the renderer.
//   Against gs on the 21 pages (2026-12-02, 2 cores): 2.45-2.56x its pages
//     per second on an otherwise idle machine, 1.71-1.77x cheaper in CPU
//     per page; with another process keeping one core busy, 1.44x its pages
//     per second (gs draws on one core, faxgw on two).
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../render/ocr.h"
#include "faxgw/render.h"

extern char** environ;

namespace fs = std::filesystem;
using namespace faxgw::render;

namespace {

struct Result {
    bool ok = false;
    std::string note;
    int pages = 0;
    double pages_per_s = 0;
    double cpu_ms_per_page = 0;  // median run
    long rss_kb = 0;
    double g4_per_page = 0;
};

double line_seconds(double g4) { return 8 + 1.11 * g4 * 8 / 14400; }

double g4_per_page(const std::vector<Page>& pages) {
    double total = 0;
    for (const Page& p : pages) total += static_cast<double>(g4_bytes(p));
    return pages.empty() ? 0 : total / static_cast<double>(pages.size());
}

std::string read_bytes(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; }

// CPU seconds this process has used so far (all its threads).
double own_cpu() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return seconds(u.ru_utime) + seconds(u.ru_stime);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

// One faxgw run: render_document_to_tiff, as `faxgw render FILE` and
// `faxgw submit` do. Returns the CPU seconds of all processes.
double faxgw_once(const std::string& bytes, const fs::path& file, const Options& o,
                  const fs::path& out, long& rss_kb, int& pages) {
    const double before = own_cpu();
    pages = render_document_to_tiff(bytes, "", file.filename().string(), o, out);
    const ChildUsage child = last_child_usage();
    rss_kb = std::max(rss_kb, child.peak_rss_kb);
    return own_cpu() - before + child.cpu_seconds;
}

struct GsRun {
    bool ok = false;
    double cpu = 0;
    long rss_kb = 0;
};

GsRun gs_once(const fs::path& file, const fs::path& out, const char* resolution) {
    const std::vector<std::string> args = {"gs",
                                           "-q",
                                           "-dSAFER",
                                           "-dBATCH",
                                           "-dNOPAUSE",
                                           "-sDEVICE=tiffg4",
                                           std::string("-r") + resolution,
                                           "-sPAPERSIZE=a4",
                                           "-dFIXEDMEDIA",
                                           "-dPDFFitPage",
                                           "-sOutputFile=" + out.string(),
                                           file.string()};
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    GsRun r;
    pid_t pid = 0;
    if (posix_spawnp(&pid, "gs", nullptr, nullptr, argv.data(), environ) != 0) return r;
    int status = 0;
    rusage usage{};
    wait4(pid, &status, 0, &usage);
    r.rss_kb = usage.ru_maxrss;
    r.cpu = seconds(usage.ru_utime) + seconds(usage.ru_stime);
    r.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return r;
}

std::vector<Page> gs_pages;  // the last gs_run's pages

// faxgw and gs on one document, run after run in turn (so that both see
// the same machine), `repeats` times each.
std::pair<Result, Result> pair_run(const fs::path& file, const fs::path& tmp, int repeats,
                                   bool with_gs, Resolution resolution = Resolution::fine) {
    Result f, g;
    const std::string bytes = read_bytes(file);
    Options o;
    o.resolution = resolution;
    const fs::path out = tmp / "faxgw.tif", gs_out = tmp / "gs.tif";
    std::vector<double> f_cpu, g_cpu;
    double f_wall = 0, g_wall = 0;
    try {
        for (int i = 0; i < repeats; ++i) {
            auto start = std::chrono::steady_clock::now();
            f_cpu.push_back(faxgw_once(bytes, file, o, out, f.rss_kb, f.pages));
            f_wall +=
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (!with_gs) continue;
            start = std::chrono::steady_clock::now();
            const GsRun gr =
                gs_once(file, gs_out, resolution == Resolution::standard ? "204x98" : "204x196");
            g_wall +=
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (!gr.ok) {
                g.note = "gs failed or is missing";
                with_gs = false;
                continue;
            }
            g_cpu.push_back(gr.cpu);
            g.rss_kb = std::max(g.rss_kb, gr.rss_kb);
        }
        const std::vector<Page> pages = read_fax_tiff(out);
        f.pages = static_cast<int>(pages.size());
        f.pages_per_s = f.pages * repeats / f_wall;
        f.cpu_ms_per_page = 1000 * median(f_cpu) / std::max(1, f.pages);
        f.g4_per_page = g4_per_page(pages);
        f.ok = true;
    } catch (const std::exception& e) {
        f.note = e.what();
    }
    if (with_gs && !g_cpu.empty()) {
        gs_pages = read_fax_tiff(gs_out);
        g.pages = static_cast<int>(gs_pages.size());
        g.pages_per_s = g.pages * repeats / g_wall;
        g.cpu_ms_per_page = 1000 * median(g_cpu) / std::max(1, g.pages);
        g.g4_per_page = g4_per_page(gs_pages);
        g.ok = true;
    }
    return {f, g};
}

void print(const char* doc, const char* who, const Result& r, const Result* gs = nullptr) {
    if (!r.ok) {
        std::printf("%-18s %-6s %s\n", doc, who, r.note.c_str());
        return;
    }
    std::printf("%-18s %-6s %5d %9.1f %8.1f %9.0f %12.0f %10.1f", doc, who, r.pages, r.pages_per_s,
                r.cpu_ms_per_page, r.rss_kb / 1024.0, r.g4_per_page, line_seconds(r.g4_per_page));
    if (gs && gs->ok)
        std::printf("   %5.2fx %5.2fx %5.2fx", r.pages_per_s / gs->pages_per_s,
                    gs->cpu_ms_per_page / r.cpu_ms_per_page, r.g4_per_page / gs->g4_per_page);
    std::printf("\n");
}

// Fidelity of a photo page: SSIM between the fax page and the source, both
// seen at viewing scale. Viewing scale: 4 x 4 fax pixels averaged into one
// cell (0.5 mm square at fine, the size of a 51-lpi screen cell, below
// which a reader sees tone rather than dots), then blurred twice with a 3 x 3
// box (about a Gaussian of sigma 1.15 cells, 0.6 mm). The source is poppler's
// grey rendering (pdftoppm -gray at the same resolution), centred on the
// page as faxgw centres it; since gs places the page otherwise, the
// alignment is searched (+-8 cells across, +-3 down) and the best SSIM
// kept. SSIM: 8 x 8-cell windows, C1 = (0.01)^2, C2 = (0.03)^2 on 0..1.
//
// A second column checks that a figure does not hang on the box filters:
// averaging 4 x 4 pixels and keeping one value per cell aliases a screen
// whose period does not divide 4 or 12 pixels into a slow ripple no reader
// sees, and the box blur has side lobes a Gaussian has not. On the sample
// photo page, faxgw's horizontal line screen with a period of 4, 5 or 6
// rows (all invisible at 0.6 mm) scores 0.995, 0.896 and 0.995 by SSIM.
// "SSIM-G" blurs the pixels with the Gaussian the boxes stand for (sigma
// 1.15 cells, 0.57 mm) before taking the value at each cell's centre,
// which is free of both (0.995, 0.994 and 0.994); the rest is the same.
enum class View { boxes, gaussian };

struct Cells {
    int w = 0, h = 0;
    std::vector<double> v;  // luminance 0 (black) .. 1 (white)
    double at(int x, int y) const {
        x = std::clamp(x, 0, w - 1);
        y = std::clamp(y, 0, h - 1);
        return v[static_cast<std::size_t>(y) * w + x];
    }
};

Cells blurred(Cells c) {
    for (int pass = 0; pass < 2; ++pass) {
        Cells out = c;
        for (int y = 0; y < c.h; ++y)
            for (int x = 0; x < c.w; ++x) {
                double sum = 0;
                for (int dy = -1; dy <= 1; ++dy)
                    for (int dx = -1; dx <= 1; ++dx) sum += c.at(x + dx, y + dy);
                out.v[static_cast<std::size_t>(y) * c.w + x] = sum / 9;
            }
        c = std::move(out);
    }
    return c;
}

// `lum(x, y)` of a width x height picture, 4 x 4 pixels to a cell.
template <typename Lum>
Cells box_cells(int width, int height, const Lum& lum) {
    Cells c;
    c.w = width / 4;
    c.h = height / 4;
    c.v.resize(static_cast<std::size_t>(c.w) * c.h);
    for (int y = 0; y < c.h; ++y)
        for (int x = 0; x < c.w; ++x) {
            double sum = 0;
            for (int dy = 0; dy < 4; ++dy)
                for (int dx = 0; dx < 4; ++dx) sum += lum(4 * x + dx, 4 * y + dy);
            c.v[static_cast<std::size_t>(y) * c.w + x] = sum / 16;
        }
    return blurred(std::move(c));
}

// A normalised Gaussian of `sigma` (in pixels), cut at 3 sigma.
std::vector<double> gaussian(double sigma) {
    const int r = static_cast<int>(std::ceil(3 * sigma));
    std::vector<double> k(static_cast<std::size_t>(2 * r + 1));
    double sum = 0;
    for (int i = -r; i <= r; ++i) sum += k[i + r] = std::exp(-i * i / (2 * sigma * sigma));
    for (double& v : k) v /= sum;
    return k;
}

// `lum(x, y)` blurred by the Gaussian of 1.15 cells (4.6 pixels; edges
// repeated), one value at the centre of each 4 x 4-pixel cell.
template <typename Lum>
Cells gaussian_cells(int width, int height, const Lum& lum) {
    const std::vector<double> k = gaussian(1.15 * 4);
    const int r = static_cast<int>(k.size() / 2);
    Cells c;
    c.w = width / 4;
    c.h = height / 4;
    // Across first, only at the cells' centre columns; then down.
    std::vector<double> across(static_cast<std::size_t>(height) * c.w);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < c.w; ++x) {
            double sum = 0;
            for (int i = -r; i <= r; ++i)
                sum += k[i + r] * lum(std::clamp(4 * x + 2 + i, 0, width - 1), y);
            across[static_cast<std::size_t>(y) * c.w + x] = sum;
        }
    c.v.resize(static_cast<std::size_t>(c.w) * c.h);
    for (int y = 0; y < c.h; ++y)
        for (int x = 0; x < c.w; ++x) {
            double sum = 0;
            for (int i = -r; i <= r; ++i)
                sum += k[i + r] *
                       across[static_cast<std::size_t>(std::clamp(4 * y + 2 + i, 0, height - 1)) *
                                  c.w +
                              x];
            c.v[static_cast<std::size_t>(y) * c.w + x] = sum;
        }
    return c;
}

template <typename Lum>
Cells cells_of(int width, int height, View view, const Lum& lum) {
    return view == View::boxes ? box_cells(width, height, lum) : gaussian_cells(width, height, lum);
}

Cells view_of(const Page& page, View view) {
    return cells_of(page.width, page.height, view,
                    [&](int x, int y) { return page.black(x, y) ? 0.0 : 1.0; });
}

double ssim(const Cells& a, const Cells& b, int sx, int sy) {
    constexpr double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
    double total = 0;
    int windows = 0;
    for (int y0 = 0; y0 + 8 <= a.h; y0 += 4)
        for (int x0 = 0; x0 + 8 <= a.w; x0 += 4) {
            double ma = 0, mb = 0, va = 0, vb = 0, cov = 0;
            for (int y = y0; y < y0 + 8; ++y)
                for (int x = x0; x < x0 + 8; ++x) {
                    const double p = a.at(x, y), q = b.at(x + sx, y + sy);
                    ma += p;
                    mb += q;
                    va += p * p;
                    vb += q * q;
                    cov += p * q;
                }
            const double n = 64;
            ma /= n;
            mb /= n;
            va = va / n - ma * ma;
            vb = vb / n - mb * mb;
            cov = cov / n - ma * mb;
            total +=
                (2 * ma * mb + c1) * (2 * cov + c2) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            ++windows;
        }
    return windows ? total / windows : 0;
}

// The source page's grey rendering as cells on a fax page of `like`'s size,
// seen both ways (View::boxes, View::gaussian).
std::optional<std::array<Cells, 2>> source_views(const fs::path& pdf, const Page& like,
                                                 const fs::path& tmp) {
    const std::string prefix = (tmp / "source").string();
    const std::string res_y = std::to_string(y_dpi(like.resolution));
    std::vector<std::string> args = {"pdftoppm", "-gray",      "-singlefile", "-rx", "204",
                                     "-ry",      res_y,        "-f",          "1",   "-l",
                                     "1",        pdf.string(), prefix};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    int status = 1;
    if (posix_spawnp(&pid, "pdftoppm", nullptr, nullptr, argv.data(), environ) == 0)
        waitpid(pid, &status, 0);
    if (status != 0) return std::nullopt;
    const std::string pgm = read_bytes(prefix + ".pgm");
    int w = 0, h = 0, max = 0, used = 0;
    if (std::sscanf(pgm.c_str(), "P5 %d %d %d%n", &w, &h, &max, &used) != 3) return std::nullopt;
    const auto* grey = reinterpret_cast<const unsigned char*>(pgm.data() + used + 1);
    const int x0 = (like.width - w) / 2, y0 = (like.height - h) / 2;
    const auto lum = [&](int x, int y) {
        x -= x0;
        y -= y0;
        if (x < 0 || y < 0 || x >= w || y >= h) return 1.0;
        return grey[static_cast<std::size_t>(y) * w + x] / 255.0;
    };
    return std::array<Cells, 2>{cells_of(like.width, like.height, View::boxes, lum),
                                cells_of(like.width, like.height, View::gaussian, lum)};
}

// Best SSIM of the page against the source (seen the same way) over the
// shifts.
double fidelity(const Page& page, const Cells& source, View view) {
    const Cells fax = view_of(page, view);
    double best = -1;
    for (int sy = -3; sy <= 3; ++sy)
        for (int sx = -8; sx <= 8; ++sx) best = std::max(best, ssim(source, fax, sx, sy));
    return best;
}

double line_per_page(const std::vector<Page>& pages) { return line_seconds(g4_per_page(pages)); }

struct Legibility {
    double accuracy = 0;
    double line_s = 0;
    Resolution chosen = Resolution::fine;
};

Legibility legibility(const std::vector<Page>& pages, const std::string& source,
                      const fs::path& tmp) {
    Legibility l;
    l.accuracy = ocr::accuracy(ocr::read_pages(pages, tmp), source);
    l.line_s = line_per_page(pages);
    if (!pages.empty()) l.chosen = pages[0].resolution;
    return l;
}

// Photo pages: G4 bytes against fidelity (see fidelity above), faxgw and gs.
void photo_table(const fs::path& docs, const fs::path& tmp) {
    std::printf(
        "\nPhoto pages at fine: G4 bytes and fidelity, SSIM of the page against poppler's grey\n"
        "rendering of the source, both averaged over 4x4-pixel cells (0.5 mm) and blurred twice\n"
        "with a 3x3-cell box (sigma ~0.6 mm); best alignment within +-8 x +-3 cells. SSIM-G:\n"
        "the same with a Gaussian blur (sigma 0.57 mm) of the pixels, free of aliasing.\n\n");
    std::printf("%-16s %-6s %12s %8s %8s %10s\n", "document", "by", "G4 B/page", "SSIM", "SSIM-G",
                "bytes/gs");
    for (const char* name : {"image.pdf"}) {
        const auto [f, g] = pair_run(docs / name, tmp, 1, true);
        if (!f.ok || !g.ok) continue;
        const std::vector<Page> faxgw_pages = read_fax_tiff(tmp / "faxgw.tif");
        const auto source = source_views(docs / name, faxgw_pages.at(0), tmp);
        if (!source) {
            std::printf("%-16s pdftoppm (poppler-utils) failed\n", name);
            continue;
        }
        const auto [boxes, gauss] = *source;
        const Page& ours = faxgw_pages.at(0);
        const Page& theirs = gs_pages.at(0);
        std::printf("%-16s %-6s %12.0f %8.4f %8.4f %10.2f\n", name, "faxgw", f.g4_per_page,
                    fidelity(ours, boxes, View::boxes), fidelity(ours, gauss, View::gaussian),
                    f.g4_per_page / g.g4_per_page);
        std::printf("%-16s %-6s %12.0f %8.4f %8.4f\n", name, "gs", g.g4_per_page,
                    fidelity(theirs, boxes, View::boxes), fidelity(theirs, gauss, View::gaussian));
    }
}

void legibility_table(const fs::path& docs, const fs::path& tmp) {
    std::printf(
        "\nLegibility: Tesseract 'tesseract PAGE.pbm stdout --dpi 204 -l eng' character accuracy\n"
        "(1 - Levenshtein/length after whitespace normalisation) and line s/page at V.17.\n"
        "Standard pages are OCRed with each row doubled (as printed).\n\n");
    std::printf("%-16s %-6s %16s %16s %22s\n", "document", "by", "standard acc/s", "fine acc/s",
                "auto acc/s (chosen)");
    const std::string letter = read_bytes(docs / "letter.txt");
    struct Text {
        const char* name;
        std::string source;
        bool gs;
    };
    const Text texts[] = {{"letter.txt", letter, false},
                          {"three-pages.pdf", ocr::three_pages_text(), true},
                          {"three-pages.ps", ocr::three_pages_text(), true},
                          {"serif-letter-11pt.pdf", ocr::serif_letter_text(), true},
                          {"serif-letter-9pt.pdf", ocr::serif_letter_text(), true}};
    for (const Text& t : texts) {
        const std::string bytes = read_bytes(docs / t.name);
        Legibility at[3];
        const Resolution rs[3] = {Resolution::standard, Resolution::fine, Resolution::automatic};
        for (int i = 0; i < 3; ++i) {
            Options o;
            o.resolution = rs[i];
            at[i] = legibility(render_document(bytes, "", t.name, o), t.source, tmp);
        }
        std::printf("%-16s %-6s %9.4f %5.1f %9.4f %5.1f %9.4f %5.1f (%s)\n", t.name, "faxgw",
                    at[0].accuracy, at[0].line_s, at[1].accuracy, at[1].line_s, at[2].accuracy,
                    at[2].line_s, std::string(to_string(at[2].chosen)).c_str());
        if (!t.gs) continue;
        Legibility g[2];
        for (int i = 0; i < 2; ++i) {
            if (!pair_run(docs / t.name, tmp, 1, true, rs[i]).second.ok) break;
            g[i] = legibility(gs_pages, t.source, tmp);
        }
        std::printf("%-16s %-6s %9.4f %5.1f %9.4f %5.1f\n", t.name, "gs", g[0].accuracy,
                    g[0].line_s, g[1].accuracy, g[1].line_s);
    }
    std::printf("\nletter.txt in DejaVu Sans Mono by size (render_text), backing auto:\n");
    std::printf("%6s %16s %16s %10s %8s\n", "pt", "standard acc/s", "fine acc/s", "height mm",
                "auto");
    for (double pt : {5.0, 6.0, 7.0, 8.0, 9.0, 10.5, 12.0}) {
        Legibility at[2];
        std::vector<Page> fine;
        for (int i = 0; i < 2; ++i) {
            Options o;
            o.text_font_points = pt;
            o.resolution = i == 0 ? Resolution::standard : Resolution::fine;
            const auto pages = render_text(letter, o);
            if (i == 1) fine = pages;
            at[i] = legibility(pages, letter, tmp);
        }
        std::printf("%6.1f %9.4f %6.1f %9.4f %6.1f %10.2f %8s\n", pt, at[0].accuracy, at[0].line_s,
                    at[1].accuracy, at[1].line_s, measure_legibility(fine.at(0)).text_height_mm,
                    std::string(to_string(legible_resolution(fine))).c_str());
    }
}

// B4: the 2048-pixel pages a B4 receiver gets against the 1728-pixel copy
// (narrow_page) the others get: line time and legibility.
void b4_table(const fs::path& docs, const fs::path& tmp) {
    std::printf(
        "\nB4 at fine: the wide pages a B4 receiver gets and the narrow copy the others get\n\n");
    std::printf("%-16s %-14s %6s %12s %10s %10s\n", "document", "pages", "width", "G4 B/page",
                "line s/pg", "OCR acc");
    Options b4;
    b4.paper = Paper::b4;
    const std::string letter = read_bytes(docs / "letter.txt");
    const struct {
        const char* name;
        std::string source;
    } texts[] = {{"letter.txt", letter}, {"three-pages.pdf", ocr::three_pages_text()}};
    for (const auto& t : texts) {
        const auto wide = render_document(read_bytes(docs / t.name), "", t.name, b4);
        std::vector<Page> narrow;
        for (const Page& p : wide) narrow.push_back(narrow_page(p));
        for (const auto& [what, pages] :
             {std::pair<const char*, const std::vector<Page>&>{"faxgw B4", wide},
              {"faxgw narrowed", narrow}}) {
            const Legibility l = legibility(pages, t.source, tmp);
            std::printf("%-16s %-14s %6d %12.0f %10.1f %10.4f\n", t.name, what, pages.at(0).width,
                        g4_per_page(pages), l.line_s, l.accuracy);
        }
    }
}

// Speed, memory and bytes of every sample document, faxgw against gs.
void speed_table(const fs::path& docs, const fs::path& tmp, int repeats) {
    // The long text document: three-pages.pdf seven times over.
    const fs::path text21 = tmp / "text-21-pages.pdf";
    {
        std::vector<std::string> args = {"pdfunite"};
        for (int i = 0; i < 7; ++i) args.push_back((docs / "three-pages.pdf").string());
        args.push_back(text21.string());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_t pid = 0;
        int status = 1;
        if (posix_spawnp(&pid, "pdfunite", nullptr, nullptr, argv.data(), environ) == 0)
            waitpid(pid, &status, 0);
        if (status != 0) std::printf("pdfunite (poppler-utils) failed: no 21-page document\n");
    }
    struct Doc {
        fs::path file;
        const char* what;
        bool gs;
    };
    const Doc corpus[] = {{text21, "text PDF, 21 pages", true},
                          {docs / "three-pages.pdf", "text PDF", true},
                          {docs / "serif-letter-11pt.pdf", "serif letter", true},
                          {docs / "image.pdf", "image PDF (photo)", true},
                          {docs / "scan.tif", "scanned TIFF", false},
                          {docs / "photo.jpg", "photo JPEG", false},
                          {docs / "cjk.txt", "UTF-8 text, CJK", false},
                          {docs / "three-pages.ps", "PostScript", true}};
    std::printf(
        "A4 fine (204x196). faxgw: render_document_to_tiff in its isolated child; gs: "
        "gs -sDEVICE=tiffg4 -r204x196 -sPAPERSIZE=a4 -dFIXEDMEDIA -dPDFFitPage.\n"
        "%d runs each, faxgw and gs in turn. CPU: median run, all processes (user + system);\n"
        "pages/s: wall clock, %u cores (shared machine: compare CPU). G4 bytes are re-encoded\n"
        "with the same encoder for both. Last columns: faxgw against gs (pages/s, CPU, bytes;\n"
        "above 1 is faster, above 1 is cheaper, below 1 is smaller).\n\n",
        repeats, std::thread::hardware_concurrency());
    std::printf("%-18s %-6s %5s %9s %8s %9s %12s %10s   %6s %6s %6s\n", "document", "by", "pages",
                "pages/s", "CPU ms/p", "RSS MB", "G4 B/page", "line s/pg", "pg/s", "CPU", "bytes");
    for (const Doc& d : corpus) {
        const std::string name = d.file.filename().string();
        const auto [f, g] = pair_run(d.file, tmp, repeats, d.gs);
        print(name.c_str(), "faxgw", f, d.gs ? &g : nullptr);
        if (d.gs)
            print(name.c_str(), "gs", g);
        else
            std::printf("%-18s %-6s n/a (Ghostscript does not read %s)\n", name.c_str(), "gs",
                        d.what);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const fs::path docs =
        argc > 1 && argv[1][0] ? fs::path(argv[1]) : fs::path(FAXGW_SOURCE_DIR) / "samples/docs";
    const int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
    const std::string table = argc > 3 ? argv[3] : "all";
    const auto wanted = [&](const char* name) { return table == "all" || table == name; };
    const fs::path tmp =
        fs::temp_directory_path() / ("faxgw-bench-render-" + std::to_string(getpid()));
    fs::create_directories(tmp);
    if (wanted("speed")) speed_table(docs, tmp, repeats);
    if (wanted("photo")) photo_table(docs, tmp);
    if (wanted("legibility")) legibility_table(docs, tmp);
    if (wanted("b4")) b4_table(docs, tmp);
    fs::remove_all(tmp);
    return 0;
}
