// faxgw's manual pages, written from the sources `--help` and
// `faxgw config --sample` print, so that the three cannot say different
// things:
//  - faxgw(8) from the command line itself (CLI11): each subcommand's
//    description, its options with their help and defaults, and its footer;
//  - faxgw.toml(5) from the key table of config.cc (key_docs()).
// The build writes both with the hidden `faxgw manual PAGE -o FILE`.
//
// A subcommand's footer is its manual text, the way a man page is laid
// out: a heading in capitals at the start of a line (DESCRIPTION, EXIT
// STATUS, SEE ALSO ...), its text below, indented by four spaces. A line
// indented further is kept as it is written (an example, a table).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace faxgw {

// The page faxgw(8): every visible subcommand of `app`, each with its
// options and its footer.
std::string manual_page_commands(const CLI::App& app);

// The page faxgw.toml(5): every configuration key with its default and
// documentation.
std::string manual_page_config();

}  // namespace faxgw
