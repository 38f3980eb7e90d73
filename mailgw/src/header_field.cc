#include "header_field.h"

#include "text.h"

namespace faxgw::mailgw {

std::string header_field(std::string_view name, std::string_view value) {
    std::string field(name);
    field += ": ";
    for (char c : value) {
        auto u = static_cast<unsigned char>(c);
        field += u < 0x20 || u == 0x7f ? ' ' : c;
    }
    return field + "\r\n";
}

std::string header_value(std::string_view message, std::string_view name) {
    std::string value;
    bool in_field = false;
    std::size_t at = 0;
    while (at < message.size()) {
        std::size_t end = message.find('\n', at);
        if (end == std::string_view::npos) end = message.size();
        std::string_view line = message.substr(at, end - at);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        at = end + 1;
        if (line.empty()) break;  // end of the header
        if (line.front() == ' ' || line.front() == '\t') {
            if (in_field) value += std::string(" ") + std::string(line.substr(1));
            continue;
        }
        if (in_field) break;
        auto colon = line.find(':');
        if (colon != std::string_view::npos &&
            lower(std::string(line.substr(0, colon))) == lower(std::string(name))) {
            in_field = true;
            value = std::string(line.substr(colon + 1));
        }
    }
    auto first = value.find_first_not_of(" \t");
    auto last = value.find_last_not_of(" \t");
    return first == std::string::npos ? "" : value.substr(first, last - first + 1);
}

}  // namespace faxgw::mailgw
