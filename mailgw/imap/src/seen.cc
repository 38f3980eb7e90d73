// The record of polled messages whose outcome is committed: a table of
// its own in the queue's database, so that it lives and is backed up with
// the jobs it speaks of.
#include <SQLiteCpp/SQLiteCpp.h>
#include <faxgw/imap.h>

#include <ctime>

namespace faxgw::imap {
namespace {

class SqliteSeenMessages : public SeenMessages {
public:
    explicit SqliteSeenMessages(const std::filesystem::path& var)
        : db_((var / "queue.sqlite").string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE,
              10000) {
        // As durable as the queue: a UID remembered is on disk when
        // remember() returns (WAL and synchronous=FULL, like the queue).
        db_.exec("PRAGMA synchronous=FULL");
        if (db_.execAndGet("PRAGMA journal_mode").getString() != "wal")
            db_.exec("PRAGMA journal_mode=WAL");
        db_.exec(
            "CREATE TABLE IF NOT EXISTS imap_messages ("
            " account TEXT NOT NULL,"
            " uidvalidity INTEGER NOT NULL,"
            " uid INTEGER NOT NULL,"
            " disposition TEXT NOT NULL,"
            " recorded_at INTEGER NOT NULL,"
            " PRIMARY KEY (account, uidvalidity, uid))");
    }

    std::optional<Disposition> find(const std::string& account, std::uint32_t uidvalidity,
                                    std::uint32_t uid) override {
        SQLite::Statement q(db_,
                            "SELECT disposition FROM imap_messages"
                            " WHERE account = ? AND uidvalidity = ? AND uid = ?");
        q.bind(1, account);
        q.bind(2, static_cast<std::int64_t>(uidvalidity));
        q.bind(3, static_cast<std::int64_t>(uid));
        if (!q.executeStep()) return std::nullopt;
        return q.getColumn(0).getString() == "rejected" ? Disposition::rejected
                                                        : Disposition::processed;
    }

    void remember(const std::string& account, std::uint32_t uidvalidity, std::uint32_t uid,
                  Disposition disposition) override {
        SQLite::Statement q(db_,
                            "INSERT OR REPLACE INTO imap_messages"
                            " (account, uidvalidity, uid, disposition, recorded_at)"
                            " VALUES (?, ?, ?, ?, ?)");
        q.bind(1, account);
        q.bind(2, static_cast<std::int64_t>(uidvalidity));
        q.bind(3, static_cast<std::int64_t>(uid));
        q.bind(4, disposition == Disposition::rejected ? "rejected" : "processed");
        q.bind(5, static_cast<std::int64_t>(std::time(nullptr)));
        q.exec();
    }

private:
    SQLite::Database db_;
};

}  // namespace

std::unique_ptr<SeenMessages> open_seen_messages(const std::filesystem::path& var) {
    std::filesystem::create_directories(var);
    return std::make_unique<SqliteSeenMessages>(var);
}

}  // namespace faxgw::imap
