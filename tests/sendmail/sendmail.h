// A private Sendmail for the Sendmail tests: Debian's sendmail-bin, never
// installed (it conflicts with the Postfix the other tests need) but
// unpacked by tools/fetch-sendmail, run as `sendmail -bD -C our.cf` with
// its configuration, queue and traffic log in a short folder under /tmp,
// listening on a free port of 127.0.0.1 only, with
//   - fax.example.com routed by mailertable to the `faxgw` mailer of
//     conf/sendmail/faxgw.mc (its lines as written there, with this test's
//     paths), which runs the real `faxgw submit` as the delivery user;
//   - optionally the milter lines of conf/sendmail/faxgw-milter.mc, pointed
//     at a `faxgw milter` the test runs;
//   - example.org delivered into files (the bounces land there), and every
//     other domain refused: no mail leaves, no DNS is asked.
// Needs root (sendmail -bD binds and switches users, and runs in its own
// UTS namespace, see start()).
#pragma once

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "postfix.h"  // eventually(), free_loopback_port()
#include "process.h"

namespace faxgw::test {

// Where tools/fetch-sendmail unpacked the packages: FAXGW_SENDMAIL_DIR in
// the environment, else the folder CMake was told (FAXGW_SENDMAIL_DIR).
inline std::filesystem::path sendmail_packages() {
    const char* env = std::getenv("FAXGW_SENDMAIL_DIR");
    return std::filesystem::path(env && *env ? env : FAXGW_SENDMAIL_DIR) / "root";
}

struct SendmailOptions {
    std::string faxgw_binary;  // the program the faxgw mailer runs
    std::string faxgw_config;  // TOML for `faxgw submit --config`; empty: no --config
    int milter_port = 0;       // > 0: the milter lines, at inet:PORT@127.0.0.1
};

class Sendmail {
public:
    static constexpr const char* delivery_user = "nobody";
    // sendmail takes its own name from the host name before it reads the
    // .cf, and sleeps a minute on one without a dot (this machine's may
    // have none): it runs with this one, in a UTS namespace of its own.
    static constexpr const char* host_name = "faxgw-test.localdomain";

    std::filesystem::path dir;  // everything lives below it
    std::filesystem::path queue, var, mail, traffic;
    int port = 0;

    explicit Sendmail(const SendmailOptions& o) {
        namespace fs = std::filesystem;
        if (::geteuid() != 0)
            throw std::runtime_error(
                "the Sendmail tests start a private Sendmail, which needs root (CI runs as "
                "root); run them as root");
        if (!fs::exists(binary()))
            throw std::runtime_error(binary().string() +
                                     " is missing: run tools/fetch-sendmail (or set "
                                     "FAXGW_SENDMAIL_DIR to the folder it filled)");
        std::string templ = "/tmp/fxsm-XXXXXX";
        if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
        dir = templ;
        try {
            Postfix::UsualUmask usual;
            set_up(o);
        } catch (...) {
            stop();
            remove_dir();
            throw;
        }
    }

    Sendmail(const Sendmail&) = delete;
    Sendmail& operator=(const Sendmail&) = delete;

    ~Sendmail() {
        stop();
        remove_dir();
    }

    // SIGTERM to sendmail and everything it started (its session: SMTP
    // children, deliveries), then SIGKILL to what is left.
    void stop() {
        if (!daemon_) return;
        if (pid_ > 0) {
            ::kill(-pid_, SIGTERM);
            stderr_ = daemon_->wait().err;
            ::kill(-pid_, SIGKILL);
        }
        daemon_.reset();  // a daemon that never wrote its pid: SIGKILL to it alone
    }

    // The SMTP traffic (-X: every session and every mailer's dialogue, with
    // the bounces written) and what sendmail said on stderr.
    std::string log() const {
        std::string text = fs_exists(traffic) ? slurp(traffic) : "";
        return text + (daemon_ ? daemon_->stderr_so_far() : stderr_);
    }

    // The mails delivered to @example.org (the bounces to the senders).
    std::vector<std::string> mails() const {
        std::vector<std::string> out;
        std::error_code ec;
        for (const auto& f : std::filesystem::directory_iterator(mail, ec))
            out.push_back(slurp(f.path()));
        return out;
    }

    // Runs a command as the delivery user, as sendmail runs faxgw: a `faxgw
    // jobs` run as root could leave root-owned files in the state folder.
    Output run_as_delivery_user(const std::vector<std::string>& args) const {
        const passwd* p = ::getpwnam(delivery_user);
        std::vector<std::string> argv = {"/usr/bin/setpriv",
                                         "--reuid",
                                         delivery_user,
                                         "--regid",
                                         std::to_string(p ? p->pw_gid : 65534),
                                         "--clear-groups"};
        argv.insert(argv.end(), args.begin(), args.end());
        Postfix::UsualUmask usual;
        return run(argv, dir);
    }

    static std::filesystem::path binary() {
        return sendmail_packages() / "usr" / "libexec" / "sendmail" / "sendmail";
    }

private:
    std::unique_ptr<Process> daemon_;
    pid_t pid_ = -1;
    std::string stderr_;

    static bool fs_exists(const std::filesystem::path& p) {
        std::error_code ec;
        return std::filesystem::exists(p, ec);
    }

    // FAXGW_KEEP_SENDMAIL=1 keeps the folder (configuration, log, mails) to look at.
    void remove_dir() const {
        if (std::getenv("FAXGW_KEEP_SENDMAIL") != nullptr) return;
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    void set_up(const SendmailOptions& o) {
        namespace fs = std::filesystem;
        const passwd* p = ::getpwnam(delivery_user);
        if (!p) throw std::runtime_error(std::string("the user ") + delivery_user + " must exist");
        const uid_t uid = p->pw_uid;
        const gid_t gid = p->pw_gid;

        queue = dir / "mqueue";
        var = dir / "var";
        mail = dir / "mail";
        traffic = dir / "traffic";
        // sendmail wants its queue its own (root, 0700); deliveries run as
        // the delivery user and must reach the state folder and the mails.
        for (const auto& d : {queue, var, mail}) fs::create_directories(d);
        chmod_(dir, 0755);
        chmod_(queue, 0700);
        for (const auto& d : {var, mail}) chown_(d, uid, gid);
        port = free_loopback_port();

        std::string config_arg;
        if (!o.faxgw_config.empty()) {
            std::ofstream(dir / "faxgw.toml") << o.faxgw_config;
            config_arg = " --config " + (dir / "faxgw.toml").string();
        }
        write(dir / "faxgw-test.mc", mc(o, config_arg));
        // Host names from /etc/hosts only: no DNS query leaves the machine.
        write(dir / "service.switch", "hosts files\naliases files\n");

        const fs::path cf_dir = sendmail_packages() / "usr" / "share" / "sendmail" / "cf";
        fs::path m4 = sendmail_packages() / "usr" / "bin" / "m4";
        if (!fs::exists(m4)) m4 = "m4";
        auto built = run({m4.string(), "-D_CF_DIR_=" + cf_dir.string() + "/",
                          (cf_dir / "m4" / "cf.m4").string(), (dir / "faxgw-test.mc").string()},
                         dir);
        if (built.code != 0 || built.out.empty())
            throw std::runtime_error("m4 cannot build the .cf: " + built.err);
        write(cf(), built.out);

        // The mailertable as conf/sendmail/faxgw.mc says, and where the rest goes.
        write(dir / "mailertable",
              "fax.example.com  faxgw:localhost\n"
              "example.org      tofile:localhost\n"
              ".                error:5.7.1:550 no mail leaves the test machine\n");
        auto made =
            run({(sendmail_packages() / "usr" / "libexec" / "sendmail" / "makemap").string(), "-C",
                 cf().string(), "hash", (dir / "mailertable").string()},
                dir, dir / "mailertable");
        if (made.code != 0) throw std::runtime_error("makemap failed: " + made.err);

        start();
    }

    std::filesystem::path cf() const { return dir / "faxgw-test.cf"; }

    void start() {
        // setsid: sendmail and its children are a session of their own,
        // which stop() ends as a whole (setsid execs, the pid stays).
        const std::string command = "hostname " + std::string(host_name) + " && exec " +
                                    binary().string() + " -bD -C " + cf().string() + " -X " +
                                    traffic.string();
        daemon_ = std::make_unique<Process>(
            std::vector<std::string>{"/usr/bin/unshare", "--uts", "/usr/bin/setsid", "/bin/sh",
                                     "-c", command},
            dir);
        pid_ = daemon_pid();
        if (!eventually([&] { return listening(); }, std::chrono::seconds(20)))
            throw std::runtime_error(
                "sendmail does not listen on 127.0.0.1:" + std::to_string(port) + ": " + log());
    }

    // From the pid file sendmail writes once it listens (the pid of the
    // process spawned: unshare, setsid and sh all exec).
    pid_t daemon_pid() const {
        std::ifstream in(dir / "sendmail.pid");
        pid_t pid = -1;
        return in >> pid && pid > 0 ? pid : -1;
    }

    bool listening() {
        if (!accepts_connections(port)) return false;
        if (pid_ <= 0) pid_ = daemon_pid();
        return pid_ > 0;
    }

    // The .mc: a minimal MTA on 127.0.0.1 with every file in our folder,
    // then the lines of conf/sendmail/.
    std::string mc(const SendmailOptions& o, const std::string& config_arg) const {
        const std::string d = dir.string();
        auto define = [](const std::string& name, const std::string& value) {
            return "define(`" + name + "', `" + value + "')dnl\n";
        };
        std::string text =
            "divert(-1)\n"
            "# Written by the faxgw Sendmail test fixture.\n"
            "divert(0)dnl\n"
            "OSTYPE(`linux')dnl\n" +
            define("confDOMAIN_NAME", host_name) + define("QUEUE_DIR", queue.string()) +
            define("confPID_FILE", d + "/sendmail.pid") + define("STATUS_FILE", d + "/statistics") +
            define("HELP_FILE", d + "/helpfile") + define("ALIAS_FILE", "") +
            define("confCR_FILE", "-o " + d + "/relay-domains") +
            define("confSERVICE_SWITCH_FILE", d + "/service.switch") +
            define("confDEF_USER_ID", uid_gid()) +
            // The folder is below /tmp, which is world-writable: sendmail
            // would refuse to open the mailertable there.
            define("confDONT_BLAME_SENDMAIL", "MapInUnsafeDirPath") +
            define("confDONT_PROBE_INTERFACES", "true") + define("confAUTH_MECHANISMS", "") +
            // The sender domains (example.org) are not in DNS.
            "FEATURE(`accept_unresolvable_domains')dnl\n"
            "FEATURE(`nocanonify')dnl\n"
            // Else a second daemon (MSA) listens on port 587 of every address.
            "FEATURE(`no_default_msa')dnl\n"
            "FEATURE(`mailertable', `hash -o " +
            d + "/mailertable')dnl\n" +
            "DAEMON_OPTIONS(`Family=inet, Name=MTA, Addr=127.0.0.1, Port=" + std::to_string(port) +
            "')dnl\n" + conf_mailer(o.faxgw_binary, config_arg);
        if (o.milter_port > 0) text += conf_milter(o.milter_port);
        text +=
            "MAILER(`local')dnl\n"
            "MAILER(`smtp')dnl\n"
            // The bounces' destination: each mail into a file of its own.
            "MAILER_DEFINITIONS\n"
            "Mtofile, P=/bin/dd, F=DFMhun, S=EnvFromL, R=EnvToL, A=dd of=" +
            mail.string() + "/$i.$u status=none\n" + sanitizer_environment();
        return text;
    }

    // Under the sanitizers the faxgw the mailer runs needs the options the
    // test runs with (the leak suppressions); sendmail gives a mailer only
    // the environment of the .cf's E lines.
    static std::string sanitizer_environment() {
        std::string lines;
        for (const char* n : {"ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS"}) {
            const char* v = std::getenv(n);
            if (v && *v) lines += std::string("E") + n + "=" + v + "\n";
        }
        return lines.empty() ? "" : "LOCAL_CONFIG\n" + lines;
    }

    // conf/sendmail/faxgw.mc as written, with this test's paths.
    std::string conf_mailer(const std::string& faxgw, const std::string& config_arg) const {
        std::string text = slurp(source_dir / "conf" / "sendmail" / "faxgw.mc");
        replace(text, "faxgw.mc", "P=/usr/bin/faxgw,", "P=" + faxgw + ",");
        replace(text, "faxgw.mc", " --config /etc/faxgw/faxgw.toml",
                " --var " + var.string() + config_arg);
        return text;
    }

    // conf/sendmail/faxgw-milter.mc as written, pointed at `milter_port`.
    static std::string conf_milter(int milter_port) {
        std::string text = slurp(source_dir / "conf" / "sendmail" / "faxgw-milter.mc");
        replace(text, "faxgw-milter.mc", "S=inet:10029@127.0.0.1,",
                "S=inet:" + std::to_string(milter_port) + "@127.0.0.1,");
        return text;
    }

    static void replace(std::string& text, const std::string& file, const std::string& from,
                        const std::string& to) {
        auto at = text.find(from);
        if (at == std::string::npos)
            throw std::runtime_error("conf/sendmail/" + file + ": no '" + from + "'");
        text.replace(at, from.size(), to);
    }

    static std::string uid_gid() {
        const passwd* p = ::getpwnam(delivery_user);
        return std::to_string(p->pw_uid) + ":" + std::to_string(p->pw_gid);
    }

    static void write(const std::filesystem::path& p, const std::string& text) {
        std::ofstream f(p);
        f << text;
        if (!f.flush()) throw std::runtime_error("cannot write " + p.string());
    }
    static void chmod_(const std::filesystem::path& p, mode_t m) {
        if (::chmod(p.c_str(), m) != 0) throw std::runtime_error("chmod failed: " + p.string());
    }
    static void chown_(const std::filesystem::path& p, uid_t u, gid_t g) {
        if (::chown(p.c_str(), u, g) != 0) throw std::runtime_error("chown failed: " + p.string());
    }
};

}  // namespace faxgw::test
