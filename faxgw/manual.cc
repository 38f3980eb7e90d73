#include "manual.h"

#include <sysexits.h>

#include <cctype>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "commands.h"

#ifndef FAXGW_VERSION
#define FAXGW_VERSION "0"
#endif

namespace faxgw {
namespace {

// Text made safe for roff: a backslash is \e, a dash that starts a word
// (an option: "--var") is \- so that it reads and copies as a hyphen-minus,
// and such a word is not hyphenated (\%); a line may not begin with a
// control character ('.' or ').
std::string roff(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char ch = text[i];
        if (ch == '\\') {
            out += "\\e";
        } else if (ch == '-' && i > 0 && text[i - 1] == '-') {
            out += "\\-";
        } else if (ch == '-' && (i == 0 || std::string(" \n([`'\"/=,|").find(text[i - 1]) !=
                                               std::string::npos)) {
            out += "\\%\\-";  // an option: never hyphenated
        } else {
            if ((ch == '.' || ch == '\'') && (i == 0 || text[i - 1] == '\n')) out += "\\&";
            out += ch;
        }
    }
    return out;
}

std::string bold(const std::string& text) { return "\\fB" + roff(text) + "\\fR"; }
std::string italic(const std::string& text) { return "\\fI" + roff(text) + "\\fR"; }

// "EXIT STATUS (sysexits(3))" -> "Exit status (sysexits(3))".
std::string sentence_case(const std::string& heading) {
    std::string out = heading;
    std::size_t caps = 0;
    while (caps < out.size() &&
           (std::isupper(static_cast<unsigned char>(out[caps])) || out[caps] == ' '))
        ++caps;
    for (std::size_t i = 1; i < caps; ++i)
        out[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[i])));
    return out;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// A footer (see manual.h) as roff: each heading a run-in bold label of
// its own paragraph, text filled, further-indented lines kept as written.
void write_footer(std::ostream& out, const std::string& footer) {
    bool kept = false;  // inside a .nf block
    auto end_kept = [&] {
        if (kept) out << ".fi\n.RE\n";
        kept = false;
    };
    for (const auto& line : lines_of(footer)) {
        if (line.empty()) {
            end_kept();
            continue;
        }
        if (line[0] != ' ') {
            end_kept();
            out << ".PP\n" << bold(sentence_case(line) + ".") << "\n";
        } else if (line.rfind("     ", 0) == 0) {
            if (!kept) out << ".RS\n.nf\n";
            kept = true;
            out << roff(line.substr(4)) << "\n";
        } else {
            end_kept();
            out << roff(line.substr(line.find_first_not_of(' '))) << "\n";
        }
    }
    end_kept();
}

bool visible(const CLI::App* cmd) { return !cmd->get_group().empty(); }
bool is_help(const CLI::Option* opt) {
    return opt->get_lnames() == std::vector<std::string>{"help"};
}

// "FILE" for "TEXT:FILE", "sim|sip" for "TEXT:{sim,sip}": what the value is.
std::string value_name(const CLI::Option* opt) {
    std::string type = opt->get_type_name();
    if (type.empty()) type = "VALUE";
    const auto colon = type.find(':');
    if (colon != std::string::npos) type = type.substr(colon + 1);
    if (type.size() > 2 && type.front() == '{' && type.back() == '}') {
        type = type.substr(1, type.size() - 2);
        for (auto& ch : type)
            if (ch == ',') ch = '|';
    }
    return type;
}

// A flag takes no value (CLI11: 0 items expected).
bool is_flag(const CLI::Option* opt) { return opt->get_expected_max() == 0; }
bool repeats(const CLI::Option* opt) { return opt->get_expected_max() > 1; }

std::string option_names(const CLI::Option* opt) {
    std::string names;
    for (const auto& s : opt->get_snames()) names += (names.empty() ? "-" : ", -") + s;
    for (const auto& l : opt->get_lnames()) names += (names.empty() ? "--" : ", --") + l;
    return names;
}

std::string positional_name(const CLI::Option* opt) {
    std::string name = opt->get_name();
    for (auto& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return name;
}

std::string command_path(const CLI::App* cmd) {
    std::string path = cmd->get_name();
    for (const CLI::App* p = cmd->get_parent(); p; p = p->get_parent())
        path = p->get_name() + " " + path;
    return path;
}

// The synopsis as roff: the command, then each option (optional ones in
// brackets), then the positional arguments.
std::string synopsis(const CLI::App* cmd) {
    std::string out = bold(command_path(cmd));
    for (const CLI::Option* opt : cmd->get_options()) {
        if (is_help(opt) || !opt->nonpositional() || opt->get_group().empty()) continue;
        std::string item = bold(opt->get_lnames().empty() ? "-" + opt->get_snames().front()
                                                          : "--" + opt->get_lnames().front());
        if (!is_flag(opt)) item += " " + italic(value_name(opt));
        if (repeats(opt)) item += " ...";
        out += " " + (opt->get_required() ? item : "[" + item + "]");
    }
    for (const CLI::Option* opt : cmd->get_options()) {
        if (opt->nonpositional()) continue;
        std::string item = italic(positional_name(opt)) + (repeats(opt) ? " ..." : "");
        out += " " + (opt->get_required() ? item : "[" + item + "]");
    }
    return out;
}

void write_options(std::ostream& out, const CLI::App* cmd) {
    for (const CLI::Option* opt : cmd->get_options()) {
        if (is_help(opt) || opt->get_group().empty()) continue;
        out << ".TP\n";
        if (opt->nonpositional()) {
            out << bold(option_names(opt));
            if (!is_flag(opt)) out << " " << italic(value_name(opt));
        } else {
            out << italic(positional_name(opt));
        }
        out << "\n" << roff(opt->get_description());
        if (!opt->get_default_str().empty())
            out << " (default: " << roff(opt->get_default_str()) << ")";
        out << (opt->get_required() ? " (required)\n" : "\n");
    }
}

void write_command(std::ostream& out, const CLI::App* cmd) {
    out << ".SS \"" << roff(command_path(cmd)) << "\"\n"
        << roff(cmd->get_description()) << ".\n"
        << ".PP\n"
        << synopsis(cmd) << "\n";
    write_options(out, cmd);
    write_footer(out, cmd->get_footer());
}

// Leaves of the command tree that people use ("rules test", not "rules").
void collect_commands(const CLI::App* app, std::vector<const CLI::App*>& out) {
    for (const CLI::App* cmd : app->get_subcommands([](const CLI::App*) { return true; })) {
        if (!visible(cmd)) continue;
        const auto children = cmd->get_subcommands([](const CLI::App* c) { return visible(c); });
        if (children.empty())
            out.push_back(cmd);
        else
            collect_commands(cmd, out);
    }
}

constexpr const char* files_section = R"(.SH FILES
.TP
.I /etc/faxgw/faxgw.toml
The configuration the installed services read (\fBfaxgw.toml\fR(5)).
.TP
.I /var/lib/faxgw
The state folder of the installed services (\fB\-\-var\fR): the queue
database, the spool of rendered and received pages, the outbox of mails.
.TP
.I /usr/share/doc/faxgw/examples
Snippets for Postfix, Sendmail and Asterisk.
.SH SEE ALSO
\fBfaxgw.toml\fR(5), \fBpipe\fR(8), \fBsystemctl\fR(1), \fBjournalctl\fR(1)
)";

// The NAME line of a key's section, and what the section holds.
std::string key_heading(const KeyDoc& k) { return "[" + k.section + "]"; }

}  // namespace

std::string manual_page_commands(const CLI::App& app) {
    std::ostringstream out;
    out << ".TH FAXGW 8 \"\" \"faxgw " FAXGW_VERSION "\" \"System Manager's Manual\"\n"
        << ".SH NAME\nfaxgw \\- email\\-to\\-fax and fax\\-to\\-email gateway\n"
        << ".SH SYNOPSIS\n"
        << bold("faxgw") << " " << italic("COMMAND") << " [" << italic("OPTIONS") << "]\n"
        << ".br\n"
        << bold("faxgw") << " " << italic("COMMAND") << " " << bold("--help") << "\n"
        << ".br\n"
        << bold("faxgw --version") << "\n"
        << ".SH DESCRIPTION\n"
        << roff(app.get_description()) << ".\n"
        << "One program with a command for each part of the gateway: an MTA hands it "
           "mails (\\fBsubmit\\fR, \\fBmilter\\fR), \\fBpoll\\fR reads IMAP mailboxes, "
           "\\fBrun\\fR is the daemon that sends and receives the faxes, and the others "
           "look at the queue and the configuration.\n"
        << ".PP\n"
        << "Each command reads the configuration file given with \\fB\\-\\-config\\fR "
           "(built-in defaults without one) and works on the state folder of "
           "\\fB\\-\\-var\\fR or \\fBpaths.var\\fR. \\fB\\-\\-help\\fR after a command prints "
           "its part of this page.\n"
        << ".SH COMMANDS\n";
    std::vector<const CLI::App*> commands;
    collect_commands(&app, commands);
    for (const CLI::App* cmd : commands) write_command(out, cmd);
    out << ".SH EXIT STATUS\n"
        << "The codes of \\fBsysexits\\fR(3), as each command above lists them; 64 for "
           "a command line that cannot be parsed.\n"
        << files_section;
    return out.str();
}

std::string manual_page_config() {
    std::ostringstream out;
    out << ".TH FAXGW.TOML 5 \"\" \"faxgw " FAXGW_VERSION "\" \"File Formats Manual\"\n"
        << ".SH NAME\nfaxgw.toml \\- configuration of the faxgw fax gateway\n"
        << ".SH SYNOPSIS\n.I /etc/faxgw/faxgw.toml\n"
        << ".SH DESCRIPTION\n"
           "The settings of \\fBfaxgw\\fR(8), in TOML. Every key has a built\\-in default, "
           "so a file needs only the keys it changes. A key faxgw does not know is "
           "warned about and ignored; a value of the wrong type or out of its range "
           "is an error that names the file, line and column.\n"
           ".PP\n"
           "\\fBfaxgw config \\-\\-check \\-\\-config\\fR \\fIFILE\\fR checks a file "
           "without starting anything; \\fBfaxgw config \\-\\-sample\\fR prints every key "
           "below with its default and documentation, as a file to start from. Relative "
           "paths are taken below the state folder, \\fBpaths.var\\fR.\n"
           ".PP\n"
           "The service reads the configuration again on SIGHUP "
           "(\\fBsystemctl reload faxgw\\fR).\n"
        << ".SH KEYS\n";
    std::string section;
    for (const auto& k : key_docs()) {
        if (k.section != section) {
            section = k.section;
            out << ".SS \"" << roff(key_heading(k)) << "\"\n";
        }
        out << ".TP\n" << bold(k.section + "." + k.name) << "\n";
        for (const auto& line : lines_of(k.doc)) out << roff(line) << "\n";
        if (!k.range.empty()) out << "Range: " << roff(k.range) << ".\n";
        const auto defaults = lines_of(k.default_toml);
        if (defaults.size() == 1 && defaults.front().size() <= 50) {
            out << ".br\nDefault: \\f(CR" << roff(defaults.front()) << "\\fR\n";
        } else {
            out << ".br\nDefault:\n.RS\n.nf\n\\f(CR";
            for (const auto& line : defaults) out << roff(line) << "\n";
            out << "\\fR\n.fi\n.RE\n";
        }
    }
    out << ".SH SEE ALSO\n\\fBfaxgw\\fR(8)\n";
    return out.str();
}

CLI::App* add_manual_command(CLI::App& app, int& exit_code) {
    // For the build, which installs the pages: no group, so hidden.
    auto* cmd = app.add_subcommand("manual", "Write a manual page (faxgw.8 or faxgw.toml.5)");
    cmd->group("");
    auto page = std::make_shared<std::string>();
    auto file = std::make_shared<std::string>();
    cmd->add_option("page", *page, "faxgw.8 or faxgw.toml.5")
        ->required()
        ->check(CLI::IsMember({"faxgw.8", "faxgw.toml.5"}));
    cmd->add_option("-o,--output", *file, "File to write")->required();
    cmd->callback([&app, page, file, &exit_code] {
        const std::string text =
            *page == "faxgw.8" ? manual_page_commands(app) : manual_page_config();
        std::ofstream out(*file, std::ios::binary | std::ios::trunc);
        out << text;
        out.close();
        if (!out) {
            std::cerr << "faxgw manual: cannot write " << *file << "\n";
            exit_code = EX_CANTCREAT;
        }
    });
    return cmd;
}

}  // namespace faxgw
