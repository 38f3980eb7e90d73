// The origin of a submission: the JSON mailgw keeps in faxcore's opaque
// origin field, so reports can be answered to the right person later.
#pragma once

#include <faxgw/mailgw.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mime.h"
#include "options.h"
#include "recipients.h"

namespace faxgw::mailgw {

// The dedup key: the Message-ID followed by a hash of the envelope
// sender, the Message-ID and the message's content. Message-IDs are public
// (every reply quotes them), so the Message-ID alone would let one sender's
// mail join, or suppress, another's batch. The content hash leaves out the
// trace headers an MTA adds for each delivery (see content_hash), so a
// retried delivery, or the same mail delivered once per recipient, maps to
// the same batch.
std::string origin_key(const ParsedMessage& message, const Envelope& envelope,
                       std::string_view raw);

// SHA-256 of the message with CRLF as LF and without the header fields an
// MTA writes per delivery or per hop: Delivered-To (pipe flag D),
// Return-Path (R), X-Original-To (O), and Received. Received is left out
// because a client that retries after a lost "250 OK" sends the same mail
// again and gets a new Received line (new time, queue ID); leaving it out
// merges nothing else, since every other header and the body must match.
std::string content_hash(std::string_view raw);

// `raw` is the mail: its header block is kept (up to kept_header_bytes,
// whole fields only) for the text/rfc822-headers part of a DSN.
std::string make_origin(const ParsedMessage& message, const Envelope& envelope,
                        const std::vector<FaxRecipient>& recipients, const FaxOptions& options,
                        std::string_view raw);
inline constexpr std::size_t kept_header_bytes = 16 * 1024;

// The header block of `raw` (without the empty line that ends it), cut after
// the last whole field that fits in max_bytes.
std::string header_block(std::string_view raw, std::size_t max_bytes);

// The parts of an origin a notification needs; missing fields are empty.
struct OriginInfo {
    std::string message_id;
    std::string sender;  // envelope sender, "" for the null sender
    std::string subject;
    std::string date;
    // The sender's notify= option: true also report success, false only
    // failures; unset: as configured (notify.delivered).
    std::optional<bool> notify_success;
    std::vector<std::pair<std::string, std::string>> names;      // number -> name
    std::vector<std::pair<std::string, std::string>> addresses;  // number -> fax address written
    std::string headers;  // the mail's header block, "" when not kept
    std::string name_of(const std::string& number) const;
    std::string address_of(const std::string& number) const;
};
OriginInfo read_origin(std::string_view json);

std::string sha256_hex(std::string_view data);

}  // namespace faxgw::mailgw
