// faxgw send: queue documents for fax numbers without any mail.
// Its manual is send_manual below: `--help` shows it, and so does faxgw(8).
#include <sysexits.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"

namespace faxgw {
namespace {

// The manual: DESCRIPTION, EXIT STATUS and the like (faxgw/manual.h).
constexpr const char* send_manual = R"(DESCRIPTION
    Renders the files and queues one job per number (numbers are
    normalised by the dial.* rules) as a mail would be: the same document
    builder puts the header line on every page, a cover page first when
    --cover or cover.default asks for one (each number's cover names that
    number alone), and beside B4 pages their copy
    for receivers without B4. `faxgw run` sends them; `faxgw jobs` shows
    how they went. No notification mail is written.
EXIT STATUS
    0 queued; 65 a file cannot be faxed; 67 a bad number; 75 the gateway
    failed (queue busy, disk full, renderer timed out) or its
    configuration is wrong.
)";

struct SendOptions {
    CommonOptions common;
    std::vector<std::string> numbers;
    std::vector<std::filesystem::path> files;
    bool cover = false;
    std::string subject;
};

// Each `faxgw send` is a request of its own: its key never repeats.
std::string unique_origin_key() {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    return "send:" +
           std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()) + "." +
           std::to_string(::getpid());
}

// A file as a document part, refused by name when it is over the input limit.
mailgw::DocumentPart read_part(const std::filesystem::path& file, const render::Options& options) {
    std::string name = file.filename().string();
    std::ifstream in(file, std::ios::binary);
    if (!in) throw render::Error(name + ": cannot be read");
    mailgw::DocumentPart part;
    part.name = name;
    part.content.resize(options.max_input_bytes + 1);
    in.read(part.content.data(), static_cast<std::streamsize>(part.content.size()));
    part.content.resize(static_cast<std::size_t>(in.gcount()));
    if (part.content.size() > options.max_input_bytes)
        throw render::Error(name + ": larger than the limit of " +
                            std::to_string(options.max_input_bytes) + " bytes");
    return part;
}

mailgw::ComposeOptions compose_options(const SendOptions& o, const Config& config,
                                       const std::vector<faxcore::Destination>& to) {
    mailgw::ComposeOptions compose;
    compose.render = config.mail.render;
    compose.header = config.mail.header;
    compose.what = "the document";
    // As for a mail: a cover names its receiver alone, one document each.
    if (o.cover || config.mail.cover.by_default)
        for (const auto& d : to) {
            render::CoverInfo info = mailgw::cover_of(config.mail.cover);
            info.from_name = config.mail.header.station_id;
            info.to_number = d.number;
            info.subject = o.subject;
            compose.covers.push_back(info);
        }
    return compose;
}

int fail(int code, const std::string& what) {
    std::cerr << "faxgw send: " << what << "\n";
    return code;
}

int send_files(const SendOptions& o) {
    auto config = o.common.load();
    faxcore::Submission sub;
    try {
        for (const auto& n : o.numbers)
            sub.destinations.push_back(mailgw::normalise_number(n, config.mail.dial));
    } catch (const std::exception& e) {
        return fail(EX_NOUSER, e.what());
    }
    auto queue = faxcore::Queue::open(config.var);
    std::vector<std::unique_ptr<mailgw::ComposedFax>> faxes;  // until enqueue() moves them
    try {
        std::vector<mailgw::DocumentPart> parts;
        for (const auto& f : o.files) parts.push_back(read_part(f, config.mail.render));
        faxes = mailgw::compose_fax(parts, compose_options(o, config, sub.destinations),
                                    queue->scratch_dir());
    } catch (const render::Error& e) {
        return fail(EX_DATAERR, e.what());
    } catch (const render::ResourceError& e) {
        return fail(EX_TEMPFAIL, e.what());
    } catch (const mailgw::ConfigurationError& e) {
        return fail(EX_TEMPFAIL, std::string("configuration error: ") + e.what());
    }
    sub.document = faxes.front()->document;
    sub.narrow_document = faxes.front()->narrow_document;
    sub.pages = faxes.front()->pages;
    for (const auto& fax : faxes) sub.render_seconds += fax->render_seconds;
    // The first number's cover is the batch's document.
    if (faxes.size() > 1)
        for (std::size_t i = 0; i < faxes.size(); ++i)
            sub.own_documents.push_back(
                i == 0 ? faxcore::OwnDocument{}
                       : faxcore::OwnDocument{faxes[i]->document, faxes[i]->narrow_document});
    sub.origin_key = unique_origin_key();
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : o.files) files.push_back(f.filename().string());
    sub.origin = nlohmann::json{{"source", "send"}, {"files", files}}.dump();
    try {
        auto r = queue->enqueue(sub);
        std::cout << "queued " << r.jobs.size() << " job(s), " << sub.pages << " page(s):";
        for (auto id : r.jobs) std::cout << " " << id;
        std::cout << "\n";
        return 0;
    } catch (const faxcore::TemporaryError& e) {
        return fail(EX_TEMPFAIL, e.what());
    }
}

}  // namespace

CLI::App* add_send_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("send", "Queue documents for fax numbers, without mail");
    cmd->footer(send_manual);
    auto o = std::make_shared<SendOptions>();
    o->common.add_to(*cmd);
    cmd->add_option("--to", o->numbers, "Fax number (repeat for several)")->required();
    cmd->add_flag("--cover", o->cover, "Put a cover page first (cover.default: always)");
    cmd->add_option("--subject", o->subject, "Subject printed on the cover page");
    cmd->add_option("files", o->files, "Documents to send, in order")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->callback([o, &exit_code] { exit_code = send_files(*o); });
    return cmd;
}

}  // namespace faxgw
