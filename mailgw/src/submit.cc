// submit(): one mail in, fax jobs out, and a sysexits code for the MTA.
#include "mime.h"
#include "origin.h"
#include "recipients.h"
#include "rules.h"

#include <faxgw/mailgw.h>

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <iterator>
#include <system_error>

namespace faxgw::mailgw {
namespace {

// A refusal decided on the way; submit() turns it into its result.
struct Refusal {
    ExitCode code;
    std::string message;
};

void check_rules(const Envelope& envelope, const std::vector<FaxRecipient>& recipients,
                 const Settings& settings) {
    std::string sender = rule_sender(envelope.sender);
    for (const auto& r : recipients) {
        auto reason = refusal(sender, r.destination.number, settings.rules, settings.default_allow);
        if (reason)
            throw Refusal{ExitCode::no_perm, "fax to " + r.destination.number + " refused: " + *reason};
    }
}

std::vector<render::Page> render_part(const MailPart& part, const render::Options& options) {
    if (part.kind == MailPart::Kind::text) return render::render_text(part.content, options);
    if (part.kind == MailPart::Kind::pdf) return render::render_pdf(part.content, options);
    std::string name = part.filename.empty() ? "without a name" : part.filename;
    throw Refusal{ExitCode::data_error,
                  "attachment " + name + " (" + part.type + ") cannot be faxed yet"};
}

std::vector<render::Page> render_message(const ParsedMessage& message, const render::Options& options) {
    std::vector<render::Page> pages;
    try {
        for (const auto& part : message.parts) {
            auto part_pages = render_part(part, options);
            std::move(part_pages.begin(), part_pages.end(), std::back_inserter(pages));
        }
    } catch (const render::Error& e) {
        throw Refusal{ExitCode::data_error, e.what()};
    }
    if (pages.empty()) throw Refusal{ExitCode::data_error, "message has nothing to fax"};
    if (static_cast<int>(pages.size()) > options.max_pages)
        throw Refusal{ExitCode::data_error, "message has " + std::to_string(pages.size()) +
                                                " pages, more than the limit of " +
                                                std::to_string(options.max_pages)};
    return pages;
}

// A scratch file that is gone again when submit() returns: enqueue() moved
// it into the spool, or the submission failed and it is garbage.
class ScratchFile {
public:
    explicit ScratchFile(const std::filesystem::path& dir) {
        std::string name = (dir / "mail-XXXXXX.tif").string();
        int fd = mkstemps(name.data(), 4);
        if (fd < 0) throw std::system_error(errno, std::generic_category(), "scratch file in " + dir.string());
        ::close(fd);
        path_ = name;
    }
    ~ScratchFile() {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
    }
    ScratchFile(const ScratchFile&) = delete;
    ScratchFile& operator=(const ScratchFile&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

std::string plural(std::size_t n, const std::string& word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

std::string success_line(const faxcore::EnqueueResult& result, std::size_t pages,
                         const std::vector<FaxRecipient>& recipients) {
    std::string numbers;
    for (const auto& r : recipients) numbers += (numbers.empty() ? "" : ", ") + r.destination.number;
    std::size_t old = result.jobs.size() - static_cast<std::size_t>(result.created);
    std::string what = plural(static_cast<std::size_t>(result.created), "fax job");
    std::string line = "queued " + what + " (" + plural(pages, "page") + ") for " + numbers;
    if (old > 0) line += " (" + std::to_string(old) + " already queued)";
    return line;
}

SubmitResult queue_message(std::string_view raw, const Envelope& envelope,
                           const Settings& settings, faxcore::Queue& queue) {
    auto recipients = fax_recipients(envelope.recipients, settings);
    check_rules(envelope, recipients, settings);
    ParsedMessage message = parse_message(raw);
    auto pages = render_message(message, settings.render);

    ScratchFile document(queue.scratch_dir());
    render::write_fax_tiff(pages, document.path());
    faxcore::Submission submission{document.path(), static_cast<int>(pages.size()), {},
                                   origin_key(message, raw),
                                   make_origin(message, envelope, recipients), 0};
    for (const auto& r : recipients) submission.destinations.push_back(r.destination);

    SubmitResult result;
    result.enqueued = queue.enqueue(submission);
    result.message = success_line(result.enqueued, pages.size(), recipients);
    return result;
}

SubmitResult failure(ExitCode code, std::string message) {
    SubmitResult result;
    result.code = code;
    result.message = std::move(message);
    return result;
}

}  // namespace

SubmitResult submit(std::string_view raw_message, const Envelope& envelope,
                    const Settings& settings, faxcore::Queue& queue) {
    // Postfix bounces on every code but 0 and 75: only what the sender can
    // fix may be permanent; anything unexpected is retried.
    try {
        return queue_message(raw_message, envelope, settings, queue);
    } catch (const Refusal& r) {
        return failure(r.code, r.message);
    } catch (const RecipientError& e) {
        return failure(ExitCode::no_user, e.what());
    } catch (const faxcore::TemporaryError& e) {
        return failure(ExitCode::temp_fail, e.what());
    } catch (const std::exception& e) {
        return failure(ExitCode::temp_fail, std::string("internal error: ") + e.what());
    } catch (...) {
        return failure(ExitCode::temp_fail, "internal error: unknown exception");
    }
}

}  // namespace faxgw::mailgw
