// The caller ID of outgoing calls, chosen per sender of the job: every line
// backend that can set one (SIP's From and P-Asserted-Identity, Asterisk's
// Originate) takes the same rules.
#pragma once

#include <faxgw/faxcore.h>

#include <functional>
#include <string>
#include <vector>

namespace faxgw::faxcore {

// The caller ID for the jobs of one sender or domain. Rules are tried in
// order and the first that matches decides; a job no rule matches calls with
// the backend's own default.
struct CallerIdRule {
    // A glob (fnmatch, case-insensitive) on the whole sender address, e.g.
    // "sales-*@example.org"; "" = any sender (when domain is set).
    std::string sender;
    // The sender's domain, e.g. "example.org" (its subdomains too); "" = any.
    std::string domain;
    std::string number;  // the calling number
    std::string name;    // the display name; "" = the backend's default
};

// Who sent a job, as an address ("alice@example.org"); "" when unknown.
// faxcore keeps a job's origin opaque: whoever wrote it knows how to read it.
using SenderOf = std::function<std::string(const Job& job)>;

// The first rule for `job`'s sender, or nullptr (no rule matches, no rules,
// or no way to know the sender).
const CallerIdRule* caller_id_rule_for(const std::vector<CallerIdRule>& rules,
                                       const SenderOf& sender_of, const Job& job);

}  // namespace faxgw::faxcore
