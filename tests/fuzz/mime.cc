// Fuzz target "mime": a mail as the MTA pipes it to `faxgw submit`, through
// every step of submit() that reads it before anything is rendered: the
// MIME walk (either way of treating alternatives), the envelope a sample
// takes from its headers, the fax recipients, the sender's options and the
// sender rules with the verdicts of Authentication-Results.
#include "mime.h"

#include <faxgw/mailgw.h>

#include "fuzz_target.h"
#include "options.h"
#include "recipients.h"
#include "rules.h"
#include "text.h"

namespace {

using namespace faxgw::mailgw;
using faxgw::fuzz::require;

// The defaults, with an authserv-id so that Authentication-Results count;
// the seeds write their headers as this server.
const Settings& fuzz_settings() {
    static const Settings settings = [] {
        Settings s;
        s.authserv_id = "mx.example.net";
        return s;
    }();
    return settings;
}

// What parse_message promises of the parts it returns.
void check_parts(const ParsedMessage& message) {
    require(valid_utf8(message.subject), "the subject is UTF-8");
    require(valid_utf8(message.from.name), "the From name is UTF-8");
    for (const MailPart& part : message.parts) {
        require(valid_utf8(part.filename), "file names are UTF-8");
        if (part.kind == MailPart::Kind::text) {
            require(valid_utf8(part.content), "text parts are UTF-8");
            require(!is_blank(part.content), "whitespace-only text parts are left out");
        }
    }
}

// The sender rules for every fax recipient the mail's headers name.
void decide_recipients(const ParsedMessage& message, std::string_view raw) {
    const Settings& settings = fuzz_settings();
    const Envelope envelope = envelope_of(raw);
    std::vector<FaxRecipient> recipients;
    try {
        recipients = fax_recipients(envelope.recipients, settings);
    } catch (const RecipientError&) {
        return;  // refused with a line of text: an answer, not a finding
    }
    const AuthVerdicts verdicts =
        read_authentication_results(message.authentication_results, settings.authserv_id);
    // Submitted locally, so that the rules on numbers are reached.
    RuleInput input{rule_sender(envelope.sender),
                    message.from.address,
                    "",
                    "",
                    verdicts.spf,
                    verdicts.dkim,
                    verdicts.dmarc,
                    ""};
    for (const FaxRecipient& r : recipients) {
        require(r.destination.number.starts_with('+'), "a recipient's number is E.164");
        input.number = r.destination.number;
        decide(input, settings);
    }
}

void read_options(const ParsedMessage& message) {
    subject_without_options(message.subject);
    try {
        parse_fax_options(message.fax_options, message.subject);
    } catch (const OptionError&) {
        // refused with a line of text
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view raw = faxgw::fuzz::bytes_of(data, size);
    // One way of treating alternatives per input, chosen by the length's
    // lowest bit (a byte more or less, which mutations make all the time),
    // not both: the MIME walk is most of an execution, and both ways over
    // the same mail halved the campaign's rate.
    const bool prefer_html = size % 2 == 1;
    ParsedMessage message;
    try {
        message = parse_message(raw, prefer_html);
    } catch (const MessageError&) {
        return 0;  // refused with a line of text: an answer, not a finding
    }
    check_parts(message);
    decide_recipients(message, raw);
    read_options(message);
    return 0;
}
