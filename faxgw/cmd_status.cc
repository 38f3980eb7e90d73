// faxgw status: the gateway at a glance.
// Its manual is status_manual below: `--help` shows it, and so does faxgw(8).
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "job_view.h"

namespace faxgw {
namespace {

// The manual: DESCRIPTION, EXIT STATUS and the like (faxgw/manual.h).
constexpr const char* status_manual = R"(DESCRIPTION
    Prints the lines busy with outgoing calls (jobs in the sending state)
    and idle (of lines.count), the jobs due now and the oldest of them,
    the jobs in each state, and the outbox's backlog (mails not
    delivered yet) beside the mails given up on. An incoming call holds a
    line too, but shows only once its fax is received. --json prints
    {lines: {count, busy, idle}, jobs_due, oldest_due: {job, submitted_at,
    due_since, age_seconds} or null, jobs_by_state: {STATE: N},
    attempts_by_outcome: {OUTCOME: N}, pages_sent, pages_received,
    faxes_received, inbound_undelivered, line_seconds_sent,
    line_seconds_received, outbox: {queued, sent, failed,
    oldest_queued_age}}. Reads only: creates nothing.
EXIT STATUS
    0 shown; 66 the state folder does not exist (a wrong --var or
    paths.var); 75 the queue is locked by another process.
)";

struct StatusOptions {
    CommonOptions common;
    bool json = false;
};

nlohmann::json status_json(const mailgw::GatewaySnapshot& s, int lines) {
    const auto& q = s.queue;
    nlohmann::json by_state = nlohmann::json::object(), by_outcome = nlohmann::json::object();
    for (const auto& [state, n] : q.jobs_by_state) by_state[std::string(to_string(state))] = n;
    for (const auto& [outcome, n] : q.attempts_by_outcome)
        by_outcome[std::string(faxcore::describe(outcome).name)] = n;
    nlohmann::json oldest;  // null when no job is due
    if (q.oldest_due)
        oldest = {{"job", q.oldest_due->job},
                  {"submitted_at", q.oldest_due->submitted_at},
                  {"due_since", q.oldest_due->due_since},
                  {"age_seconds", q.oldest_due->age_seconds}};
    return {{"lines",
             {{"count", lines},
              {"busy", q.jobs_sending},
              {"idle", std::max<std::int64_t>(0, lines - q.jobs_sending)}}},
            {"jobs_due", q.jobs_due},
            {"oldest_due", oldest},
            {"jobs_by_state", by_state},
            {"attempts_by_outcome", by_outcome},
            {"pages_sent", q.pages_sent},
            {"pages_received", q.pages_received},
            {"faxes_received", q.faxes_received},
            {"inbound_undelivered", q.inbound_undelivered},
            {"line_seconds_sent", q.line_seconds_sent},
            {"line_seconds_received", q.line_seconds_received},
            {"outbox",
             {{"queued", s.outbox.queued},
              {"sent", s.outbox.sent},
              {"failed", s.outbox.failed},
              {"oldest_queued_age", s.outbox.oldest_queued_age
                                        ? nlohmann::json(*s.outbox.oldest_queued_age)
                                        : nlohmann::json()}}}};
}

// "3d 4h", "12m 5s": an age for people.
std::string age_text(std::int64_t seconds) {
    const std::int64_t d = seconds / 86400, h = seconds % 86400 / 3600, m = seconds % 3600 / 60;
    if (d) return std::to_string(d) + "d " + std::to_string(h) + "h";
    if (h) return std::to_string(h) + "h " + std::to_string(m) + "m";
    return std::to_string(m) + "m " + std::to_string(seconds % 60) + "s";
}

void print_status(std::ostream& out, const mailgw::GatewaySnapshot& s, int lines) {
    const auto& q = s.queue;
    out << "lines:    " << q.jobs_sending << " busy, "
        << std::max<std::int64_t>(0, lines - q.jobs_sending) << " idle (of " << lines << ")\n";
    out << "due:      " << q.jobs_due << " job(s)";
    if (q.oldest_due)
        out << ", oldest job " << q.oldest_due->job << " submitted "
            << local_time(q.oldest_due->submitted_at) << " (" << age_text(q.oldest_due->age_seconds)
            << " ago)";
    out << "\njobs:    ";
    for (const auto& [state, n] : q.jobs_by_state) out << " " << to_string(state) << " " << n;
    out << "\noutbox:   " << s.outbox.queued << " mail(s) to deliver";
    if (s.outbox.oldest_queued_age)
        out << " (oldest " << age_text(*s.outbox.oldest_queued_age) << ")";
    out << ", " << s.outbox.failed << " given up, " << s.outbox.sent << " sent\n";
    out << "received: " << q.faxes_received << " fax(es), " << q.inbound_undelivered
        << " not yet handed to mail\n";
}

int show_status(const StatusOptions& o) {
    auto config = o.common.load();
    report_warnings(config);
    auto queue = faxcore::Queue::open(config.var, faxcore::Access::read_only);
    mailgw::Outbox outbox(config.var, faxcore::Access::read_only);
    const auto snapshot = mailgw::take_snapshot(*queue, outbox, faxcore::unix_now());
    if (o.json)
        std::cout << status_json(snapshot, config.gateway.lines).dump(2) << "\n";
    else
        print_status(std::cout, snapshot, config.gateway.lines);
    return 0;
}

}  // namespace

CLI::App* add_status_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("status", "Show lines busy and idle, jobs due, the outbox");
    cmd->footer(status_manual);
    auto o = std::make_shared<StatusOptions>();
    o->common.add_to(*cmd);
    cmd->add_flag("--json", o->json, "Print JSON for scripts");
    cmd->callback([o, &exit_code] { exit_code = show_status(*o); });
    return cmd;
}

}  // namespace faxgw
