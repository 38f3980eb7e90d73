#!/bin/sh
# Usage: check_units.sh FAXGW UNIT_DIR MAN_DIR
# `systemd-analyze verify` on each unit of UNIT_DIR, as installed but for
# one thing: the units name /usr/bin/faxgw, which systemd-analyze requires
# to exist, so each is verified as a copy whose ExecStart names FAXGW (the
# built binary) instead. Documentation=man:... is looked up in MAN_DIR, the
# pages of this build. Fails on any message: systemd-analyze exits 0 on an
# unknown or misspelt option, with a warning only.
set -eu
faxgw=$1 units=$2 man=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
found=0
for unit in "$units"/*.service; do
    found=$((found + 1))
    name=$(basename "$unit")
    grep -q '^ExecStart=/usr/bin/faxgw ' "$unit" || {
        echo "$name: ExecStart does not run /usr/bin/faxgw"
        status=1
    }
    sed "s|/usr/bin/faxgw|$faxgw|g" "$unit" >"$work/$name"
    if ! MANPATH=$man systemd-analyze verify "$work/$name" >"$work/out" 2>&1 || [ -s "$work/out" ]; then
        echo "$name: systemd-analyze verify:"
        cat "$work/out"
        status=1
    else
        echo "$name: verified"
    fi
done
[ "$found" -ge 3 ] || { echo "expected 3 units in $units, found $found"; status=1; }
exit $status
