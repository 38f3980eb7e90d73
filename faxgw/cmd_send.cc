// NAME
//     faxgw send - queue documents for fax numbers without any mail
// SYNOPSIS
//     faxgw send --to NUMBER [--to NUMBER...] [--config FILE] [--var DIR] FILE...
// DESCRIPTION
//     Renders the files like `faxgw render` and queues one job per number
//     (numbers are normalised by the dial.* rules). `faxgw run` sends them;
//     `faxgw jobs` shows how they went. No notification mail is written.
// EXIT STATUS
//     0 queued; 65 a file cannot be rendered; 67 a bad number; 75 the queue
//     is busy.
#include <sysexits.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"

namespace faxgw {
namespace {

struct SendOptions {
    CommonOptions common;
    std::vector<std::string> numbers;
    std::vector<std::filesystem::path> files;
};

// Each `faxgw send` is a request of its own: its key never repeats.
std::string unique_origin_key() {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    return "send:" +
           std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()) + "." +
           std::to_string(::getpid());
}

int send_files(const SendOptions& o) {
    auto config = o.common.load();
    faxcore::Submission sub;
    try {
        for (const auto& n : o.numbers)
            sub.destinations.push_back(mailgw::normalise_number(n, config.mail.dial));
    } catch (const std::exception& e) {
        std::cerr << "faxgw send: " << e.what() << "\n";
        return EX_NOUSER;
    }
    auto queue = faxcore::Queue::open(config.var);
    std::vector<render::Page> pages;
    try {
        for (const auto& f : o.files) {
            auto more = render::render_file(f, config.mail.render);
            pages.insert(pages.end(), more.begin(), more.end());
        }
        if (pages.empty()) throw render::Error("nothing to fax in the given files");
        sub.document = queue->scratch_dir() / (unique_origin_key().substr(5) + ".tif");
        render::write_fax_tiff(pages, sub.document);
    } catch (const render::Error& e) {
        std::cerr << "faxgw send: " << e.what() << "\n";
        return EX_DATAERR;
    }
    sub.pages = static_cast<int>(pages.size());
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
        std::cerr << "faxgw send: " << e.what() << "\n";
        return EX_TEMPFAIL;
    }
}

}  // namespace

CLI::App* add_send_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("send", "Queue documents for fax numbers, without mail");
    auto o = std::make_shared<SendOptions>();
    o->common.add_to(*cmd);
    cmd->add_option("--to", o->numbers, "Fax number (repeat for several)")->required();
    cmd->add_option("files", o->files, "Documents to send, in order")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->callback([o, &exit_code] { exit_code = send_files(*o); });
    return cmd;
}

}  // namespace faxgw
