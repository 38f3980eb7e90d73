// faxgw render: turn documents into one fax TIFF.
// Its manual is render_manual below: `--help` shows it, and so does faxgw(8).
#include <sysexits.h>

#include <iostream>

#include "commands.h"

namespace faxgw {
namespace {

// The manual: DESCRIPTION, EXIT STATUS and the like (faxgw/manual.h).
constexpr const char* render_manual = R"(DESCRIPTION
    Renders each FILE (PDF, text, fax TIFF) into fax pages, in order, and
    writes them as one multi-page T.6 TIFF that the lines can send as is.
    Resolution and paper default to render.resolution and render.paper.
EXIT STATUS
    0 written; 65 a file cannot be rendered (the line says which and why).
)";

struct RenderOptions {
    CommonOptions common;
    std::vector<std::filesystem::path> files;
    std::filesystem::path out;
    std::string resolution, paper;
};

int render_files(const RenderOptions& o) {
    auto config = o.common.load();
    auto options = config.mail.render;
    try {
        if (!o.resolution.empty()) options.resolution = render::parse_resolution(o.resolution);
        if (!o.paper.empty()) options.paper = render::parse_paper(o.paper);
        // One file goes straight from the renderer's TIFF to the output;
        // several are read back and joined.
        if (o.files.size() == 1) {
            const int count = render::render_file_to_tiff(o.files.front(), options, o.out);
            if (count == 0) {
                std::cerr << "faxgw render: nothing to fax in the given files\n";
                return EX_DATAERR;
            }
            std::cout << o.out.string() << ": " << count << " page(s)\n";
            return 0;
        }
        std::vector<render::Page> pages;
        for (const auto& f : o.files) {
            auto more = render::render_file(f, options);
            pages.insert(pages.end(), std::make_move_iterator(more.begin()),
                         std::make_move_iterator(more.end()));
        }
        if (pages.empty()) {
            std::cerr << "faxgw render: nothing to fax in the given files\n";
            return EX_DATAERR;
        }
        render::write_fax_tiff(pages, o.out);
        std::cout << o.out.string() << ": " << pages.size() << " page(s)\n";
        return 0;
    } catch (const render::Error& e) {
        std::cerr << "faxgw render: " << e.what() << "\n";
        return EX_DATAERR;
    }
}

}  // namespace

CLI::App* add_render_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("render", "Render documents into one fax TIFF");
    cmd->footer(render_manual);
    auto o = std::make_shared<RenderOptions>();
    o->common.add_to(*cmd);
    cmd->add_option("files", o->files, "Documents to render, in order")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("-o,--output", o->out, "Fax TIFF to write")->required();
    cmd->add_option("--resolution", o->resolution, "standard, fine or superfine");
    cmd->add_option("--paper", o->paper, "a4, letter, legal or b4");
    cmd->callback([o, &exit_code] { exit_code = render_files(*o); });
    return cmd;
}

}  // namespace faxgw
