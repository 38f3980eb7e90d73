// submit(): one mail in, fax jobs out, and a sysexits code for the MTA.
#include <faxgw/mailgw.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <system_error>

#include "mime.h"
#include "options.h"
#include "origin.h"
#include "recipients.h"
#include "rules.h"
#include "text.h"

namespace faxgw::mailgw {
namespace {

// A refusal decided on the way; submit() turns it into its result.
struct Refusal {
    ExitCode code;
    std::string message;
};

// Applies the sender rules to every destination: a denial refuses the whole
// mail (77); any "hold" holds all its jobs. Returns whether to hold.
bool check_rules(const Envelope& envelope, const ParsedMessage& message,
                 const std::vector<FaxRecipient>& recipients, const Settings& settings) {
    auto verdicts =
        read_authentication_results(message.authentication_results, settings.authserv_id);
    RuleInput input{rule_sender(envelope.sender),
                    message.from.address,
                    envelope.sasl_user,
                    envelope.client_address,
                    verdicts.spf,
                    verdicts.dkim,
                    verdicts.dmarc,
                    ""};
    bool hold = false;
    for (const auto& r : recipients) {
        input.number = r.destination.number;
        auto decision = decide(input, settings);
        if (decision.action == RuleAction::deny)
            throw Refusal{ExitCode::no_perm,
                          "fax to " + r.destination.number + " refused: " + decision.reason};
        hold = hold || decision.action == RuleAction::hold;
    }
    return hold;
}

// Limits count per envelope sender and per sender domain.
std::vector<faxcore::Quota> quotas_for(const Envelope& envelope, const Limits& limits) {
    std::string sender = lower(rule_sender(envelope.sender));
    std::string domain = sender.substr(sender.rfind('@') + 1);
    std::vector<faxcore::Quota> q;
    auto add = [&](std::string key, int jobs, int pages, std::int64_t window, std::string what) {
        if (jobs > 0 || pages > 0)
            q.push_back({std::move(key), jobs, pages, window, std::move(what)});
    };
    add("sender-hour:" + sender, limits.jobs_per_hour_per_sender, 0, 3600, "sender " + sender);
    add("sender-day:" + sender, 0, limits.pages_per_day_per_sender, 86400, "sender " + sender);
    add("domain-hour:" + domain, limits.jobs_per_hour_per_domain, 0, 3600, "domain " + domain);
    add("domain-day:" + domain, 0, limits.pages_per_day_per_domain, 86400, "domain " + domain);
    return q;
}

FaxOptions read_options(const ParsedMessage& message) {
    try {
        return parse_fax_options(message.fax_options, message.subject);
    } catch (const OptionError& e) {
        throw Refusal{ExitCode::data_error, e.what()};
    }
}

render::Options render_options_for(const FaxOptions& o, const Settings& settings) {
    render::Options r = settings.render;
    if (o.resolution) r.resolution = *o.resolution;
    if (o.paper) r.paper = *o.paper;
    return r;
}

// Text already decoded to UTF-8 is laid out directly; everything else is an
// untrusted document that render sniffs and renders in a child process.
std::vector<render::Page> render_part(const MailPart& part, const render::Options& options) {
    if (part.kind == MailPart::Kind::text) return render::render_text(part.content, options);
    if (part.kind == MailPart::Kind::html)
        return render::render_html(part.content, part.inline_images, options);
    std::string name = part.filename.empty() ? "without a name" : part.filename;
    return render::render_document(part.content, part.type, name, options);
}

std::vector<render::Page> render_message(const ParsedMessage& message,
                                         const render::Options& options) {
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
        if (fd < 0)
            throw std::system_error(errno, std::generic_category(),
                                    "scratch file in " + dir.string());
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
    for (const auto& r : recipients)
        numbers += (numbers.empty() ? "" : ", ") + r.destination.number;
    std::size_t old = result.jobs.size() - static_cast<std::size_t>(result.created);
    std::string what = plural(static_cast<std::size_t>(result.created), "fax job");
    std::string line = "queued " + what + " (" + plural(pages, "page") + ") for " + numbers;
    if (old > 0) line += " (" + std::to_string(old) + " already queued)";
    return line;
}

std::string read_logo(const std::filesystem::path& logo) {
    if (logo.empty()) return {};
    std::ifstream in(logo, std::ios::binary);
    if (!in) throw std::runtime_error("cover logo " + logo.string() + " cannot be read");
    return {std::istreambuf_iterator<char>(in), {}};
}

render::Page cover_page(const ParsedMessage& message, const std::vector<FaxRecipient>& recipients,
                        std::size_t document_pages, const Settings& settings,
                        const render::Options& options) {
    render::CoverInfo info;
    info.from_name = message.from.name.empty() ? message.from.address : message.from.name;
    info.from_number = message.from.address;
    for (const auto& r : recipients) {
        if (!r.name.empty()) info.to_name += (info.to_name.empty() ? "" : ", ") + r.name;
        info.to_number += (info.to_number.empty() ? "" : ", ") + r.destination.number;
    }
    info.subject = subject_without_options(message.subject);
    info.pages = static_cast<int>(document_pages);
    info.template_text = settings.cover.template_text;
    info.logo = read_logo(settings.cover.logo);
    return render::render_cover(info, options);
}

SubmitResult queue_message(std::string_view raw, const Envelope& envelope, const Settings& settings,
                           faxcore::Queue& queue) {
    auto recipients = fax_recipients(envelope.recipients, settings);
    ParsedMessage message = parse_message(raw, settings.prefer_html);
    bool hold = check_rules(envelope, message, recipients, settings);
    FaxOptions options = read_options(message);
    auto render_options = render_options_for(options, settings);
    auto pages = render_message(message, render_options);
    if (options.cover.value_or(settings.cover.by_default))
        pages.insert(pages.begin(),
                     cover_page(message, recipients, pages.size(), settings, render_options));
    // Numbered over the whole fax, cover included, as the law (e.g. US TCPA) wants.
    render::stamp_header(pages, settings.header);

    ScratchFile document(queue.scratch_dir());
    render::write_fax_tiff(pages, document.path());
    faxcore::Submission submission;
    submission.document = document.path();
    submission.pages = static_cast<int>(pages.size());
    submission.origin_key = origin_key(message, raw);
    submission.origin = make_origin(message, envelope, recipients, options);
    submission.not_before = options.not_before;
    submission.hold = hold;
    submission.quotas = quotas_for(envelope, settings.limits);
    for (const auto& r : recipients) submission.destinations.push_back(r.destination);

    SubmitResult result;
    try {
        result.enqueued = queue.enqueue(submission);
    } catch (const faxcore::QuotaExceeded& e) {
        throw Refusal{ExitCode::no_perm, e.what()};
    }
    result.message = success_line(result.enqueued, pages.size(), recipients);
    if (hold) result.message += ", held for an administrator";
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
