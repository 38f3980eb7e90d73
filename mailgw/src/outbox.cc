// The durable outbox: see faxgw/outbox.h.
#include "faxgw/outbox.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "faxgw/faxcore.h"
#include "header_field.h"
#include "maildir.h"
#include "outbox_impl.h"

namespace faxgw::mailgw {
namespace {

using outbox_detail::busy_is_temporary;
using outbox_detail::now_seconds;
using outbox_detail::split_lines;

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS mail_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    token TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    message BLOB NOT NULL,
    local_maildir TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    next_try_at INTEGER NOT NULL,
    done_at INTEGER NOT NULL DEFAULT 0,
    result TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS mail_outbox_due ON mail_outbox (state, next_try_at);
)sql";

MailState parse_mail_state(const std::string& s) {
    for (auto st : {MailState::queued, MailState::sent, MailState::failed})
        if (to_string(st) == s) return st;
    throw std::runtime_error("outbox: unknown mail state '" + s + "'");
}

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += (out.empty() ? "" : "\n") + l;
    return out;
}

std::string random_token() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char buffer[20];
    std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(rng()));
    return buffer;
}

}  // namespace

std::string_view to_string(MailState state) {
    switch (state) {
        case MailState::queued:
            return "queued";
        case MailState::sent:
            return "sent";
        case MailState::failed:
            return "failed";
    }
    return "?";
}

// The database to open: for a reader of a folder without a queue yet, an
// empty one in memory.
std::string database_file(const std::filesystem::path& var, faxcore::Access access) {
    if (access == faxcore::Access::read_only) {
        if (!std::filesystem::is_directory(var)) throw faxcore::NoStateFolder(var);
        return std::filesystem::exists(var / "queue.sqlite") ? (var / "queue.sqlite").string()
                                                             : ":memory:";
    }
    std::filesystem::create_directories(var);
    faxcore::keep_state_private(var);
    return (var / "queue.sqlite").string();
}

Outbox::Impl::Impl(const std::filesystem::path& var, faxcore::Access access)
    : Impl(var, access, database_file(var, access)) {}

Outbox::Impl::Impl(const std::filesystem::path& var, faxcore::Access access,
                   const std::string& db_file)
    : db(db_file, access == faxcore::Access::read_write
                      ? SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX
                  : db_file == ":memory:" ? SQLite::OPEN_READWRITE | SQLite::OPEN_FULLMUTEX
                                          : SQLite::OPEN_READONLY | SQLite::OPEN_FULLMUTEX),
      file(var / "queue.sqlite") {
    db.setBusyTimeout(10000);
    if (access == faxcore::Access::read_only) {
        // A queue without an outbox yet reads as an empty outbox: a
        // table of this connection alone, in memory.
        db.exec("PRAGMA temp_store = MEMORY");
        if (!db.tableExists("mail_outbox"))
            db.exec(
                std::regex_replace(std::regex_replace(schema, std::regex("CREATE INDEX[^;]*;"), ""),
                                   std::regex("CREATE TABLE"), "CREATE TEMP TABLE"));
        return;
    }
    db.exec("PRAGMA synchronous=FULL");
    // The write lock only when there is something to write: another
    // process (a backup, an sqlite3 shell) may hold it for long, and
    // opening must not wait for it once the tables are there.
    busy_is_temporary(file, [&] {
        if (db.execAndGet("PRAGMA journal_mode").getString() != "wal")
            db.exec("PRAGMA journal_mode=WAL");
        if (db.tableExists("mail_outbox")) return;
        SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
        db.exec(schema);
        tx.commit();
    });
}

Outbox::Outbox(const std::filesystem::path& var, faxcore::Access access) {
    try {
        impl_ = std::make_unique<Impl>(var, access);
    } catch (const SQLite::Exception& e) {
        throw std::runtime_error("outbox in " + (var / "queue.sqlite").string() +
                                 " cannot be used: " + e.what());
    }
}

Outbox::~Outbox() = default;

bool Outbox::post(const OutgoingMail& mail) {
    return impl_->when_not_busy([&] {
        const std::int64_t now = now_seconds();
        SQLite::Statement insert(
            impl_->db,
            "INSERT OR IGNORE INTO mail_outbox (key, token, sender, recipients, subject, message, "
            "local_maildir, state, created_at, next_try_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
            "'queued', ?, ?)");
        insert.bind(1, mail.key);
        insert.bind(2, random_token());
        insert.bind(3, mail.sender);
        insert.bind(4, joined(mail.recipients));
        insert.bind(5, header_value(mail.message, "Subject"));
        insert.bind(6, mail.message.data(), static_cast<int>(mail.message.size()));
        insert.bind(7, mail.local_maildir.string());
        insert.bind(8, now);
        insert.bind(9, now);
        return insert.exec() == 1;
    });
}

std::optional<std::int64_t> Outbox::next_due() {
    return impl_->when_not_busy([&]() -> std::optional<std::int64_t> {
        SQLite::Statement next(impl_->db,
                               "SELECT MIN(next_try_at) FROM mail_outbox WHERE state = 'queued'");
        next.executeStep();
        if (next.getColumn(0).isNull()) return std::nullopt;
        return next.getColumn(0).getInt64();
    });
}

std::vector<OutboxEntry> Outbox::list(bool all) {
    return impl_->when_not_busy([&] {
        std::vector<OutboxEntry> out;
        SQLite::Statement rows(impl_->db,
                               std::string("SELECT id, key, sender, recipients, subject, state, "
                                           "attempts, created_at, next_try_at, done_at, result "
                                           "FROM mail_outbox") +
                                   (all ? "" : " WHERE state != 'sent'") + " ORDER BY id");
        while (rows.executeStep()) {
            OutboxEntry e;
            e.id = rows.getColumn(0).getInt64();
            e.key = rows.getColumn(1).getString();
            e.sender = rows.getColumn(2).getString();
            e.recipients = split_lines(rows.getColumn(3).getString());
            e.subject = rows.getColumn(4).getString();
            e.state = parse_mail_state(rows.getColumn(5).getString());
            e.attempts = rows.getColumn(6).getInt();
            e.created_at = rows.getColumn(7).getInt64();
            e.next_try_at = rows.getColumn(8).getInt64();
            e.done_at = rows.getColumn(9).getInt64();
            e.result = rows.getColumn(10).getString();
            out.push_back(std::move(e));
        }
        return out;
    });
}

}  // namespace faxgw::mailgw

namespace faxgw::mailgw {

OutboxCounts Outbox::counts(std::int64_t now) {
    return impl_->when_not_busy([&] {
        OutboxCounts c;
        SQLite::Statement q(impl_->db,
                            "SELECT COALESCE(SUM(state = 'queued'), 0), "
                            "COALESCE(SUM(state = 'sent'), 0), COALESCE(SUM(state = 'failed'), 0), "
                            "MIN(CASE WHEN state = 'queued' THEN created_at END) FROM mail_outbox");
        q.executeStep();
        c.queued = q.getColumn(0).getInt64();
        c.sent = q.getColumn(1).getInt64();
        c.failed = q.getColumn(2).getInt64();
        if (!q.getColumn(3).isNull()) c.oldest_queued_age = now - q.getColumn(3).getInt64();
        return c;
    });
}

int Outbox::purge(std::int64_t ended_before, bool dry_run) {
    return impl_->when_not_busy([&] {
        SQLite::Statement q(impl_->db,
                            std::string(dry_run ? "SELECT COUNT(*)" : "DELETE") +
                                " FROM mail_outbox WHERE state IN ('sent', 'failed') AND "
                                "done_at <= ?");
        q.bind(1, ended_before);
        if (!dry_run) return q.exec();
        return q.executeStep() ? q.getColumn(0).getInt() : 0;
    });
}

}  // namespace faxgw::mailgw
