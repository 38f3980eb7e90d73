// The milter's socket spec, apart from the filter: the configuration
// checks it, and a program that only reads the configuration does not link
// libmilter for that.
#include <faxgw/milter.h>

#include <stdexcept>
#include <string_view>

namespace faxgw::milter {

std::optional<std::filesystem::path> unix_socket_path(const std::string& spec) {
    for (std::string_view kind : {"unix:", "local:"})
        if (spec.starts_with(kind)) return std::filesystem::path(spec.substr(kind.size()));
    return std::nullopt;
}

void check_socket_spec(const std::string& spec) {
    for (std::string_view kind : {"inet:", "inet6:", "unix:", "local:"})
        if (spec.starts_with(kind) && spec.size() > kind.size()) return;
    throw std::invalid_argument(
        "the milter socket must be \"inet:PORT@HOST\", "
        "\"inet6:PORT@HOST\" or \"unix:PATH\", not \"" +
        spec + "\"");
}

}  // namespace faxgw::milter
