#include "options.h"

#include <cctype>
#include <ctime>
#include <regex>
#include <sstream>

#include "text.h"

namespace faxgw::mailgw {
namespace {

const std::regex subject_tag(R"(\[\s*fax\s*:([^\]]*)\])", std::regex::icase);

bool yes_no(const std::string& key, const std::string& value) {
    if (value == "yes" || value == "on" || value == "true") return true;
    if (value == "no" || value == "off" || value == "false") return false;
    throw OptionError("fax option " + key + "=" + value + ": use yes or no");
}

std::int64_t parse_time(const std::string& value) {
    std::tm tm{};
    std::string v = value;  // options arrive case-folded: "2030-01-02t03:04z"
    for (char& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (v.ends_with("Z")) v.pop_back();
    const char* end = strptime(v.c_str(), "%Y-%m-%dT%H:%M", &tm);
    if (!end || *end != '\0')
        throw OptionError("fax option at=" + value + ": use at=YYYY-MM-DDTHH:MM (UTC)");
    return static_cast<std::int64_t>(timegm(&tm));
}

void apply(FaxOptions& o, const std::string& key, const std::string& value) {
    try {
        if (key == "resolution") return void(o.resolution = render::parse_resolution(value));
        if (key == "paper") return void(o.paper = render::parse_paper(value));
    } catch (const render::Error& e) {
        throw OptionError("fax option " + key + "=" + value + ": " + e.what());
    }
    if (key == "cover") return void(o.cover = yes_no(key, value));
    if (key == "at") return void(o.not_before = parse_time(value));
    if (key == "notify") {
        if (value != "success" && value != "failure")
            throw OptionError("fax option notify=" + value +
                              ": use notify=success or notify=failure");
        return void(o.notify_success = value == "success");
    }
    throw OptionError(
        "unknown fax option '" + key +
        "' (known: resolution, paper, cover, at, notify, and fine, standard, superfine, a4, "
        "letter, legal, b4, cover, nocover, notify)");
}

// A bare word is short for key=value.
void apply_word(FaxOptions& o, const std::string& word) {
    if (word == "fine" || word == "standard" || word == "superfine")
        return apply(o, "resolution", word);
    if (word == "a4" || word == "letter" || word == "legal" || word == "b4")
        return apply(o, "paper", word);
    if (word == "cover") return apply(o, "cover", "yes");
    if (word == "nocover") return apply(o, "cover", "no");
    if (word == "notify") return apply(o, "notify", "success");
    apply(o, word, "");
}

void apply_list(FaxOptions& o, std::string_view list) {
    std::string text(list);
    for (char& c : text)
        if (c == ',' || c == ';') c = ' ';
    std::istringstream in(text);
    for (std::string item; in >> item;) {
        item = lower(item);
        auto eq = item.find('=');
        if (eq == std::string::npos)
            apply_word(o, item);
        else
            apply(o, item.substr(0, eq), item.substr(eq + 1));
    }
}

}  // namespace

FaxOptions parse_fax_options(std::string_view header_value, std::string_view subject) {
    FaxOptions o;
    apply_list(o, header_value);
    std::string s(subject);
    std::smatch m;
    if (std::regex_search(s, m, subject_tag)) apply_list(o, m[1].str());
    return o;
}

std::string subject_without_options(std::string_view subject) {
    return trim(std::regex_replace(std::string(subject), subject_tag, ""));
}

}  // namespace faxgw::mailgw
