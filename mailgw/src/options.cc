#include "options.h"

#include <cctype>
#include <ctime>
#include <optional>
#include <sstream>

#include "text.h"

namespace faxgw::mailgw {
namespace {

// A `[fax: ...]` tag in a subject: where it is and the options inside.
struct SubjectTag {
    std::size_t begin = 0, end = 0;  // [begin, end) in the subject, brackets included
    std::string_view options;
};

std::size_t skip_space(std::string_view s, std::size_t i) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    return i;
}

// The first `[ fax : options ]` at or after `from` (white space optional,
// "fax" in any case, options up to the first ']'). Read by hand in one pass:
// std::regex recursed once per character and crashed on a long subject.
std::optional<SubjectTag> find_subject_tag(std::string_view s, std::size_t from) {
    for (std::size_t open = s.find('[', from); open != std::string_view::npos;
         open = s.find('[', open + 1)) {
        std::size_t i = skip_space(s, open + 1);
        if (lower(s.substr(i, 3)) != "fax") continue;
        i = skip_space(s, i + 3);
        if (i >= s.size() || s[i] != ':') continue;
        const std::size_t close = s.find(']', i + 1);
        if (close == std::string_view::npos) return std::nullopt;  // no later tag closes either
        return SubjectTag{open, close + 1, s.substr(i + 1, close - i - 1)};
    }
    return std::nullopt;
}

// An option as the sender wrote it, safe and short enough for a refusal.
std::string quoted(const std::string& key, const std::string& value) {
    return printable(key, 60) + "=" + printable(value, 60);
}

bool yes_no(const std::string& key, const std::string& value) {
    if (value == "yes" || value == "on" || value == "true") return true;
    if (value == "no" || value == "off" || value == "false") return false;
    throw OptionError("fax option " + quoted(key, value) + ": use yes or no");
}

std::int64_t parse_time(const std::string& value) {
    std::tm tm{};
    std::string v = value;  // options arrive case-folded: "2030-01-02t03:04z"
    for (char& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (v.ends_with("Z")) v.pop_back();
    const char* end = strptime(v.c_str(), "%Y-%m-%dT%H:%M", &tm);
    if (!end || *end != '\0')
        throw OptionError("fax option " + quoted("at", value) + ": use at=YYYY-MM-DDTHH:MM (UTC)");
    return static_cast<std::int64_t>(timegm(&tm));
}

void apply(FaxOptions& o, const std::string& key, const std::string& value) {
    try {
        if (key == "resolution") return void(o.resolution = render::parse_resolution(value));
        if (key == "paper") return void(o.paper = render::parse_paper(value));
    } catch (const render::Error& e) {
        throw OptionError("fax option " + quoted(key, value) + ": " + printable(e.what()));
    }
    if (key == "cover") return void(o.cover = yes_no(key, value));
    if (key == "at") return void(o.not_before = parse_time(value));
    if (key == "notify") {
        if (value != "success" && value != "failure")
            throw OptionError("fax option " + quoted("notify", value) +
                              ": use notify=success or notify=failure");
        return void(o.notify_success = value == "success");
    }
    throw OptionError(
        "unknown fax option '" + printable(key, 60) +
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
    if (auto tag = find_subject_tag(subject, 0)) apply_list(o, tag->options);
    return o;
}

std::string subject_without_options(std::string_view subject) {
    std::string out;
    std::size_t pos = 0;
    for (auto tag = find_subject_tag(subject, 0); tag; tag = find_subject_tag(subject, pos)) {
        out += subject.substr(pos, tag->begin - pos);
        pos = tag->end;
    }
    out += subject.substr(pos);
    return trim(out);
}

}  // namespace faxgw::mailgw
