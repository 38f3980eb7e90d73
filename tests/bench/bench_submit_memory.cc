// Benchmark: peak memory of submitting one mail with a long PDF attached
// (300 pages unless given), in the process that runs mailgw::submit (as
// `faxgw submit` does) and in its isolated rendering child, against the
// obvious alternative of rendering every page into memory and stamping and
// writing them afterwards, and against Ghostscript writing the same PDF to
// a G4 TIFF. Each variant runs in a fresh forked process, so that one
// variant's peak does not hide another's.
#include <faxgw/faxcore.h>
#include <faxgw/mailgw.h>
#include <faxgw/render.h>
#include <mimetic/mimetic.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <string>

#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using faxgw::test::TempDir;

struct Peak {
    double seconds = 0;
    long self_kb = 0;   // the process itself
    long child_kb = 0;  // its largest child (the renderer, or gs)
    bool ok = false;
};

// Runs fn in a forked process; reports its own peak RSS and its children's.
Peak measure(const std::function<bool()>& fn) {
    int out[2];
    if (pipe(out) != 0) std::exit(1);
    const auto start = std::chrono::steady_clock::now();
    const pid_t pid = fork();
    if (pid == 0) {
        close(out[0]);
        Peak p;
        p.ok = fn();
        rusage self{}, children{};
        getrusage(RUSAGE_SELF, &self);
        getrusage(RUSAGE_CHILDREN, &children);
        p.self_kb = self.ru_maxrss;
        p.child_kb = children.ru_maxrss;
        if (write(out[1], &p, sizeof p) != static_cast<ssize_t>(sizeof p)) _exit(1);
        _exit(0);
    }
    close(out[1]);
    Peak p;
    if (read(out[0], &p, sizeof p) != static_cast<ssize_t>(sizeof p)) p.ok = false;
    close(out[0]);
    waitpid(pid, nullptr, 0);
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return p;
}

std::string long_pdf(const fs::path& dir, int pages) {
    const fs::path ps = dir / "long.ps", pdf = dir / "long.pdf";
    std::FILE* f = std::fopen(ps.c_str(), "w");
    std::fprintf(f,
                 "%%!PS\n<< /PageSize [595 842] >> setpagedevice\n"
                 "/Helvetica findfont 11 scalefont setfont\n"
                 "1 1 %d { /n exch def 72 780 moveto (Page ) show n 10 string cvs show\n"
                 "  0 1 45 { 15 mul 750 exch sub 72 exch moveto\n"
                 "  (The quick brown fox jumps over the lazy dog 0123456789.) show } for\n"
                 "  showpage } for\n",
                 pages);
    std::fclose(f);
    const std::string cmd =
        "gs -q -dSAFER -dBATCH -dNOPAUSE -sDEVICE=pdfwrite -o " + pdf.string() + " " + ps.string();
    if (std::system(cmd.c_str()) != 0) std::exit(1);
    return faxgw::test::slurp(pdf);
}

std::string mail_with(const std::string& pdf) {
    std::string encoded;
    mimetic::Base64::Encoder encoder;
    mimetic::encode(pdf.begin(), pdf.end(), encoder, std::back_inserter(encoded));
    return "From: bench@example.org\nTo: 5551001@fax.example.com\nSubject: long\n"
           "Message-ID: <long@example.org>\nMIME-Version: 1.0\n"
           "Content-Type: application/pdf; name=long.pdf\nContent-Transfer-Encoding: base64\n\n" +
           encoded + "\n";
}

void print(const char* what, const Peak& p) {
    std::printf("%-44s %8.1f %10.1f %12.1f  %s\n", what, p.seconds, p.self_kb / 1024.0,
                p.child_kb / 1024.0, p.ok ? "" : "FAILED");
}

}  // namespace

int main(int argc, char** argv) {
    using namespace faxgw;
    const int pages = argc > 1 ? std::atoi(argv[1]) : 300;
    TempDir dir;
    const std::string pdf = long_pdf(dir.path, pages);
    const std::string raw = mail_with(pdf);
    std::printf("%d-page PDF (%.1f MB), mail %.1f MB, A4 fine\n\n", pages, pdf.size() / 1e6,
                raw.size() / 1e6);
    std::printf("%-44s %8s %10s %12s\n", "", "s", "self MB", "renderer MB");

    print("faxgw submit (page by page)", measure([&] {
              auto queue = faxcore::Queue::open(dir.path / "var");
              mailgw::Settings settings;
              mailgw::Envelope envelope{
                  "bench@example.org", "127.0.0.1", "", {"5551001@fax.example.com"}};
              return mailgw::submit(raw, envelope, settings, *queue).code == mailgw::ExitCode::ok;
          }));
    print("all pages in memory, stamped, written", measure([&] {
              render::Options options;
              auto all = render::render_document(pdf, "application/pdf", "long.pdf", options);
              render::stamp_header(all, render::HeaderInfo{});
              render::write_fax_tiff(all, dir.path / "whole.tif");
              return static_cast<int>(all.size()) == pages;
          }));
    print("gs -sDEVICE=tiffg4 -r204x196", measure([&] {
              const std::string cmd =
                  "gs -q -dSAFER -dBATCH -dNOPAUSE -sDEVICE=tiffg4 -r204x196 -o " +
                  (dir.path / "gs.tif").string() + " " + (dir.path / "long.pdf").string();
              return std::system(cmd.c_str()) == 0;
          }));
    return 0;
}
