// Benchmark: messages per second into faxgw, for a plain-text mail and for a
// mail with a ~1 MB PDF attachment,
//   1. `faxgw submit` run directly, one process after another (what the
//      pipe transport costs without an MTA);
//   2. through a private Postfix on 127.0.0.1 (tests/postfix/postfix.h) over
//      SMTP to the `fax` pipe transport, which runs `faxgw submit`;
//   3. the same mails through the same Postfix, delivered by pipe(8) into a
//      file (`dd`), and by virtual(8) into a Maildir: the MTA's own cost.
// Through Postfix, the clock runs from the first SMTP command until the log
// shows every message delivered. Prints the median of several runs.
// Needs root and the Debian package postfix, like tests/postfix/.
//   faxgw-bench-postfix [TEXT_MESSAGES [PDF_MESSAGES [RUNS]]]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "postfix.h"
#include "process.h"
#include "smtp.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
using faxgw::test::Postfix;

const std::string faxgw_bin = FAXGW_BINARY;
const fs::path source_dir = FAXGW_SOURCE_DIR;

// A one-page PDF of about 1 MB: a page-sized image of noise that no filter
// can shrink, under a line of text.
std::string make_pdf(const fs::path& dir) {
    std::ofstream(dir / "noise.ps") << "%!PS\n/Helvetica findfont 14 scalefont setfont 60 780 "
                                       "moveto (A scanned page of noise) show\n"
                                       "gsave 60 150 translate 480 600 scale\n/s 1000 string def\n"
                                       "1000 1000 8 [1000 0 0 -1000 0 1000] { 0 1 999 { s exch "
                                       "rand -8 bitshift 255 and put } for s } image\n"
                                       "grestore showpage\n";
    auto gs = faxgw::test::run({"gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite",
                                "-sPAPERSIZE=a4", "-dAutoFilterGrayImages=false",
                                "-dGrayImageFilter=/FlateEncode", "-dDownsampleGrayImages=false",
                                "-o", (dir / "noise.pdf").string(), (dir / "noise.ps").string()},
                               dir);
    if (gs.code != 0) throw std::runtime_error("gs failed: " + gs.err);
    return faxgw::test::slurp(dir / "noise.pdf");
}

struct Kind {
    std::string name;
    std::string text;  // the mail, with MESSAGE-ID where each copy's id goes
    int count;
};

std::string with_id(const std::string& templ, const std::string& id) {
    std::string m = templ;
    m.replace(m.find("MESSAGE-ID"), 10, id);
    return m;
}

std::string unique_id(const std::string& what) {
    static long serial = 0;
    return "<bench-" + what + "-" + std::to_string(::getpid()) + "-" + std::to_string(++serial) +
           "@example.org>";
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

void report(const std::string& what, const Kind& k, const std::vector<double>& rates,
            const std::string& note = "") {
    auto [lo, hi] = std::minmax_element(rates.begin(), rates.end());
    std::printf("%-34s %-10s %4d msgs  %8.1f msg/s  (runs %zu, min %.1f, max %.1f)%s\n",
                what.c_str(), k.name.c_str(), k.count, median(rates), rates.size(), *lo, *hi,
                note.c_str());
    std::fflush(stdout);
}

// Counts lines of Postfix's log that contain all of some strings, reading
// only what was added since the last call.
class LogCounter {
public:
    explicit LogCounter(fs::path log) : log_(std::move(log)) {}
    // Returns how many new complete lines contain both `a` and `b`.
    int count_new(const std::string& a, const std::string& b, int* also = nullptr,
                  const std::string& c = "") {
        std::ifstream in(log_, std::ios::binary);
        in.seekg(offset_);
        std::string chunk{std::istreambuf_iterator<char>(in), {}};
        auto last = chunk.rfind('\n');
        if (last == std::string::npos) return 0;
        offset_ += static_cast<std::streamoff>(last + 1);
        int n = 0;
        std::istringstream lines(chunk.substr(0, last + 1));
        for (std::string line; std::getline(lines, line);) {
            if (line.find(a) != std::string::npos && line.find(b) != std::string::npos) ++n;
            if (also && line.find(a) != std::string::npos && line.find(c) != std::string::npos)
                ++*also;
        }
        return n;
    }
    void skip_to_end() {
        offset_ = static_cast<std::streamoff>(fs::exists(log_) ? fs::file_size(log_) : 0);
    }

private:
    fs::path log_;
    std::streamoff offset_ = 0;
};

// Messages per second of `faxgw submit` run directly, one after another.
double direct_run(const Kind& k, const fs::path& scratch) {
    fs::path var = scratch / "direct-var";
    fs::remove_all(var);
    std::vector<fs::path> mails;
    for (int i = 0; i < k.count; ++i) {
        mails.push_back(scratch / ("direct-" + std::to_string(i) + ".eml"));
        std::ofstream(mails.back(), std::ios::binary) << with_id(k.text, unique_id("direct"));
    }
    auto t0 = Clock::now();
    for (const auto& m : mails) {
        auto o = faxgw::test::run({faxgw_bin, "submit", "--var", var.string(), "--sender",
                                   "bench@example.org", "5551001@fax.example.com"},
                                  scratch, m);
        if (o.code != 0)
            throw std::runtime_error("faxgw submit exited " + std::to_string(o.code) + ": " +
                                     o.out);
    }
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    for (const auto& m : mails) fs::remove(m);
    return k.count / s;
}

// Messages per second through Postfix to `recipient`, delivered by the
// transport that logs `relay`. Adds the deferrals seen to `deferred`.
double postfix_run(Postfix& pf, LogCounter& log, const Kind& k, const std::string& recipient,
                   const std::string& relay, int& deferred) {
    std::vector<std::string> mails;
    for (int i = 0; i < k.count; ++i) mails.push_back(with_id(k.text, unique_id("postfix")));
    log.skip_to_end();
    int delivered = 0;
    auto t0 = Clock::now();
    {
        faxgw::test::SmtpClient smtp(pf.port);
        for (const auto& m : mails) smtp.send("bench@example.org", {recipient}, m);
    }
    auto deadline = t0 + std::chrono::minutes(10);
    while (delivered < k.count) {
        delivered += log.count_new(relay, "status=sent", &deferred, "status=deferred");
        if (delivered >= k.count) break;
        if (Clock::now() > deadline)
            throw std::runtime_error("Postfix did not deliver every message in 10 min");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return k.count / std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) try {
    const int text_n = argc > 1 ? std::atoi(argv[1]) : 40;
    const int pdf_n = argc > 2 ? std::atoi(argv[2]) : 10;
    const int runs = argc > 3 ? std::atoi(argv[3]) : 3;

    std::string templ = "/tmp/fxbench-XXXXXX";
    fs::path scratch = ::mkdtemp(templ.data());

    std::string text = faxgw::test::slurp(source_dir / "samples" / "mail" / "plain-text.eml");
    text.replace(text.find("<plain-text.sample@example.org>"), 31, "MESSAGE-ID");
    std::string pdf = make_pdf(scratch);
    std::string pdf_mail =
        "Message-ID: MESSAGE-ID\r\nFrom: Bench <bench@example.org>\r\nTo: "
        "5551001@fax.example.com\r\n"
        "Subject: a scanned page\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
        "boundary=\"b\"\r\n\r\n"
        "--b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nPlease find the page "
        "attached.\r\n"
        "--b\r\nContent-Type: application/pdf; name=\"noise.pdf\"\r\nContent-Transfer-Encoding: "
        "base64\r\n\r\n" +
        faxgw::test::base64(pdf) + "--b--\r\n";
    std::vector<Kind> kinds = {{"plain-text", text, text_n}, {"pdf-1MB", pdf_mail, pdf_n}};
    std::printf(
        "faxgw-bench-postfix: %d plain-text mails (%zu bytes), %d mails with a %zu-byte PDF (%zu "
        "bytes), "
        "median of %d runs\n",
        text_n, text.size(), pdf_n, pdf.size(), pdf_mail.size(), runs);

    for (const auto& k : kinds) {
        std::vector<double> rates;
        for (int r = 0; r < runs; ++r) rates.push_back(direct_run(k, scratch));
        report("faxgw submit, direct, sequential", k, rates);
    }

    Postfix pf({faxgw_bin, ""});
    LogCounter log(pf.log);
    struct Path {
        std::string what, recipient, relay;
    };
    const std::vector<Path> paths = {
        {"Postfix -> pipe -> faxgw submit", "5551001@fax.example.com", "relay=fax,"},
        {"Postfix -> pipe -> file (dd)", "5551001@file.example.com", "relay=tofile,"},
        {"Postfix -> virtual -> Maildir", "sink@example.org", "relay=virtual,"},
    };
    for (const auto& k : kinds) {
        // One mail of each first, so that no run pays for starting services.
        int ignored = 0;
        for (const auto& p : paths)
            postfix_run(pf, log, {k.name, k.text, 1}, p.recipient, p.relay, ignored);
        for (const auto& p : paths) {
            std::vector<double> rates;
            int deferred = 0;
            for (int r = 0; r < runs; ++r)
                rates.push_back(postfix_run(pf, log, k, p.recipient, p.relay, deferred));
            report(p.what, k, rates,
                   deferred ? "  deferred and retried: " + std::to_string(deferred) : "");
        }
    }
    auto jobs = pf.run_as_pipe_user({faxgw_bin, "jobs", "--json", "--var", pf.var.string()});
    long lines = 0;
    for (auto at = jobs.out.find("\"origin_key\""); at != std::string::npos;
         at = jobs.out.find("\"origin_key\"", at + 1))
        ++lines;
    std::printf("faxgw queued through Postfix: %ld jobs (expected %d)\n", lines,
                (runs * text_n + 1) + (runs * pdf_n + 1));
    pf.stop();
    fs::remove_all(scratch);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "faxgw-bench-postfix: %s\n", e.what());
    return 1;
}
