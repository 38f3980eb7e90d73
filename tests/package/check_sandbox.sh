#!/bin/bash
# Usage: check_sandbox.sh FAXGW UNIT SAMPLES
# Whether documents still render inside the sandbox of the systemd UNIT
# (conf/systemd/faxgw.service), on this machine's kernel, without systemd
# as process 1. It renders text (faxgw's own renderer, which isolates itself
# in namespaces: render/src/isolate.cc), EPS (Ghostscript), HTML
# (WeasyPrint) and a Word document (LibreOffice), the last three under
# bubblewrap, with `faxgw render`, the code every command renders with.
# Then it runs `faxgw demo`: the gateway's own work (queue, lines, mail)
# on the sample mails. Both run
#  - in the mounts systemd makes for the unit's settings, made the way it
#    makes them: a recursive bind of / moved over / and entered with
#    chroot (ProtectSystem=, ReadWritePaths=, PrivateTmp=, ProtectHome=,
#    PrivateDevices=, ProtectProc=, ProcSubset=, ProtectKernelTunables=,
#    ProtectKernelModules=, ProtectControlGroups=, ProtectKernelLogs=,
#    ProtectHostname=);
#  - as an unprivileged user, with the unit's NoNewPrivileges= and
#    CapabilityBoundingSet=;
#  - under strace. SystemCallFilter=, RestrictNamespaces=,
#    RestrictAddressFamilies= and MemoryDenyWriteExecute= are seccomp
#    filters, which only systemd installs. So every system call, namespace,
#    socket family and writable-and-executable mapping in the trace must be
#    one that the unit's setting lets through.
# This is systemd's set-up redone by hand, not systemd itself (it is not
# process 1 here): a unit option that it does not know is named, and the
# test still runs.
# Needs root (mounts, another user): exits 77 (skipped) without it.
# Lists of names are split into words on purpose.
# shellcheck disable=SC2086,SC2046
set -euo pipefail
faxgw=$1 unit=$2 docs=$3/docs mails=$3/mail
if [ "$(id -u)" -ne 0 ]; then
    echo "skipped: the sandbox's mounts need root"
    exit 77
fi
for tool in strace setpriv unshare systemd-analyze; do
    command -v $tool >/dev/null || { echo "skipped: no $tool"; exit 77; }
done

if ! setpriv --reuid=nobody --regid=nogroup --clear-groups unshare --user true 2>/dev/null; then
    echo "skipped: this machine gives no user namespaces to unprivileged users, so the"
    echo "renderers of a service that runs as one cannot isolate themselves here"
    exit 77
fi

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
# The unit's value of a setting (its last line), or "".
setting() { sed -n "s/^$1=//p" "$unit" | tail -1; }
# The sandboxing settings emulated below; others are named, not emulated.
emulated="ProtectSystem ReadWritePaths PrivateTmp ProtectHome PrivateDevices ProtectProc ProcSubset
ProtectKernelTunables ProtectKernelModules ProtectControlGroups ProtectKernelLogs ProtectHostname User Group
NoNewPrivileges CapabilityBoundingSet SystemCallFilter SystemCallErrorNumber
SystemCallArchitectures RestrictNamespaces RestrictAddressFamilies MemoryDenyWriteExecute"
for name in $(sed -n 's/^\(Protect[A-Za-z]*\|Private[A-Za-z]*\|Restrict[A-Za-z]*\|Proc[A-Za-z]*\|MemoryDeny[A-Za-z]*\)=.*/\1/p' "$unit"); do
    grep -qw "$name" <<<"$emulated" || echo "note: $name= is not emulated here"
done
[ "$(setting ProtectSystem)" = strict ] || fail "the emulation knows ProtectSystem=strict only"

# The writable folder (the unit's ReadWritePaths=, whose user need not
# exist here) is in /run: /tmp and /var/tmp get private mounts, and
# /home and /root may be hidden.
work=$(mktemp -d -p /run faxgw-sandbox.XXXXXX)
# The new root holds a bind of / only inside the namespace of enter.sh; if
# it were ever visible here, removing it would remove the system.
cleanup() {
    if mountpoint -q "$work/root" 2>/dev/null; then
        echo "left $work in place: $work/root is still mounted"
    else
        rm -rf --one-file-system "$work"
    fi
}
trap cleanup EXIT
# faxgwd beside it: `faxgw demo` is one of its commands.
cp "$faxgw" "$work/faxgw"
cp "$(dirname "$faxgw")/faxgwd" "$work/faxgwd"
cp "$docs/hello.txt" "$docs/figure.eps" "$docs/mail.html" "$docs/letter.docx" "$work/"
mkdir "$work/mail"
cp "$mails"/*.eml "$work/mail/"
chmod 0777 "$work"

cat >"$work/enter.sh" <<'INNER'
#!/bin/sh
# In a mount and UTS namespace of its own, as root: the unit's mounts, then
# the renderer as nobody, traced. The settings come in the environment.
set -eu
work=$1
new=$work/root
if [ -z "$outer_namespace" ] || [ "$(readlink /proc/self/ns/mnt)" = "$outer_namespace" ]; then
    echo "enter.sh: not in a mount namespace of its own" >&2
    exit 1
fi
mkdir "$new"
mount --make-rprivate /
mount --rbind / "$new"
# ProtectSystem=strict: every mount read-only but /proc, /dev and /sys.
awk '{ print $5 }' /proc/self/mountinfo | grep "^$new" | sort | while read -r m; do
    case "$m" in "$new/proc" | "$new/proc/"* | "$new/dev" | "$new/dev/"* | "$new/sys" | "$new/sys/"*) continue ;; esac
    mount -o remount,bind,ro "$m" 2>/dev/null || true
done
mount --bind "$work" "$new$work" # ReadWritePaths=
if [ "$PrivateTmp" = yes ]; then
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$new/tmp"
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$new/var/tmp"
fi
if [ "$ProtectHome" = yes ]; then
    for d in /home /root /run/user; do
        [ -d "$new$d" ] && mount -t tmpfs -o ro,mode=000 tmpfs "$new$d"
    done
fi
if [ "$PrivateDevices" = yes ]; then
    mount -t tmpfs -o mode=755,nosuid,noexec tmpfs "$new/dev"
    for d in null zero full random urandom tty; do
        touch "$new/dev/$d"
        mount --bind "/dev/$d" "$new/dev/$d"
    done
    mkdir "$new/dev/pts" "$new/dev/shm"
    mount --bind /dev/pts "$new/dev/pts"
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$new/dev/shm"
fi
# ProtectProc= and ProcSubset=: a /proc of its own with those options.
options=""
[ -n "$ProtectProc" ] && [ "$ProtectProc" != default ] && options="hidepid=$ProtectProc"
[ "$ProcSubset" = pid ] && options="${options:+$options,}subset=pid"
[ -n "$options" ] && mount -t proc -o "nosuid,nodev,noexec,$options" proc "$new/proc"
if [ "$ProtectKernelTunables" = yes ]; then
    if [ -d "$new/proc/sys" ]; then
        mount --bind "$new/proc/sys" "$new/proc/sys"
        mount -o remount,bind,ro "$new/proc/sys"
    fi
    mount -o remount,bind,ro "$new/sys"
fi
if [ "$ProtectControlGroups" = yes ] && [ -d "$new/sys/fs/cgroup" ]; then
    mount --bind "$new/sys/fs/cgroup" "$new/sys/fs/cgroup"
    mount -o remount,bind,ro "$new/sys/fs/cgroup"
fi
if [ "$ProtectKernelModules" = yes ] && [ -d "$new/usr/lib/modules" ]; then
    mount -t tmpfs -o ro,mode=000 tmpfs "$new/usr/lib/modules"
fi
if [ "$ProtectKernelLogs" = yes ] && [ -e "$new/proc/kmsg" ]; then
    touch "$work/inaccessible"
    chmod 000 "$work/inaccessible"
    mount --bind "$work/inaccessible" "$new/proc/kmsg"
fi
privileges=""
[ "$NoNewPrivileges" = yes ] && privileges="--no-new-privs"
[ "$CapabilityBoundingSet" = "" ] && privileges="$privileges --bounding-set=-all --inh-caps=-all"
cd "$new"
mount --move . /
# shellcheck disable=SC2086
exec chroot . strace -f -qq -o "$work/trace" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups $privileges -- \
    env TMPDIR=/tmp sh -c '"$1/faxgw" render "$1/hello.txt" "$1/figure.eps" "$1/mail.html" \
        "$1/letter.docx" -o "$1/out.tif" && "$1/faxgw" demo --var "$1/var" --samples "$1/mail"' \
    sh "$work"
INNER
chmod 755 "$work/enter.sh"

echo "== faxgw render in the sandbox of $(basename "$unit")"
for name in PrivateTmp ProtectHome PrivateDevices ProtectProc ProcSubset ProtectKernelTunables \
    ProtectKernelModules ProtectControlGroups ProtectKernelLogs NoNewPrivileges CapabilityBoundingSet; do
    export "$name=$(setting $name)"
done
grep -q '^CapabilityBoundingSet=' "$unit" || export CapabilityBoundingSet=unset
export outer_namespace
outer_namespace=$(readlink /proc/self/ns/mnt)
status=0
unshare --mount --uts --propagation private "$work/enter.sh" "$work" >"$work/out" 2>&1 || status=$?
cat "$work/out"
[ "$status" -eq 0 ] || fail "faxgw render or faxgw demo exited $status in the sandbox"
grep -q "out.tif: 5 page(s)" "$work/out" || fail "the documents were not rendered (5 pages)"
grep -q "^Every job to its end" "$work/out" || fail "the demo did not run its jobs"
for program in /usr/bin/bwrap /usr/bin/gs /usr/bin/python3 /usr/lib/libreoffice/program/soffice.bin; do
    grep -q "^[0-9]* *execve(\"$program\"" "$work/trace" || fail "$program did not run"
done

# SystemCallFilter=: every group expanded, recursively.
expand() {
    local item
    for item in "$@"; do
        case "$item" in
        @*) expand $(systemd-analyze syscall-filter "$item" | sed -n "s/^    \([-@a-z0-9_]*\)$/\1/p") ;;
        *) echo "$item" ;;
        esac
    done
}
filter=$(setting SystemCallFilter)
[ -n "$filter" ] || fail "$unit has no SystemCallFilter="
allowed=$(expand $filter | sort -u)
used=$(sed -n 's/^[0-9]* *\([a-z0-9_]*\)(.*/\1/p' "$work/trace" | sort -u)
refused=$(grep -v -x -F -f <(echo "$allowed") <<<"$used" || true)
if [ -n "$refused" ]; then
    fail "SystemCallFilter=$filter refuses calls the renderers make:" $refused
else
    echo "system calls made: $(wc -w <<<"$used"), all in SystemCallFilter=$filter"
fi

# RestrictNamespaces=: the CLONE_NEW* flags of unshare and clone.
namespaces=$(grep -o 'CLONE_NEW[A-Z]*' "$work/trace" | sort -u | sed 's/CLONE_NEW//' |
    tr 'A-Z' 'a-z' | sed 's/^ns$/mnt/')
restrict=$(setting RestrictNamespaces)
for ns in $namespaces; do
    case " $restrict " in
    *" $ns "* | "  " | " no ") ;;
    *) fail "RestrictNamespaces=$restrict refuses the $ns namespace" ;;
    esac
done
echo "namespaces made: $(echo $namespaces); RestrictNamespaces=$restrict"

# RestrictAddressFamilies=: the families of socket().
families=$(sed -n 's/^[0-9]* *socket(\(AF_[A-Z0-9]*\),.*/\1/p' "$work/trace" | sort -u)
restrict=$(setting RestrictAddressFamilies)
for family in $families; do
    grep -qw "$family" <<<"$restrict" || fail "RestrictAddressFamilies=$restrict refuses $family"
done
echo "socket families: $(echo $families); RestrictAddressFamilies=$restrict"

# MemoryDenyWriteExecute=: no mapping may be made writable and executable.
wx=$(grep -E '^[0-9]* *(mmap|mprotect|pkey_mprotect)\(.*PROT_WRITE\|PROT_EXEC' "$work/trace" || true)
if [ -n "$wx" ]; then
    [ "$(setting MemoryDenyWriteExecute)" != yes ] ||
        fail "MemoryDenyWriteExecute=yes refuses what the renderers map:" "$(head -3 <<<"$wx")"
    echo "writable and executable mappings: $(wc -l <<<"$wx") (so no MemoryDenyWriteExecute=)"
fi

[ "$failures" -eq 0 ] || { echo "$failures failures"; exit 1; }
echo "the renderers work in the unit's sandbox"
