#!/bin/bash
# Usage: check_manual.sh FAXGW MAN_DIR
# The manual pages the build wrote (MAN_DIR/man8/faxgw.8 and
# MAN_DIR/man5/faxgw.toml.5) against what the program itself says:
#  - groff and man render both pages without a warning;
#  - every command `faxgw --help` lists (and their subcommands) has a
#    section in faxgw(8) that names each option and argument its own
#    `--help` lists, and has the manual text (an EXIT STATUS) in `--help`
#    and on the page;
#  - every key `faxgw config --sample` prints is in faxgw.toml(5).
# The pages are read as man renders them, so a name that roff would eat
# (an unescaped line starting with '.') counts as missing.
# Lists of names are split into words on purpose.
# shellcheck disable=SC2086,SC2046
set -euo pipefail
faxgw=$1 man=$2
page8=$man/man8/faxgw.8 page5=$man/man5/faxgw.toml.5
failures=0 checked=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

for page in "$page8" "$page5"; do
    warnings=$( { groff -man -Tutf8 -ww -z "$page"; } 2>&1)
    [ -z "$warnings" ] || fail "groff warns on $page: $warnings"
    warnings=$( { MANWIDTH=80 man --warnings -l "$page" >/dev/null; } 2>&1)
    [ -z "$warnings" ] || fail "man warns on $page: $warnings"
done
text8=$(MANWIDTH=100 man -l "$page8")
text5=$(MANWIDTH=100 man -l "$page5")

# The entries of a --help section ("Subcommands:", "Options:",
# "Positionals:"): the first word of each line indented by two spaces.
entries() {
    awk -v section="$1" '
        /^[A-Z][A-Za-z]*:$/ { inside = ($0 == section) ; next }
        /^$/ { inside = 0 }
        inside && /^  [^ ]/ { print $1 }'
}

# The text of one command's section of faxgw(8): from its heading to the
# next command's heading or the next section.
section_of() {
    awk -v heading="   faxgw $1" '
        $0 == heading { inside = 1; next }
        inside && (/^   faxgw / || /^[A-Z]/) { exit }
        inside { print }' <<<"$text8"
}

check_command() {
    local command=$1 help subs section name
    help=$($faxgw $command --help)
    subs=$(entries "Subcommands:" <<<"$help")
    if [ -n "$subs" ]; then
        for name in $subs; do check_command "$command $name"; done
        return
    fi
    section=$(section_of "$command")
    if [ -z "$section" ]; then
        fail "faxgw(8) has no section \"faxgw $command\""
        return
    fi
    grep -q "^EXIT STATUS" <<<"$help" || fail "faxgw $command --help shows no EXIT STATUS"
    grep -q -E "Exit +status" <<<"$section" || fail "faxgw(8): faxgw $command has no exit status"
    for name in $(entries "Options:" <<<"$help" | tr ',' ' '); do
        [ "$name" = -h ] || [ "$name" = --help ] && continue
        checked=$((checked + 1))
        # The option's own entry: "-o, --output FILE" at the entries' indent.
        grep -q -E -e "^       ([-a-zA-Z0-9]+, )*$name(,| |\$)" <<<"$section" ||
            fail "faxgw(8): faxgw $command lacks option $name"
    done
    for name in $(entries "Positionals:" <<<"$help"); do
        checked=$((checked + 1))
        grep -q -E -e "^       ${name^^}( |$)" <<<"$section" ||
            fail "faxgw(8): faxgw $command lacks argument ${name^^}"
    done
}

commands=$(entries "Subcommands:" <<<"$($faxgw --help)")
[ -n "$commands" ] || fail "faxgw --help lists no commands"
for command in $commands; do check_command "$command"; done
echo "faxgw(8): $(wc -w <<<"$commands") commands, $checked options and arguments"

keys=$($faxgw config --sample | awk '
    /^\[[a-z_.]+\]$/ { section = substr($0, 2, length($0) - 2); next }
    /^[a-z_0-9]+ = / { print section "." $1 }')
[ -n "$keys" ] || fail "faxgw config --sample prints no keys"
for key in $keys; do
    grep -q -F -x -e "       $key" <<<"$text5" || fail "faxgw.toml(5) lacks the key $key"
done
echo "faxgw.toml(5): $(wc -w <<<"$keys") keys"

[ "$failures" -eq 0 ] || { echo "$failures failures"; exit 1; }
echo "the pages name every command, option and key"
