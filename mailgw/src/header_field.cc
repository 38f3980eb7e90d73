#include "header_field.h"

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

}  // namespace faxgw::mailgw
