// A private Dovecot for the integration tests: its own configuration, TLS
// certificates, base_dir, Maildirs and log in a short folder under /tmp,
// listening only on free ports of 127.0.0.1:
//   - IMAP with STARTTLS (imap_port), IMAPS (imaps_port) and LMTP over TCP
//     (lmtp_port), for a test Postfix to deliver into users' mailboxes;
//   - users from a passwd-file with plain passwords, each with a Maildir
//     below mail/<user>/Maildir (Maildir++: folder X is .X/).
// The TLS certificates come from `openssl` at start: a CA of the test
// (ca_file(), for a client to trust) and a server certificate for
// "localhost" and 127.0.0.1 that it signs.
// Needs root (Dovecot's master runs as root and the mail is owned by
// `nobody`) and the Debian packages dovecot-core, dovecot-imapd and
// dovecot-lmtpd, which tools/install-deps installs without starting the
// system Dovecot. /etc/dovecot is never read: every command gets -c.
#pragma once

#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "postfix.h"  // eventually(), free_loopback_port()
#include "process.h"

namespace faxgw::test {

// A CA and a server certificate it signs, made with openssl in `dir`.
struct TestCertificates {
    std::filesystem::path ca_cert, ca_key, server_cert, server_key;

    // `name` tells CAs apart in their subject (a second CA of a test must
    // not be taken for the first).
    static TestCertificates make(const std::filesystem::path& dir, const std::string& name) {
        namespace fs = std::filesystem;
        fs::create_directories(dir);
        TestCertificates c{dir / "ca.crt", dir / "ca.key", dir / "server.crt", dir / "server.key"};
        const auto csr = dir / "server.csr", ext = dir / "server.ext";
        std::ofstream(ext) << "subjectAltName = DNS:localhost, IP:127.0.0.1\n"
                              "basicConstraints = CA:FALSE\n"
                              "keyUsage = digitalSignature, keyEncipherment\n"
                              "extendedKeyUsage = serverAuth\n";
        openssl(
            {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             "/CN=faxgw test CA " + name, "-keyout", c.ca_key.string(), "-out", c.ca_cert.string()},
            dir);
        openssl({"req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout",
                 c.server_key.string(), "-out", csr.string()},
                dir);
        openssl({"x509", "-req", "-in", csr.string(), "-CA", c.ca_cert.string(), "-CAkey",
                 c.ca_key.string(), "-CAcreateserial", "-days", "2", "-extfile", ext.string(),
                 "-out", c.server_cert.string()},
                dir);
        return c;
    }

private:
    static void openssl(std::vector<std::string> args, const std::filesystem::path& dir) {
        args.insert(args.begin(), "openssl");
        auto o = run(args, dir);
        if (o.code != 0) throw std::runtime_error("openssl " + args[1] + " failed: " + o.err);
    }
};

struct DovecotOptions {
    // false: no TLS at all (no STARTTLS, no IMAPS), for the client's refusal.
    bool tls = true;
    // user -> plain password; each gets a Maildir.
    std::vector<std::pair<std::string, std::string>> users = {{"alice", "alice-secret"}};
    // The capabilities announced after login; "" = Dovecot's own. A list
    // without MOVE or IDLE plays an older server.
    std::string imap_capability;
};

class Dovecot {
public:
    static constexpr const char* dovecot_command = "/usr/sbin/dovecot";
    static constexpr const char* doveadm_command = "/usr/bin/doveadm";
    static constexpr const char* mail_user = "nobody";  // owns every Maildir

    std::filesystem::path dir;  // everything lives below it
    std::filesystem::path conf, log, mail;

    explicit Dovecot(const DovecotOptions& o = {}) : options_(o) {
        namespace fs = std::filesystem;
        if (::geteuid() != 0)
            throw std::runtime_error(
                "the Dovecot tests start a private Dovecot, which needs root (CI runs as root); "
                "run them as root");
        if (!fs::exists(dovecot_command))
            throw std::runtime_error(std::string(dovecot_command) +
                                     " is missing: run tools/install-deps (Debian packages "
                                     "dovecot-core, dovecot-imapd, dovecot-lmtpd)");
        // Short: Dovecot's unix sockets live below base_dir (108-byte limit).
        std::string templ = "/tmp/fxdc-XXXXXX";
        if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
        dir = templ;
        try {
            set_up();
        } catch (...) {
            stop();
            remove_dir();
            throw;
        }
    }

    Dovecot(const Dovecot&) = delete;
    Dovecot& operator=(const Dovecot&) = delete;

    ~Dovecot() {
        stop();
        remove_dir();
    }

    int imap_port() const { return imap_port_; }
    int imaps_port() const { return imaps_port_; }
    int lmtp_port() const { return lmtp_port_; }
    // Dovecot's SASL service over TCP, for a Postfix's smtpd_sasl_path
    // ("inet:127.0.0.1:PORT"): the same users and passwords.
    int auth_port() const { return auth_port_; }
    // The CA that signed the server's certificate (PEM).
    std::filesystem::path ca_file() const { return certificates_.ca_cert; }
    std::string log_text() const {
        std::error_code ec;
        return std::filesystem::exists(log, ec) ? slurp(log) : std::string();
    }

    // SIGTERM to the master, which stops its children; SIGKILL to all of
    // them if it does not go.
    void stop() {
        if (!master_) return;
        master_->signal(SIGTERM);
        if (!eventually([&] { return !running(); }, std::chrono::seconds(10))) {
            kill_leftovers();
            master_->signal(SIGKILL);
        }
        master_.reset();  // waits for it
        kill_leftovers();
    }

    // Starts it again on the same ports, configuration and mail.
    void restart() {
        stop();
        start();
    }

    // The Maildir of `user`'s `folder` ("INBOX" is the Maildir itself).
    std::filesystem::path maildir(const std::string& user, const std::string& folder) const {
        auto root = mail / user / "Maildir";
        return folder == "INBOX" ? root : root / ("." + folder);
    }

    // Texts of the mails in `user`'s `folder` (new/ and cur/), as Dovecot
    // stored them.
    std::vector<std::string> messages(const std::string& user, const std::string& folder) const {
        std::vector<std::string> out;
        for (const char* sub : {"new", "cur"}) {
            std::error_code ec;
            for (const auto& f :
                 std::filesystem::directory_iterator(maildir(user, folder) / sub, ec))
                out.push_back(slurp(f.path()));
        }
        return out;
    }

    // Stores `message` into `user`'s `folder` as IMAP APPEND does (doveadm
    // save, the server's own code: it assigns the UID and tells IDLE
    // clients). Creates the folder when missing.
    void append(const std::string& user, const std::string& folder, const std::string& message) {
        auto file = dir / "append.eml";
        {
            std::ofstream f(file, std::ios::binary);
            f << message;
        }
        auto o = Process({doveadm_command, "-c", conf.string(), "save", "-u", user, "-m", folder},
                         dir, file)
                     .wait();
        if (o.code != 0 && folder != "INBOX") {
            doveadm({"mailbox", "create", "-u", user, folder});
            o = Process({doveadm_command, "-c", conf.string(), "save", "-u", user, "-m", folder},
                        dir, file)
                    .wait();
        }
        if (o.code != 0) throw std::runtime_error("doveadm save failed: " + o.err);
    }

    Output doveadm(std::vector<std::string> args) const {
        args.insert(args.begin(), {doveadm_command, "-c", conf.string()});
        return run(args, dir);
    }

private:
    DovecotOptions options_;
    TestCertificates certificates_;
    int imap_port_ = 0, imaps_port_ = 0, lmtp_port_ = 0, auth_port_ = 0;
    std::unique_ptr<Process> master_;

    void set_up() {
        namespace fs = std::filesystem;
        const passwd* p = ::getpwnam(mail_user);
        if (!p) throw std::runtime_error(std::string("the user ") + mail_user + " must exist");
        const uid_t uid = p->pw_uid;
        const gid_t gid = p->pw_gid;
        if (!::getpwnam("dovecot") || !::getpwnam("dovenull"))
            throw std::runtime_error("the users dovecot and dovenull must exist (dovecot-core)");

        conf = dir / "dovecot.conf";
        log = dir / "log" / "dovecot.log";
        mail = dir / "mail";
        for (const auto& d : {dir / "run", dir / "state", dir / "log", mail})
            fs::create_directories(d);
        chmod_(dir, 0755);
        chmod_(mail, 0755);
        if (options_.tls) certificates_ = TestCertificates::make(dir / "tls", "server");

        std::ofstream users(dir / "users");
        for (const auto& [user, password] : options_.users) {
            fs::create_directories(mail / user);
            chown_(mail / user, uid, gid);
            users << user << ":{PLAIN}" << password << ":" << uid << ":" << gid
                  << "::" << (mail / user).string() << "::\n";
        }
        users.close();
        chmod_(dir / "users", 0644);

        imap_port_ = free_loopback_port();
        imaps_port_ = free_loopback_port();
        lmtp_port_ = free_loopback_port();
        auth_port_ = free_loopback_port();
        std::ofstream(conf) << config_text();
        start();
    }

    void start() {
        // The log is Dovecot's only word on why it did not start.
        master_ = std::make_unique<Process>(
            std::vector<std::string>{dovecot_command, "-F", "-c", conf.string()}, dir);
        if (!eventually([&] { return listening(imap_port_) && listening(lmtp_port_); },
                        std::chrono::seconds(10)))
            throw std::runtime_error("dovecot -F -c " + conf.string() +
                                     " did not start: " + master_->stderr_so_far() + log_text());
    }

    bool running() const {
        std::ifstream in(dir / "run" / "master.pid");
        long pid = 0;
        return (in >> pid) && pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0;
    }

    // Dovecot's processes whose command line names our configuration or
    // base_dir: none may outlive the fixture.
    void kill_leftovers() const {
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
            const auto name = e.path().filename().string();
            if (name.find_first_not_of("0123456789") != std::string::npos) continue;
            std::ifstream in(e.path() / "cmdline", std::ios::binary);
            std::string cmdline((std::istreambuf_iterator<char>(in)), {});
            std::ifstream env(e.path() / "environ", std::ios::binary);
            std::string environment((std::istreambuf_iterator<char>(env)), {});
            if (cmdline.find(dir.string()) != std::string::npos ||
                environment.find("=" + dir.string()) != std::string::npos)
                ::kill(std::stoi(name), SIGKILL);
        }
    }

    std::string config_text() const {
        const std::string d = dir.string();
        const std::string tls = certificates_.server_cert.empty()
                                    ? "ssl = no\n"
                                    : "ssl = yes\n"
                                      "ssl_cert = <" +
                                          certificates_.server_cert.string() +
                                          "\n"
                                          "ssl_key = <" +
                                          certificates_.server_key.string() +
                                          "\n"
                                          "ssl_min_protocol = TLSv1.2\n";
        const std::string imaps = certificates_.server_cert.empty()
                                      ? ""
                                      : "  inet_listener imaps {\n"
                                        "    address = 127.0.0.1\n"
                                        "    port = " +
                                            std::to_string(imaps_port_) +
                                            "\n"
                                            "    ssl = yes\n"
                                            "  }\n";
        return "# Written by the faxgw Dovecot test fixture.\n"
               "protocols = imap lmtp\n"
               "listen = 127.0.0.1\n"
               "base_dir = " +
               d + "/run\n" + "state_dir = " + d +
               "/state\n"
               "instance_name = faxgw-test-" +
               dir.filename().string() +
               "\n"
               "log_path = " +
               log.string() +
               "\n"
               "info_log_path = " +
               log.string() +
               "\n"
               "default_internal_user = dovecot\n"
               "default_login_user = dovenull\n"
               "first_valid_uid = 1\n"
               "mail_location = maildir:~/Maildir\n"
               "mail_privileged_group =\n"
               // Tests try wrong passwords: no 2 s delay per failure.
               "auth_failure_delay = 0\n"
               "auth_mechanisms = plain login\n"
               "disable_plaintext_auth = no\n"
               // Dovecot slows down failed logins from an address (auth
               // penalty, up to 15 s) unless it is trusted: the tests
               // count a client's own retries, not Dovecot's.
               "login_trusted_networks = 127.0.0.0/8\n" +
               tls +
               "passdb {\n"
               "  driver = passwd-file\n"
               "  args = scheme=PLAIN username_format=%u " +
               d +
               "/users\n"
               "}\n"
               "userdb {\n"
               "  driver = passwd-file\n"
               "  args = username_format=%u " +
               d +
               "/users\n"
               "}\n"
               "service imap-login {\n"
               "  inet_listener imap {\n"
               "    address = 127.0.0.1\n"
               "    port = " +
               std::to_string(imap_port_) + "\n  }\n" + imaps +
               "}\n"
               "service lmtp {\n"
               "  inet_listener lmtp {\n"
               "    address = 127.0.0.1\n"
               "    port = " +
               std::to_string(lmtp_port_) +
               "\n"
               "  }\n"
               "}\n"
               "service auth {\n"
               "  inet_listener sasl {\n"
               "    address = 127.0.0.1\n"
               "    port = " +
               std::to_string(auth_port_) +
               "\n"
               "  }\n"
               "}\n"
               "service stats {\n"
               "  inet_listener http {\n"
               "    port = 0\n"
               "  }\n"
               "}\n" +
               (options_.imap_capability.empty() ? std::string()
                                                 : "protocol imap {\n  imap_capability = " +
                                                       options_.imap_capability + "\n}\n") +
               "protocol lmtp {\n"
               "  postmaster_address = postmaster@localhost\n"
               // RCPT TO:<alice@any.domain> is the user alice.
               "  auth_username_format = %Ln\n"
               "}\n";
    }

    static bool listening(int port) { return accepts_connections(port); }

    // FAXGW_KEEP_DOVECOT=1 keeps the folder (configuration, log, mail) to look at.
    void remove_dir() const {
        if (std::getenv("FAXGW_KEEP_DOVECOT") != nullptr) return;
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    static void chmod_(const std::filesystem::path& p, mode_t m) {
        if (::chmod(p.c_str(), m) != 0) throw std::runtime_error("chmod failed: " + p.string());
    }
    static void chown_(const std::filesystem::path& p, uid_t u, gid_t g) {
        if (::chown(p.c_str(), u, g) != 0) throw std::runtime_error("chown failed: " + p.string());
    }
};

}  // namespace faxgw::test
