// Renderers see nothing of the host but their input: documents that link to
// a fax in the queue's spool, to a text file beside it or to /etc render
// exactly as they do when those files are missing (Office links, HTML
// file:// URLs, PostScript's file operator); the isolated child cannot even
// see them; renderers die with the process that started them; and faults of
// the gateway are ResourceError, not the document's Error.
#define BOOST_TEST_MODULE isolation
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "faxgw/render.h"
#include "isolate.h"
#include "office.h"
#include "process.h"
#include "program.h"
#include "test_util.h"

using namespace faxgw::render;
using namespace faxgw::render::test;

namespace {

// A queue's state folder as a sender would aim at it: a received fax in
// spool/in and a text file holding a word found nowhere else.
struct StateFolder {
    TempDir dir;
    std::filesystem::path fax = dir / "state/spool/in/call-1-1.tif";
    std::filesystem::path text = dir / "state/spool/secret.txt";
    std::filesystem::path picture = dir / "state/spool/logo.png";
    StateFolder() {
        std::filesystem::create_directories(fax.parent_path());
        std::filesystem::copy_file(samples() / "scan.tif", fax);
        std::filesystem::copy_file(samples() / "logo.png", picture);
        write_bytes(text, "ZEBRA QUOKKA 4711 from the spool\n");
    }
    void remove_files() const {
        for (const auto& f : {fax, text, picture}) std::filesystem::remove(f);
    }
};

std::string what_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return std::string("Error: ") + e.what();
    } catch (const ResourceError& e) {
        return std::string("ResourceError: ") + e.what();
    }
    return "(no error)";
}

bool have(const std::string& tool) {
    if (have_tool(tool)) return true;
    BOOST_TEST_MESSAGE("SKIPPED: " << tool << " is not installed");
    return false;
}

// Renders `bytes` with the linked files present, then again with them
// removed: equal pages mean nothing of them reached the page.
void renders_as_without_the_files(const StateFolder& state, const std::string& bytes,
                                  const std::string& name, const Options& options = {}) {
    BOOST_TEST_CONTEXT(name) {
        const auto with_files = render_document(bytes, "", name, options);
        BOOST_TEST_REQUIRE(!with_files.empty());
        state.remove_files();
        const auto without_files = render_document(bytes, "", name, options);
        BOOST_TEST((with_files == without_files), name << " shows what it links to");
    }
}

// Renders `bytes` (a text format: PostScript, HTML) and the same document
// with each of `paths` pointing nowhere: equal pages mean nothing of those
// files reached the page. For files a test cannot remove, such as
// /etc/passwd.
void renders_as_with_the_paths_nowhere(const std::string& bytes,
                                       const std::vector<std::string>& paths,
                                       const std::string& name, const Options& options = {}) {
    BOOST_TEST_CONTEXT(name) {
        std::string nowhere = bytes;
        for (const std::string& path : paths) {
            const std::string missing = "/no/such" + path;
            for (std::size_t at = nowhere.find(path); at != std::string::npos;
                 at = nowhere.find(path, at + missing.size())) {
                nowhere.replace(at, path.size(), missing);
            }
        }
        BOOST_TEST_REQUIRE(nowhere != bytes);
        const auto pages = render_document(bytes, "", name, options);
        BOOST_TEST_REQUIRE(!pages.empty());
        BOOST_TEST((pages == render_document(nowhere, "", name, options)),
                   name << " shows what it links to");
    }
}

// Office documents that link to the state folder's fax and text file
// (make_linked_documents.py, make_linked_odt.py), by file name.
std::map<std::string, std::string> linked_office_documents(const StateFolder& state) {
    const TempDir out;
    const std::filesystem::path scripts = std::filesystem::path(FAXGW_SOURCE_DIR) / "tests/render";
    const Output made =
        run("python3 " + (scripts / "make_linked_documents.py").string() + " " +
            state.fax.string() + " " + state.text.string() + " " + out.path().string() +
            " && python3 " + (scripts / "make_linked_odt.py").string() + " file://" +
            state.fax.string() + " " + (out / "picture.odt").string());
    BOOST_TEST_REQUIRE(made.status == 0, made.text);
    std::map<std::string, std::string> documents;
    for (const auto& entry : std::filesystem::directory_iterator(out.path()))
        documents[entry.path().filename().string()] = read_bytes(entry.path());
    return documents;
}

bool alive(pid_t pid) {
    const char state = faxgw::test::state_of(pid);
    return state != '?' && state != 'Z';
}

// The processes below `pid` (children, their children, ...) that have not
// ended.
std::set<pid_t> descendants_of(pid_t pid) {
    std::set<pid_t> found;
    std::vector<pid_t> to_look_at{pid};
    while (!to_look_at.empty()) {
        const pid_t parent = to_look_at.back();
        to_look_at.pop_back();
        for (pid_t child : faxgw::test::children_of(parent))
            if (alive(child) && found.insert(child).second) to_look_at.push_back(child);
    }
    return found;
}

std::string command_of(pid_t pid) {
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    std::getline(comm, name);
    return name;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_isolated_renderer_sees_no_file_of_the_host) {
    const StateFolder state;
    const pid_t caller = ::getpid();
    const std::string proc_root = "/proc/" + std::to_string(caller) + "/root";
    // Each of these exists here; the renderer must find none of them, by
    // any path: directly, or through /proc into another process's view.
    const std::vector<std::string> secrets = {state.fax.string(),
                                              state.text.string(),
                                              "/etc/passwd",
                                              "/etc/hostname",
                                              "/root",
                                              proc_root + state.fax.string(),
                                              "/proc/1/root/etc/passwd"};
    BOOST_TEST_REQUIRE(::access(state.fax.c_str(), R_OK) == 0);
    const std::string seen = what_of([&] {
        run_isolated(
            "probe",
            [&]() -> std::vector<Page> {
                std::string visible;
                for (const std::string& path : secrets)
                    if (::access(path.c_str(), F_OK) == 0) visible += " " + path;
                // What it needs is there: fonts, and a scratch folder it may write.
                if (::access("/usr/share/fonts", R_OK) != 0) visible += " (no fonts)";
                const auto scratch = std::filesystem::temp_directory_path() / "x";
                write_bytes(scratch, "x");
                if (read_bytes(scratch) != "x") visible += " (no scratch)";
                // And the system files are read-only.
                if (std::ofstream("/usr/faxgw-probe")) visible += " (writable /usr)";
                if (!visible.empty()) throw Error("sees" + visible);
                return {};
            },
            Options{});
    });
    BOOST_TEST(seen == "(no error)");
}

// Descriptors the caller holds without close-on-exec, as a worker or a
// daemon does: a file of the state folder open for writing, a listening
// socket, a pipe, which is its standard input too (a worker's is its
// channel to the daemon). Closed, and standard input given back, when it
// goes.
struct HeldDescriptors {
    int file = -1, listener = -1, pipe_ends[2] = {-1, -1}, own_stdin = ::dup(0);
    explicit HeldDescriptors(const std::filesystem::path& state_file) {
        file = ::open(state_file.c_str(), O_RDWR);
        listener = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in loopback{};
        loopback.sin_family = AF_INET;
        loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(listener, reinterpret_cast<sockaddr*>(&loopback), sizeof loopback);
        ::listen(listener, 1);
        BOOST_TEST_REQUIRE(::pipe(pipe_ends) == 0);
        BOOST_TEST_REQUIRE(::dup2(pipe_ends[0], 0) == 0);
        BOOST_TEST_REQUIRE(file >= 0);
        BOOST_TEST_REQUIRE(listener >= 0);
    }
    ~HeldDescriptors() {
        ::dup2(own_stdin, 0);
        for (int fd : {file, listener, pipe_ends[0], pipe_ends[1], own_stdin}) ::close(fd);
    }
};

// The renderer holds none of its caller's files or sockets: they would
// bring back the file system and the network it is kept from. What it
// keeps (pipes) no program it starts inherits. Its standard input is
// /dev/null (a worker's is its channel to the daemon).
BOOST_AUTO_TEST_CASE(the_renderer_holds_none_of_the_callers_files_or_sockets) {
    const StateFolder state;
    const HeldDescriptors held(state.text);
    const std::string seen = run_isolated_bytes(
        "probe",
        [] {
            std::string lines;
            for (const auto& [fd, target] : faxgw::test::descriptors_of(::getpid())) {
                const bool inherited = fd > 2 && !(::fcntl(fd, F_GETFD) & FD_CLOEXEC);
                lines += std::to_string(fd) + " " + target + (inherited ? " inherited" : "") + "\n";
            }
            return lines;
        },
        Options{});
    BOOST_TEST_MESSAGE(seen);
    BOOST_TEST(seen.starts_with("0 /dev/null\n"), seen);
    BOOST_TEST(seen.find("secret.txt") == std::string::npos, seen);
    BOOST_TEST(seen.find("socket:") == std::string::npos, seen);
    BOOST_TEST(seen.find(" inherited") == std::string::npos, seen);
}

// The programs the renderers run (bubblewrap, tiff2pdf) inherit nothing of
// their caller's but the standard descriptors: bubblewrap would pass the
// rest on to Ghostscript or LibreOffice.
BOOST_AUTO_TEST_CASE(programs_run_for_a_renderer_inherit_no_descriptor) {
    const StateFolder state;
    const HeldDescriptors held(state.text);
    const TempDir dir;
    const auto log = dir.path() / "fds.log";
    // ls lists the shell's descriptors, not its own (the shell holds no
    // more than it was given while it waits for ls).
    BOOST_TEST_REQUIRE(run_program({"/bin/sh", "-c", "ls -l /proc/$$/fd/"}, log, 10) == 0);
    const std::string seen = read_bytes(log);
    BOOST_TEST_MESSAGE(seen);
    BOOST_TEST(seen.find("secret.txt") == std::string::npos, seen);
    BOOST_TEST(seen.find("socket:") == std::string::npos, seen);
    BOOST_TEST(seen.find("pipe:") == std::string::npos, seen);
}

BOOST_AUTO_TEST_CASE(run_isolated_bytes_runs_work_there_too) {
    const StateFolder state;
    BOOST_TEST(run_isolated_bytes(
                   "probe", [] { return std::string("bytes\0back", 10); }, Options{}) ==
               std::string("bytes\0back", 10));
    BOOST_TEST(what_of([&] {
                   run_isolated_bytes(
                       "probe",
                       [&]() -> std::string {
                           if (std::filesystem::exists(state.text)) throw Error("sees the spool");
                           throw ResourceError("disk full");
                       },
                       Options{});
               }) == "ResourceError: probe: disk full");
    Options quick;
    quick.wall_seconds = 1;
    BOOST_TEST(what_of([&] {
                   run_isolated_bytes(
                       "winmail.dat",
                       [] {
                           ::pause();
                           return std::string();
                       },
                       quick);
               }) == "ResourceError: winmail.dat: rendering took longer than 1 s");
}

// Pango looks fonts up in threads of its own that end by themselves a few
// milliseconds after it returns (text_test.cc runs the real ones). A
// renderer forked while one holds a lock would be left that lock, held for
// good, so render waits for the threads its Pango calls started
// (PangoThreadsEnd). Here a thread started in such a scope holds a lock for
// 300 ms: without the wait the renderer forked next waits for the lock
// until its wall-clock limit.
BOOST_AUTO_TEST_CASE(threads_started_around_pango_have_ended_before_a_renderer_is_forked) {
    static std::mutex fontconfig_lock;  // stands for a lock a font lookup holds
    std::promise<void> holding;         // outlives the thread, which ends in the scope
    {
        const PangoThreadsEnd threads_end;
        std::thread([&holding] {
            const std::lock_guard guard(fontconfig_lock);
            holding.set_value();
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
        }).detach();  // as Pango leaves its lookups
        holding.get_future().wait();
    }
    Options quick;
    quick.wall_seconds = 5;
    std::string seen;
    BOOST_CHECK_NO_THROW(seen = run_isolated_bytes(
                             "probe",
                             [] {
                                 const std::lock_guard guard(fontconfig_lock);
                                 return std::string("lock taken");
                             },
                             quick));
    BOOST_TEST(seen == "lock taken");
}

// The renderer keeps no capability once its private root is built: with
// them (all of them in its user namespace, reaching host files when its
// caller is root) it could remount its read-only view of /usr writable.
// Tried here: the remount fails, and no capability is effective or can come
// back on exec.
BOOST_AUTO_TEST_CASE(the_renderer_keeps_no_capability) {
    const std::string seen = run_isolated_bytes(
        "probe",
        [] {
            std::string result;
            std::ifstream status("/proc/self/status");
            for (std::string line; std::getline(status, line);)
                if (line.starts_with("CapEff:") || line.starts_with("CapBnd:"))
                    result += line.substr(0, 7) + (line.ends_with("0000000000000000") ? "0" : "x");
            const bool remounted =
                ::mount(nullptr, "/usr", nullptr, MS_REMOUNT | MS_BIND, nullptr) == 0;
            return result + (remounted ? " /usr writable" : " /usr read-only");
        },
        Options{});
    BOOST_TEST(seen == "CapEff:0CapBnd:0 /usr read-only");
}

BOOST_AUTO_TEST_CASE(office_documents_render_without_what_they_link_to) {
    if (!have("soffice") || !have("python3")) return;
    // One state folder per document: its files are removed after the first
    // rendering.
    const std::vector<std::string> names = {"picture.odt", "picture.docx", "field.docx",
                                            "fields.rtf",  "section.odt",  "object.odt"};
    for (const std::string& name : names) {
        const StateFolder folder;
        const std::string bytes = linked_office_documents(folder).at(name);
        renders_as_without_the_files(folder, bytes, name);
    }
}

BOOST_AUTO_TEST_CASE(office_links_stay_out_without_the_isolated_child_too) {
    // bubblewrap and the profile alone, for callers that render in-process.
    if (!have("soffice") || !have("python3")) return;
    Options in_process;
    in_process.isolate = false;
    // The profile keeps linked pictures out by itself; RTF fields only
    // bubblewrap does.
    for (const char* name : {"picture.odt", "picture.docx", "fields.rtf"}) {
        const StateFolder folder;
        renders_as_without_the_files(folder, linked_office_documents(folder).at(name), name,
                                     in_process);
    }
}

BOOST_AUTO_TEST_CASE(the_libreoffice_profile_turns_link_updating_off) {
    // Outside every sandbox: the profile settings alone keep LibreOffice
    // from loading a linked picture; a profile without them does not.
    if (!have("soffice") || !have("python3") || !have("pdfimages")) return;
    const StateFolder state;
    const TempDir work;
    write_bytes(work / "linked.docx", linked_office_documents(state).at("picture.docx"));
    const auto pictures_in_pdf = [&](const std::string& profile) {
        const Output converted =
            run("cd " + work.path().string() + " && HOME=" + work.path().string() +
                " soffice -env:UserInstallation=file://" + (work / profile).string() +
                " --headless --norestore --convert-to pdf --outdir " + (work / profile).string() +
                "-out linked.docx && pdfimages -list " + (work / profile).string() +
                "-out/linked.pdf | tail -n +3 | wc -l");
        BOOST_TEST_MESSAGE(converted.text);
        return std::stoi(
            converted.text.substr(converted.text.rfind('\n', converted.text.size() - 2) + 1));
    };
    write_libreoffice_profile(work / "safe");
    std::ifstream settings(work / "safe/user/registrymodifications.xcu");
    BOOST_TEST_REQUIRE(settings.good());
    BOOST_TEST(pictures_in_pdf("safe") == 0);
    BOOST_TEST(pictures_in_pdf("default") > 0,
               "LibreOffice loads no linked picture even by default: this test shows nothing");
}

BOOST_AUTO_TEST_CASE(html_file_urls_stay_out) {
    if (!have("weasyprint")) return;
    const StateFolder state;
    write_bytes(state.dir / "state/spool/style.css", "body { background: black }");
    const std::string html =
        "<html><head><link rel=stylesheet href=\"file://" +
        (state.dir / "state/spool/style.css").string() +
        "\"></head><body><p>Local files stay out</p><img src=\"file://" + state.picture.string() +
        "\"><img src=\"file://" + state.fax.string() + "\"><iframe src=\"file://" +
        state.text.string() +
        "\"></iframe><object data=\"file:///etc/passwd\"></object></body></html>";
    renders_as_without_the_files(state, html, "local.html");
}

BOOST_AUTO_TEST_CASE(postscript_cannot_read_files) {
    if (!have("gs")) return;
    const StateFolder state;
    // Shows the first line of each file it can open, "blocked" where it cannot.
    std::string ps = "%!PS\n/Helvetica findfont 24 scalefont setfont 72 700 moveto\n";
    for (const std::string& path : {state.text.string(), std::string("/etc/passwd")})
        ps += "{ (" + path +
              ") (r) file 200 string readline pop } stopped { pop (blocked) } if "
              "show 72 currentpoint exch pop 30 sub moveto\n";
    ps += "showpage\n";
    Options in_process;
    in_process.isolate = false;
    renders_as_with_the_paths_nowhere(ps, {"/etc/passwd"}, "read.ps", in_process);
    renders_as_with_the_paths_nowhere(ps, {"/etc/passwd"}, "read.ps");
    renders_as_without_the_files(state, ps, "read.ps", in_process);
    const StateFolder again;
    renders_as_without_the_files(again, ps, "read.ps");
}

// -dSAFER on its own, outside bubblewrap: Ghostscript run with the
// renderer's command line cannot open a file its user may read. (Not one
// under TMPDIR, which SAFER lets Ghostscript use for its own files, and
// where a checkout may lie.)
BOOST_AUTO_TEST_CASE(ghostscript_is_safer_even_outside_the_sandbox) {
    if (!have("gs")) return;
    const TempDir dir;
    const std::string readable = "/etc/passwd";
    BOOST_TEST_REQUIRE(std::ifstream(readable).good());
    write_bytes(dir / "in.ps", "%!PS\n{ (" + readable +
                                   ") (r) file pop } stopped { (BLOCKED) } { (OPENED) } ifelse "
                                   "print flush showpage\n");
    std::string command;
    for (const std::string& arg :
         ghostscript_arguments(find_program("gs"), dir / "in.ps", dir / "out.tif", Options{}))
        command += "'" + arg + "' ";
    const Output gs = run(command);
    BOOST_TEST(gs.text.find("BLOCKED") != std::string::npos, gs.text);
    BOOST_TEST(gs.text.find("OPENED") == std::string::npos, gs.text);
}

BOOST_AUTO_TEST_CASE(renderers_die_with_the_process_that_started_them) {
    if (!have("gs")) return;
    // A process that renders a PostScript loop (Ghostscript would spin for
    // a minute) is killed with SIGKILL, as a killed `faxgw submit` is. What
    // it cannot remove stays in a scratch folder of the test's own.
    const TempDir scratch;
    const pid_t renderer_parent = ::fork();
    BOOST_TEST_REQUIRE(renderer_parent >= 0);
    if (renderer_parent == 0) {
        Options o;
        o.scratch_folder = scratch.path();
        o.wall_seconds = 60;
        o.cpu_seconds = 60;
        try {
            render_document("%!PS\n{} loop\n", "application/postscript", "spin.ps", o);
        } catch (...) {
        }
        ::_exit(0);
    }
    std::set<pid_t> renderers;
    for (int i = 0; i < 600; ++i) {  // until Ghostscript runs (at most a minute)
        renderers = descendants_of(renderer_parent);
        if (std::any_of(renderers.begin(), renderers.end(),
                        [](pid_t p) { return command_of(p) == "gs"; }))
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    BOOST_TEST_MESSAGE(renderers.size() << " processes below the killed one");
    BOOST_TEST_REQUIRE(renderers.size() >= 3u);  // the child, Ghostscript, bubblewrap
    ::kill(renderer_parent, SIGKILL);
    ::waitpid(renderer_parent, nullptr, 0);
    // The kernel ends them as it learns of each death: give it time, but
    // a bounded one (nothing here measures how long it takes).
    std::set<pid_t> left = renderers;
    for (int i = 0; i < 100 && !left.empty(); ++i) {
        std::erase_if(left, [](pid_t p) { return !alive(p); });
        if (!left.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (pid_t p : left) BOOST_ERROR("survived: " << p << " " << command_of(p));
    BOOST_TEST(left.empty());
}

BOOST_AUTO_TEST_CASE(faults_of_the_gateway_are_resource_errors) {
    const TempDir work;
    // A program killed by a signal that is not its limit.
    BOOST_TEST(what_of([&] {
                   run_sandboxed({"/bin/sh", "-c", "kill -SEGV $$"}, work.path(), work / "log", 30);
               }).starts_with("ResourceError: sh crashed (signal 11"));
    // A program over its wall-clock time.
    BOOST_TEST(what_of([&] {
                   run_sandboxed({"/bin/sleep", "30"}, work.path(), work / "log", 1);
               }) == "ResourceError: rendering took longer than 1 s");
    // A program over its processor time (inherited from the isolated
    // child) is the document's doing.
    Options one_second;
    one_second.cpu_seconds = 1;
    BOOST_TEST(what_of([&] {
                   run_isolated(
                       "spin.ps",
                       [&]() -> std::vector<Page> {
                           const WorkDir dir("spin-");
                           run_sandboxed({"/bin/sh", "-c", "while :; do :; done"}, dir.path(),
                                         dir / "log", 60);
                           return {};
                       },
                       one_second);
               }) == "Error: spin.ps: sh used more than 1 s of processor time");
    // Ghostscript missing (a PATH without it) and bubblewrap missing.
    const std::string path = std::getenv("PATH");
    ::setenv("PATH", work.path().c_str(), 1);
    const std::string no_gs = what_of([] { render_document("%!PS\nshowpage\n", "", "a.ps", {}); });
    std::filesystem::create_symlink("/usr/bin/gs", work / "gs");
    Options in_process;
    in_process.isolate = false;
    const std::string no_bwrap =
        what_of([&] { render_document("%!PS\nshowpage\n", "", "a.ps", in_process); });
    ::setenv("PATH", path.c_str(), 1);
    BOOST_TEST(no_gs == "ResourceError: a.ps: Ghostscript (gs) is not installed on the gateway");
    BOOST_TEST(no_bwrap.starts_with("ResourceError: bubblewrap (bwrap) is not installed"),
               no_bwrap);
}

BOOST_AUTO_TEST_CASE(an_unusable_tmpdir_is_a_resource_error) {
    const TempDir work;
    write_bytes(work / "file", "not a folder");
    const std::string old = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "";
    std::map<std::string, std::string> got;
    for (const std::string& tmpdir : {(work / "missing").string(), (work / "file").string()}) {
        ::setenv("TMPDIR", tmpdir.c_str(), 1);
        for (const bool isolate : {true, false}) {
            Options o;
            o.isolate = isolate;
            got[tmpdir + (isolate ? " isolated" : " in-process")] =
                what_of([&] { render_document("%!PS\nshowpage\n", "", "a.ps", o); });
            if (have_tool("weasyprint"))
                got[tmpdir + (isolate ? " isolated html" : " in-process html")] =
                    what_of([&] { render_document("<html>x</html>", "text/html", "a.html", o); });
        }
    }
    if (old.empty())
        ::unsetenv("TMPDIR");
    else
        ::setenv("TMPDIR", old.c_str(), 1);
    for (const auto& [what, error] : got) BOOST_TEST_CONTEXT(what) {
            BOOST_TEST(error.starts_with("ResourceError: "), error);
        }
}
