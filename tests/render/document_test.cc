// render_document: every supported type from samples/docs, refusals that
// name the file and its type, limits, and isolation of crashing, hanging
// and memory-hungry renderers and of the network.
#define BOOST_TEST_MODULE document
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "faxgw/render.h"
#include "network.h"
#include "test_util.h"

using namespace faxgw::render;
using namespace faxgw::render::test;

namespace {

std::vector<Page> render_sample(const std::string& name, const Options& options = {}) {
    return render_document(read_bytes(samples() / name), "", name, options);
}

std::string error_of(std::string_view bytes, std::string_view mime, std::string_view name,
                     const Options& options = {}) {
    try {
        render_document(bytes, mime, name, options);
    } catch (const Error& e) {
        BOOST_TEST_MESSAGE("Error: " << e.what());
        return e.what();
    } catch (const ResourceError& e) {
        // The gateway's fault: the mail is retried, so the test says which.
        BOOST_TEST_MESSAGE("ResourceError: " << e.what());
        return std::string("ResourceError: ") + e.what();
    }
    return "(no error)";
}

void check_geometry(const std::vector<Page>& pages, int height, Resolution r) {
    for (const Page& p : pages) {
        BOOST_TEST(p.width == 1728);
        BOOST_TEST(p.height == height);
        BOOST_TEST(p.resolution == r);
        BOOST_TEST(p.bits.size() == std::size_t(216) * height);
    }
}

// A PNG header that declares width x height; no pixel data follows.
std::string png_header(std::uint32_t width, std::uint32_t height) {
    std::string b("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
    for (std::uint32_t v : {width, height})
        for (int shift = 24; shift >= 0; shift -= 8) b += char((v >> shift) & 0xff);
    b += std::string("\x08\x02\0\0\0", 5);  // 8-bit RGB
    b += std::string(4, '\0');              // CRC (never reached)
    return b;
}

#if defined(FAXGW_SANITIZED)
constexpr bool asan = true;
#else
constexpr bool asan = false;
#endif

}  // namespace

BOOST_AUTO_TEST_CASE(every_sample_type_renders_on_fax_pages) {
    const int a4_fine = page_height_px(Paper::a4, Resolution::fine);  // 2292
    for (const char* name : {"photo.jpg", "photo.gif", "photo.bmp", "photo.webp", "logo.png",
                             "figure.eps", "image.pdf", "cjk.txt"}) {
        BOOST_TEST_CONTEXT(name) {
            const auto pages = render_sample(name);
            BOOST_TEST(pages.size() == 1u);
            check_geometry(pages, a4_fine, Resolution::fine);
            BOOST_TEST(!ink_of(pages.at(0)).empty());
        }
    }
    const auto ps = render_sample("three-pages.ps");
    BOOST_TEST(ps.size() == 3u);
    check_geometry(ps, a4_fine, Resolution::fine);
    const auto scan = render_sample("scan.tif");
    BOOST_TEST(scan.size() == 2u);
    check_geometry(scan, a4_fine, Resolution::fine);
}

BOOST_AUTO_TEST_CASE(paper_and_resolution_are_obeyed_by_every_renderer) {
    Options o;
    o.paper = Paper::letter;
    o.resolution = Resolution::standard;
    const int h = page_height_px(Paper::letter, Resolution::standard);
    check_geometry(render_sample("photo.jpg", o), h, Resolution::standard);
    check_geometry(render_sample("three-pages.ps", o), h, Resolution::standard);
    check_geometry(render_sample("scan.tif", o), h, Resolution::standard);
    check_geometry(render_sample("image.pdf", o), h, Resolution::standard);
}

BOOST_AUTO_TEST_CASE(landscape_pictures_are_turned_and_fill_the_page) {
    // photo.jpg is 1200 x 900: turned, its 900 px side runs across the page.
    const auto pages = render_sample("photo.jpg");
    const Ink ink = ink_of(pages.at(0));
    BOOST_TEST(ink.right - ink.left > 1500);  // width fitted inside 5 mm margins
    BOOST_TEST(ink.bottom - ink.top > 1700);  // 4:3 turned: taller than wide
    BOOST_TEST(ink.bottom - ink.top < 2292 - 60);
}

BOOST_AUTO_TEST_CASE(the_same_content_renders_whatever_the_name_or_mime_type) {
    const std::string jpeg = read_bytes(samples() / "photo.jpg");
    const auto a = render_document(jpeg, "image/jpeg", "photo.jpg", Options{});
    const auto b = render_document(jpeg, "application/octet-stream", "photo.txt", Options{});
    BOOST_TEST((a == b));
}

BOOST_AUTO_TEST_CASE(refused_types_say_why_and_name_the_file) {
    BOOST_TEST(error_of(std::string("PK\3\4\x14\0\6\0", 8), "", "archive.zip") ==
               "attachment archive.zip (ZIP archive or Office document) cannot be faxed");
    // Office documents and HTML have renderers now (html_office_test.cc);
    // without LibreOffice an Office document waits, named, for the gateway
    // to be fixed.
    Options no_office;
    no_office.libreoffice = "/nonexistent/soffice";
    BOOST_TEST(
        error_of(std::string("PK\3\4\x14\0\6\0", 8), "", "report.docx", no_office) ==
        "ResourceError: attachment report.docx (Word document) cannot be faxed: LibreOffice is not "
        "installed on the gateway");
    BOOST_TEST(error_of("<svg xmlns='http://www.w3.org/2000/svg'/>", "", "drawing.svg") ==
               "attachment drawing.svg (HTML, SVG or RTF) cannot be faxed");
    BOOST_TEST(error_of("Gr\xfc\xdf"
                        "e\n",
                        "application/x-latin1", "latin1.txt") ==
               "attachment latin1.txt (application/x-latin1) cannot be faxed");
    BOOST_TEST(error_of(std::string("\0\1\2\3", 4), "", "blob.bin") ==
               "attachment blob.bin (.bin file) cannot be faxed");
}

BOOST_AUTO_TEST_CASE(damaged_documents_fail_naming_the_file) {
    const std::string jpeg = read_bytes(samples() / "photo.jpg");
    const std::string cut = error_of(jpeg.substr(0, 300), "", "holiday.jpg");
    BOOST_TEST(cut.starts_with("holiday.jpg: picture is damaged"), cut);
    const std::string ps = error_of("%!PS\n/foo bar baz\nshowpage\n", "", "broken.ps");
    BOOST_TEST(ps.starts_with("broken.ps: PostScript cannot be rendered"), ps);
    const std::string pdf = read_bytes(samples() / "three-pages.pdf");
    const std::string half = error_of(pdf.substr(0, pdf.size() / 2), "", "invoice.pdf");
    BOOST_TEST(half.starts_with("invoice.pdf: PDF is damaged"), half);
}

BOOST_AUTO_TEST_CASE(decompression_bomb_is_refused_by_the_pixel_limit) {
    const std::string bomb = png_header(30000, 30000);
    const std::string e = error_of(bomb, "image/png", "bomb.png");
    BOOST_TEST(e ==
               "bomb.png: picture is too large (30000x30000 pixels, more than the limit "
               "of 50 megapixels)");
    Options tiny;
    tiny.max_image_pixels = 1000;
    BOOST_TEST(error_of(read_bytes(samples() / "photo.jpg"), "", "photo.jpg", tiny)
                   .starts_with("photo.jpg: picture is too large (1200x900 pixels"));
    BOOST_TEST(error_of(read_bytes(samples() / "scan.tif"), "", "scan.tif", tiny)
                   .starts_with("scan.tif: picture is too large"));
}

BOOST_AUTO_TEST_CASE(page_and_size_limits) {
    Options two;
    two.max_pages = 2;
    BOOST_TEST(error_of(read_bytes(samples() / "three-pages.ps"), "", "long.ps", two) ==
               "long.ps: PostScript has 3 pages, more than the limit of 2");
    Options small;
    small.max_input_bytes = 1000;
    BOOST_TEST(error_of(read_bytes(samples() / "photo.jpg"), "", "photo.jpg", small)
                   .starts_with("photo.jpg: document is too large to fax"));
}

BOOST_AUTO_TEST_CASE(a_hanging_renderer_is_killed_at_the_wall_clock_limit) {
    Options o;
    o.wall_seconds = 2;
    // Temporary files in a folder of this test's own, to see that the
    // killed Ghostscript leaves none behind.
    const TempDir tmp;
    const std::string old_tmpdir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "";
    ::setenv("TMPDIR", tmp.path().c_str(), 1);
    const std::string e = error_of("%!PS\n{} loop\n", "application/postscript", "hang.ps", o);
    if (old_tmpdir.empty())
        ::unsetenv("TMPDIR");
    else
        ::setenv("TMPDIR", old_tmpdir.c_str(), 1);
    // A loaded machine can make any document slow: the mail is retried.
    BOOST_TEST(e == "ResourceError: hang.ps: rendering took longer than 2 s");
    BOOST_TEST(std::filesystem::is_empty(tmp.path()), "temporary files left behind");
    // And the caller goes on.
    BOOST_TEST(render_sample("figure.eps").size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_crashing_renderer_gives_an_error) {
    try {
        run_isolated(
            "invoice.pdf",
            []() -> std::vector<Page> {
                ::raise(SIGSEGV);
                return {};
            },
            Options{});
        BOOST_FAIL("no error");
    } catch (const Error& e) {
        BOOST_TEST(std::string(e.what()).starts_with("invoice.pdf: renderer crashed (signal 11"),
                   e.what());
    }
}

// Our child processes (by the parent pid in /proc/PID/stat).
std::vector<pid_t> children_of_this_process() {
    std::vector<pid_t> out;
    for (const auto& p : std::filesystem::directory_iterator("/proc")) {
        const std::string name = p.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream stat(p.path() / "stat");
        std::string line;
        std::getline(stat, line);
        const auto close = line.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream rest(line.substr(close + 2));
        char state = 0;
        pid_t parent = 0;
        rest >> state >> parent;
        if (parent == ::getpid()) out.push_back(std::stoi(name));
    }
    return out;
}

// A service manager stopping the gateway signals all its processes, the
// renderers' keepers too: a good document must not be refused for that.
BOOST_AUTO_TEST_CASE(a_renderer_stopped_from_outside_is_a_resource_error) {
    std::atomic<bool> done = false;
    // It starts looking once the renderer has been forked: a thread busy
    // allocating while the process forks can leave the sanitizers'
    // allocator locked in the child.
    std::thread stopper([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        while (!done) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            for (pid_t child : children_of_this_process()) ::kill(child, SIGTERM);
        }
    });
    std::string error;
    try {
        run_isolated(
            "invoice.pdf",
            []() -> std::vector<Page> {
                std::this_thread::sleep_for(std::chrono::seconds(20));
                return {};
            },
            Options{});
        error = "no error";
    } catch (const ResourceError& e) {
        error = e.what();
    } catch (const std::exception& e) {
        error = std::string("not a ResourceError: ") + e.what();
    }
    done = true;
    stopper.join();
    BOOST_TEST(error.starts_with("invoice.pdf: renderer stopped by signal 15"), error);
}

BOOST_AUTO_TEST_CASE(a_renderer_out_of_memory_gives_an_error) {
    if (asan) {  // no address-space limit under AddressSanitizer
        BOOST_TEST_MESSAGE("SKIPPED: AddressSanitizer reserves more address space than any limit");
        return;
    }
    Options o;
    o.memory_mb = 64;
    try {
        run_isolated(
            "big.pdf",
            [] {
                std::vector<std::vector<char>> hog;
                for (int i = 0; i < 64; ++i) hog.emplace_back(16u << 20, 'x');
                return std::vector<Page>{};
            },
            o);
        BOOST_FAIL("no error");
    } catch (const Error& e) {
        BOOST_TEST(std::string(e.what()) == "big.pdf: ran out of memory (limit 64 MB)");
    }
}

BOOST_AUTO_TEST_CASE(a_renderer_over_its_cpu_time_gives_an_error) {
    Options o;
    o.cpu_seconds = 1;
    o.wall_seconds = 60;
    try {
        run_isolated(
            "spin.ps",
            [] {
                volatile unsigned long n = 0;
                for (;;) n = n + 1;
                return std::vector<Page>{};
            },
            o);
        BOOST_FAIL("no error");
    } catch (const Error& e) {
        BOOST_TEST(std::string(e.what()) ==
                   "spin.ps: rendering used more than 1 s of processor time");
    }
}

BOOST_AUTO_TEST_CASE(pages_come_back_from_the_child_unchanged) {
    const std::vector<Page> sent = {pattern_page(2292, Resolution::fine, 3),
                                    pattern_page(1146, Resolution::standard, 4)};
    const auto got = run_isolated(
        "x", [&] { return sent; }, Options{});
    BOOST_TEST((got == sent));
    Options in_process;
    in_process.isolate = false;
    BOOST_TEST((render_sample("photo.gif", in_process) == render_sample("photo.gif")));
}

BOOST_AUTO_TEST_CASE(the_renderer_has_no_network_not_even_loopback) {
    if (!kernel_allows_network_namespaces()) {
        BOOST_TEST_MESSAGE("SKIPPED: the kernel allows no network namespace here");
        return;
    }
    const LoopbackListener server;  // no thread while run_isolated forks
    BOOST_TEST_REQUIRE(try_to_connect(server.port()) == "connected");  // from here it answers
    try {
        run_isolated(
            "probe", [&]() -> std::vector<Page> { throw Error(try_to_connect(server.port())); },
            Options{});
        BOOST_FAIL("no error");
    } catch (const Error& e) {
        // Not "Connection refused": there is no route, loopback included.
        BOOST_TEST(std::string(e.what()) == "probe: " + std::string(std::strerror(ENETUNREACH)));
    }
}

BOOST_AUTO_TEST_CASE(the_renderer_keeps_its_user_and_group) {
    // The child is in a user namespace of its own. Without root it has our
    // ids there too; root's child is nobody there (65534, mapped to root
    // outside: no program it starts becomes root). Either way what it
    // writes is ours.
    const uid_t uid = ::getuid() == 0 ? 65534 : ::getuid();
    const gid_t gid = ::getgid() == 0 ? 65534 : ::getgid();
    // It writes only into its scratch folder (its TMPDIR), which it alone
    // sees: it checks there; the pages it writes there come back to us.
    run_isolated(
        "ids",
        [&]() -> std::vector<Page> {
            if (::getuid() != uid || ::getgid() != gid)
                throw Error("runs as " + std::to_string(::getuid()) + ":" +
                            std::to_string(::getgid()));
            const auto file = std::filesystem::temp_directory_path() / "written";
            write_bytes(file, "x");
            struct stat written {};
            if (::stat(file.c_str(), &written) != 0 || written.st_uid != uid ||
                written.st_gid != gid)
                throw Error("writes as " + std::to_string(written.st_uid) + ":" +
                            std::to_string(written.st_gid));
            return {};
        },
        Options{});
    const TempDir dir;
    BOOST_TEST_REQUIRE(render_document_to_tiff(read_bytes(samples() / "photo.gif"), "", "photo.gif",
                                               Options{}, dir / "out.tif") == 1);
    struct stat written {};
    BOOST_TEST_REQUIRE(::stat((dir / "out.tif").c_str(), &written) == 0);
    BOOST_TEST(written.st_uid == ::getuid());
    BOOST_TEST(written.st_gid == ::getgid());
}
