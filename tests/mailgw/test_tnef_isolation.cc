// The TNEF reader (libytnef) runs in render's isolated child, as renderers
// do: a child that sees only an empty scratch folder under TMPDIR, with a
// wall-clock limit, and that leaves no process behind.
#define BOOST_TEST_MODULE tnef_isolation
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "faxgw/render.h"
#include "test_support.h"
#include "tnef.h"

using namespace faxgw::mailgw;

namespace {

std::string winmail() { return faxgw::test::sample_mail("corpus/files/winmail-pdf.dat"); }

// Children of this process that have not been reaped, zombies included.
int children() {
    int count = 0;
    const std::string me = std::to_string(::getpid());
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        if (!std::getline(stat, line) || line.rfind(')') == std::string::npos) continue;
        std::istringstream rest(line.substr(line.rfind(')') + 2));
        std::string state, ppid;
        rest >> state >> ppid;
        count += ppid == me;
    }
    return count;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_reader_runs_in_the_isolated_child) {
    // The isolation makes its scratch folder under TMPDIR: with none to be
    // had, the stream is not read (and not refused: the gateway is at fault).
    const std::string old = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "";
    ::setenv("TMPDIR", "/nonexistent/faxgw-tmp", 1);
    bool resource_error = false;
    try {
        tnef_attachments(winmail());
    } catch (const faxgw::render::ResourceError& e) {
        BOOST_TEST_MESSAGE(e.what());
        resource_error = true;
    }
    if (old.empty())
        ::unsetenv("TMPDIR");
    else
        ::setenv("TMPDIR", old.c_str(), 1);
    BOOST_TEST(resource_error);
    // With one, it reads as before and leaves no child behind.
    const auto inside = tnef_attachments(winmail());
    BOOST_TEST_REQUIRE(inside.size() == 1u);
    BOOST_TEST(inside[0].filename == "Angebot 2025-114.pdf");
    BOOST_TEST(children() == 0);
}

// Like a renderer, the reader has a wall-clock limit (a stream that makes it
// hang), a processor-time limit and a memory limit.
BOOST_AUTO_TEST_CASE(the_reader_child_is_bounded_like_a_renderer) {
    const faxgw::render::Options renderer;
    const faxgw::render::Options reader = tnef_child_limits();
    BOOST_TEST(reader.isolate);
    BOOST_TEST(reader.wall_seconds > 0);
    BOOST_TEST(reader.wall_seconds <= renderer.wall_seconds);
    BOOST_TEST(reader.cpu_seconds > 0);
    BOOST_TEST(reader.cpu_seconds <= renderer.cpu_seconds);
    BOOST_TEST(reader.memory_mb > 0);
}
