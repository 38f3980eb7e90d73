// What spans the queue and the outbox: the gateway's numbers at one moment
// and the retention purge over both. See faxgw/outbox.h.
#include <faxgw/outbox.h>

#include <charconv>
#include <set>

namespace faxgw::mailgw {
namespace {

// Received faxes whose mail has not been delivered: queued, or given up on
// (the fax may be all that is left to send again). inbound.cc names their
// mails "inbound:<id>:...".
std::set<std::int64_t> inbound_mail_not_delivered(Outbox& outbox) {
    std::set<std::int64_t> ids;
    constexpr std::string_view prefix = "inbound:";
    for (const auto& mail : outbox.list()) {
        if (mail.key.rfind(prefix, 0) != 0) continue;
        std::int64_t id = 0;
        const char* begin = mail.key.data() + prefix.size();
        if (std::from_chars(begin, mail.key.data() + mail.key.size(), id).ec == std::errc())
            ids.insert(id);
    }
    return ids;
}

}  // namespace

GatewaySnapshot take_snapshot(faxcore::Queue& queue, Outbox& outbox, std::int64_t now) {
    return {faxcore::take_snapshot(queue, now), outbox.counts(now)};
}

PurgeReport purge_expired(faxcore::Queue& queue, Outbox& outbox,
                          const faxcore::RetentionSettings& settings, std::int64_t now,
                          bool dry_run) {
    PurgeReport r;
    r.queue =
        faxcore::purge_expired(queue, settings, now, dry_run, inbound_mail_not_delivered(outbox));
    if (settings.job_rows_days > 0)
        r.outbox_rows = outbox.purge(now - std::int64_t{settings.job_rows_days} * 86400, dry_run);
    return r;
}

}  // namespace faxgw::mailgw
