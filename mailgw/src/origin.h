// The origin of a submission: the JSON mailgw keeps in faxcore's opaque
// origin field, so reports can be answered to the right person later.
#pragma once

#include <faxgw/mailgw.h>

#include <string>
#include <string_view>
#include <vector>

#include "mime.h"
#include "options.h"
#include "recipients.h"

namespace faxgw::mailgw {

// The dedup key: the Message-ID, or without one a hash of the bytes, so a
// message the MTA retries still maps to the same jobs.
std::string origin_key(const ParsedMessage& message, std::string_view raw);

std::string make_origin(const ParsedMessage& message, const Envelope& envelope,
                        const std::vector<FaxRecipient>& recipients, const FaxOptions& options);

// The parts of an origin a notification needs; missing fields are empty.
struct OriginInfo {
    std::string message_id;
    std::string sender;  // envelope sender, "" for the null sender
    std::string subject;
    std::string date;
    bool notify_success = true;                              // report a fax that went through, too
    std::vector<std::pair<std::string, std::string>> names;  // number -> name
    std::string name_of(const std::string& number) const;
};
OriginInfo read_origin(std::string_view json);

std::string sha256_hex(std::string_view data);

}  // namespace faxgw::mailgw
