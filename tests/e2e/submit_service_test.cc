// The submit service: `faxgw submit` hands its mail to the warm workers of
// a running `faxgw run`, never decides a mail with settings other than its
// own, and decides the mail itself when the service fails.
#define BOOST_TEST_MODULE e2e submit service
#include <sys/socket.h>
#include <sys/un.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>

#include "e2e.h"

using namespace faxgw;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// What the gateway logs for a mail its service queued.
const std::string served = "submit service: 2.0.0 from <alice@example.com>: queued 1 fax job";

struct ServiceRig : test::StateRig {
    fs::path config = dir.path / "faxgw.toml";
    fs::path socket = var / "submit.socket";
    int mails = 0;
    int workers;

    explicit ServiceRig(int workers = 2) : workers(workers) {
        write_config("[rules]\ndefault = \"allow\"\n");
    }

    void write_config(const std::string& text) {
        std::ofstream(config) << "[lines]\ncount = 1\n[submit]\nworkers = " << workers << "\n"
                              << text;
    }

    // Once its workers are warm and its socket open.
    std::unique_ptr<test::Process> start_gateway() {
        auto gateway = std::make_unique<test::Process>(
            std::vector<std::string>{test::faxgw_binary, "run", "--config", config.string(),
                                     "--var", var.string()},
            dir.path);
        const std::string serving =
            "submit service: " + std::to_string(workers) + " worker(s) on " + socket.string();
        BOOST_REQUIRE_MESSAGE(gateway->says(serving, 30s), gateway->stderr_so_far());
        return gateway;
    }

    // A letter of `paragraphs` paragraphs (one: a short page).
    fs::path letter(int paragraphs = 1) {
        const fs::path mail = dir.path / ("mail-" + std::to_string(++mails) + ".eml");
        std::ofstream out(mail);
        out << "From: Alice <alice@example.com>\r\nTo: 5551001@fax.example.com\r\n"
            << "Subject: letter " << mails << "\r\nMessage-ID: <letter-" << mails
            << "@example.com>\r\n\r\nDear Bob,\r\n";
        for (int i = 0; i < paragraphs; ++i)
            out << "\r\nParagraph " << i
                << ": the quick brown fox jumps over the lazy dog, twice over, and once more.\r\n";
        return mail;
    }

    std::vector<std::string> submit_argv(const fs::path& config_file,
                                         const std::string& sender = "alice@example.com") const {
        return {test::faxgw_binary,
                "submit",
                "--config",
                config_file.string(),
                "--var",
                var.string(),
                "--sender",
                sender,
                "--",
                "5551001@fax.example.com"};
    }

    test::Output submit(const fs::path& config_file) {
        return test::run(submit_argv(config_file), dir.path, letter());
    }
    test::Output submit() { return submit(config); }
    test::Output submit_as(const std::string& sender) {
        return test::run(submit_argv(config, sender), dir.path, letter());
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_running_gateway_decides_the_mail_in_its_warm_workers) {
    ServiceRig rig;
    auto gateway = rig.start_gateway();
    BOOST_TEST(test::children_of(gateway->pid()).size() == 2u, "submit.workers = 2 by default");
    const auto o = rig.submit();
    BOOST_TEST(o.code == 0, o.out << o.err);
    BOOST_TEST(o.out.starts_with("2.0.0 queued 1 fax job (1 page) for +15551001"), o.out);
    BOOST_TEST(gateway->says(served), gateway->stderr_so_far());
    const auto jobs = test::jobs_when_all_ended(rig.var, rig.dir.path);
    BOOST_REQUIRE(jobs.size() == 1u);
    BOOST_TEST(jobs[0]["state"] == "done");

    // The service logs the envelope sender before a worker checked it: a
    // line break in it forges no line of the log.
    const auto forged = rig.submit_as("eve@example.com\nfaxgw run: forged");
    BOOST_TEST(forged.out.starts_with("5.1.7 envelope sender contains a control character"),
               forged.out << forged.err);
    BOOST_TEST(gateway->says("from <eve@example.com\\x0afaxgw run: forged>"),
               gateway->stderr_so_far());
    BOOST_TEST(gateway->stderr_so_far().find("\nfaxgw run: forged") == std::string::npos);
}

// Libraries open descriptors without close-on-exec (libre's SIP sockets);
// the workers hold none of the gateway's sockets or pipes, so that a worker
// busy with a long mail when the gateway is killed keeps no port from the
// gateway that is started next.
BOOST_AUTO_TEST_CASE(workers_hold_none_of_the_gateways_sockets) {
    ServiceRig rig;
    std::ofstream(rig.config) << "[lines]\nbackend = \"sip\"\n[sip]\nlisten = \"127.0.0.1:"
                              << test::free_loopback_port()
                              << "\"\n[submit]\nworkers = " << rig.workers << "\n";
    auto gateway = rig.start_gateway();
    auto sockets_and_pipes_of = [](pid_t pid) {
        std::set<std::string> found;
        for (const auto& [fd, target] : test::descriptors_of(pid))
            if (fd > 2 && (target.starts_with("socket:") || target.starts_with("pipe:")))
                found.insert(target);
        return found;
    };
    const auto gateways = sockets_and_pipes_of(gateway->pid());
    BOOST_TEST_REQUIRE(gateways.size() >= 3u, "the SIP sockets and the submit socket at least");
    const auto workers = test::children_of(gateway->pid());
    BOOST_TEST_REQUIRE(workers.size() == 2u);
    for (pid_t worker : workers)
        for (const auto& target : sockets_and_pipes_of(worker))
            BOOST_TEST(!gateways.contains(target), "worker " << worker << " holds " << target);
}

BOOST_AUTO_TEST_CASE(workers_never_decide_with_settings_other_than_the_file_now_says) {
    ServiceRig rig;
    auto gateway = rig.start_gateway();
    rig.write_config("[rules]\ndefault = \"deny\"\n");
    // Both warm workers read "allow": the first one asked is replaced by
    // one that reads "deny" and decides, and so is the other one later.
    auto o = rig.submit();
    BOOST_TEST(o.code == 77, o.out << o.err);
    BOOST_TEST(o.out.starts_with("5.7."), o.out);
    BOOST_TEST(gateway->says("had other settings: replaced"), gateway->stderr_so_far());
    BOOST_TEST(gateway->says("submit service: 5.7.1 from <alice@example.com>: "),
               gateway->stderr_so_far());
    o = rig.submit();
    BOOST_TEST(o.code == 77, o.out << o.err);
    BOOST_TEST(test::jobs_json(rig.var, rig.dir.path).empty());

    // A submit with a file of its own: no worker reads that one, and
    // submit decides the mail itself, with it.
    const fs::path own = rig.dir.path / "own.toml";
    std::ofstream(own) << "[lines]\ncount = 1\n";
    o = rig.submit(own);
    BOOST_TEST(o.code == 0, o.out << o.err);
    BOOST_TEST(gateway->says("submit service: a mail was left to `faxgw submit` (other settings)"),
               gateway->stderr_so_far());
    BOOST_TEST(test::jobs_json(rig.var, rig.dir.path).size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_mail_that_finds_every_worker_busy_is_decided_by_its_own_submit) {
    ServiceRig rig(1);
    auto gateway = rig.start_gateway();
    const pid_t worker = test::children_of(gateway->pid()).at(0);
    // A long letter keeps the one worker busy (its renderer runs) ...
    test::Process long_letter(rig.submit_argv(rig.config), rig.dir.path, rig.letter(3000));
    BOOST_REQUIRE_MESSAGE(
        test::eventually([&] { return !test::children_of(worker).empty(); }, 10s, 5ms),
        "the worker never rendered the long letter");
    // ... and a short one meanwhile does not wait for it.
    const auto short_letter = rig.submit();
    BOOST_TEST(short_letter.code == 0, short_letter.out << short_letter.err);
    BOOST_TEST(gateway->says("a mail was left to `faxgw submit` (all workers busy)"),
               gateway->stderr_so_far());
    const auto long_done = long_letter.wait();
    BOOST_TEST(long_done.code == 0, long_done.out << long_done.err);
    BOOST_TEST(gateway->says(served), gateway->stderr_so_far());
    BOOST_TEST(test::jobs_json(rig.var, rig.dir.path).size() == 2u);
}

// A client that announces a message of a gigabyte is cut off before the
// service takes memory for it, and the service goes on.
BOOST_AUTO_TEST_CASE(a_message_over_the_limit_is_refused_before_it_is_read) {
    ServiceRig rig;
    auto gateway = rig.start_gateway();
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, rig.socket.c_str(), sizeof address.sun_path - 1);
    BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    const std::string envelope =
        R"({"sender":"a@example.com","client_address":"","sasl_user":"","recipients":[]})";
    const auto frame_header = [](std::uint64_t size) {
        std::string h(8, '\0');
        for (int i = 0; i < 8; ++i) h[i] = static_cast<char>((size >> (8 * i)) & 0xff);
        return h;
    };
    const std::string bytes = frame_header(envelope.size()) + envelope + frame_header(1u << 30);
    BOOST_REQUIRE(::write(fd, bytes.data(), bytes.size()) == ssize_t(bytes.size()));
    char reply;
    BOOST_TEST(::read(fd, &reply, 1) == 0, "the service closes the connection");
    ::close(fd);
    BOOST_TEST(gateway->says("frame of 1073741824 bytes, over the limit"),
               gateway->stderr_so_far());
    const auto o = rig.submit();
    BOOST_TEST(o.code == 0, o.out << o.err);
    BOOST_TEST(gateway->says(served), gateway->stderr_so_far());
}

BOOST_AUTO_TEST_CASE(killed_workers_are_replaced_and_a_killed_gateway_leaves_the_mail_to_submit) {
    ServiceRig rig;
    auto gateway = rig.start_gateway();
    const auto killed = test::children_of(gateway->pid());
    for (pid_t worker : killed) ::kill(worker, SIGKILL);
    for (pid_t worker : killed)
        BOOST_REQUIRE(test::eventually([&] { return test::state_of(worker) == 'Z'; }, 10s));
    auto o = rig.submit();
    BOOST_TEST(o.code == 0, o.out << o.err);
    BOOST_TEST(o.out.starts_with("2.0.0 queued 1 fax job"), o.out);
    BOOST_TEST(gateway->says("ended while idle: replaced"), gateway->stderr_so_far());
    BOOST_TEST(gateway->says(served), gateway->stderr_so_far());

    // A killed gateway leaves its socket file behind.
    gateway->signal(SIGKILL);
    gateway->wait();
    BOOST_REQUIRE(fs::exists(rig.socket));
    o = rig.submit();
    BOOST_TEST(o.code == 0, o.out << o.err);
    BOOST_TEST(o.out.starts_with("2.0.0 queued 1 fax job"), o.out);

    // Each mail queued once: the second, to a restarted gateway's service.
    gateway = rig.start_gateway();
    o = rig.submit();
    BOOST_TEST(o.out.starts_with("2.0.0 queued 1 fax job"), o.out);
    BOOST_TEST(gateway->says(served), gateway->stderr_so_far());
    const auto jobs = test::jobs_when_all_ended(rig.var, rig.dir.path);
    BOOST_TEST(jobs.size() == 3u);
    for (const auto& job : jobs) BOOST_TEST(job["state"] == "done");
}
