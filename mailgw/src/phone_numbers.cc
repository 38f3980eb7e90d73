// What a fax number is: valid or not, which region, which type. Prefixes
// cannot tell: +1 876 is Jamaica and +1 900 a premium-rate line, both
// behind the country code 1. libphonenumber's metadata knows every region's
// number plan.
#include "phone_numbers.h"

#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace faxgw::mailgw {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

const PhoneNumberUtil& util() { return *PhoneNumberUtil::GetInstance(); }

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

NumberType type_of(PhoneNumberUtil::PhoneNumberType t) {
    switch (t) {
        case PhoneNumberUtil::FIXED_LINE:
            return NumberType::fixed_line;
        case PhoneNumberUtil::MOBILE:
            return NumberType::mobile;
        case PhoneNumberUtil::FIXED_LINE_OR_MOBILE:
            return NumberType::fixed_line_or_mobile;
        case PhoneNumberUtil::TOLL_FREE:
            return NumberType::toll_free;
        case PhoneNumberUtil::PREMIUM_RATE:
            return NumberType::premium_rate;
        case PhoneNumberUtil::SHARED_COST:
            return NumberType::shared_cost;
        case PhoneNumberUtil::VOIP:
            return NumberType::voip;
        case PhoneNumberUtil::PERSONAL_NUMBER:
            return NumberType::personal_number;
        case PhoneNumberUtil::PAGER:
            return NumberType::pager;
        case PhoneNumberUtil::UAN:
            return NumberType::uan;
        case PhoneNumberUtil::VOICEMAIL:
            return NumberType::voicemail;
        case PhoneNumberUtil::UNKNOWN:
            break;
    }
    return NumberType::unknown;
}

// Why libphonenumber calls `n` invalid, in the sender's words.
std::string problem_of(const PhoneNumber& n, const std::string& e164) {
    std::string region;
    util().GetRegionCodeForCountryCode(n.country_code(), &region);
    std::string where = " for region " + region;
    switch (util().IsPossibleNumberWithReason(n)) {
        case PhoneNumberUtil::INVALID_COUNTRY_CODE:
            return e164 + " has no valid country code";
        case PhoneNumberUtil::TOO_SHORT:
            return e164 + " has too few digits" + where;
        case PhoneNumberUtil::TOO_LONG:
            return e164 + " has too many digits" + where;
        case PhoneNumberUtil::INVALID_LENGTH:
            return e164 + " has a number of digits no number" + where + " has";
        default:
            return e164 + " is no valid number" + where;
    }
}

}  // namespace

std::string_view to_string(NumberType t) {
    static constexpr std::string_view names[] = {
        "fixed_line",  "mobile", "fixed_line_or_mobile", "toll_free", "premium_rate",
        "shared_cost", "voip",   "personal_number",      "pager",     "uan",
        "voicemail",   "unknown"};
    return names[static_cast<int>(t)];
}

std::vector<std::string> supported_regions() {
    std::set<std::string> regions;
    util().GetSupportedRegions(&regions);
    return {regions.begin(), regions.end()};
}

std::optional<NumberType> parse_number_type(std::string_view name) {
    for (int i = 0; i <= static_cast<int>(NumberType::unknown); ++i)
        if (to_string(static_cast<NumberType>(i)) == name) return static_cast<NumberType>(i);
    return std::nullopt;
}

std::string home_region(const DialRules& dial) {
    const std::string& cc = dial.country_code;
    if (cc.size() > 3 || !all_digits(cc))
        throw std::invalid_argument("country code '" + cc + "' must be 1 to 3 digits, as \"1\"");
    std::string main;
    util().GetRegionCodeForCountryCode(std::stoi(cc), &main);
    if (main == "ZZ") throw std::invalid_argument("+" + cc + " is no country code");
    if (dial.region.empty()) return main;
    std::set<std::string> regions;
    util().GetSupportedRegions(&regions);
    if (!regions.contains(dial.region))
        throw std::invalid_argument("region '" + dial.region +
                                    "' is no ISO 3166 region code libphonenumber knows");
    if (util().GetCountryCodeForRegion(dial.region) != std::stoi(cc))
        throw std::invalid_argument("region " + dial.region + " is not in country code +" + cc);
    return dial.region;
}

NumberInfo describe_number(std::string_view e164, const DialRules& dial) {
    NumberInfo info;
    std::string number(e164);
    std::string home;
    try {
        home = home_region(dial);
    } catch (const std::invalid_argument&) {
        // Configuration checks refuse such dial rules; from code, nothing
        // is home then.
    }
    if (std::find(dial.known_numbers.begin(), dial.known_numbers.end(), number) !=
        dial.known_numbers.end())
        return {true, "", home, true, NumberType::fixed_line};
    PhoneNumber n;
    if (!number.starts_with('+') || !all_digits(number.substr(1))) {
        info.problem = number + " is not a number in E.164 form (+ and digits)";
        return info;
    }
    auto parsed = util().Parse(number, "ZZ", &n);
    if (parsed == PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR) {
        info.problem = number + " has no valid country code";
        return info;
    }
    if (parsed != PhoneNumberUtil::NO_PARSING_ERROR) {
        info.problem = number + (parsed == PhoneNumberUtil::TOO_LONG_NSN ? " has too many digits"
                                                                         : " has too few digits");
        return info;
    }
    if (!util().IsValidNumber(n)) {
        info.problem = problem_of(n, number);
        return info;
    }
    info.valid = true;
    util().GetRegionCodeForNumber(n, &info.region);
    info.home = !home.empty() && info.region == home;
    info.type = type_of(util().GetNumberType(n));
    return info;
}

}  // namespace faxgw::mailgw
