// What the filter and its workers say to each other over a socket: a
// request is an envelope and a message, a reply what submit() made of it.
// Each is sent as frames of an 8-byte length and that many bytes; the
// envelope and the reply as JSON, the message as it is. Hand-written,
// because it is two frames over a socketpair between two builds of the same
// program: no RPC library would make it shorter.
#pragma once

#include <faxgw/mailgw.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace faxgw::milter {

struct WorkerRequest {
    mailgw::Envelope envelope;
    std::string message;  // RFC 5322, as the MTA gave it
};

struct WorkerReply {
    mailgw::Verdict verdict = mailgw::Verdict::try_later;
    std::string message;
    std::vector<std::pair<std::int64_t, std::string>> jobs;  // job id, number
};

// The socket failed or the other end went away, mid-frame or before one.
class ChannelError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Blocking writes and reads of whole frames; throw ChannelError.
void send_request(int fd, const WorkerRequest& request);
void send_reply(int fd, const WorkerReply& reply);
// nullopt: the other end closed between requests (the worker's cue to end).
std::optional<WorkerRequest> receive_request(int fd);

// Waits for the reply, calling `waiting` about every `interval` (the
// filter keeps the MTA from timing out meanwhile), for at most `limit`.
// Throws ChannelError, also when the limit passes.
WorkerReply receive_reply(int fd, std::chrono::seconds interval, std::chrono::seconds limit,
                          const std::function<void()>& waiting);

}  // namespace faxgw::milter
