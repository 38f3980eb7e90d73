// submit(): one mail in, fax jobs out, and a sysexits code for the MTA.
#include <faxgw/mailgw.h>

#include <ctime>
#include <memory>
#include <optional>

#include "mime.h"
#include "notify.h"
#include "options.h"
#include "origin.h"
#include "recipients.h"
#include "rules.h"
#include "text.h"

namespace faxgw::mailgw {
namespace {

// A refusal decided on the way; submit() turns it into its result.
struct Refusal {
    Verdict verdict;
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
            throw Refusal{Verdict::refused,
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

// The sender rules on the envelope alone, before the message comes (a
// rule that looks at From: or the verdicts waits for it). Throws Refusal.
// The milter asks this at RCPT TO; submit() before it parses anything.
void check_rules_on_envelope(const FaxRecipient& recipient, const Envelope& envelope,
                             const Settings& settings) {
    const RuleInput input{
        rule_sender(envelope.sender), "", envelope.sasl_user, envelope.client_address, "", "", "",
        recipient.destination.number};
    if (auto decision = decide_on_envelope(input, settings);
        decision && decision->action == RuleAction::deny)
        throw Refusal{Verdict::refused,
                      "fax to " + recipient.destination.number + " refused: " + decision->reason};
}

// Whether the sender's limits leave room for `jobs` more jobs (of a page
// at least) now. Throws Refusal. The milter asks this at RCPT TO; submit()
// before it renders; the count is exact when the jobs are queued.
void check_room(const Envelope& envelope, int jobs, const Settings& settings,
                faxcore::Queue& queue) {
    try {
        queue.check_quotas(quotas_for(envelope, settings.limits), jobs, 1);
    } catch (const faxcore::QuotaExceeded& e) {
        throw Refusal{e.permanent() ? Verdict::over_quota : Verdict::rate_limited, e.what()};
    }
}

FaxOptions read_options(const ParsedMessage& message) {
    try {
        return parse_fax_options(message.fax_options, message.subject);
    } catch (const OptionError& e) {
        throw Refusal{Verdict::bad_message, e.what()};
    }
}

render::Options render_options_for(const FaxOptions& o, const Settings& settings) {
    render::Options r = settings.render;
    if (o.resolution) r.resolution = *o.resolution;
    if (o.paper) r.paper = *o.paper;
    return r;
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

render::CoverInfo cover_info(const ParsedMessage& message,
                             const std::vector<FaxRecipient>& recipients,
                             const Settings& settings) {
    render::CoverInfo info = cover_of(settings.cover);
    info.from_name = message.from.name.empty() ? message.from.address : message.from.name;
    info.from_number = message.from.address;
    for (const auto& r : recipients) {
        if (!r.name.empty()) info.to_name += (info.to_name.empty() ? "" : ", ") + r.name;
        info.to_number += (info.to_number.empty() ? "" : ", ") + r.destination.number;
    }
    info.subject = subject_without_options(message.subject);
    return info;
}

std::vector<DocumentPart> document_parts(const ParsedMessage& message) {
    std::vector<DocumentPart> parts;
    for (const auto& p : message.parts) {
        DocumentPart part;
        switch (p.kind) {
            case MailPart::Kind::text:
                part.kind = DocumentPart::Kind::text;
                break;
            case MailPart::Kind::html:
                part.kind = DocumentPart::Kind::html;
                break;
            default:
                part.kind = DocumentPart::Kind::document;
        }
        part.content = p.content;
        part.type = p.type;
        part.name = p.filename;
        part.inline_images = p.inline_images;
        parts.push_back(std::move(part));
    }
    return parts;
}

// The mail's fax documents: one, or with a cover page one per number, whose
// cover names that number alone.
std::vector<std::unique_ptr<ComposedFax>> compose_message(
    const ParsedMessage& message, const std::vector<FaxRecipient>& recipients,
    const FaxOptions& options, const Settings& settings, faxcore::Queue& queue) {
    ComposeOptions compose;
    compose.render = render_options_for(options, settings);
    compose.header = settings.header;
    if (options.cover.value_or(settings.cover.by_default))
        for (const auto& r : recipients)
            compose.covers.push_back(cover_info(message, {r}, settings));
    try {
        return compose_fax(document_parts(message), compose, queue.scratch_dir());
    } catch (const render::LimitError& e) {
        throw Refusal{Verdict::too_big, e.what()};
    } catch (const render::Error& e) {
        throw Refusal{Verdict::unfaxable, e.what()};
    }
}

// The "accepted" notification (notify.accepted), once the jobs are
// committed. The mail is queued whatever happens here: a notice that cannot
// be written is named in the result line, never a failure of the mail.
void tell_accepted(SubmitResult& result, const faxcore::Submission& submission,
                   const Settings& settings, faxcore::Queue& queue) {
    if (!settings.notify.accepted || result.enqueued.created == 0) return;
    try {
        const auto now = static_cast<std::int64_t>(std::time(nullptr));
        std::vector<faxcore::Job> jobs;
        for (std::int64_t id : result.enqueued.jobs)
            if (auto job = queue.job(id)) jobs.push_back(std::move(*job));
        if (auto mail =
                accepted_mail(result.enqueued.batch, submission.origin, jobs, settings, now))
            send_notification(*mail, settings);
    } catch (const std::exception& e) {
        result.message += " (acceptance notice not written: " + std::string(e.what()) + ")";
    }
}

SubmitResult queue_message(std::string_view raw, const Envelope& envelope, const Settings& settings,
                           faxcore::Queue& queue) {
    check_envelope(envelope);
    auto recipients = fax_recipients(envelope.recipients, settings);
    for (const auto& r : recipients) check_rules_on_envelope(r, envelope, settings);
    ParsedMessage message = parse_message(raw, settings.prefer_html);
    bool hold = check_rules(envelope, message, recipients, settings);
    FaxOptions options = read_options(message);

    faxcore::Submission submission;
    submission.origin_key = origin_key(message, envelope, raw);
    // A cover page names the recipients of its delivery: a mail delivered
    // once per number (recipient_limit = 1) then needs one document per
    // delivery, so the numbers join the key and no batch is shared.
    if (options.cover.value_or(settings.cover.by_default))
        for (const auto& r : recipients) submission.origin_key += " " + r.destination.number;
    submission.origin = make_origin(message, envelope, recipients, options, raw);
    submission.not_before = options.not_before;
    submission.hold = hold;
    submission.quotas = quotas_for(envelope, settings.limits);
    for (const auto& r : recipients) submission.destinations.push_back(r.destination);

    SubmitResult result;
    std::vector<std::unique_ptr<ComposedFax>> faxes;  // until enqueue() moves them
    auto compose = [&] {
        // A cover page names its receiver: with several numbers each gets a
        // document whose cover names it alone (the batch's names the first).
        faxes = compose_message(message, recipients, options, settings, queue);
        const bool own_covers = faxes.size() > 1;
        submission.render_seconds = 0;
        submission.own_documents.clear();
        for (std::size_t i = 0; i < faxes.size(); ++i) {
            submission.render_seconds += faxes[i]->render_seconds;
            const faxcore::OwnDocument composed{faxes[i]->document, faxes[i]->narrow_document};
            if (i == 0) {
                submission.document = composed.document;
                submission.narrow_document = composed.narrow_document;
            }
            // The first number's cover is the batch's document.
            if (own_covers)
                submission.own_documents.push_back(i == 0 ? faxcore::OwnDocument{} : composed);
        }
        submission.pages = faxes.front()->pages;
        result.rendered = true;
    };
    // With one recipient per delivery (Postfix recipient_limit = 1) the
    // same mail comes once per number: later ones join the batch of the
    // first and share its document (one document per batch), so there is
    // nothing to render again.
    if (auto earlier = queue.find_batch(submission.origin_key)) {
        submission.pages = earlier->pages;
    } else {
        // A sender over a limit learns it before the gateway renders. (A
        // repeated delivery queues nothing and so is never refused by a limit.)
        check_room(envelope, static_cast<int>(recipients.size()), settings, queue);
        compose();
    }
    try {
        try {
            result.enqueued = queue.enqueue(submission);
        } catch (const faxcore::TemporaryError&) {
            if (result.rendered) throw;
            compose();  // the batch went in between (swept): compose after all
            result.enqueued = queue.enqueue(submission);
        }
    } catch (const faxcore::QuotaExceeded& e) {
        throw Refusal{e.permanent() ? Verdict::over_quota : Verdict::rate_limited, e.what()};
    }
    result.message =
        success_line(result.enqueued, static_cast<std::size_t>(submission.pages), recipients);
    if (hold) result.message += ", held for an administrator";
    tell_accepted(result, submission, settings, queue);
    return result;
}

SubmitResult failure(Verdict verdict, std::string message) {
    SubmitResult result;
    result.verdict = verdict;
    result.code = describe(verdict).exit;
    result.message = std::move(message);
    return result;
}

// The result for the exception being handled. Postfix bounces on every
// code but 0 and 75: only what the sender can fix may be permanent;
// anything unexpected is retried.
SubmitResult failure_of_current_exception() {
    try {
        throw;
    } catch (const Refusal& r) {
        return failure(r.verdict, r.message);
    } catch (const EnvelopeError& e) {
        return failure(e.verdict(), e.what());
    } catch (const RecipientError& e) {
        return failure(Verdict::bad_recipient, e.what());
    } catch (const MessageLimitError& e) {
        return failure(Verdict::too_big, e.what());
    } catch (const MessageError& e) {
        return failure(Verdict::bad_message, e.what());
    } catch (const ConfigurationError& e) {
        return failure(Verdict::configuration, e.what());
    } catch (const render::ResourceError& e) {
        return failure(Verdict::try_later, e.what());
    } catch (const faxcore::TemporaryError& e) {
        return failure(Verdict::try_later, e.what());
    } catch (const std::exception& e) {
        return failure(Verdict::try_later, std::string("internal error: ") + e.what());
    } catch (...) {
        return failure(Verdict::try_later, "internal error: unknown exception");
    }
}

}  // namespace

SubmitResult submit(std::string_view raw_message, const Envelope& envelope,
                    const Settings& settings, faxcore::Queue& queue) {
    try {
        return queue_message(raw_message, envelope, settings, queue);
    } catch (...) {
        return failure_of_current_exception();
    }
}

RecipientCheck check_recipient(const std::string& address, const Envelope& envelope,
                               int earlier_fax_recipients, const Settings& settings,
                               faxcore::Queue& queue) {
    RecipientCheck check;
    check.fax = in_fax_domain(address, settings);
    if (!check.fax) return check;  // none of the gateway's business
    try {
        Envelope this_recipient = envelope;
        this_recipient.recipients = {address};
        check_envelope(this_recipient);
        auto recipient = fax_recipient(address, settings);
        check.number = recipient->destination.number;
        check_rules_on_envelope(*recipient, envelope, settings);
        check_room(envelope, earlier_fax_recipients + 1, settings, queue);
    } catch (...) {
        SubmitResult failed = failure_of_current_exception();
        check.verdict = failed.verdict;
        check.message = std::move(failed.message);
    }
    return check;
}

}  // namespace faxgw::mailgw
