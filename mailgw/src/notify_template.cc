// The subject and body templates of notifications, and their placeholders.
#include <faxgw/mailgw.h>

#include <stdexcept>

#include "notify.h"

namespace faxgw::mailgw {

std::string_view to_string(NotifyKind kind) {
    switch (kind) {
        case NotifyKind::accepted:
            return "accepted";
        case NotifyKind::delayed:
            return "delayed";
        case NotifyKind::delivered:
            return "delivered";
        case NotifyKind::failed:
            return "failed";
    }
    return "failed";
}

const std::vector<std::string_view>& notify_placeholders() {
    static const std::vector<std::string_view> names = {
        "to",       // the number (with its name), or "3 numbers"
        "summary",  // "sent (3 pages)", "1 sent, 1 failed", "delayed, will retry"
        "subject",  // the subject of the sender's mail, without its [fax: ...] tag
        "date",     // the Date of the sender's mail
        "about",    // ` "subject" of date`, or less when they are missing
        "details",  // what happened, number by number, with the technical details
        "numbers",  // every number, comma separated
        "pages",    // pages of the fax
        "gateway",  // the gateway's address
    };
    return names;
}

NotifyTemplate default_template(NotifyKind kind) {
    const std::string intro = "This is the fax gateway, about your mail{about}.\n\n";
    switch (kind) {
        case NotifyKind::accepted:
            return {"Fax to {to}: {summary}", intro + "It is queued for sending.\n\n{details}"};
        case NotifyKind::delayed:
            return {"Fax to {to}: {summary}",
                    intro +
                        "{details}"
                        "The gateway keeps trying; you will get another mail when it is "
                        "done.\n"};
        case NotifyKind::delivered:
        case NotifyKind::failed:
            break;
    }
    return {"Fax to {to}: {summary}", intro + "{details}"};
}

void check_template(std::string_view text) {
    for (std::size_t open = text.find('{'); open != std::string_view::npos;
         open = text.find('{', open + 1)) {
        const std::size_t close = text.find('}', open);
        if (close == std::string_view::npos) return;
        const std::string_view name = text.substr(open + 1, close - open - 1);
        const auto& known = notify_placeholders();
        if (std::find(known.begin(), known.end(), name) == known.end()) {
            std::string list;
            for (auto k : known) list += (list.empty() ? "{" : ", {") + std::string(k) + "}";
            throw std::invalid_argument("unknown placeholder {" + std::string(name) +
                                        "} (known: " + list + ")");
        }
    }
}

std::string fill_template(std::string_view text,
                          const std::vector<std::pair<std::string, std::string>>& values) {
    std::string out;
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t open = text.find('{', at);
        const std::size_t close = open == std::string_view::npos ? open : text.find('}', open);
        if (close == std::string_view::npos) break;
        out += text.substr(at, open - at);
        const std::string_view name = text.substr(open + 1, close - open - 1);
        auto it = std::find_if(values.begin(), values.end(),
                               [&](const auto& v) { return v.first == name; });
        out += it != values.end() ? it->second : std::string(text.substr(open, close - open + 1));
        at = close + 1;
    }
    return out + std::string(text.substr(at));
}

}  // namespace faxgw::mailgw
