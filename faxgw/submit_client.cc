// `faxgw submit`'s side of the submit service (submit_service.h).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "submit_service.h"

namespace faxgw {
namespace {

// The longest the service may take over one mail: its workers' limit
// (submit_service.cc), and a minute more for the socket.
constexpr std::chrono::seconds service_answer_limit{660};

}  // namespace

std::string config_digest(const CommonOptions& options) {
    std::string digest = "faxgw " FAXGW_VERSION;
    if (!options.config_file) return digest + " built-in";
    std::ifstream in(*options.config_file, std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), {}};
    // Not a defence against anyone: the file is the admin's. A hash tells
    // an edited file from the one the workers read.
    return digest + " " + std::to_string(bytes.size()) + " " +
           std::to_string(std::hash<std::string>{}(bytes));
}

std::filesystem::path submit_socket(const std::filesystem::path& var) {
    return var / "submit.socket";
}

std::optional<mailgw::WorkerReply> submit_to_service(const std::filesystem::path& var,
                                                     const mailgw::WorkerRequest& request) {
    if (request.message.size() > service_max_message_bytes) return std::nullopt;
    const std::string path = std::filesystem::absolute(submit_socket(var)).string();
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) return std::nullopt;  // the service has none
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        return std::nullopt;  // no `faxgw run`, or one without workers
    try {
        mailgw::send_request(fd, request);
        auto reply = mailgw::receive_reply(fd, service_answer_limit, service_answer_limit, [] {});
        if (reply.declined) return std::nullopt;
        return reply;
    } catch (const mailgw::ChannelError&) {
        return std::nullopt;
    }
}

}  // namespace faxgw
