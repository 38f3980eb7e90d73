// The poller: per account, a session that files each waiting message after
// submit(), IDLE or a pause, and reconnection with backoff.
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "session.h"

namespace faxgw::imap {
namespace {

std::string read_password(const Account& account) {
    if (!account.password.empty()) return account.password;
    std::ifstream in(account.password_file);
    std::string line;
    if (!in || !std::getline(in, line))
        throw std::runtime_error("cannot read password_file " + account.password_file.string());
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty())
        throw std::runtime_error("password_file " + account.password_file.string() +
                                 " has an empty first line");
    return line;
}

void log_line(const Services& services, const std::string& line) {
    if (services.log) return services.log(line);
    static std::mutex one_line_at_a_time;
    std::lock_guard lock(one_line_at_a_time);
    std::cerr << "faxgw poll: " << line << std::endl;
}

// Sleeps `seconds` unless `stop` comes first; returns false when stopped.
bool pause(double seconds, const std::stop_token& stop) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    cv.wait_for(lock, stop, std::chrono::duration<double>(seconds), [] { return false; });
    return !stop.stop_requested();
}

std::string seconds_text(double s) { return std::to_string(static_cast<long>(s + 0.5)) + " s"; }

// One account: its queue and records, and what it does with a session.
class Mailbox {
public:
    Mailbox(const Account& account, Services& services)
        : account_(account), services_(services), key_(account_key(account)) {}

    const std::string& key() const { return key_; }

    // Opened once and kept across reconnections (the queue first: it makes
    // the database).
    void open_stores() {
        if (!queue_) queue_ = faxcore::Queue::open(services_.var);
        if (!seen_) seen_ = open_seen_messages(services_.var);
    }

    void prepare(Session& session) {
        session.ensure_folder(account_.processed_folder);
        session.ensure_folder(account_.rejected_folder);
    }

    // Until `stop`: what is left waits for the next look.
    PollCounts handle_waiting(Session& session, const std::stop_token& stop = {}) {
        PollCounts counts;
        const std::uint32_t validity = session.select(account_.folder);
        for (std::uint32_t uid : session.all_uids()) {
            if (stop.stop_requested()) break;
            handle(session, validity, uid, counts);
        }
        return counts;
    }

private:
    const Account& account_;
    Services& services_;
    const std::string key_;
    std::unique_ptr<faxcore::Queue> queue_;
    std::unique_ptr<SeenMessages> seen_;

    const std::string& folder_for(Disposition d) const {
        return d == Disposition::rejected ? account_.rejected_folder : account_.processed_folder;
    }

    void step(Step s) {
        if (services_.hook) services_.hook(s);
    }

    // The outcome is on disk before the message moves: a crash between the
    // two leaves a message whose record says where it goes.
    void file(Session& session, std::uint32_t validity, std::uint32_t uid, Disposition d) {
        step(Step::submitted);
        seen_->remember(key_, validity, uid, d);
        step(Step::remembered);
        session.move(uid, folder_for(d));
    }

    // A worker that failed or was killed leaves the mail for later
    // (try_later): nothing of it was queued, or a second decision finds it
    // queued.
    mailgw::WorkerReply decide(const std::string& raw, const mailgw::Envelope& envelope) {
        if (services_.decide) return services_.decide({envelope, raw, {}});
        const auto result = mailgw::submit(raw, envelope, services_.mail, *queue_);
        return {result.verdict, result.message, {}, false};
    }

    void handle(Session& session, std::uint32_t validity, std::uint32_t uid, PollCounts& counts) {
        const std::string name = key_ + " UID " + std::to_string(uid);
        if (auto done = seen_->find(key_, validity, uid)) {
            // Handled before the poller stopped or the connection dropped:
            // only the move is left to do.
            session.move(uid, folder_for(*done));
            log_line(services_, name + ": handled before, now filed in " + folder_for(*done));
            ++(*done == Disposition::rejected ? counts.rejected : counts.processed);
            return;
        }
        const std::string raw = session.fetch(uid);
        const auto envelope = envelope_for(raw, account_, services_.mail);
        const auto result = decide(raw, envelope);
        const auto& verdict = mailgw::describe(result.verdict);
        const std::string from = envelope.sender.empty() ? "(no sender)" : envelope.sender;
        switch (verdict.imap) {
            case mailgw::ImapAction::done:
                file(session, validity, uid, Disposition::processed);
                log_line(services_, name + " from " + from + ": " + result.message);
                ++counts.processed;
                return;
            case mailgw::ImapAction::reject:
                if (auto refusal =
                        refusal_for(raw, result.message, services_.mail.gateway_address)) {
                    if (services_.send_refusal) services_.send_refusal(*refusal);
                }
                file(session, validity, uid, Disposition::rejected);
                log_line(services_, name + " from " + from + ": refused (" +
                                        std::string(verdict.enhanced_status) + "): " +
                                        result.message + "; filed in " + account_.rejected_folder);
                ++counts.rejected;
                return;
            case mailgw::ImapAction::retry:
                log_line(services_, name + " from " + from + ": left for later (" +
                                        std::string(verdict.enhanced_status) +
                                        "): " + result.message);
                ++counts.retried;
                return;
        }
    }
};

}  // namespace

PollCounts poll_once(const Account& account, Services& services) {
    Mailbox mailbox(account, services);
    mailbox.open_stores();
    try {
        Session session(account, read_password(account));
        mailbox.prepare(session);
        auto counts = mailbox.handle_waiting(session);
        session.logout();
        return counts;
    } catch (const LoginRefused& e) {
        throw std::runtime_error(mailbox.key() +
                                 ": login refused (wrong user or password?): " + e.what());
    }
}

void watch(const Account& account, Services& services, std::stop_token stop) {
    std::string key;
    try {
        key = account_key(account);
    } catch (const std::exception& e) {
        log_line(services, std::string("IMAP account not watched: ") + e.what());
        return;
    }
    Mailbox mailbox(account, services);
    double backoff = services.backoff_first;
    bool refusal_logged = false;
    std::string last_error;
    while (!stop.stop_requested()) {
        try {
            mailbox.open_stores();
            Session session(account, read_password(account), stop);
            log_line(services,
                     key + ": connected (" +
                         (session.has_idle()
                              ? "IDLE"
                              : "no IDLE: a look every " + seconds_text(account.poll_seconds)) +
                         ", " + (session.has_move() ? "MOVE" : "no MOVE: COPY and EXPUNGE") + ")");
            refusal_logged = false;
            last_error.clear();
            backoff = services.backoff_first;
            mailbox.prepare(session);
            while (!stop.stop_requested()) {
                mailbox.handle_waiting(session, stop);
                if (session.has_idle())
                    session.idle(account.poll_seconds, stop, [&] {
                        if (services.hook) services.hook(Step::idling);
                    });
                else
                    pause(account.poll_seconds, stop);
            }
            session.logout();
            return;
        } catch (const LoginRefused& e) {
            // Said once, clearly; then quiet retries with backoff until the
            // password is fixed (a tight loop would lock the account).
            if (!refusal_logged)
                log_line(services, key + ": login refused (wrong user or password?): " + e.what() +
                                       "; retrying with backoff, quietly, until it works");
            refusal_logged = true;
        } catch (const std::exception& e) {
            if (stop.stop_requested()) return;  // the connection was cut for the stop
            if (e.what() != last_error)
                log_line(services, key + ": " + e.what() + "; reconnecting in " +
                                       seconds_text(backoff) + ", then with backoff");
            last_error = e.what();
        }
        if (!pause(backoff, stop)) return;
        backoff = std::min(backoff * 2, services.backoff_max);
    }
}

void watch_all(const std::vector<Account>& accounts, Services& services, std::stop_token stop) {
    std::vector<std::jthread> threads;
    for (const auto& account : accounts)
        threads.emplace_back([&account, &services, stop] { watch(account, services, stop); });
}

}  // namespace faxgw::imap
