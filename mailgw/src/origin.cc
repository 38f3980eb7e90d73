#include "origin.h"

#include <glib.h>

#include <nlohmann/json.hpp>

#include "rules.h"
#include "text.h"

namespace faxgw::mailgw {

std::string sha256_hex(std::string_view data) {
    GChecksum* sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(sum, reinterpret_cast<const guchar*>(data.data()),
                      static_cast<gssize>(data.size()));
    std::string hex = g_checksum_get_string(sum);
    g_checksum_free(sum);
    return hex;
}

namespace {

bool is_delivery_trace(std::string_view field) {
    auto colon = field.find(':');
    if (colon == std::string_view::npos) return false;
    std::string name = lower(trim(field.substr(0, colon)));
    return name == "delivered-to" || name == "return-path" || name == "x-original-to" ||
           name == "received";
}

// The fields of the header, each with its folded continuation lines, and
// where the body starts.
struct HeaderSplit {
    std::vector<std::string_view> fields;
    std::size_t body = 0;
};

HeaderSplit split_header(std::string_view raw) {
    HeaderSplit split;
    std::size_t at = 0;
    while (at < raw.size()) {
        std::size_t end = raw.find('\n', at);
        end = end == std::string_view::npos ? raw.size() : end + 1;
        std::string_view line = raw.substr(at, end - at);
        if (line == "\n" || line == "\r\n") {
            split.body = end;
            return split;
        }
        bool continuation = line[0] == ' ' || line[0] == '\t';
        if (continuation && !split.fields.empty())
            split.fields.back() = raw.substr(split.fields.back().data() - raw.data(),
                                             end - (split.fields.back().data() - raw.data()));
        else
            split.fields.push_back(line);
        at = end;
    }
    split.body = raw.size();
    return split;
}

void update_without_cr(GChecksum* sum, std::string_view data) {
    std::size_t at = 0;
    while (at < data.size()) {
        std::size_t cr = data.find("\r\n", at);
        std::size_t end = cr == std::string_view::npos ? data.size() : cr;
        g_checksum_update(sum, reinterpret_cast<const guchar*>(data.data() + at),
                          static_cast<gssize>(end - at));
        at = end;
        if (cr != std::string_view::npos) ++at;  // skip the CR, keep the LF
    }
}

}  // namespace

std::string content_hash(std::string_view raw) {
    GChecksum* sum = g_checksum_new(G_CHECKSUM_SHA256);
    HeaderSplit split = split_header(raw);
    for (auto field : split.fields)
        if (!is_delivery_trace(field)) update_without_cr(sum, field);
    update_without_cr(sum, "\n");
    update_without_cr(sum, raw.substr(split.body));
    std::string hex = g_checksum_get_string(sum);
    g_checksum_free(sum);
    return hex;
}

std::string origin_key(const ParsedMessage& message, const Envelope& envelope,
                       std::string_view raw) {
    // NUL separates the fields: it occurs in none of them.
    std::string identity = rule_sender(envelope.sender);
    identity += '\0';
    identity += message.message_id;
    identity += '\0';
    identity += content_hash(raw);
    std::string key = "sha256:" + sha256_hex(identity);
    return message.message_id.empty() ? key : message.message_id + " " + key;
}

std::string header_block(std::string_view raw, std::size_t max_bytes) {
    std::string block;
    for (auto field : split_header(raw).fields) {
        if (block.size() + field.size() > max_bytes) break;
        block += field;
    }
    return block;
}

std::string make_origin(const ParsedMessage& message, const Envelope& envelope,
                        const std::vector<FaxRecipient>& recipients, const FaxOptions& options,
                        std::string_view raw) {
    nlohmann::json recipients_json = nlohmann::json::array();
    for (const auto& r : recipients)
        recipients_json.push_back(
            {{"address", r.address}, {"name", r.name}, {"number", r.destination.number}});
    nlohmann::json origin = {
        {"message_id", message.message_id},
        {"sender", rule_sender(envelope.sender)},
        {"from", {{"name", message.from.name}, {"address", message.from.address}}},
        {"subject", subject_without_options(message.subject)},
        // null: the sender said nothing, the configuration decides.
        {"notify_success", options.notify_success ? nlohmann::json(*options.notify_success)
                                                  : nlohmann::json(nullptr)},
        {"date", message.date},
        {"client_address", envelope.client_address},
        {"sasl_user", envelope.sasl_user},
        {"recipients", recipients_json},
        {"headers", header_block(raw, kept_header_bytes)},
    };
    // Mail is not always valid UTF-8 even after decoding; never throw on it.
    return origin.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string OriginInfo::name_of(const std::string& number) const {
    for (const auto& [n, name] : names)
        if (n == number) return name;
    return {};
}

std::string OriginInfo::address_of(const std::string& number) const {
    for (const auto& [n, address] : addresses)
        if (n == number) return address;
    return {};
}

OriginInfo read_origin(std::string_view json) {
    OriginInfo info;
    nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
    if (!j.is_object()) return info;
    auto text = [&](const char* key) {
        auto it = j.find(key);
        return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    info.message_id = text("message_id");
    info.sender = text("sender");
    info.subject = text("subject");
    if (auto it = j.find("notify_success"); it != j.end() && it->is_boolean())
        info.notify_success = it->get<bool>();
    info.date = text("date");
    info.headers = text("headers");
    if (auto it = j.find("recipients"); it != j.end() && it->is_array()) {
        for (const auto& r : *it)
            if (r.is_object()) {
                info.names.emplace_back(r.value("number", ""), r.value("name", ""));
                info.addresses.emplace_back(r.value("number", ""), r.value("address", ""));
            }
    }
    return info;
}

std::string origin_sender(std::string_view origin) { return read_origin(origin).sender; }

}  // namespace faxgw::mailgw
