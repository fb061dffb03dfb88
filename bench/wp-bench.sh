#!/bin/bash
# wp-bench.sh MOUNTDIR LABEL OUTDIR
#
# The "one WordPress site shared by several app servers" workload, against whatever filesystem
# is mounted at MOUNTDIR (nothing in here is specific to one filesystem). The same phases as the
# reference workload the project's GlusterFS/MooseFS anchors were measured with.
#
# Phases (each timed with CLOCK_MONOTONIC; "drop" = sync; echo 3 > /proc/sys/vm/drop_caches):
#   copy_in / copy_in_sync     cp -a of the WordPress tree into MOUNTDIR/wp (source pre-read);
#                              copy_in_sync = the same cp -a plus a global `sync` afterwards
#   stat_all_cold / _warm      drop; readdir-walk MOUNTDIR/wp, lstat() every entry by full path; again
#   read_all_cold / _warm      drop; open + read to EOF + close every file; again
#   php_like                   PHP_ROUNDS x open+read+close of every .php under wp-includes, wp-admin
#   ls_lR_cold / _warm         drop; LC_ALL=C ls -lR MOUNTDIR/wp >/dev/null; again
#   smallfile_create/_stat/_delete  SMALL_FILES files of SMALL_SIZE bytes in SMALL_DIRS dirs
#   fio_seqwrite/_seqread/_randread/_randwrite   one FIO_SIZE file, psync, iodepth 1, direct=0:
#                              1 MiB writes (end_fsync); drop; 1 MiB reads; drop; 4 KiB random
#                              reads for RAND_SECS; 4 KiB random writes for RAND_SECS (end_fsync)
#   backup_rsync               drop; rsync -a MOUNTDIR/wp/ to a local directory (BACKUP_BASE)
#   rm_rf                      rm -rf MOUNTDIR/wp
#
# Output, on stdout and in OUTDIR/phases.txt, one line per phase:
#   phase=<name> seconds=<s> rate=<x> unit=<u> [extra k=v ...] status=ok|FAILED(rc=N)
# plus, on stdout only, "start=<name> n=<i>/<total>" before each phase (for progress display).
# OUTDIR also gets summary.txt, the fio JSON files and the php list.
# A phase that fails or times out (PHASE_TIMEOUT s) is recorded as FAILED and the next phase
# runs; the script exits 0 once it has run all phases (it is a benchmark, not a test).
# Needs root (drop_caches), gcc, fio, rsync. Env knobs (defaults):
#   WP_SRC=/srv/wp-src/wordpress  BACKUP_BASE=/srv/shoal-bench/backup  PHP_ROUNDS=10
#   SMALL_FILES=10000  SMALL_DIRS=100  SMALL_SIZE=4096  FIO_SIZE=1g  RAND_SECS=20  PHASE_TIMEOUT=900
set -uo pipefail
. "$(dirname "$0")/lib.sh"

if [ $# -ne 3 ] || [ ! -d "$1" ]; then
    echo "usage: $0 MOUNTDIR LABEL OUTDIR   (MOUNTDIR must be an existing directory)" >&2
    exit 2
fi
need_root
for c in gcc fio rsync; do command -v $c >/dev/null || die "missing $c"; done
[ -d "$WP_SRC" ] || die "WP_SRC $WP_SRC missing (run.sh prepares it)"

MNT=$(realpath "$1")
LABEL=$2
OUT=$3
PHP_ROUNDS=${PHP_ROUNDS:-10}
SMALL_FILES=${SMALL_FILES:-10000}
SMALL_DIRS=${SMALL_DIRS:-100}
SMALL_SIZE=${SMALL_SIZE:-4096}
FIO_SIZE=${FIO_SIZE:-1g}
RAND_SECS=${RAND_SECS:-20}
PHASE_TIMEOUT=${PHASE_TIMEOUT:-900}
NPHASES=18

TOOL=/tmp/shoal-wpb-tool-$(md5sum < "$BENCH_DIR/wpb-tool.c" | cut -c1-12)
if [ ! -x "$TOOL" ]; then
    gcc -O2 -Wall -o "$TOOL.tmp.$$" "$BENCH_DIR/wpb-tool.c" && mv "$TOOL.tmp.$$" "$TOOL" || die "cannot build wpb-tool"
fi

mkdir -p "$OUT"
PH=$OUT/phases.txt
: > "$PH"
W=$MNT/wp
SMALLD=$MNT/wpbench-small
FIOD=$MNT/wpbench-fio
BK=$BACKUP_BASE/wp-$LABEL
N=0

now() { "$TOOL" now; }
drop() { timeout "$PHASE_TIMEOUT" sync; echo 3 > /proc/sys/vm/drop_caches; }
calc() { awk "BEGIN{printf \"%.${2:-3}f\", $1}"; }
rate() { awk "BEGIN{ if ($2 > 0) printf \"%.1f\", $1 / $2; else print \"NA\" }"; }  # count secs
kv() { echo "$LAST" | tr ' ' '\n' | sed -n "s/^$1=//p"; }   # key=value from $LAST
start() { N=$((N + 1)); echo "start=$1 n=$N/$NPHASES"; }

# timeit CMD... : run CMD under PHASE_TIMEOUT; sets DT (seconds), RC, LAST (its last stdout line)
timeit() {
    local t0 t1 tmp
    tmp=$(mktemp)
    t0=$(now)
    if declare -F "$1" >/dev/null; then
        "$@" > "$tmp"     # a function puts the timeout on its own command
    else
        timeout -k 10 "$PHASE_TIMEOUT" "$@" > "$tmp"
    fi
    RC=$?
    t1=$(now)
    LAST=$(tail -n 1 "$tmp")
    rm -f "$tmp"
    DT=$(calc "$t1 - $t0" 4)
}

# emit NAME SECONDS [RATE UNIT] [extra k=v ...]; status comes from RC
emit() {
    local name=$1 secs=$2 line
    shift 2
    line="phase=$name seconds=$secs"
    if [ $# -ge 2 ]; then line="$line rate=$1 unit=$2"; shift 2; fi
    [ $# -gt 0 ] && line="$line $*"
    case ${RC:-0} in
        0) line="$line status=ok" ;;
        124 | 137) line="$line status=FAILED(rc=$RC,timeout=${PHASE_TIMEOUT}s)" ;;
        *) line="$line status=FAILED(rc=$RC)" ;;
    esac
    echo "$line" | tee -a "$PH"
}

# ---------------------------------------------------------------- preparation (untimed)
for d in "$W" "$SMALLD" "$FIOD"; do
    [ -e "$d" ] && { warn "removing leftover $d"; rm -rf "$d"; }
done
read -r SRC_FILES SRC_DIRS SRC_BYTES < <(tree_stats "$WP_SRC" | sed 's/[a-z]*=//g' | awk '{print $1, $2, $4}')
SRC_MIB=$(calc "$SRC_BYTES/1048576" 2)
ENTRIES=$((SRC_FILES + SRC_DIRS))
PHPLIST=$OUT/php-list.txt
(cd "$WP_SRC" && find wp-includes wp-admin -type f -name '*.php' | sort) | sed "s|^|$W/|" > "$PHPLIST"
NPHP=$(wc -l < "$PHPLIST")
{
    echo "# wp-bench $LABEL  $(date -Is)"
    echo "mount=$MNT fstype=$(findmnt -n -o FSTYPE --target "$MNT") source=$(findmnt -n -o SOURCE --target "$MNT")"
    echo "wp_src=$WP_SRC files=$SRC_FILES dirs=$SRC_DIRS bytes=$SRC_BYTES php_list=$NPHP"
    echo "php_rounds=$PHP_ROUNDS small=${SMALL_FILES}x${SMALL_SIZE}B/${SMALL_DIRS}dirs fio_size=$FIO_SIZE rand_secs=$RAND_SECS"
    echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/summary.txt"

# pre-read the (local) source so copy_in measures the destination
tar cf - -C "$WP_SRC" . | cat > /dev/null

# ---------------------------------------------------------------- copy-in
start copy_in
t0=$(now)
timeout -k 10 "$PHASE_TIMEOUT" cp -a "$WP_SRC" "$W"
RC=$?
t1=$(now)
DT=$(calc "$t1 - $t0" 4)
emit copy_in "$DT" "$(rate "$SRC_FILES" "$DT")" files/s mib_s=$(calc "$SRC_MIB/$DT" 1)
start copy_in_sync
RC_CP=$RC
timeout "$PHASE_TIMEOUT" sync
RC=$((RC_CP ? RC_CP : $?))
t2=$(now)
DT=$(calc "$t2 - $t0" 4)
emit copy_in_sync "$DT" "$(rate "$SRC_FILES" "$DT")" files/s mib_s=$(calc "$SRC_MIB/$DT" 1)

# ---------------------------------------------------------------- stat-all, read-all
chk() { # compare the walker's counts with the source tree
    local f d b
    f=$(kv files); d=$(kv dirs); b=$(kv bytes)
    if [ "$f" = "$SRC_FILES" ] && [ "$d" = "$SRC_DIRS" ] && { [ -z "$b" ] || [ "$b" = "$SRC_BYTES" ]; }; then
        echo check=ok
    else
        echo "check=MISMATCH(files=$f,dirs=$d,bytes=$b)"
    fi
}
start stat_all_cold
drop
timeit "$TOOL" statall "$W"
emit stat_all_cold "$DT" "$(rate $ENTRIES "$DT")" stats/s "$(chk)"
start stat_all_warm
timeit "$TOOL" statall "$W"
emit stat_all_warm "$DT" "$(rate $ENTRIES "$DT")" stats/s "$(chk)"

start read_all_cold
drop
timeit "$TOOL" readall "$W"
emit read_all_cold "$DT" "$(calc "$SRC_MIB/$DT" 1)" MiB/s files_s=$(rate "$SRC_FILES" "$DT") "$(chk)"
start read_all_warm
timeit "$TOOL" readall "$W"
emit read_all_warm "$DT" "$(calc "$SRC_MIB/$DT" 1)" MiB/s files_s=$(rate "$SRC_FILES" "$DT") "$(chk)"

# ---------------------------------------------------------------- php-like (warm, right after read-all)
start php_like
timeit "$TOOL" phplike "$PHPLIST" "$PHP_ROUNDS"
emit php_like "$DT" "$(rate $((NPHP * PHP_ROUNDS)) "$DT")" opens/s files=$NPHP rounds=$PHP_ROUNDS \
    first_round_s=$(kv first_round_s) worst_round_s=$(kv worst_round_s)

# ---------------------------------------------------------------- ls -lR
start ls_lR_cold
drop
timeit env LC_ALL=C ls -lR "$W"
emit ls_lR_cold "$DT" "$(rate $ENTRIES "$DT")" entries/s
start ls_lR_warm
timeit env LC_ALL=C ls -lR "$W"
emit ls_lR_warm "$DT" "$(rate $ENTRIES "$DT")" entries/s

# ---------------------------------------------------------------- small files
start smallfile_create
timeit "$TOOL" mkfiles "$SMALLD" "$SMALL_FILES" "$SMALL_DIRS" "$SMALL_SIZE"
emit smallfile_create "$DT" "$(rate "$SMALL_FILES" "$DT")" ops/s
start smallfile_stat
timeit "$TOOL" statfiles "$SMALLD" "$SMALL_FILES" "$SMALL_DIRS"
emit smallfile_stat "$DT" "$(rate "$SMALL_FILES" "$DT")" ops/s
start smallfile_delete
timeit "$TOOL" rmfiles "$SMALLD" "$SMALL_FILES" "$SMALL_DIRS"
emit smallfile_delete "$DT" "$(rate "$SMALL_FILES" "$DT")" ops/s
[ -e "$SMALLD" ] && rm -rf "$SMALLD"

# ---------------------------------------------------------------- media files (fio)
mkdir -p "$FIOD"
FIOF=$FIOD/media.bin
# fiojob NAME RW BS EXTRA... (--thread: the job runs inside the fio process, so stopping fio stops it)
fiojob() {
    local name=$1 rw=$2 bs=$3
    shift 3
    timeout -k 10 "$PHASE_TIMEOUT" fio --name="$name" --filename="$FIOF" --size="$FIO_SIZE" --rw="$rw" --bs="$bs" \
        --ioengine=psync --iodepth=1 --direct=0 --numjobs=1 --thread "$@" \
        --output-format=json --output="$OUT/fio-$name.json" > /dev/null
}
# fioemit PHASE JOB DIR : MiB/s and IOPS from fio's JSON, and fio_runtime_s, fio's own runtime, to
# compare with the wall time (fio silently lays the file out again if it finds it missing or short)
fioemit() {
    local r
    r=$($PY - "$OUT/fio-$2.json" "$3" <<'EOF' 2>/dev/null
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
d = job[sys.argv[2]]
print("%.1f %.0f %.3f" % (d["bw_bytes"] / 1048576.0, d["iops"], job["job_runtime"] / 1000.0))
EOF
) || r="NA NA NA"
    set -- "$1" $r
    emit "$1" "$DT" "$2" MiB/s iops=$3 fio_runtime_s=$4
}
start fio_seqwrite
timeit fiojob seqwrite write 1M --end_fsync=1
fioemit fio_seqwrite seqwrite write
start fio_seqread
drop
timeit fiojob seqread read 1M
fioemit fio_seqread seqread read
start fio_randread
drop
timeit fiojob randread randread 4k --time_based --runtime="$RAND_SECS"
fioemit fio_randread randread read
start fio_randwrite
timeit fiojob randwrite randwrite 4k --time_based --runtime="$RAND_SECS" --end_fsync=1
fioemit fio_randwrite randwrite write
rm -rf "$FIOD"

# ---------------------------------------------------------------- backup
start backup_rsync
rm -rf "$BK"
mkdir -p "$BACKUP_BASE"
drop
timeit rsync -a "$W/" "$BK/"
emit backup_rsync "$DT" "$(rate "$SRC_FILES" "$DT")" files/s mib_s=$(calc "$SRC_MIB/$DT" 1)
rm -rf "$BK"

# ---------------------------------------------------------------- rm -rf
start rm_rf
timeit rm -rf "$W"
emit rm_rf "$DT" "$(rate $ENTRIES "$DT")" entries/s

echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/summary.txt"
cat "$PH" >> "$OUT/summary.txt"
exit 0
