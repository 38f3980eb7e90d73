// Fuzz target "number": a fax number as a sender writes it (the local part
// of 5551234@fax.example.com), normalised under the dial rules of a few
// countries.
#include <faxgw/mailgw.h>

#include <algorithm>
#include <cctype>

#include "fuzz_target.h"

namespace {

using faxgw::mailgw::DialRules;

// NANP (whose national prefix is its country code), Germany, and a country
// without a national prefix.
const std::vector<DialRules>& dial_rules() {
    static const std::vector<DialRules> rules = [] {
        DialRules nanp;
        DialRules germany;
        germany.country_code = "49";
        germany.international_prefix = "00";
        germany.national_prefix = "0";
        DialRules without_trunk = germany;
        without_trunk.country_code = "45";
        without_trunk.national_prefix = "";
        return std::vector<DialRules>{nanp, germany, without_trunk};
    }();
    return rules;
}

bool digits_only(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view written = faxgw::fuzz::bytes_of(data, size);
    for (const DialRules& rules : dial_rules()) {
        faxgw::faxcore::Destination d;
        try {
            d = faxgw::mailgw::normalise_number(written, rules);
        } catch (const faxgw::mailgw::RecipientError&) {
            continue;  // refused with a line of text
        }
        using faxgw::fuzz::require;
        require(d.number.size() > 1 && d.number.front() == '+' &&
                    digits_only(std::string_view(d.number).substr(1)),
                "the number is E.164: + and digits");
        require(!d.dial.empty() &&
                    std::all_of(d.dial.begin(), d.dial.end(),
                                [](unsigned char c) { return std::isdigit(c) != 0 || c == ','; }),
                "the dial string is digits and pauses");
    }
    return 0;
}
