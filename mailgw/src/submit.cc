// submit(): one mail in, fax jobs out, and a sysexits code for the MTA.
#include <faxgw/mailgw.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <optional>
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

// One part of the mail, rendered into a scratch TIFF of its own.
struct RenderedPart {
    std::unique_ptr<ScratchFile> file;
    int pages = 0;
};

// Text already decoded to UTF-8 is laid out directly; everything else is an
// untrusted document that render sniffs and renders in a child process,
// straight into the file, so that a long attachment is never held whole.
int render_part_to_tiff(const MailPart& part, const render::Options& options,
                        const std::filesystem::path& out) {
    auto write_pages = [&](const std::vector<render::Page>& pages) {
        if (!pages.empty()) render::write_fax_tiff(pages, out);
        return static_cast<int>(pages.size());
    };
    if (part.kind == MailPart::Kind::text)
        return write_pages(render::render_text(part.content, options));
    if (part.kind == MailPart::Kind::html)
        return write_pages(render::render_html(part.content, part.inline_images, options));
    std::string name = part.filename.empty() ? "without a name" : part.filename;
    return render::render_document_to_tiff(part.content, part.type, name, options, out);
}

std::vector<RenderedPart> render_message(const ParsedMessage& message,
                                         const render::Options& options,
                                         const std::filesystem::path& scratch_dir) {
    std::vector<RenderedPart> parts;
    int pages = 0;
    try {
        for (const auto& part : message.parts) {
            RenderedPart rendered{std::make_unique<ScratchFile>(scratch_dir), 0};
            rendered.pages = render_part_to_tiff(part, options, rendered.file->path());
            pages += rendered.pages;
            if (rendered.pages > 0) parts.push_back(std::move(rendered));
        }
    } catch (const render::Error& e) {
        throw Refusal{ExitCode::data_error, e.what()};
    }
    if (pages == 0) throw Refusal{ExitCode::data_error, "message has nothing to fax"};
    if (pages > options.max_pages)
        throw Refusal{ExitCode::data_error, "message has " + std::to_string(pages) +
                                                " pages, more than the limit of " +
                                                std::to_string(options.max_pages)};
    return parts;
}

int count_pages(const std::vector<RenderedPart>& parts) {
    int pages = 0;
    for (const auto& part : parts) pages += part.pages;
    return pages;
}

// Joins the cover and the parts into the fax document, stamping the header
// line on each page as it passes, numbered over the whole fax (cover
// included) as the law (e.g. US TCPA) wants. One page is in memory at a time.
int write_fax_document(const std::optional<render::Page>& cover,
                       const std::vector<RenderedPart>& parts, const render::HeaderInfo& header,
                       const std::filesystem::path& out) {
    render::HeaderInfo one_time = header;
    if (one_time.time == 0) one_time.time = std::time(nullptr);
    const int total = count_pages(parts) + (cover ? 1 : 0);
    render::FaxTiffWriter writer(out, total);
    auto add = [&](render::Page page) {
        render::stamp_header(page, writer.pages() + 1, total, one_time);
        writer.append(page);
    };
    if (cover) add(*cover);
    for (const auto& part : parts) {
        render::FaxTiffReader reader(part.file->path());
        while (auto page = reader.next()) add(std::move(*page));
    }
    writer.close();
    return writer.pages();
}

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
    auto parts = render_message(message, render_options, queue.scratch_dir());
    std::optional<render::Page> cover;
    if (options.cover.value_or(settings.cover.by_default))
        cover = cover_page(message, recipients, count_pages(parts), settings, render_options);

    ScratchFile document(queue.scratch_dir());
    const int pages = write_fax_document(cover, parts, settings.header, document.path());
    parts.clear();  // the parts' scratch files are not needed any more
    // B4 pages (or a wide TIFF attachment) go to most receivers narrowed.
    ScratchFile narrow(queue.scratch_dir());
    const bool has_wide_pages = render::narrow_fax_tiff(document.path(), narrow.path());
    faxcore::Submission submission;
    submission.document = document.path();
    if (has_wide_pages) submission.narrow_document = narrow.path();
    submission.pages = pages;
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
    result.message = success_line(result.enqueued, static_cast<std::size_t>(pages), recipients);
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
