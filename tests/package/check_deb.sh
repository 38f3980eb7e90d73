#!/bin/bash
# Usage: check_deb.sh BUILD_DIR
# Builds the Debian package from the build (cpack, as `make package` does)
# and installs it on this machine as an admin would. Then it checks:
#  - the faxgw user and group exist, and /var/lib/faxgw is theirs, 0750;
#  - /etc/faxgw/faxgw.toml is a conffile, root:faxgw 0640, and it checks;
#  - the man pages and units are where man and systemd look;
#  - the demo runs as installed, as the faxgw user, from /, rendering in
#    its sandbox;
#  - `dpkg --remove` keeps the state and the user, and `dpkg --purge`
#    leaves nothing of the package behind.
# Needs root: exits 77 (skipped) without it, and also when a faxgw package
# is installed already (an admin's install is not this test's to remove).
# Whatever happens, the package is purged again on exit.
set -euo pipefail
build=$1
if [ "$(id -u)" -ne 0 ]; then
    echo "skipped: installing a package needs root"
    exit 77
fi
if dpkg-query -W -f='${Status}' faxgw 2>/dev/null | grep -q -v "not-installed"; then
    echo "skipped: a faxgw package is installed on this machine already"
    exit 77
fi
if getent passwd faxgw >/dev/null || [ -e /var/lib/faxgw ] || [ -e /etc/faxgw ]; then
    echo "skipped: this machine has a faxgw user, /var/lib/faxgw or /etc/faxgw already"
    exit 77
fi

work=$(mktemp -d)
installed=no
cleanup() {
    if [ "$installed" = yes ]; then dpkg --purge faxgw >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
expect() {  # expect WHAT ACTUAL WANTED
    [ "$2" = "$3" ] || fail "$1 is '$2', expected '$3'"
}

echo "== cpack"
cpack --config "$build/CPackConfig.cmake" -B "$work/package" >"$work/cpack.log" 2>&1 || {
    cat "$work/cpack.log"
    exit 1
}
deb=$(ls "$work"/package/faxgw_*.deb)
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'

echo "== dpkg -i"
installed=yes
dpkg -i "$deb"
expect "the binary" "$(command -v faxgw)" /usr/bin/faxgw
[ -x /usr/libexec/faxgw/faxgwd ] || fail "/usr/libexec/faxgw/faxgwd (faxgw run, milter, poll, demo) is missing"
expect "the faxgw user's group" "$(id -gn faxgw)" faxgw
expect "the faxgw user's shell" "$(getent passwd faxgw | cut -d: -f7)" /usr/sbin/nologin
expect "/var/lib/faxgw" "$(stat -c '%U:%G %a' /var/lib/faxgw)" "faxgw:faxgw 750"
expect "/etc/faxgw/faxgw.toml" "$(stat -c '%U:%G %a' /etc/faxgw/faxgw.toml)" "root:faxgw 640"
dpkg-query -W -f='${Conffiles}\n' faxgw | grep -q '^ /etc/faxgw/faxgw.toml ' ||
    fail "/etc/faxgw/faxgw.toml is not a conffile"
# Minimal images (Docker's) tell dpkg to leave out every manual page.
if grep -qs '^path-exclude[= ]*/usr/share/man/' /etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d/*; then
    echo "(dpkg leaves out manual pages on this machine: not looked for)"
else
    expect "man faxgw" "$(man -w faxgw)" /usr/share/man/man8/faxgw.8.gz
    expect "man faxgw.toml" "$(man -w 5 faxgw.toml)" /usr/share/man/man5/faxgw.toml.5.gz
fi
for unit in faxgw.service faxgw-milter.service faxgw-poll.service; do
    out=$(systemd-analyze verify "/usr/lib/systemd/system/$unit" 2>&1) ||
        fail "systemd-analyze verify $unit: $out"
    [ -z "$out" ] || fail "systemd-analyze verify $unit: $out"
done

echo "== faxgw config --check"
out=$(faxgw config --check --config /etc/faxgw/faxgw.toml) || fail "config --check failed"
echo "$out"
expect "config --check" "$out" "configuration is valid; state folder /var/lib/faxgw"
# The service's user reads its configuration.
runuser -u faxgw -- faxgw config --check --config /etc/faxgw/faxgw.toml >/dev/null ||
    fail "the faxgw user cannot read /etc/faxgw/faxgw.toml"

# The renderers isolate themselves in user namespaces; where unprivileged
# users get none (a container's seccomp filter), only root can render.
user=faxgw
if ! runuser -u faxgw -- unshare --user true 2>/dev/null; then
    echo "(no user namespaces for unprivileged users here: the demo runs as root)"
    user=root
fi
echo "== faxgw demo, as the $user user, from /"
mkdir "$work/tmp"
chown $user:$user "$work/tmp"
chmod 755 "$work"
status=0
(cd / && runuser -u $user -- env TMPDIR="$work/tmp" faxgw demo) >"$work/demo.out" 2>&1 || status=$?
cat "$work/demo.out"
expect "the demo's exit status" "$status" 0
# Each sample mail was taken (exit 0: rendered in the sandbox and queued),
# but the one whose sender the rules refuse (77).
taken=$(grep -c '\.eml *exit 0 ' "$work/demo.out" || true)
samples=$(find /usr/share/faxgw/samples/mail -name "*.eml" | wc -l)
expect "sample mails queued" "$taken" "$((samples - 1))"
grep -q '^ *refused-sender\.eml *exit 77 ' "$work/demo.out" || fail "refused-sender.eml was not refused"
state=$(sed -n 's/^Call log: \(.*\)\/demo\.log;.*/\1/p' "$work/demo.out")
case "$state" in
"$work"/tmp/faxgw-demo-*) ;;
*) fail "the demo's state folder '$state' is not a new one in \$TMPDIR" ;;
esac
[ -z "$state" ] || expect "the demo's state folder's owner" "$(stat -c %U "$state")" $user
ls "$state"/remote/*/*.tif >/dev/null 2>&1 || fail "no pages reached the far-end fax machines"

echo "== dpkg --remove"
dpkg --remove faxgw
[ ! -e /usr/bin/faxgw ] || fail "/usr/bin/faxgw is still there after removal"
[ ! -e /usr/libexec/faxgw ] || fail "/usr/libexec/faxgw is still there after removal"
[ -d /var/lib/faxgw ] || fail "removal took the state folder (only a purge may)"
getent passwd faxgw >/dev/null || fail "removal took the faxgw user (only a purge may)"
[ -e /etc/faxgw/faxgw.toml ] || fail "removal took the configuration (only a purge may)"

echo "== dpkg --purge"
dpkg --purge faxgw
installed=no
status=$(dpkg-query -W -f='${Status}' faxgw 2>/dev/null || true)
case "$status" in
"" | *not-installed) ;;
*) fail "after the purge dpkg says the package is '$status'" ;;
esac
for path in /var/lib/faxgw /etc/faxgw /usr/share/faxgw /usr/share/doc/faxgw \
    /usr/lib/systemd/system/faxgw.service /usr/share/man/man8/faxgw.8.gz; do
    [ ! -e "$path" ] || fail "$path is left after the purge"
done
! getent passwd faxgw >/dev/null || fail "the faxgw user is left after the purge"
! getent group faxgw >/dev/null || fail "the faxgw group is left after the purge"

[ "$failures" -eq 0 ] || { echo "$failures failures"; exit 1; }
echo "installed, used and purged cleanly"
