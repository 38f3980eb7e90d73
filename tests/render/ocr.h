// Reading fax pages back with Tesseract (Debian tesseract-ocr,
// tesseract-ocr-eng), for legibility tests and the render benchmark.
//
// A page is handed to Tesseract as it would come out of a receiving fax
// machine's printer: at its physical aspect ratio. Fine pages (204 x 196 dpi)
// are written as they are; standard pages (204 x 98) have every row printed
// twice, as a receiver does. The image is a binary PBM (P4), which
// Leptonica reads without any further library, and --dpi 204 tells
// Tesseract the scale. Tesseract is run through posix_spawnp with an
// argument vector (no shell), one thread (OMP_THREAD_LIMIT=1) so that the
// tests do not fight over the machine's cores.
//
// Accuracy is character accuracy: 1 - Levenshtein(OCR, source) / |source|
// after normalising both the same way (see normalise), clamped at 0.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "faxgw/render.h"

extern char** environ;

namespace faxgw::render::ocr {

// Writes the page as a P4 PBM at its printed aspect ratio (rows repeated
// 196 / y_dpi times), with a white margin Tesseract likes.
inline void write_pbm(const Page& page, const std::filesystem::path& out) {
    const int repeat = page.resolution == Resolution::standard ? 2 : 1;
    const int pad = 32;  // pixels of white on every side (a multiple of 8)
    const int width = page.width + 2 * pad;
    const int stride = width / 8;
    std::ofstream f(out, std::ios::binary);
    f << "P4\n" << width << " " << page.height * repeat + 2 * pad << "\n";
    const std::string white(static_cast<std::size_t>(stride), '\0');
    for (int i = 0; i < pad; ++i) f << white;
    std::string row(static_cast<std::size_t>(stride), '\0');
    for (int y = 0; y < page.height; ++y) {
        std::memcpy(row.data() + pad / 8,
                    page.bits.data() + static_cast<std::size_t>(y) * page.stride(),
                    static_cast<std::size_t>(page.stride()));
        for (int r = 0; r < repeat; ++r) f << row;
    }
    for (int i = 0; i < pad; ++i) f << white;
    if (!f) throw std::runtime_error("cannot write " + out.string());
}

// Runs `tesseract IMAGE stdout --dpi 204 -l eng` and returns what it read.
inline std::string tesseract(const std::filesystem::path& image) {
    const std::vector<std::string> args = {
        "tesseract", image.string(), "stdout", "--dpi", std::to_string(fax_x_dpi),
        "-l",        "eng",          "--psm",  "3"};
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e)
        if (std::strncmp(*e, "OMP_THREAD_LIMIT=", 17) != 0) env_strings.emplace_back(*e);
    env_strings.emplace_back("OMP_THREAD_LIMIT=1");
    std::vector<char*> envp;
    for (std::string& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    const int rc = ::posix_spawnp(&pid, "tesseract", &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        throw std::runtime_error(std::string("cannot run tesseract: ") + std::strerror(rc));
    }
    std::string text;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error("tesseract failed on " + image.string());
    return text;
}

// OCR of every page, joined by newlines.
inline std::string read_pages(const std::vector<Page>& pages, const std::filesystem::path& dir) {
    std::string text;
    for (std::size_t i = 0; i < pages.size(); ++i) {
        const std::filesystem::path file = dir / ("ocr-page-" + std::to_string(i) + ".pbm");
        write_pbm(pages[i], file);
        text += tesseract(file);
        text += '\n';
        std::filesystem::remove(file);
    }
    return text;
}

// Whitespace runs become one space, leading and trailing whitespace goes,
// typographic quotes and dashes become ASCII (Tesseract reads ' as ’ and
// - as — at will; neither says anything about legibility). Case is kept.
inline std::string normalise(std::string_view s) {
    std::string out;
    bool space = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        // U+2018/2019/201C/201D (E2 80 98/99/9C/9D), U+2013/2014 (E2 80 93/94)
        if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80) {
            const auto d = static_cast<unsigned char>(s[i + 2]);
            char ascii = 0;
            if (d == 0x98 || d == 0x99) ascii = '\'';
            if (d == 0x9C || d == 0x9D) ascii = '"';
            if (d == 0x93 || d == 0x94) ascii = '-';
            if (ascii) {
                if (space && !out.empty()) out += ' ';
                space = false;
                out += ascii;
                i += 2;
                continue;
            }
        }
        if (std::isspace(c)) {
            space = true;
            continue;
        }
        if (space && !out.empty()) out += ' ';
        space = false;
        out += static_cast<char>(c);
    }
    return out;
}

// Levenshtein distance in bytes (the sources compared are ASCII).
inline std::size_t levenshtein(std::string_view a, std::string_view b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min(
                {prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

inline double accuracy(std::string_view ocr_text, std::string_view source) {
    const std::string o = normalise(ocr_text), s = normalise(source);
    if (s.empty()) return o.empty() ? 1.0 : 0.0;
    const double d = static_cast<double>(levenshtein(o, s));
    return std::max(0.0, 1.0 - d / static_cast<double>(s.size()));
}

// The text of samples/docs/three-pages.ps (and of three-pages.pdf made from
// it), page by page, in reading order.
// The text of samples/docs/serif-letter-*.pdf (serif-letter.ps).
inline const char* serif_letter_text() {
    return "ACME Sales Ltd, 14 Harbour Road, Portsmouth PO1 3AX\n"
           "Order confirmation 2024-0173\n"
           "Dear Ms Johnson,\n"
           "Thank you for your order of 12 March. We confirm the following items,\n"
           "which will be shipped from our warehouse within five working days:\n"
           "four steel shelving units, twelve storage boxes and the delivery.\n"
           "Payment is due within 30 days of the invoice date. Please quote the\n"
           "order number on every payment and in any letter about this order.\n"
           "If anything is missing or damaged on arrival, call us on 023 9284 1100\n"
           "between 8 am and 6 pm, or reply to this fax before the end of the week.\n"
           "Our opening hours change in April: the showroom will close at 5 pm on\n"
           "Saturdays, while the trade counter stays open until noon on Sundays.\n"
           "The self-service car park after the left turn is free of charge.\n"
           "Yours sincerely,\n"
           "Peter Walsh\n"
           "Customer Accounts\n";
}

inline const char* three_pages_text() {
    return "A short letter\n"
           "Dear reader,\n"
           "this is a three-page document used by the faxgw tests. It was written\n"
           "in PostScript and turned into PDF by Ghostscript, so it can be made\n"
           "again from source at any time.\n"
           "Page 1 of 3\n"
           "The middle page\n"
           "The second page says little, but it says it in two sizes of type.\n"
           "A fax receiver prints it at 204 by 196 dots per inch, or coarser.\n"
           "Page 2 of 3\n"
           "The last page\n"
           "Kind regards,\n"
           "The faxgw test suite\n"
           "Page 3 of 3\n";
}

}  // namespace faxgw::render::ocr
