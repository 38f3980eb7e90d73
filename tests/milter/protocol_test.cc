// `faxgw milter` at the level of the milter protocol, driven by miltertest
// (Debian's miltertest, OpenDKIM's driver) with Lua scripts: the macros an
// MTA sends (the SMTP AUTH user, the client address), the replies at each
// stage and the changes asked for at the end of the message. A script ends
// with error() when the filter answers otherwise; miltertest then exits
// non-zero with that text.
#define BOOST_TEST_MODULE milter protocol
#include <arpa/inet.h>
#include <faxgw/faxcore.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <memory>
#include <thread>

#include "e2e.h"
#include "process.h"
#include "test_support.h"

using namespace faxgw;
using namespace std::chrono_literals;

namespace {

constexpr const char* miltertest = "/usr/bin/miltertest";

// A milter on a unix socket of its own, with `toml` as its configuration.
struct Milter {
    test::TempDir dir;
    std::filesystem::path socket = dir.path / "milter.sock";
    std::filesystem::path var = dir.path / "var";
    std::unique_ptr<test::Process> process;

    explicit Milter(const std::string& toml) {
        if (!std::filesystem::exists(miltertest))
            throw std::runtime_error(std::string(miltertest) +
                                     " is missing: run tools/install-deps (Debian miltertest)");
        std::ofstream(dir.path / "faxgw.toml") << toml;
        process = std::make_unique<test::Process>(
            std::vector<std::string>{test::faxgw_binary, "milter", "--config",
                                     (dir.path / "faxgw.toml").string(), "--var", var.string(),
                                     "--socket", "unix:" + socket.string()},
            dir.path);
        const bool listening = [&] {
            for (int i = 0; i < 400; ++i) {
                if (process->stderr_so_far().find("listening on") != std::string::npos) return true;
                std::this_thread::sleep_for(50ms);
            }
            return false;
        }();
        if (!listening)
            throw std::runtime_error("faxgw milter did not start: " + process->stderr_so_far());
    }

    // Runs `body` after a connection from `client` (an IP address) and
    // returns miltertest's exit status and output.
    test::Output script(const std::string& client, const std::string& body) {
        static int serial = 0;
        const auto file = dir.path / ("script" + std::to_string(++serial) + ".lua");
        std::ofstream(file)
            << "conn = mt.connect(\"unix:" << socket.string()
            << "\")\n"
               "if conn == nil then error(\"cannot connect\") end\n"
               "if mt.conninfo(conn, \"client.example\", \""
            << client
            << "\") ~= nil then error(\"conninfo\") end\n"
               "function expect(what, want)\n"
               "  local got = mt.getreply(conn)\n"
               "  if got ~= want then\n"
               "    error(what .. \": reply \" .. string.char(got) .. \", not \" "
               ".. string.char(want))\n"
               "  end\n"
               "end\n"
               "function message(id, from, body)\n"
               "  mt.header(conn, \"From\", \" \" .. from)\n"
               "  mt.header(conn, \"Subject\", \" protocol \" .. id)\n"
               "  mt.header(conn, \"Date\", \" Mon, 3 Mar 2025 09:30:00 +0100\")\n"
               "  mt.header(conn, \"Message-ID\", \" <\" .. id .. \"@example.org>\")\n"
               "  mt.eoh(conn)\n"
               "  mt.bodystring(conn, body)\n"
               "end\n"
            << body << "mt.disconnect(conn)\n";
        return test::run({miltertest, "-s", file.string()}, dir.path);
    }
    std::vector<faxcore::Job> jobs() const { return faxcore::Queue::open(var)->jobs(); }
};

// Outsiders are those outside 10.0.0.0/8; the built-in rules refuse them
// unless they are logged in.
const std::string outsiders_config = "[rules]\ntrusted_networks = [\"10.0.0.0/8\"]\n";

}  // namespace

// The SMTP AUTH user comes in the {auth_authen} macro at MAIL FROM: with it
// an outsider may fax, without it the recipient is refused at RCPT TO.
BOOST_AUTO_TEST_CASE(the_auth_macro_decides_for_an_outsider) {
    Milter milter(outsiders_config);
    auto refused = milter.script("192.0.2.7", R"lua(
mt.macro(conn, SMFIC_MAIL, "i", "Q1")
mt.mailfrom(conn, "<anna@example.org>")
expect("MAIL", SMFIR_CONTINUE)
mt.rcptto(conn, "<5551001@fax.example.com>")
expect("RCPT without AUTH", SMFIR_REPLYCODE)
)lua");
    BOOST_TEST(refused.code == 0, refused.out + refused.err);
    BOOST_TEST(milter.process->stderr_so_far().find(
                   "client=192.0.2.7 from=<anna@example.org> to=<5551001@fax.example.com>: 5.7.1 "
                   "fax to +15551001 refused: log in") != std::string::npos,
               milter.process->stderr_so_far());

    auto allowed = milter.script("192.0.2.7", R"lua(
mt.macro(conn, SMFIC_MAIL, "i", "Q2", "{auth_authen}", "anna")
mt.mailfrom(conn, "<anna@example.org>")
expect("MAIL", SMFIR_CONTINUE)
mt.rcptto(conn, "<5551001@fax.example.com>")
expect("RCPT with AUTH", SMFIR_CONTINUE)
mt.data(conn)
expect("DATA", SMFIR_CONTINUE)
message("auth", "anna@example.org", "Hello.\r\n")
mt.eom(conn)
expect("end of message", SMFIR_DISCARD)
if not mt.eom_check(conn, MT_RCPTDELETE, "<5551001@fax.example.com>") then
  error("the fax recipient was not removed")
end
)lua");
    BOOST_TEST(allowed.code == 0, allowed.out + allowed.err);
    BOOST_TEST(milter.jobs().size() == 1u);
}

// A fax recipient beside another: the other keeps the mail, with a header
// naming the job; a mail without fax recipients is accepted at DATA.
BOOST_AUTO_TEST_CASE(other_recipients_keep_the_mail) {
    Milter milter("");
    auto mixed = milter.script("127.0.0.1", R"lua(
mt.macro(conn, SMFIC_MAIL, "i", "Q3")
mt.mailfrom(conn, "<anna@example.org>")
mt.rcptto(conn, "<office@example.org>")
expect("RCPT other", SMFIR_CONTINUE)
mt.rcptto(conn, "<5551002@fax.example.com>")
expect("RCPT fax", SMFIR_CONTINUE)
mt.data(conn)
message("mixed", "anna@example.org", "Hello.\r\n")
mt.eom(conn)
expect("end of message", SMFIR_CONTINUE)
if not mt.eom_check(conn, MT_RCPTDELETE, "<5551002@fax.example.com>") then
  error("the fax recipient was not removed")
end
if mt.eom_check(conn, MT_RCPTDELETE, "<office@example.org>") then
  error("the other recipient was removed")
end
local jobs = mt.getheader(conn, "X-Fax-Jobs", 0)
if jobs == nil or not string.find(jobs, "(+15551002)", 1, true) then
  error("X-Fax-Jobs: " .. tostring(jobs))
end
)lua");
    BOOST_TEST(mixed.code == 0, mixed.out + mixed.err);

    auto plain = milter.script("127.0.0.1", R"lua(
mt.mailfrom(conn, "<anna@example.org>")
mt.rcptto(conn, "<office@example.org>")
mt.data(conn)
expect("DATA without fax recipients", SMFIR_ACCEPT)
)lua");
    BOOST_TEST(plain.code == 0, plain.out + plain.err);
    BOOST_TEST(milter.jobs().size() == 1u);
}

// The same mail again (its 250 was lost) queues no second job, and is
// answered as the first was.
BOOST_AUTO_TEST_CASE(a_mail_sent_twice_is_queued_once) {
    Milter milter("");
    const std::string send = R"lua(
mt.mailfrom(conn, "<anna@example.org>")
mt.rcptto(conn, "<5551001@fax.example.com>")
mt.data(conn)
message("twice", "anna@example.org", "Hello.\r\n")
mt.eom(conn)
expect("end of message", SMFIR_DISCARD)
)lua";
    for (int i = 0; i < 2; ++i) {
        auto r = milter.script("127.0.0.1", send);
        BOOST_TEST(r.code == 0, r.out + r.err);
    }
    BOOST_TEST(milter.jobs().size() == 1u);
}

// The replies of the end of the message: an attachment that cannot be
// faxed, and a mail over milter.max_message_mb. (miltertest tells a reply
// code from a plain answer, not the code itself: the codes are read in the
// milter's log line here, and in the SMTP replies of tests/postfix.)
BOOST_AUTO_TEST_CASE(refusals_at_the_end_of_the_message) {
    Milter milter("[milter]\nmax_message_mb = 1\n");
    auto exe = milter.script("127.0.0.1", R"lua(
mt.mailfrom(conn, "<anna@example.org>")
mt.rcptto(conn, "<5551001@fax.example.com>")
mt.data(conn)
mt.header(conn, "From", " anna@example.org")
mt.header(conn, "Message-ID", " <exe@example.org>")
mt.header(conn, "MIME-Version", " 1.0")
mt.header(conn, "Content-Type", " multipart/mixed; boundary=B")
mt.eoh(conn)
mt.bodystring(conn, "--B\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--B\r\n" ..
  "Content-Type: application/x-msdownload; name=setup.exe\r\n" ..
  "Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAA\r\n--B--\r\n")
mt.eom(conn)
expect("end of message", SMFIR_REPLYCODE)
)lua");
    BOOST_TEST(exe.code == 0, exe.out + exe.err);
    BOOST_TEST(
        milter.process->stderr_so_far().find("5.6.1 attachment setup.exe (") != std::string::npos,
        milter.process->stderr_so_far());

    auto big = milter.script("127.0.0.1", R"lua(
mt.mailfrom(conn, "<anna@example.org>")
mt.rcptto(conn, "<5551001@fax.example.com>")
mt.data(conn)
mt.header(conn, "From", " anna@example.org")
mt.eoh(conn)
mt.bodyrandom(conn, 1500000)
mt.eom(conn)
expect("end of message", SMFIR_REPLYCODE)
)lua");
    BOOST_TEST(big.code == 0, big.out + big.err);
    BOOST_TEST(milter.process->stderr_so_far().find("5.3.4 message is larger than 1 MB") !=
                   std::string::npos,
               milter.process->stderr_so_far());
    BOOST_TEST(milter.jobs().empty());
}

// The gateway's own trouble is temporary: a renderer out of (wall-clock)
// time on a loaded machine is 451 4.3.0, and the sender's MTA tries again.
BOOST_AUTO_TEST_CASE(a_renderer_out_of_time_is_451) {
    Milter milter("[render]\nwall_seconds = 2\n");
    auto r = milter.script("127.0.0.1", R"lua(
mt.mailfrom(conn, "<anna@example.org>")
mt.rcptto(conn, "<5551001@fax.example.com>")
mt.data(conn)
mt.header(conn, "From", " anna@example.org")
mt.header(conn, "Message-ID", " <hang@example.org>")
mt.header(conn, "MIME-Version", " 1.0")
mt.header(conn, "Content-Type", " application/postscript; name=hang.ps")
mt.eoh(conn)
mt.bodystring(conn, "%!PS\r\n{} loop\r\n")
mt.eom(conn)
expect("end of message", SMFIR_REPLYCODE)
)lua");
    BOOST_TEST(r.code == 0, r.out + r.err);
    const std::string log = milter.process->stderr_so_far();
    BOOST_TEST(log.find("4.3.0 hang.ps: rendering took longer than 2 s") != std::string::npos, log);
    BOOST_TEST(milter.jobs().empty());
}

// A sender's limit reached for now refuses the recipient that does not fit
// with 450 4.7.1 (the sender's MTA tries again later); a mail that alone is
// more than the limit, with 550 5.7.1.
BOOST_AUTO_TEST_CASE(a_reached_limit_is_450_at_rcpt) {
    Milter milter("[limits]\njobs_per_hour_per_sender = 2\n");
    auto first = milter.script("127.0.0.1", R"lua(
mt.mailfrom(conn, "<anna@example.org>")
mt.rcptto(conn, "<5551001@fax.example.com>")
mt.data(conn)
message("limit1", "anna@example.org", "Hello.\r\n")
mt.eom(conn)
expect("end of message", SMFIR_DISCARD)
)lua");
    BOOST_TEST(first.code == 0, first.out + first.err);
    auto second = milter.script("127.0.0.1", R"lua(
mt.macro(conn, SMFIC_MAIL, "i", "Q9")
mt.mailfrom(conn, "<anna@example.org>")
mt.rcptto(conn, "<5551002@fax.example.com>")
expect("RCPT that fits", SMFIR_CONTINUE)
mt.rcptto(conn, "<5551003@fax.example.com>")
expect("RCPT over the limit", SMFIR_REPLYCODE)
mt.data(conn)
message("limit2", "anna@example.org", "Hello.\r\n")
mt.eom(conn)
expect("end of message", SMFIR_DISCARD)
)lua");
    BOOST_TEST(second.code == 0, second.out + second.err);
    const std::string log = milter.process->stderr_so_far();
    BOOST_TEST(log.find("to=<5551003@fax.example.com>: 4.7.1 sender anna@example.org has "
                        "reached the limit of 2 fax jobs per hour") != std::string::npos,
               log);
    BOOST_TEST(milter.jobs().size() == 2u);
}

// A socket spec libmilter would take for a file name is refused, and a
// port in use is told, each with the exit status of faxgw milter(8).
BOOST_AUTO_TEST_CASE(a_bad_socket_is_told_and_exits) {
    test::TempDir dir;
    auto bad = test::run(
        {test::faxgw_binary, "milter", "--var", (dir.path / "var").string(), "--socket", "10029"},
        dir.path);
    BOOST_TEST(bad.code == 78, bad.err);
    BOOST_TEST(bad.err.find("--socket: the milter socket must be") != std::string::npos, bad.err);

    // A port someone listens on.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    BOOST_TEST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    BOOST_TEST_REQUIRE(::listen(fd, 1) == 0);
    BOOST_TEST_REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    auto busy = test::run({test::faxgw_binary, "milter", "--config", "/dev/null", "--var",
                           (dir.path / "var").string(), "--socket",
                           "inet:" + std::to_string(ntohs(a.sin_port)) + "@127.0.0.1"},
                          dir.path);
    ::close(fd);
    BOOST_TEST(busy.code == 71, busy.err);
    BOOST_TEST(busy.err.find("cannot listen on inet:") != std::string::npos, busy.err);

    // A unix socket another milter serves is not taken over.
    Milter first("");
    auto second =
        test::run({test::faxgw_binary, "milter", "--config", "/dev/null", "--var",
                   (dir.path / "var").string(), "--socket", "unix:" + first.socket.string()},
                  dir.path);
    BOOST_TEST(second.code == 71, second.err);
    auto still = first.script("127.0.0.1", R"lua(
mt.mailfrom(conn, "<anna@example.org>")
mt.rcptto(conn, "<office@example.org>")
mt.data(conn)
expect("DATA", SMFIR_ACCEPT)
)lua");
    BOOST_TEST(still.code == 0, still.out + still.err);
}
