// Which envelope recipients are fax numbers, and what those numbers are.
#pragma once

#include <faxgw/mailgw.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faxgw::mailgw {

struct FaxRecipient {
    std::string address;  // as the MTA gave it
    std::string name;     // "jane.doe" of jane.doe=5551234@..., else empty
    faxcore::Destination destination;
};

bool in_fax_domain(const std::string& address, const Settings& settings);

// `address` as a fax recipient, or nullopt when it is in no fax domain.
// Throws RecipientError for a bad number.
std::optional<FaxRecipient> fax_recipient(const std::string& address, const Settings& settings);

// Envelope recipients in a fax domain, in order, duplicates removed.
// Throws RecipientError for a bad number or when none is a fax recipient.
std::vector<FaxRecipient> fax_recipients(const std::vector<std::string>& recipients,
                                         const Settings& settings);

}  // namespace faxgw::mailgw
