#include "origin.h"

#include <glib.h>

#include <nlohmann/json.hpp>

#include "rules.h"

namespace faxgw::mailgw {

std::string sha256_hex(std::string_view data) {
    GChecksum* sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(sum, reinterpret_cast<const guchar*>(data.data()),
                      static_cast<gssize>(data.size()));
    std::string hex = g_checksum_get_string(sum);
    g_checksum_free(sum);
    return hex;
}

std::string origin_key(const ParsedMessage& message, std::string_view raw) {
    if (!message.message_id.empty()) return message.message_id;
    return "sha256:" + sha256_hex(raw);
}

std::string make_origin(const ParsedMessage& message, const Envelope& envelope,
                        const std::vector<FaxRecipient>& recipients, const FaxOptions& options) {
    nlohmann::json recipients_json = nlohmann::json::array();
    for (const auto& r : recipients)
        recipients_json.push_back(
            {{"address", r.address}, {"name", r.name}, {"number", r.destination.number}});
    nlohmann::json origin = {
        {"message_id", message.message_id},
        {"sender", rule_sender(envelope.sender)},
        {"from", {{"name", message.from.name}, {"address", message.from.address}}},
        {"subject", subject_without_options(message.subject)},
        {"notify_success", options.notify_success.value_or(true)},
        {"date", message.date},
        {"client_address", envelope.client_address},
        {"sasl_user", envelope.sasl_user},
        {"recipients", recipients_json},
    };
    // Mail is not always valid UTF-8 even after decoding; never throw on it.
    return origin.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string OriginInfo::name_of(const std::string& number) const {
    for (const auto& [n, name] : names)
        if (n == number) return name;
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
    if (auto it = j.find("recipients"); it != j.end() && it->is_array()) {
        for (const auto& r : *it)
            if (r.is_object()) info.names.emplace_back(r.value("number", ""), r.value("name", ""));
    }
    return info;
}

}  // namespace faxgw::mailgw
