// faxgw demo: the whole gateway on built-in defaults, in one run.
// Its manual is demo_manual below: `--help` shows it, and so does faxgw(8).
#include <sysexits.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>

#include "commands.h"
#include "demo_sip.h"
#include "job_view.h"
#include "lines.h"
#include "service_program.h"

namespace faxgw {
namespace {

// The manual: DESCRIPTION, EXIT STATUS and the like (faxgw/manual.h).
constexpr const char* demo_manual = R"(DESCRIPTION
    Starts an embedded gateway with no configuration file needed: SQLite
    queue and spool under the state folder, the simulated telephone
    network of sim.numbers, Maildirs under the state folder. Feeds it every
    *.eml of the samples folder as `faxgw submit` would, with the envelope
    taken from the headers, runs every job to its end on a simulated clock
    (retry waits pass in no time; line seconds are those of the real T.30
    sessions), and prints what happened to each mail and where the pages
    and mails went. With --line sip every call goes through real SIP, RTP
    and UDPTL on 127.0.0.1, in real time; --t38 off keeps those calls on
    G.711 audio.
    The sample mails are those of the source tree when faxgw runs from
    the build, else those installed with it (share/faxgw/samples/mail);
    --samples names others. The state folder is --var, or paths.var of a
    --config; without either it is ./var when faxgw runs from the build,
    and a new folder in $TMPDIR (or /tmp) when it is installed, which the
    demo names at the end. The state folder is left to look at; the demo
    clears only what it made itself in an earlier run: it refuses a state
    folder that is not empty and was not made by a demo (a marker file
    says so), and one another faxgw process works on.
EXIT STATUS
    0 the demo ran (whatever the jobs' fates); 66 no sample mails found;
    73 the state folder is not the demo's or cannot be made; 75 another
    process runs the gateway on it.
)";

struct DemoOptions {
    CommonOptions common;
    std::optional<std::filesystem::path> samples;  // default: default_samples()
    std::string line = "sim";
    std::string t38 = "on";
};

// Whether this process is the executable the build made (not an installed
// copy): the build tree's bin folder is known when compiling.
bool runs_from_build() {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return !ec && exe.parent_path() == std::filesystem::weakly_canonical(FAXGW_BUILD_BIN_DIR, ec);
}

// The source tree's samples for the built executable (`make demo`), else
// those installed with it: <prefix>/share/faxgw, found from the folder of
// the executable (faxgwd, in <prefix>/libexec/faxgw), so that any install
// prefix works.
std::filesystem::path default_samples() {
    if (runs_from_build()) return std::filesystem::path(FAXGW_SOURCE_DIR) / "samples" / "mail";
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return (exe.parent_path() / FAXGW_DATA_FROM_PROGRAM / "samples" / "mail").lexically_normal();
}

// An installed faxgw may run anywhere (/, a read-only folder): its demo
// gets a new folder of its own in $TMPDIR unless told where to work.
bool wants_own_state_folder(const DemoOptions& o) {
    return !o.common.var && !o.common.config_file && !runs_from_build();
}

// A new folder in $TMPDIR (or /tmp); empty if none can be made.
std::filesystem::path new_temp_folder() {
    std::error_code ec;
    std::string dir = (std::filesystem::temp_directory_path(ec) / "faxgw-demo-XXXXXX").string();
    return ::mkdtemp(dir.data()) ? std::filesystem::path(dir) : std::filesystem::path();
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

std::vector<std::filesystem::path> sample_mails(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> out;
    if (std::filesystem::is_directory(dir))
        for (const auto& e : std::filesystem::directory_iterator(dir))
            if (e.path().extension() == ".eml") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

// Written into a state folder the demo made, so that a later demo clears
// only a folder of its own, never the live gateway's that a --config names.
constexpr const char* demo_marker = "made-by-faxgw-demo";

// Missing, or holding nothing but the run lock (taken just before).
bool holds_no_state(const std::filesystem::path& dir) {
    if (!std::filesystem::exists(dir)) return true;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().filename() != "run.lock") return false;
    return true;
}

// Whether `p` lies inside `dir` (after resolving "..", links and the like).
bool is_inside(const std::filesystem::path& p, const std::filesystem::path& dir) {
    auto rel = std::filesystem::weakly_canonical(p).lexically_relative(
        std::filesystem::weakly_canonical(dir));
    return !rel.empty() && *rel.begin() != "..";
}

// Clears what an earlier demo left in its own state folder; a folder the
// demo did not make is refused (returns false), whatever is in it.
bool claim_demo_folder(const Config& c) {
    if (holds_no_state(c.var)) {
        std::filesystem::create_directories(c.var);
        faxcore::write_file_durably(c.var / demo_marker, "faxgw demo\n");
        return true;
    }
    if (!std::filesystem::exists(c.var / demo_marker)) return false;
    for (const auto& p :
         {c.var / "queue.sqlite", c.var / "queue.sqlite-wal", c.var / "queue.sqlite-shm",
          c.var / "spool", c.gateway.sim.remote_dir, c.mail.inbound_maildir, c.mail.outbox})
        if (is_inside(p, c.var)) std::filesystem::remove_all(p);
    return true;
}

std::string cut(std::string s, std::size_t n) {
    return s.size() <= n ? s : s.substr(0, n - 1) + "~";
}

void print_table(const std::vector<faxcore::Job>& jobs,
                 const std::map<std::string, std::string>& sample_of) {
    std::cout << std::left << std::setw(22) << "message" << std::setw(13) << "number"
              << std::setw(8) << "state" << std::setw(7) << "pages" << std::setw(6) << "calls"
              << std::setw(8) << "line s" << std::setw(7) << "bit/s" << std::setw(5) << "ECM"
              << std::setw(9) << "compr." << std::setw(6) << "via"
              << "reason\n";
    for (const auto& j : jobs) {
        const faxcore::Attempt* last = nullptr;
        for (const auto& a : j.attempts)
            if (a.bit_rate) last = &a;
        auto it = sample_of.find(j.origin_key);
        std::ostringstream pages;
        pages << j.pages_confirmed << "/" << j.pages;
        std::cout << std::left << std::setw(22)
                  << cut(it == sample_of.end() ? j.origin_key : it->second, 21) << std::setw(13)
                  << j.number << std::setw(8) << faxcore::to_string(j.state) << std::setw(7)
                  << pages.str() << std::setw(6) << j.attempts.size() << std::setw(8) << std::fixed
                  << std::setprecision(1) << total_line_seconds(j) << std::setw(7)
                  << (last ? std::to_string(last->bit_rate) : "-") << std::setw(5)
                  << (last ? (last->ecm ? "yes" : "no") : "-") << std::setw(9)
                  << (last ? last->compression : "-") << std::setw(6)
                  << (last && !last->transport.empty() ? last->transport : "-") << j.reason << "\n";
    }
}

void print_files(const std::string& title, const std::filesystem::path& dir) {
    std::cout << title << " " << dir.string() << ":\n";
    if (!std::filesystem::exists(dir)) return;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
        if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files)
        std::cout << "  " << std::filesystem::relative(f, dir).string() << "\n";
}

int run_demo(const DemoOptions& o) {
    const auto samples = o.samples.value_or(default_samples());
    auto mails = sample_mails(samples);
    if (mails.empty()) {
        std::cerr << "faxgw demo: no *.eml in " << samples << " (pass --samples)\n";
        return EX_NOINPUT;
    }
    auto var = o.common.var;
    if (wants_own_state_folder(o)) {
        var = new_temp_folder();
        if (var->empty()) {
            std::cerr << "faxgw demo: cannot make a state folder in $TMPDIR: "
                      << std::strerror(errno) << "\n";
            return EX_CANTCREAT;
        }
    }
    auto config = load_config(o.common.config_file, var);
    report_warnings(config);
    // Held from before the clearing to the end: no live `faxgw run` (or
    // other demo) may be working on the folder the demo clears and runs.
    std::optional<faxcore::RunLock> run_lock;
    try {
        run_lock.emplace(config.var);
    } catch (const faxcore::StateFolderBusy& e) {
        std::cerr << "faxgw demo: " << e.what() << "\n";
        return EX_TEMPFAIL;
    }
    if (!claim_demo_folder(config)) {
        std::cerr << "faxgw demo: " << config.var.string()
                  << " is a state folder the demo did not make; give the demo an empty or new "
                     "one with --var\n";
        return EX_CANTCREAT;
    }
    auto queue = faxcore::Queue::open(config.var);
    // The demo's own choice: every mail's outcome is reported, those that
    // went through too (notify.delivered is opt-in).
    config.mail.notify.delivered = true;

    std::map<std::string, std::string> sample_of;  // origin key -> sample file
    std::cout << "Submitting " << mails.size() << " sample mails (as `faxgw submit` would):\n";
    for (const auto& m : mails) {
        auto raw = read_file(m);
        auto envelope = mailgw::envelope_of(raw);
        auto r = mailgw::submit(raw, envelope, config.mail, *queue);
        std::cout << "  " << std::left << std::setw(22) << m.filename().string() << " exit "
                  << std::setw(3) << static_cast<int>(r.code) << " " << r.message << "\n";
        for (auto id : r.enqueued.jobs)
            if (auto j = queue->job(id)) sample_of[j->origin_key] = m.filename().string();
    }

    std::ofstream log(config.var / "demo.log");
    std::mutex log_mutex;
    auto log_line = [&](const std::string& line) {
        std::lock_guard lock(log_mutex);
        log << line << "\n";
    };
    std::optional<DemoFarEnd> far_end;  // outlives the gateway that calls it
    config.line_backend = "sim";        // the demo's own choice, whatever a --config says
    if (o.line == "sip") {
        far_end.emplace(config, o.t38 == "on", log_line);
        std::cout << "\nCalls go over SIP on 127.0.0.1 (gateway " << config.sip.listen << ", T.38 "
                  << o.t38 << "), in real time.\n";
    }
    faxcore::Gateway gateway(*queue, config.gateway, config.var, log_line,
                             make_line_backend(config));
    mailgw::Outbox outbox(config.var);
    auto stats = gateway.run_until_idle([&] { hand_results_to_mail(*queue, outbox, config); });
    outbox.deliver_due(config.mail.relay, log_line);

    std::cout << "\nEvery job to its end (" << stats.calls << " calls on " << config.gateway.lines
              << (o.line == "sip" ? " SIP lines, " : " simulated lines, ") << std::fixed
              << std::setprecision(0) << stats.line_seconds << " line seconds, "
              << std::setprecision(2) << stats.cpu_seconds << " CPU seconds):\n";
    print_table(queue->jobs(), sample_of);
    std::cout << "\n";
    print_files("Pages received by the far-end fax machines, in", config.gateway.sim.remote_dir);
    print_files("Fax-to-email mails (received faxes), in", config.mail.inbound_maildir);
    print_files("Notifications to senders, in", config.mail.outbox);
    std::cout << "Call log: " << (config.var / "demo.log").string() << "; jobs: faxgw jobs --var "
              << config.var.string() << "\n";
    return 0;
}

}  // namespace

CLI::App* add_demo_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("demo", service_command_summary("demo"));
    cmd->footer(demo_manual);
    auto o = std::make_shared<DemoOptions>();
    o->common.add_to(*cmd);
    cmd->add_option("--samples", o->samples,
                    "Folder of sample mails (*.eml; default: the source tree's or the "
                    "installed samples/mail)");
    cmd->add_option("--line", o->line,
                    "sim: the simulated network; sip: real SIP calls on 127.0.0.1")
        ->check(CLI::IsMember({"sim", "sip"}));
    cmd->add_option("--t38", o->t38, "With --line sip: on (switch to T.38) or off (G.711 audio)")
        ->check(CLI::IsMember({"on", "off"}));
    cmd->callback([o, &exit_code] { exit_code = run_demo(*o); });
    return cmd;
}

}  // namespace faxgw
