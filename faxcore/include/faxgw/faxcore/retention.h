// Retention: how long faxgw keeps what it is done with, and the purge that
// deletes the rest (HylaFAX's faxcron, done by the daemon itself). `faxgw
// run` purges at start-up and every hour; `faxgw purge` does it on demand
// or, with --dry-run, only tells what would go.
//
// What may go, and when (0 days = keep forever):
//  * the documents of a batch (the shared one and each number's own) when
//    every job of the batch has ended (done, failed or cancelled), the
//    sender's final report has been written, and each job ended longer ago
//    than its state's setting: done_documents_days for done jobs,
//    failed_documents_days for failed and cancelled ones;
//  * a received fax (its TIFF) once it was delivered (handed to the outbox,
//    filed, or quarantined), its mail is no longer on its way, and it came
//    in more than delivered_inbound_days ago;
//  * rows, for accounting, after job_rows_days: a batch with its jobs and
//    their attempts (on the same conditions as its documents, which go with
//    it), a delivered received fax's row, and quota usage records.
// Nothing queued, held, sending or waiting for a retry, no batch whose
// report is still to be written and no received fax still to be mailed is
// ever touched.
//
// Crash safety: one transaction first clears the rows' references to the
// files (or deletes the rows), and the files are deleted only after it has
// committed. A kill in between leaves files no row names, which the spool
// sweep removes; never a row that names a deleted file.
#pragma once

#include <faxgw/faxcore.h>

#include <cstdint>
#include <filesystem>
#include <set>
#include <vector>

namespace faxgw::faxcore {

struct RetentionSettings {
    int done_documents_days = 7;
    int failed_documents_days = 30;  // failed and cancelled jobs
    int delivered_inbound_days = 7;
    int job_rows_days = 365;
    std::int64_t interval_seconds = 3600;  // how often `faxgw run` purges
};

struct PurgeReport {
    int batches_purged = 0;  // batches whose documents went (rows kept)
    int inbound_faxes = 0;   // received faxes whose TIFF went (rows kept)
    int batch_rows = 0;      // batches deleted with their jobs and attempts
    int job_rows = 0;
    int attempt_rows = 0;
    int inbound_rows = 0;  // rows of received faxes deleted
    int usage_rows = 0;    // quota usage records deleted
    // The files deleted (in a dry run: that would be).
    std::vector<std::filesystem::path> files;
    bool empty() const {
        return files.empty() && batch_rows == 0 && inbound_rows == 0 && usage_rows == 0 &&
               batches_purged == 0 && inbound_faxes == 0;
    }
};

// Purges what `settings` lets go at `now` (unix seconds). With dry_run
// nothing changes (a read-only queue will do) and the report tells what
// would go. inbound_in_transit: ids of received faxes whose mail has not
// left yet; faxcore knows nothing of mail, the caller asks the outbox.
PurgeReport purge_expired(Queue& queue, const RetentionSettings& settings, std::int64_t now,
                          bool dry_run, const std::set<std::int64_t>& inbound_in_transit = {});

}  // namespace faxgw::faxcore
