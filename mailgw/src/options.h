// Per-message options a sender can give, in an `X-Fax-Options:` header or a
// `[fax: ...]` tag in the Subject (the tag wins):
//   fine | standard | superfine | resolution=R     fax resolution
//   a4 | letter | legal | paper=P                  paper size
//   cover | nocover | cover=yes|no                 cover page
//   at=2026-11-24T08:00[Z]                         send no earlier (UTC)
//   notify | notify=success|failure                also report success / only failures
// separated by commas, semicolons or spaces. Unknown options are an error.
#pragma once

#include <faxgw/render.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace faxgw::mailgw {

struct FaxOptions {
    std::optional<render::Resolution> resolution;
    std::optional<render::Paper> paper;
    std::optional<bool> cover;
    std::int64_t not_before = 0;         // unix seconds, 0 = now
    std::optional<bool> notify_success;  // true: report success too; false: failures only
};

class OptionError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Reads the options of both places; throws OptionError naming the bad one.
FaxOptions parse_fax_options(std::string_view header_value, std::string_view subject);

// The subject without its [fax: ...] tag, for reports and cover pages.
std::string subject_without_options(std::string_view subject);

}  // namespace faxgw::mailgw
