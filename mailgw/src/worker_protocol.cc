#include <faxgw/submit_worker.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace faxgw::mailgw {
namespace {

using Clock = std::chrono::steady_clock;

// The largest frame accepted: a message is bounded by the filter's
// max_message_bytes long before this.
constexpr std::uint64_t max_frame = std::uint64_t{1} << 32;

void write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        // send(), not write(): a closed other end is an error here, not a
        // SIGPIPE that ends the process (`faxgw submit` then decides the
        // mail itself).
        const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw ChannelError(std::string("cannot write: ") + std::strerror(errno));
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

void send_frame(int fd, const std::string& bytes) {
    std::uint64_t size = bytes.size();
    char header[8];
    for (int i = 0; i < 8; ++i) header[i] = static_cast<char>((size >> (8 * i)) & 0xff);
    write_all(fd, header, sizeof header);
    write_all(fd, bytes.data(), bytes.size());
}

// Reads exactly `size` bytes; false when the other end closed before the
// first byte and `eof_ok`.
bool read_all(int fd, char* data, std::size_t size, bool eof_ok) {
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::read(fd, data + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw ChannelError(std::string("cannot read: ") + std::strerror(errno));
        if (n == 0) {
            if (done == 0 && eof_ok) return false;
            throw ChannelError("the other end closed the connection");
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

std::optional<std::string> receive_frame(int fd, bool eof_ok, std::uint64_t limit = max_frame) {
    char header[8];
    if (!read_all(fd, header, sizeof header, eof_ok)) return std::nullopt;
    std::uint64_t size = 0;
    for (int i = 7; i >= 0; --i) size = (size << 8) | static_cast<unsigned char>(header[i]);
    if (size > std::min(limit, max_frame))
        throw ChannelError("frame of " + std::to_string(size) + " bytes, over the limit");
    std::string bytes(static_cast<std::size_t>(size), '\0');
    read_all(fd, bytes.data(), bytes.size(), false);
    return bytes;
}

}  // namespace

void send_request(int fd, const WorkerRequest& request) {
    const auto& e = request.envelope;
    nlohmann::json envelope = {{"sender", e.sender},
                               {"client_address", e.client_address},
                               {"sasl_user", e.sasl_user},
                               {"recipients", e.recipients},
                               {"config_digest", request.config_digest}};
    send_frame(fd, envelope.dump());
    send_frame(fd, request.message);
}

std::optional<WorkerRequest> receive_request(int fd, std::uint64_t max_message_bytes) {
    // An envelope is a few addresses.
    constexpr std::uint64_t max_envelope_bytes = 1u << 20;
    auto envelope = receive_frame(fd, true, max_envelope_bytes);
    if (!envelope) return std::nullopt;
    WorkerRequest request;
    try {
        auto j = nlohmann::json::parse(*envelope);
        request.envelope.sender = j.at("sender").get<std::string>();
        request.envelope.client_address = j.at("client_address").get<std::string>();
        request.envelope.sasl_user = j.at("sasl_user").get<std::string>();
        request.envelope.recipients = j.at("recipients").get<std::vector<std::string>>();
        request.config_digest = j.value("config_digest", std::string());
    } catch (const nlohmann::json::exception& e) {
        throw ChannelError(std::string("bad request: ") + e.what());
    }
    request.message = *receive_frame(fd, false, max_message_bytes);
    return request;
}

void send_reply(int fd, const WorkerReply& reply) {
    nlohmann::json j = {{"verdict", static_cast<int>(reply.verdict)},
                        {"message", reply.message},
                        {"jobs", reply.jobs},
                        {"declined", reply.declined}};
    // The message may quote a mail's bytes that are not UTF-8.
    send_frame(fd, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

WorkerReply receive_reply(int fd, std::chrono::seconds interval, std::chrono::seconds limit,
                          const std::function<void()>& waiting) {
    const auto deadline = Clock::now() + limit;
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(interval.count() * 1000));
        if (ready < 0 && errno != EINTR)
            throw ChannelError(std::string("cannot wait for the worker: ") + std::strerror(errno));
        if (ready > 0) break;
        if (Clock::now() >= deadline)
            throw ChannelError("no answer within " + std::to_string(limit.count()) + " s");
        waiting();
    }
    auto frame = receive_frame(fd, false);
    WorkerReply reply;
    try {
        auto j = nlohmann::json::parse(*frame);
        const int verdict = j.at("verdict").get<int>();
        if (verdict < 0 || verdict > static_cast<int>(Verdict::configuration))
            throw ChannelError("bad verdict " + std::to_string(verdict));
        reply.verdict = static_cast<Verdict>(verdict);
        reply.message = j.at("message").get<std::string>();
        reply.jobs = j.at("jobs").get<std::vector<std::pair<std::int64_t, std::string>>>();
        reply.declined = j.value("declined", false);
    } catch (const nlohmann::json::exception& e) {
        throw ChannelError(std::string("bad reply: ") + e.what());
    }
    return reply;
}

}  // namespace faxgw::mailgw
