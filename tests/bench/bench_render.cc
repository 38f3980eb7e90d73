// faxgw-bench-render: renders the sample corpus (samples/docs) with faxgw's
// renderers (each document in its isolated child, as mail attachments are)
// and, side by side, with `gs -sDEVICE=tiffg4 -r204x196` where Ghostscript
// reads the input (PDF, PostScript). Prints per document: pages, pages/s,
// peak RSS of the rendering process, G4 bytes per page and the estimated
// line time per page at V.17 (8 s + 1.11 x bytes x 8 / 14400).
// Then legibility: Tesseract character accuracy (tests/render/ocr.h) and
// line seconds per page for each text document at standard, fine and auto,
// with gs's -r204x196 output beside faxgw's fine pages, and the table of
// letter.txt at several type sizes that backs Resolution::automatic; last,
// B4 pages against their 1728-pixel copy for receivers without B4.
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
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

Result faxgw_run(const fs::path& file, int repeats) {
    Result r;
    const std::string bytes = read_bytes(file);
    Options o;
    std::vector<Page> pages;
    try {
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < repeats; ++i) {
            pages = render_document(bytes, "", file.filename().string(), o);
            r.rss_kb = std::max(r.rss_kb, last_child_usage().peak_rss_kb);
        }
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        r.pages = static_cast<int>(pages.size());
        r.pages_per_s = r.pages * repeats / s;
        r.g4_per_page = g4_per_page(pages);
        r.ok = true;
    } catch (const Error& e) {
        r.note = e.what();
    }
    return r;
}

std::vector<Page> gs_pages;  // the last gs_run's pages

Result gs_run(const fs::path& file, const fs::path& tmp, int repeats) {
    Result r;
    const fs::path out = tmp / "gs.tif";
    const std::vector<std::string> args = {"gs",
                                           "-q",
                                           "-dSAFER",
                                           "-dBATCH",
                                           "-dNOPAUSE",
                                           "-sDEVICE=tiffg4",
                                           "-r204x196",
                                           "-sPAPERSIZE=a4",
                                           "-dFIXEDMEDIA",
                                           "-dPDFFitPage",
                                           "-sOutputFile=" + out.string(),
                                           file.string()};
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < repeats; ++i) {
        pid_t pid = 0;
        if (posix_spawnp(&pid, "gs", nullptr, nullptr, argv.data(), environ) != 0) {
            r.note = "gs not found";
            return r;
        }
        int status = 0;
        rusage usage{};
        wait4(pid, &status, 0, &usage);
        r.rss_kb = std::max(r.rss_kb, usage.ru_maxrss);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            r.note = "gs failed";
            return r;
        }
    }
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::vector<Page> pages = read_fax_tiff(out);
    gs_pages = pages;
    r.pages = static_cast<int>(pages.size());
    r.pages_per_s = r.pages * repeats / s;
    r.g4_per_page = g4_per_page(pages);
    r.ok = true;
    return r;
}

void print(const char* doc, const char* who, const Result& r) {
    if (!r.ok) {
        std::printf("%-18s %-6s %s\n", doc, who, r.note.c_str());
        return;
    }
    std::printf("%-18s %-6s %5d %9.1f %9.1f %12.0f %10.1f\n", doc, who, r.pages, r.pages_per_s,
                r.rss_kb / 1024.0, r.g4_per_page, line_seconds(r.g4_per_page));
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
                          {"three-pages.ps", ocr::three_pages_text(), true}};
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
        if (t.gs && gs_run(docs / t.name, tmp, 1).ok) {
            const Legibility g = legibility(gs_pages, t.source, tmp);
            std::printf("%-16s %-6s %16s %9.4f %5.1f\n", t.name, "gs", "", g.accuracy, g.line_s);
        }
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

}  // namespace

int main(int argc, char** argv) {
    const fs::path docs =
        argc > 1 && argv[1][0] ? fs::path(argv[1]) : fs::path(FAXGW_SOURCE_DIR) / "samples/docs";
    const int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
    const fs::path tmp =
        fs::temp_directory_path() / ("faxgw-bench-render-" + std::to_string(getpid()));
    fs::create_directories(tmp);
    struct Doc {
        const char* name;
        const char* what;
        bool gs;
    };
    const Doc corpus[] = {
        {"three-pages.pdf", "text PDF", true}, {"image.pdf", "image PDF (photo)", true},
        {"scan.tif", "scanned TIFF", false},   {"photo.jpg", "photo JPEG", false},
        {"cjk.txt", "UTF-8 text, CJK", false}, {"three-pages.ps", "PostScript", true}};
    std::printf(
        "A4 fine (204x196). faxgw: render_document in its isolated child; gs: "
        "gs -sDEVICE=tiffg4 -r204x196 -sPAPERSIZE=a4 -dFIXEDMEDIA -dPDFFitPage.\n"
        "G4 bytes are re-encoded with the same encoder for both. %d runs each.\n\n",
        repeats);
    std::printf("%-18s %-6s %5s %9s %9s %12s %10s\n", "document", "by", "pages", "pages/s",
                "RSS MB", "G4 B/page", "line s/pg");
    for (const Doc& d : corpus) {
        print(d.name, "faxgw", faxgw_run(docs / d.name, repeats));
        if (d.gs)
            print(d.name, "gs", gs_run(docs / d.name, tmp, repeats));
        else
            std::printf("%-18s %-6s n/a (Ghostscript does not read %s)\n", d.name, "gs", d.what);
    }
    legibility_table(docs, tmp);
    b4_table(docs, tmp);
    fs::remove_all(tmp);
    return 0;
}
