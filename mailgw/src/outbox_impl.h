// What outbox.cc and outbox_delivery.cc share: the outbox's database
// connection and its statements. Delivery is a file of its own because it
// is what needs libcurl (smtp_relay.cc): a program that only posts mail
// (`faxgw submit`) does not link it.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "faxgw/faxcore.h"
#include "faxgw/outbox.h"

namespace faxgw::mailgw::outbox_detail {

inline std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

inline bool is_busy(const SQLite::Exception& e) {
    const int code = e.getErrorCode() & 0xff;
    return code == SQLITE_BUSY || code == SQLITE_LOCKED;
}

// Runs `work`. SQLite's busy timeout has waited for a lock already: a
// database still locked after it is held for long (a backup, an sqlite3
// shell), a temporary condition for the caller to wait out.
template <typename Work>
auto busy_is_temporary(const std::filesystem::path& file, Work work) {
    try {
        return work();
    } catch (const SQLite::Exception& e) {
        if (!is_busy(e))
            throw std::runtime_error("outbox in " + file.string() + " cannot be used: " + e.what());
        throw faxcore::TemporaryError("queue database is busy; try again later");
    }
}

// The recipients column holds one address a line.
inline std::vector<std::string> split_lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

}  // namespace faxgw::mailgw::outbox_detail

namespace faxgw::mailgw {

struct Outbox::Impl {
    SQLite::Database db;
    std::filesystem::path file;

    Impl(const std::filesystem::path& var, faxcore::Access access);
    Impl(const std::filesystem::path& var, faxcore::Access access, const std::string& db_file);

    template <typename Work>
    auto when_not_busy(Work work) {
        return outbox_detail::busy_is_temporary(file, work);
    }

    // Takes mail `id` for one delivery, unless another deliverer has.
    bool claim(std::int64_t id, std::int64_t now, std::int64_t lease) {
        SQLite::Statement take(db,
                               "UPDATE mail_outbox SET next_try_at = ? WHERE id = ? AND "
                               "state = 'queued' AND next_try_at <= ?");
        take.bind(1, now + lease);
        take.bind(2, id);
        take.bind(3, now);
        return take.exec() == 1;
    }

    void finish(std::int64_t id, MailState state, const std::string& result) {
        // A delivered mail keeps its row, for `faxgw jobs`, but not its bytes.
        SQLite::Statement done(db,
                               "UPDATE mail_outbox SET state = ?, done_at = ?, result = ?, "
                               "attempts = attempts + 1, message = CASE WHEN ? = 'sent' THEN "
                               "x'' ELSE message END WHERE id = ?");
        const std::string name(to_string(state));
        done.bind(1, name);
        done.bind(2, outbox_detail::now_seconds());
        done.bind(3, result);
        done.bind(4, name);
        done.bind(5, id);
        done.exec();
    }

    void defer(std::int64_t id, int attempts, std::int64_t delay, const std::string& result) {
        SQLite::Statement later(
            db, "UPDATE mail_outbox SET next_try_at = ?, result = ?, attempts = ? WHERE id = ?");
        later.bind(1, outbox_detail::now_seconds() + delay);
        later.bind(2, result);
        later.bind(3, attempts);
        later.bind(4, id);
        later.exec();
    }
};

}  // namespace faxgw::mailgw
