// faxgw purge: delete what the retention settings let go.
// Its manual is purge_manual below: `--help` shows it, and so does faxgw(8).
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"

namespace faxgw {
namespace {

// The manual: DESCRIPTION, EXIT STATUS and the like (faxgw/manual.h).
constexpr const char* purge_manual = R"(DESCRIPTION
    Deletes, as `faxgw run` does at start-up and every
    retention.interval_seconds: the documents of faxes whose jobs have all
    ended and been reported, retention.done_documents_days after a sent
    one and retention.failed_documents_days after a failed or cancelled
    one; received faxes retention.delivered_inbound_days after they came
    in, once their mail has left; and, after retention.job_rows_days, the
    jobs with their attempts, the records of received faxes and the
    outbox's sent or given-up mails. 0 days keeps them forever. Nothing
    queued, held, sending, waiting for a retry or not yet mailed is ever
    deleted. Prints each file and the counts of rows; --dry-run only
    prints what would go, and changes and creates nothing. --json prints
    {dry_run, files: [...], batches_purged, inbound_faxes, batch_rows,
    job_rows, attempt_rows, inbound_rows, usage_rows, outbox_rows}.
EXIT STATUS
    0 purged (or nothing to purge); 66 the state folder does not exist;
    75 the queue is locked by another process, try again.
)";

struct PurgeOptions {
    CommonOptions common;
    bool dry_run = false;
    bool json = false;
};

nlohmann::json report_json(const mailgw::PurgeReport& r, bool dry_run) {
    auto files = nlohmann::json::array();
    for (const auto& f : r.queue.files) files.push_back(f.string());
    return {{"dry_run", dry_run},
            {"files", files},
            {"batches_purged", r.queue.batches_purged},
            {"inbound_faxes", r.queue.inbound_faxes},
            {"batch_rows", r.queue.batch_rows},
            {"job_rows", r.queue.job_rows},
            {"attempt_rows", r.queue.attempt_rows},
            {"inbound_rows", r.queue.inbound_rows},
            {"usage_rows", r.queue.usage_rows},
            {"outbox_rows", r.outbox_rows}};
}

// One line per file with `each_file`, and one with the counts.
void print_report(std::ostream& out, const mailgw::PurgeReport& r, bool dry_run, bool each_file) {
    const char* verb = dry_run ? "would delete" : "deleted";
    if (each_file)
        for (const auto& f : r.queue.files) out << verb << " " << f.string() << "\n";
    out << verb << ": " << r.queue.files.size() << " file(s) (documents of "
        << r.queue.batches_purged + r.queue.batch_rows << " fax(es), " << r.queue.inbound_faxes
        << " received fax(es)); rows of " << r.queue.job_rows << " job(s) with "
        << r.queue.attempt_rows << " attempt(s), " << r.queue.inbound_rows << " received fax(es), "
        << r.queue.usage_rows << " quota record(s), " << r.outbox_rows << " mail(s)\n";
}

int purge(const PurgeOptions& o) {
    auto config = o.common.load();
    report_warnings(config);
    // Never a state folder or a queue made here: a missing one is a typo.
    const auto access = o.dry_run ? faxcore::Access::read_only : faxcore::Access::read_write;
    if (!std::filesystem::is_directory(config.var)) throw faxcore::NoStateFolder(config.var);
    auto queue = faxcore::Queue::open(config.var, access);
    mailgw::Outbox outbox(config.var, access);
    const auto report =
        mailgw::purge_expired(*queue, outbox, config.retention, faxcore::unix_now(), o.dry_run);
    if (o.json)
        std::cout << report_json(report, o.dry_run).dump(2) << "\n";
    else
        print_report(std::cout, report, o.dry_run, true);
    return 0;
}

}  // namespace

void purge_when_due(std::int64_t& next_purge, faxcore::Queue& queue, mailgw::Outbox& outbox,
                    const Config& config, const std::function<void(const std::string&)>& log) {
    const auto now = faxcore::unix_now();
    if (now < next_purge) return;
    next_purge = now + config.retention.interval_seconds;
    try {
        const auto r = mailgw::purge_expired(queue, outbox, config.retention, now, false);
        if (!r.queue.empty() || r.outbox_rows > 0) {
            std::ostringstream line;
            line << "purge: ";
            print_report(line, r, false, false);
            std::string text = line.str();
            text.pop_back();  // the newline
            log(text);
        }
    } catch (const std::exception& e) {
        // A locked queue or a file that will not go: the next round tries.
        log(std::string("purge: failed, tried again later: ") + e.what());
    }
}

CLI::App* add_purge_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "purge", "Delete old documents, received faxes and rows, as [retention] says");
    cmd->footer(purge_manual);
    auto o = std::make_shared<PurgeOptions>();
    o->common.add_to(*cmd);
    cmd->add_flag("--dry-run", o->dry_run, "Only show what would go; change nothing");
    cmd->add_flag("--json", o->json, "Print JSON for scripts");
    cmd->callback([o, &exit_code] { exit_code = purge(*o); });
    return cmd;
}

}  // namespace faxgw
