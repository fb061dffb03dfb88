#!/bin/bash
# fuse-floor.sh - how close php_like can get to a local directory through FUSE at all on this
#   machine: the same warm include loop (wpb-tool phplike, ROUNDS x open+read+close of every
#   .php under wp-includes and wp-admin) run against
#     local    a local directory holding the WordPress tree;
#     floor    libfuse's own example file system passthrough_ll (Debian's libfuse3-dev ships its
#              source) mounted over that same directory, built so that every include costs what
#              it costs on shoal - one OPEN waited for, one RELEASE not waited for, nothing else:
#              cache=always (names, attributes and pages kept by the kernel) and its open() made
#              to set noflush as shoal's read-only opens do;
#     shoal    MOUNTDIR, if given (a mounted shoal volume, e.g. from shoal-up.sh).
#   Interleaved, REPS times each; prints each system's median and its ratio to local. The floor
#   is no file system worth using: it shows what the kernel's FUSE round trip alone costs here.
#
#   usage: bench/fuse-floor.sh [--reps N] [--rounds N] [SHOAL_MOUNTDIR]
#   Runs as root; needs libfuse3-dev, gcc (scripts/install-deps.sh installs both). Leaves
#   nothing mounted or running; its files live under $SHB_BASE/floor.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root

REPS=7 ROUNDS=10 SHOAL_DIR=""
while [ $# -gt 0 ]; do
    case $1 in
        --reps) REPS=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) SHOAL_DIR=$(realpath "$1"); shift ;;
    esac
done
[[ $REPS =~ ^[1-9][0-9]*$ && $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--reps and --rounds take a positive number"
[ -z "$SHOAL_DIR" ] || mountpoint -q "$SHOAL_DIR" || die "$SHOAL_DIR is not a mount point"
EXAMPLES=/usr/share/doc/libfuse3-dev/examples
[ -f "$EXAMPLES/passthrough_ll.c" ] || die "no $EXAMPLES/passthrough_ll.c: apt-get install libfuse3-dev"
command -v gcc > /dev/null || die "missing gcc"

BASE=$SHB_BASE/floor
MNT=$SHB_MNT/floor
mountpoint -q "$MNT" && die "$MNT is mounted - a previous run did not finish; umount it first"
rm -rf "$BASE"
mkdir -p "$BASE/build" "$BASE/local" "$MNT"
PIDFILE=$BASE/floor.pid
cleanup() {
    unmount_and_reap "$MNT" "$PIDFILE"
    [ -n "$SHOAL_DIR" ] && rm -rf "$SHOAL_DIR/floor-wp"
    rm -rf "$BASE"
}
trap cleanup EXIT

# The example as Debian ships it, with its open() also setting noflush (as shoal does for a
# read-only open): without that its close(2) would wait for a FLUSH that shoal does not send.
cp "$EXAMPLES/passthrough_ll.c" "$EXAMPLES/passthrough_helpers.h" "$BASE/build/"
sed -i -e '/#include "config.h"/d' \
    -e 's/^\(\t*\)fi->keep_cache = 1;/\1{ fi->keep_cache = 1; fi->noflush = 1; }/' "$BASE/build/passthrough_ll.c"
grep -q 'fi->noflush = 1' "$BASE/build/passthrough_ll.c" || die "passthrough_ll.c changed shape: cannot set noflush"
gcc -O2 -Wall -o "$BASE/build/passthrough_ll" "$BASE/build/passthrough_ll.c" $(pkg-config --cflags --libs fuse3) \
    || die "cannot build passthrough_ll"
TOOL=$BASE/build/wpb-tool
gcc -O2 -Wall -o "$TOOL" "$BENCH_DIR/wpb-tool.c" || die "cannot build wpb-tool"

prepare_wordpress
log "copying WordPress to the local directory${SHOAL_DIR:+ and to $SHOAL_DIR}"
cp -a "$WP_SRC" "$BASE/local/wp"
[ -n "$SHOAL_DIR" ] && { rm -rf "$SHOAL_DIR/floor-wp"; cp -a "$WP_SRC" "$SHOAL_DIR/floor-wp"; }
"$BASE/build/passthrough_ll" -o "source=$BASE/local,cache=always,timeout=86400" "$MNT"
fuse_client_pid "$MNT" > "$PIDFILE" || die "passthrough_ll did not mount $MNT"

# list SYSTEM -> the include list of that system's copy
list() {
    local root
    case $1 in
        local) root=$BASE/local/wp ;;
        floor) root=$MNT/wp ;;
        shoal) root=$SHOAL_DIR/floor-wp ;;
    esac
    (cd "$WP_SRC" && find wp-includes wp-admin -type f -name '*.php' | sort) | sed "s|^|$root/|" > "$BASE/list-$1"
    echo "$BASE/list-$1"
}
SYSTEMS="local floor${SHOAL_DIR:+ shoal}"
for s in $SYSTEMS; do "$TOOL" phplike "$(list "$s")" 1 > /dev/null; done  # warm every cache once

log "php_like: $ROUNDS rounds x $(wc -l < "$BASE/list-local") includes, $REPS times per system, interleaved"
for r in $(seq "$REPS"); do
    for s in $SYSTEMS; do
        t0=$(date +%s%N)
        "$TOOL" phplike "$BASE/list-$s" "$ROUNDS" > /dev/null
        echo "$s $(( ($(date +%s%N) - t0) / 1000 ))" >> "$BASE/times"
    done
done
N=$(wc -l < "$BASE/list-local")
# median SYSTEM -> that system's median time in microseconds
median() { local v; mapfile -t v < <(awk -v s="$1" '$1 == s { print $2 }' "$BASE/times" | sort -n); echo "${v[$(( (${#v[@]} - 1) / 2 ))]}"; }
LOCAL_US=$(median local)
printf '%-6s %10s %10s %8s\n' system median_ms opens/s x_local
for s in $SYSTEMS; do
    us=$(median "$s")
    awk -v s="$s" -v us="$us" -v l="$LOCAL_US" -v ops=$((N * ROUNDS)) \
        'BEGIN { printf "%-6s %10.1f %10.0f %7.2fx\n", s, us / 1000, ops / (us / 1e6), us / l }'
done
