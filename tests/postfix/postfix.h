// A private Postfix for the integration tests and the Postfix benchmark: its
// own configuration, queue and log in a short folder under /tmp, listening
// on a free port of 127.0.0.1, with
//   - fax.example.com routed to the `fax` pipe(8) transport, which runs the
//     real `faxgw submit` (as in conf/postfix/) on a state folder of its own;
//   - file.example.com routed to the `tofile` pipe transport, which only
//     copies each mail into a file (the benchmark's baseline);
//   - example.org delivered by virtual(8) to Maildirs (bounces land there;
//     @example.org catches every address).
// Needs root (Postfix's master runs as root; the pipe runs as `nobody`) and
// the Debian package postfix, which tools/install-deps installs without a
// system configuration. Nothing here listens anywhere but 127.0.0.1.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "process.h"

namespace faxgw::test {

// A port of 127.0.0.1 kept bound (not listening) until released, so that
// a Postfix started meanwhile, which picks its own port, cannot pick it too
// (for a milter that Postfix is configured to call).
struct ReservedPort {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int port = 0;
    ReservedPort() {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            throw std::runtime_error("cannot bind a port on 127.0.0.1");
        port = ntohs(a.sin_port);
    }
    ReservedPort(const ReservedPort&) = delete;
    ReservedPort& operator=(const ReservedPort&) = delete;
    void release() {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
    ~ReservedPort() { release(); }
};

// Whether something accepts connections on 127.0.0.1:port.
inline bool accepts_connections(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

// The lines of conf/postfix/main.cf.milter, pointed at a milter on
// 127.0.0.1:port instead of the documented default.
inline std::string conf_milter_lines(int port) {
    std::string text = slurp(source_dir / "conf" / "postfix" / "main.cf.milter");
    const std::string documented = "inet:127.0.0.1:10029";
    const std::string ours = "inet:127.0.0.1:" + std::to_string(port);
    std::size_t replaced = 0;
    for (auto at = text.find(documented); at != std::string::npos; at = text.find(documented)) {
        text.replace(at, documented.size(), ours);
        ++replaced;
    }
    if (replaced != 2) throw std::runtime_error("conf/postfix/main.cf.milter: 2 sockets expected");
    return text;
}

struct PostfixOptions {
    std::string faxgw_binary;  // the program the fax transport runs
    std::string faxgw_config;  // TOML for `faxgw submit --config`; empty: no --config
    // More lines of the transport map, e.g. "domain lmtp:inet:127.0.0.1:PORT".
    std::string extra_transports = {};
    // A relay as a mail provider runs it: STARTTLS with this certificate
    // and key, and SMTP AUTH required (SASL by the Dovecot at
    // "inet:127.0.0.1:PORT"); loopback is then not trusted.
    std::filesystem::path tls_cert = {}, tls_key = {};
    std::string dovecot_sasl = {};
    std::string extra_main_cf = {};  // more lines of main.cf, e.g. smtpd_milters
};

class Postfix {
public:
    static constexpr const char* postfix_command = "/usr/sbin/postfix";
    static constexpr const char* pipe_user = "nobody";

    std::filesystem::path dir;  // everything lives below it
    std::filesystem::path etc, queue, var, mail, files, log;
    int port = 0;

    explicit Postfix(const PostfixOptions& o) {
        namespace fs = std::filesystem;
        if (::geteuid() != 0)
            throw std::runtime_error(
                "the Postfix tests start a private Postfix, which needs root (CI runs as root); "
                "run them as root");
        if (!fs::exists(postfix_command))
            throw std::runtime_error(
                std::string(postfix_command) +
                " is missing: run tools/install-deps (Debian package postfix)");
        // Short: Postfix's unix sockets live below it (108-byte limit).
        std::string templ = "/tmp/fxpf-XXXXXX";
        if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
        dir = templ;
        try {
            UsualUmask usual;
            set_up(o);
        } catch (...) {
            stop();
            remove_dir();
            throw;
        }
    }

    Postfix(const Postfix&) = delete;
    Postfix& operator=(const Postfix&) = delete;

    ~Postfix() {
        stop();
        remove_dir();
    }

    // `postfix stop`, then wait for the master to go; `postfix abort` if it won't.
    void stop() {
        if (stopped_) return;
        stopped_ = true;
        postfix({"stop"});
        if (!eventually([&] { return !master_running(); }, std::chrono::seconds(10))) {
            postfix({"abort"});
            eventually([&] { return !master_running(); }, std::chrono::seconds(5));
        }
    }

private:
    void set_up(const PostfixOptions& o) {
        namespace fs = std::filesystem;
        // (getpwnam() answers in one static buffer: keep the numbers.)
        const passwd* p = ::getpwnam("postfix");
        if (!p) throw std::runtime_error("the user postfix must exist (Debian package postfix)");
        const uid_t postfix_uid = p->pw_uid;
        const gid_t postfix_gid = p->pw_gid;
        p = ::getpwnam(pipe_user);
        if (!p) throw std::runtime_error(std::string("the user ") + pipe_user + " must exist");
        const uid_t pipe_uid = p->pw_uid;
        const gid_t pipe_gid = p->pw_gid;

        etc = dir / "etc";
        queue = dir / "q";
        var = dir / "var";
        mail = dir / "mail";
        files = dir / "files";
        log = dir / "log" / "maillog";
        for (const auto& d : {etc, queue, dir / "data", dir / "log", mail, files})
            fs::create_directories(d);
        chmod_(dir, 0755);
        chown_(dir / "data", postfix_uid, postfix_gid);
        // The pipe and virtual(8) deliveries run as nobody.
        for (const auto& d : {mail, files}) chown_(d, pipe_uid, pipe_gid);
        make_state_folder_writable(true);
        port = free_loopback_port();

        std::string config_arg;
        if (!o.faxgw_config.empty()) {
            std::ofstream(etc / "faxgw.toml") << o.faxgw_config;
            config_arg = " --config " + (etc / "faxgw.toml").string();
        }
        write(etc / "main.cf", main_cf() + submission_cf(o) + o.extra_main_cf);
        write(etc / "master.cf", master_cf(o.faxgw_binary, config_arg));
        write(etc / "transport",
              "fax.example.com  fax:\n"
              "file.example.com tofile:\n" +
                  o.extra_transports);
        write(etc / "mailboxes", "@example.org  example.org/\n");
        write(etc / "recipient_access", "refused@example.org  550 5.1.1 no such user here\n");
        // Postfix waits ~2 s on configuration files written just now.
        for (const auto& f : fs::directory_iterator(etc)) {
            auto then = fs::file_time_type::clock::now() - std::chrono::minutes(1);
            fs::last_write_time(f.path(), then);
        }

        start();
    }

public:
    // Starts it again after stop() (the port stays the same).
    void start() {
        stopped_ = false;
        auto started = postfix({"start"});
        if (started.code != 0 || !eventually([&] { return listening(); }, std::chrono::seconds(10)))
            throw std::runtime_error("postfix -c " + etc.string() + " start failed (exit " +
                                     std::to_string(started.code) + "): " + started.out +
                                     started.err + maillog());
    }

private:
    // FAXGW_KEEP_POSTFIX=1 keeps the folder (configuration, log, mails) to look at.
    void remove_dir() const {
        if (std::getenv("FAXGW_KEEP_POSTFIX") != nullptr) return;
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

public:
    std::string maillog() const { return slurp(log); }

    // The Maildir that virtual(8) delivers every @example.org address to.
    std::filesystem::path maildir() const { return mail / "example.org"; }

    // Texts of the mails in the Maildir (new/).
    std::vector<std::string> mails() const {
        std::vector<std::string> out;
        std::error_code ec;
        for (const auto& f : std::filesystem::directory_iterator(maildir() / "new", ec))
            out.push_back(slurp(f.path()));
        return out;
    }

    // `postfix flush`: the queue manager tries every queued mail now,
    // whatever its time stamp, the incoming queue's too.
    void flush() const {
        const auto flushed = postfix({"flush"});
        if (flushed.code != 0)
            throw std::runtime_error("postfix flush failed: " + flushed.out + flushed.err);
    }

    // true: `faxgw submit`, run as the pipe user, can write the state
    // folder; false: it cannot (a temporary failure, exit 75).
    void make_state_folder_writable(bool writable) {
        std::filesystem::create_directories(var);
        const passwd* p = ::getpwnam(pipe_user);
        if (writable) {
            chown_(var, p->pw_uid, p->pw_gid);
            chmod_(var, 0755);
        } else {
            chown_(var, 0, 0);
            chmod_(var, 0555);
        }
    }

    // `args` run as the pipe user, as Postfix runs faxgw: a `faxgw jobs`
    // run as root could leave root-owned database files in the state folder.
    static std::vector<std::string> as_pipe_user(const std::vector<std::string>& args) {
        std::vector<std::string> argv = {
            "/usr/bin/setpriv",   "--reuid",       pipe_user, "--regid",
            group_of_pipe_user(), "--clear-groups"};
        argv.insert(argv.end(), args.begin(), args.end());
        return argv;
    }
    Output run_as_pipe_user(const std::vector<std::string>& args) const {
        UsualUmask usual;
        return run(as_pipe_user(args), dir);
    }

    Output postfix(const std::vector<std::string>& args) const {
        std::vector<std::string> argv = {postfix_command, "-c", etc.string()};
        argv.insert(argv.end(), args.begin(), args.end());
        UsualUmask usual;
        return run(argv, dir);
    }

    // Postfix's folders (and those it creates itself) must be readable by
    // its own users; a test that has opened a faxgw queue runs with the
    // queue's stricter umask (027) from then on.
    struct UsualUmask {
        mode_t caller = ::umask(022);
        ~UsualUmask() { ::umask(caller); }
    };

private:
    bool stopped_ = true;  // until `postfix start` has been run

    static std::string group_of_pipe_user() {
        const passwd* p = ::getpwnam(pipe_user);
        return p ? std::to_string(p->pw_gid) : "65534";
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

    bool listening() const { return accepts_connections(port); }

    bool master_running() const {
        std::ifstream in(queue / "pid" / "master.pid");
        long pid = 0;
        if (!(in >> pid) || pid <= 0) return false;
        return ::kill(static_cast<pid_t>(pid), 0) == 0;
    }

    std::string main_cf() const {
        const std::string d = dir.string();
        return "# Written by the faxgw Postfix test fixture.\n"
               "compatibility_level = 3.6\n"
               "queue_directory = " +
               queue.string() +
               "\n"
               "data_directory = " +
               d +
               "/data\n"
               "mail_owner = postfix\n"
               "setgid_group = postdrop\n"
               "myhostname = faxgw-test.localdomain\n"
               "inet_interfaces = 127.0.0.1\n"
               "inet_protocols = ipv4\n"
               "mydestination =\n"
               "mynetworks = 127.0.0.0/8\n"
               "relayhost =\n"
               // Nothing leaves the machine: mail for any domain but ours
               // bounces instead of being relayed.
               "default_transport = error:5.7.1 no mail leaves the test machine\n"
               "relay_transport = error:5.7.1 no mail leaves the test machine\n"
               "smtpd_recipient_restrictions = check_recipient_access texthash:" +
               etc.string() +
               "/recipient_access, permit_mynetworks, reject_unauth_destination\n"
               "maillog_file = " +
               log.string() +
               "\n"
               "maillog_file_prefixes = " +
               d +
               "\n"
               "alias_maps =\n"
               "alias_database =\n"
               "smtpd_peername_lookup = no\n"
               "smtp_dns_support_level = disabled\n"
               "service_throttle_time = 2s\n"
               // A deferred mail is tried again within seconds.
               "queue_run_delay = 1s\n"
               "minimal_backoff_time = 1s\n"
               "maximal_backoff_time = 2s\n"
               // A temporary failure must not suspend the transport or mark
               // the destination dead for long (default 60 s / 1 cohort), or
               // the retry falls outside the test's patience.
               "transport_retry_time = 1s\n"
               "default_destination_concurrency_failed_cohort_limit = 100\n"
               "transport_maps = texthash:" +
               etc.string() +
               "/transport\n"
               "fax_destination_recipient_limit = 1\n"
               "fax_time_limit = 600s\n"
               "tofile_destination_recipient_limit = 1\n"
               "virtual_mailbox_domains = example.org\n"
               "virtual_mailbox_base = " +
               mail.string() +
               "\n"
               "virtual_mailbox_maps = texthash:" +
               etc.string() +
               "/mailboxes\n"
               "virtual_uid_maps = static:65534\n"
               "virtual_gid_maps = static:65534\n"
               "smtputf8_enable = no\n" +
               sanitizer_environment();
    }

    // STARTTLS and AUTH as a provider's relay has them (PostfixOptions).
    std::string submission_cf(const PostfixOptions& o) const {
        if (o.tls_cert.empty()) return "";
        return "smtpd_tls_cert_file = " + o.tls_cert.string() +
               "\n"
               "smtpd_tls_key_file = " +
               o.tls_key.string() +
               "\n"
               "smtpd_tls_security_level = may\n"
               "smtpd_sasl_auth_enable = yes\n"
               "smtpd_sasl_type = dovecot\n"
               "smtpd_sasl_path = " +
               o.dovecot_sasl +
               "\n"
               "smtpd_tls_auth_only = yes\n"
               "mynetworks =\n"
               "smtpd_recipient_restrictions = permit_sasl_authenticated, reject\n";
    }

    // Under AddressSanitizer the faxgw run by pipe(8) needs the options the
    // test runs with; pipe(8) passes on only export_environment.
    static std::string sanitizer_environment() {
        std::string names;
        for (const char* n : {"ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS"}) {
            const char* v = std::getenv(n);
            if (v && *v && std::string(v).find_first_of(" \t,{}\n") == std::string::npos)
                names += std::string(" ") + n + "=" + v;
        }
        return names.empty() ? "" : "export_environment = TZ MAIL_CONFIG LANG" + names + "\n";
    }

    // The `fax` service as conf/postfix/master.cf writes it (its line and
    // the indented lines that continue it), with this test's user and paths.
    std::string conf_fax_service(const std::string& faxgw, const std::string& config_arg) const {
        std::ifstream in(source_dir / "conf" / "postfix" / "master.cf");
        std::string service, line;
        while (std::getline(in, line)) {
            if (line.starts_with("fax "))
                service = line + "\n";
            else if (!service.empty() && (line.starts_with(" ") || line.starts_with("\t")))
                service += line + "\n";
            else if (!service.empty())
                break;
        }
        if (service.empty()) throw std::runtime_error("no fax service in conf/postfix/master.cf");
        auto replace = [&](const std::string& from, const std::string& to) {
            auto at = service.find(from);
            if (at == std::string::npos)
                throw std::runtime_error("conf/postfix/master.cf: no '" + from + "'");
            service.replace(at, from.size(), to);
        };
        replace("user=faxgw", "user=" + std::string(pipe_user));
        replace("/usr/bin/faxgw", faxgw);
        replace(" --config /etc/faxgw/faxgw.toml", " --var " + var.string() + config_arg);
        return service;
    }

    std::string master_cf(const std::string& faxgw, const std::string& config_arg) const {
        // Written in full; chroot (5th column) is n on every line.
        return "# service type private unpriv chroot wakeup maxproc command\n"
               "127.0.0.1:" +
               std::to_string(port) +
               " inet n - n - - smtpd\n"
               "pickup    fifo  n - n 60   1 pickup\n"
               "cleanup   unix  n - n -    0 cleanup\n"
               "qmgr      fifo  n - n 300  1 qmgr\n"
               "tlsmgr    unix  - - n 1000? 1 tlsmgr\n"
               "rewrite   unix  - - n -    - trivial-rewrite\n"
               "bounce    unix  - - n -    0 bounce\n"
               "defer     unix  - - n -    0 bounce\n"
               "trace     unix  - - n -    0 bounce\n"
               "verify    unix  - - n -    1 verify\n"
               "flush     unix  n - n 1000? 0 flush\n"
               "proxymap  unix  - - n -    - proxymap\n"
               "smtp      unix  - - n -    - smtp\n"
               "relay     unix  - - n -    - smtp\n"
               "showq     unix  n - n -    - showq\n"
               "error     unix  - - n -    - error\n"
               "retry     unix  - - n -    - error\n"
               "discard   unix  - - n -    - discard\n"
               "local     unix  - n n -    - local\n"
               "virtual   unix  - n n -    - virtual\n"
               "lmtp      unix  - - n -    - lmtp\n"
               "anvil     unix  - - n -    1 anvil\n"
               "scache    unix  - - n -    1 scache\n"
               "postlog   unix-dgram n - n - 1 postlogd\n"
               // The service of conf/postfix/master.cf, with this test's paths.
               + conf_fax_service(faxgw, config_arg) +
               // The baseline: the same pipe(8) delivery, into a file.
               "tofile    unix  - n n -    - pipe\n"
               "  flags=Rq user=" +
               std::string(pipe_user) + " argv=/bin/dd of=" + files.string() +
               "/${queue_id}.${user} status=none\n";
    }
};

}  // namespace faxgw::test
