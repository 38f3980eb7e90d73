#include "logging.h"

#include <sys/stat.h>
#include <sys/uio.h>
// The journal entry's CODE_FILE would name this file, not the event's origin.
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <vector>

namespace faxgw {
namespace {

using faxcore::LogEvent;

// Digits kept of a masked number: enough to tell a country and area apart.
constexpr std::size_t digits_masked = 4;

// Replaces the last digits of `number` (however it is written) with 'x'.
std::string masked_number(std::string number) {
    std::size_t left = digits_masked;
    for (auto it = number.rbegin(); it != number.rend() && left > 0; ++it)
        if (std::isdigit(static_cast<unsigned char>(*it))) {
            *it = 'x';
            --left;
        }
    return number;
}

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// Fields that hold a phone number, whatever their value looks like.
bool holds_number(const std::string& field) {
    return field == "FAX_NUMBER" || field == "FAX_CALLER" || field == "FAX_DID";
}

std::mutex stderr_mutex;  // lines from the lines' threads must not interleave

}  // namespace

std::string mask_phone_numbers(std::string_view text, const std::vector<std::string>& known) {
    std::string out(text);
    // Given numbers first, wherever they stand ("caller=5551234").
    for (const auto& number : known) {
        if (number.size() < 3) continue;
        const auto replacement = masked_number(number);
        for (auto at = out.find(number); at != std::string::npos;
             at = out.find(number, at + replacement.size()))
            out.replace(at, number.size(), replacement);
    }
    // Then anything written as an international number.
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (out[i] != '+') continue;
        std::size_t end = i + 1;
        while (end < out.size() && is_digit(out[end])) ++end;
        if (end - i - 1 >= 6) {
            const auto number = masked_number(out.substr(i, end - i));
            out.replace(i, end - i, number);
        }
        i = end - 1;
    }
    return out;
}

Logger::Output output_for_environment() {
    // systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it gave
    // the service: stderr is the journal only when it is that very stream
    // (a shell started from the service has it too, pointing elsewhere).
    if (const char* stream = std::getenv("JOURNAL_STREAM")) {
        struct stat st {};
        unsigned long long dev = 0, ino = 0;
        if (std::sscanf(stream, "%llu:%llu", &dev, &ino) == 2 && ::fstat(2, &st) == 0 &&
            st.st_dev == dev && st.st_ino == ino)
            return Logger::Output::journal;
    }
    if (std::getenv("INVOCATION_ID")) return Logger::Output::priority_prefix;
    return Logger::Output::text;
}

Logger::Logger(LogSettings settings, std::string identifier)
    : Logger(settings, std::move(identifier), output_for_environment()) {}

Logger::Logger(LogSettings settings, std::string identifier, Output output)
    : settings_(settings), identifier_(std::move(identifier)), output_(output) {}

LogEvent Logger::masked(const LogEvent& event) const {
    if (!settings_.mask_numbers) return event;
    std::vector<std::string> numbers;
    LogEvent out = event;
    for (auto& [name, value] : out.fields)
        if (holds_number(name)) {
            numbers.push_back(value);
            value = masked_number(value);
        }
    out.text = mask_phone_numbers(event.text, numbers);
    return out;
}

void Logger::operator()(const LogEvent& original) const {
    const auto event = masked(original);
    const int priority = static_cast<int>(event.priority);
    if (output_ == Output::journal) {
        std::vector<std::string> lines = {"MESSAGE=" + event.text,
                                          "PRIORITY=" + std::to_string(priority),
                                          "SYSLOG_IDENTIFIER=" + identifier_};
        for (const auto& [name, value] : event.fields) lines.push_back(name + "=" + value);
        std::vector<iovec> iov;
        for (auto& l : lines) iov.push_back({l.data(), l.size()});
        // A journal that cannot take the line (gone, full) must not lose
        // it: stderr is the journal's stream, read by it when it is back.
        if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) == 0) return;
    }
    std::lock_guard lock(stderr_mutex);
    if (output_ == Output::priority_prefix) std::cerr << "<" << priority << ">";
    std::cerr << event.text << std::endl;
}

void Logger::operator()(const std::string& line) const {
    const bool warning =
        line.find("warning") != std::string::npos || line.find("cannot") != std::string::npos;
    (*this)(LogEvent(line, warning ? LogEvent::Priority::warning : LogEvent::Priority::info));
}

}  // namespace faxgw
