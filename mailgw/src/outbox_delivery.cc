// Delivering the outbox's mail: by SMTP to a relay (smtp_relay.cc), or
// into the local Maildirs. See faxgw/outbox.h.
#include <unistd.h>

#include <algorithm>

#include "maildir.h"
#include "outbox_impl.h"

namespace faxgw::mailgw {
namespace {

using outbox_detail::now_seconds;
using outbox_detail::split_lines;

// This machine's name as a Maildir file name may hold it.
std::string host_name() {
    char name[256] = "";
    if (::gethostname(name, sizeof name - 1) != 0 || !*name) return "localhost";
    std::string out;
    for (char c : std::string(name))
        out += c == '/' ? "\\057" : c == ':' ? "\\072" : std::string(1, c);
    return out;
}

// Backoff after the n-th failed try: first, twice that, four times ...,
// at most an hour.
std::int64_t retry_delay(int first, int attempts) {
    return std::min<std::int64_t>(std::int64_t{first} << std::min(attempts - 1, 12),
                                  std::max(first, 3600));
}

}  // namespace

DeliveryCounts Outbox::deliver_due(const RelaySettings& relay,
                                   const std::function<void(const std::string&)>& log) {
    struct Due {
        std::int64_t id;
        std::string key, token, sender, recipients, message, maildir;
        int attempts;
        std::int64_t created_at;
    };
    DeliveryCounts counts;
    const std::int64_t now = now_seconds();
    const std::int64_t lease = relay.timeout_seconds + 60;
    std::vector<std::int64_t> ids = impl_->when_not_busy([&] {
        std::vector<std::int64_t> out;
        SQLite::Statement due(impl_->db,
                              "SELECT id FROM mail_outbox WHERE state = 'queued' AND "
                              "next_try_at <= ? ORDER BY next_try_at, id");
        due.bind(1, now);
        while (due.executeStep()) out.push_back(due.getColumn(0).getInt64());
        return out;
    });
    for (std::int64_t id : ids) {
        if (!impl_->when_not_busy([&] { return impl_->claim(id, now, lease); })) continue;
        Due m = impl_->when_not_busy([&] {
            SQLite::Statement read(impl_->db,
                                   "SELECT key, token, sender, recipients, message, "
                                   "local_maildir, attempts, created_at FROM mail_outbox WHERE "
                                   "id = ?");
            read.bind(1, id);
            read.executeStep();
            const auto& blob = read.getColumn(4);
            return Due{id,
                       read.getColumn(0).getString(),
                       read.getColumn(1).getString(),
                       read.getColumn(2).getString(),
                       read.getColumn(3).getString(),
                       std::string(static_cast<const char*>(blob.getBlob()),
                                   static_cast<std::size_t>(blob.getBytes())),
                       read.getColumn(5).getString(),
                       read.getColumn(6).getInt(),
                       read.getColumn(7).getInt64()};
        });
        RelayOutcome outcome;
        if (relay.url.empty()) {
            try {
                // Unique by the row's random token; the key tells a reader what it is.
                const auto name = std::to_string(m.created_at) + "." + safe_file_name(m.key) + "_" +
                                  m.token + "." + host_name();
                outcome = {RelayOutcome::Kind::sent,
                           deliver_to_maildir(m.maildir, name, m.message).string()};
            } catch (const std::exception& e) {
                outcome = {RelayOutcome::Kind::temporary, e.what()};
            }
        } else {
            outcome = send_by_smtp(relay, m.sender, split_lines(m.recipients), m.message);
        }
        const int attempts = m.attempts + 1;
        const bool too_old = now - m.created_at >= std::int64_t{relay.give_up_hours} * 3600;
        const std::string what = "mail " + std::to_string(id) + " to " + m.recipients;
        impl_->when_not_busy([&] {
            if (outcome.kind == RelayOutcome::Kind::sent) {
                impl_->finish(id, MailState::sent, outcome.text);
                ++counts.sent;
            } else if (outcome.kind == RelayOutcome::Kind::permanent || too_old) {
                impl_->finish(id, MailState::failed, outcome.text);
                ++counts.failed;
                if (log) log("outbox: " + what + " failed for good: " + outcome.text);
            } else {
                impl_->defer(id, attempts, retry_delay(relay.retry_seconds, attempts),
                             outcome.text);
                ++counts.deferred;
                if (log)
                    log("outbox: " + what + " deferred (try " + std::to_string(attempts) +
                        "): " + outcome.text);
            }
        });
    }
    return counts;
}

}  // namespace faxgw::mailgw
