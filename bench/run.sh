#!/bin/bash
# run.sh [--quick] [--systems shoal,gluster,local] [--reps N] [--out DIR] [--root-fs]
#
# The project's benchmark in one command: installs what it needs (Debian packages, the
# WordPress tree), then runs the WordPress-shaped workload (wp-bench.sh) against shoal, a
# 3-server GlusterFS replica 3 pool and a local directory in the same sitting, interleaved:
# each repetition runs every system once, the order rotating from one repetition to the next,
# and every shoal/GlusterFS run gets a freshly built pool. Then summarize.py writes the table
# of medians (min-max) with the ratios shoal/gluster and shoal/local, CSV, JSON and a chart.
# shoal's volume is replica 3 over its three servers, as GlusterFS's is, unless SHOAL_REPLICA says
# otherwise (SHOAL_REPLICA=1: one brick).
#
#   --quick      small sizes and 1 repetition (a few minutes)
#   --systems    comma-separated subset of shoal,gluster,local (default: all three)
#   --reps N     repetitions per system (default 3; 1 with --quick)
#   --out DIR    results directory (default /tmp/shoal-bench-results/<timestamp>[-quick])
#   --root-fs    keep bricks and the local baseline in $SHB_BASE on the root filesystem, instead
#                of a fresh journaled ext4 made for the sitting (lib.sh, "The scratch filesystem")
#
# shoal is skipped, with the reason, when its binaries are not installed. Everything this
# script starts is torn down at the end, also on failure or Ctrl-C. It is a benchmark, not a
# test: it exits 0 whatever the figures are, and non-zero only when it could not measure.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

usage() { sed -n '2,/^set /s/^# \{0,1\}//p' "$0" | grep -v '^set ' >&2; exit 2; }
QUICK=0
SYSTEMS=shoal,gluster,local
REPS=""
RUN_DIR=""
SCRATCH_FS=1
while [ $# -gt 0 ]; do
    case $1 in
        --quick) QUICK=1 ;;
        --systems) SYSTEMS=${2:?}; shift ;;
        --systems=*) SYSTEMS=${1#*=} ;;
        --reps) REPS=${2:?}; shift ;;
        --reps=*) REPS=${1#*=} ;;
        --out) RUN_DIR=${2:?}; shift ;;
        --out=*) RUN_DIR=${1#*=} ;;
        --root-fs) SCRATCH_FS=0 ;;
        -h | --help) usage ;;
        *) echo "run.sh: unknown argument $1" >&2; usage ;;
    esac
    shift
done
[ -n "$REPS" ] || REPS=$([ $QUICK = 1 ] && echo 1 || echo 3)
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "--reps needs a positive number"
need_root
export SHOAL_REPLICA=${SHOAL_REPLICA:-3}

# workload sizes (wp-bench.sh knobs); the WordPress tree is the same in both modes
if [ $QUICK = 1 ]; then
    export PHP_ROUNDS=3 SMALL_FILES=1000 SMALL_DIRS=10 SMALL_SIZE=4096 FIO_SIZE=64m RAND_SECS=3 PHASE_TIMEOUT=300
else
    export PHP_ROUNDS=10 SMALL_FILES=10000 SMALL_DIRS=100 SMALL_SIZE=4096 FIO_SIZE=1g RAND_SECS=20 PHASE_TIMEOUT=900
fi

STAMP=$(date +%Y%m%d-%H%M%S)
[ -n "$RUN_DIR" ] || RUN_DIR=$OUT_BASE/$STAMP$([ $QUICK = 1 ] && echo -quick)
mkdir -p "$RUN_DIR/runs" "$RUN_DIR/logs"
RUN_DIR=$(realpath "$RUN_DIR")
LOG=$RUN_DIR/logs/run.log
# a terminal gets a live progress line on fd 3; everything else also goes to the log
TTY=0
[ -t 1 ] && TTY=1
exec 3>&1
exec > >(tee -a "$LOG") 2>&1
log "shoal bench: mode=$([ $QUICK = 1 ] && echo quick || echo full) reps=$REPS results=$RUN_DIR"

# ---------------------------------------------------------------- what to run
install_packages
prepare_wordpress
SYS_LIST=()
SKIPPED=()
for s in ${SYSTEMS//,/ }; do
    case $s in
        shoal)
            why=$(shoal_missing)
            if [ -n "$why" ]; then
                warn "skipping shoal: $why"
                SKIPPED+=("shoal: $why")
                continue
            fi ;;
        gluster) command -v glusterd >/dev/null || die "glusterd missing after the install step" ;;
        local) ;;
        *) die "unknown system '$s' (use shoal, gluster, local)" ;;
    esac
    SYS_LIST+=("$s")
done
[ ${#SYS_LIST[@]} -gt 0 ] || die "no system left to measure"

# leftovers of an earlier run that died without tearing down (only this benchmark's names)
"$BENCH_DIR/gluster-down.sh" > "$RUN_DIR/logs/initial-cleanup.log" 2>&1
[ -d "$SHOAL_BASE" ] && "$BENCH_DIR/shoal-down.sh" >> "$RUN_DIR/logs/initial-cleanup.log" 2>&1
if [ $SCRATCH_FS = 1 ]; then
    log "making the scratch filesystem: ext4 on a loop device over $SHB_IMG ($SHB_IMG_BYTES sparse) at $SHB_BASE"
    trap scratch_fs_down EXIT  # until cleanup's trap below, which does it too
    scratch_fs_up || die "could not make the scratch filesystem (use --root-fs to do without)"
fi

# ---------------------------------------------------------------- machine description
version_of() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo none; }
shoal_version() {
    [ -z "$(shoal_missing)" ] || { echo none; return; }
    local v
    v=$(timeout 5 "$SHOALD" --version 2>/dev/null </dev/null) && [ -n "$v" ] && echo "${v%%$'\n'*}" || echo unknown
}
{
    echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "kernel=$(uname -r)"
    echo "os=$(. /etc/os-release && echo "$PRETTY_NAME") (debian_version $(cat /etc/debian_version 2>/dev/null))"
    echo "cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    echo "cpus=$(nproc)"
    echo "memory_mib=$(awk '/^MemTotal:/ {printf "%d", $2 / 1024}' /proc/meminfo)"
    echo "swap_mib=$(awk '/^SwapTotal:/ {printf "%d", $2 / 1024}' /proc/meminfo)"
    echo "storage=$(findmnt -n -o SOURCE,FSTYPE,OPTIONS --target "$SHB_BASE" | tr -s ' ')$([ $SCRATCH_FS = 1 ] && echo " (scratch: $SHB_IMG on $(findmnt -n -o SOURCE,FSTYPE,OPTIONS --target "$(dirname "$SHB_IMG")" | tr -s ' '))")"
    echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "version_glusterfs=$(version_of glusterfs-server)"
    echo "version_fuse3=$(version_of fuse3)"
    echo "version_fio=$(version_of fio)"
    echo "version_rsync=$(version_of rsync)"
    echo "version_coreutils=$(version_of coreutils)"
    echo "version_gcc=$(gcc -dumpfullversion 2>/dev/null)"
    echo "version_shoal=$(shoal_version)"
    echo "shoal_replica=$SHOAL_REPLICA"
    echo "shoald=${SHOALD:-none}$([ -n "$SHOALD" ] && date -r "$SHOALD" -u '+ (built %Y-%m-%dT%H:%M:%SZ)')"
    echo "repo_commit=$(git -C "$BENCH_DIR" rev-parse --short HEAD 2>/dev/null || echo none)"
    sed 's/ /\n/g' "$WP_ROOT/READY" | sed 's/^/dataset_/'
    echo "mode=$([ $QUICK = 1 ] && echo quick || echo full)"
    echo "reps=$REPS"
    echo "systems=$(IFS=,; echo "${SYS_LIST[*]}")"
    for s in "${SKIPPED[@]}"; do echo "skipped=$s"; done
    echo "workload=php_rounds=$PHP_ROUNDS small_files=$SMALL_FILES small_dirs=$SMALL_DIRS small_size=$SMALL_SIZE fio_size=$FIO_SIZE rand_secs=$RAND_SECS phase_timeout=$PHASE_TIMEOUT"
} > "$RUN_DIR/machine.txt"

# ---------------------------------------------------------------- systems up/down
UP=""
system_up() { # SYSTEM RUNLABEL -> mount point on stdout
    case $1 in
        local)
            rm -rf "$LOCAL_DIR"
            mkdir -p "$LOCAL_DIR"
            echo "$LOCAL_DIR" ;;
        gluster)
            "$BENCH_DIR/gluster-up.sh" > "$RUN_DIR/logs/$2-up.log" 2>&1 || return 1
            echo "$GL_MNT" ;;
        shoal)
            "$BENCH_DIR/shoal-up.sh" > "$RUN_DIR/logs/$2-up.log" 2>&1 || return 1
            echo "$SHOAL_MNT" ;;
    esac
}
system_down() { # SYSTEM RUNLABEL
    case $1 in
        local) rm -rf "$LOCAL_DIR" ;;
        gluster) "$BENCH_DIR/gluster-down.sh" >> "$RUN_DIR/logs/$2-down.log" 2>&1 ;;
        shoal)
            for f in "$SHOAL_BASE"/s*/shoald.log; do
                [ -f "$f" ] && cp "$f" "$RUN_DIR/logs/$2-$(basename "$(dirname "$f")")-shoald.log"
            done
            [ -f "$SHOAL_BASE/client.log" ] && cp "$SHOAL_BASE/client.log" "$RUN_DIR/logs/$2-client.log"
            "$BENCH_DIR/shoal-down.sh" >> "$RUN_DIR/logs/$2-down.log" 2>&1 ;;
    esac
    UP=""
}
# stop_session SID : stop every process of the session SID (a wp-bench.sh we started with setsid,
# and what it runs; `timeout` moves its command to a process group of its own, not a session)
stop_session() {
    local pids
    pids=$(ps -o pid= -s "$1" | xargs)
    [ -n "$pids" ] || return 0
    kill -CONT $pids 2>/dev/null
    kill -TERM $pids 2>/dev/null
    wait_for 5 eval "[ -z \"\$(ps -o pid= -s $1)\" ]" && return 0
    pids=$(ps -o pid= -s "$1" | xargs)
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    wait_for 5 eval "[ -z \"\$(ps -o pid= -s $1)\" ]"
}
BENCH_PID=""
cleanup() {
    # a signal can arrive during `IFS= read`, whose IFS would then stay in force here
    IFS=$' \t\n'
    # the workload first, so nothing writes into a mount point after it is unmounted
    [ -n "$BENCH_PID" ] && { log "stopping the workload (session $BENCH_PID)"; stop_session "$BENCH_PID"; }
    [ -n "$UP" ] && { log "tearing down $UP"; system_down "$UP" "${CUR_LABEL:-interrupted}"; }
    rm -rf "$LOCAL_DIR"
    [ $SCRATCH_FS = 1 ] && scratch_fs_down
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- the runs
TOTAL=$((REPS * ${#SYS_LIST[@]}))
T_START=$(date +%s)
elapsed() { local s=$(($(date +%s) - T_START)); printf '%02d:%02d' $((s / 60)) $((s % 60)); }
printf 'system\trep\tlabel\tdir\tsetup_seconds\tresult\n' > "$RUN_DIR/runs.tsv"
k=0
for rep in $(seq 1 "$REPS"); do
    n=${#SYS_LIST[@]}
    for ((j = 0; j < n; j++)); do
        sys=${SYS_LIST[$(((j + rep - 1) % n))]}
        k=$((k + 1))
        CUR_LABEL=$sys-r$rep
        dir=$RUN_DIR/runs/$CUR_LABEL
        tag="[run $k/$TOTAL $CUR_LABEL]"
        log "$tag setting up $sys"
        t0=$(date +%s.%N)
        UP=$sys
        if ! mnt=$(system_up "$sys" "$CUR_LABEL"); then
            warn "$tag $sys did not come up; see $RUN_DIR/logs/$CUR_LABEL-up.log"
            tail -n 5 "$RUN_DIR/logs/$CUR_LABEL-up.log" >&2
            system_down "$sys" "$CUR_LABEL"
            printf '%s\t%s\t%s\t%s\t\t%s\n' "$sys" "$rep" "$CUR_LABEL" "$dir" setup_failed >> "$RUN_DIR/runs.tsv"
            continue
        fi
        setup=$(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}")
        log "$tag $sys up in ${setup}s at $mnt; running the workload"
        cur=""
        # in its own session, so that an interrupted run can stop it and all it started
        exec 4< <(exec setsid "$BENCH_DIR/wp-bench.sh" "$mnt" "$CUR_LABEL" "$dir" 2>> "$RUN_DIR/logs/$CUR_LABEL-bench.log")
        BENCH_PID=$!
        while IFS= read -r line <&4; do
            case $line in
                start=*)
                    cur=${line#start=}
                    [ $TTY = 1 ] && printf '\r\033[K  %s %s running %s  (elapsed %s)' "$tag" "${cur#* n=}" "${cur%% *}" "$(elapsed)" >&3 ;;
                phase=*)
                    # "  [run 1/3 gluster-r1] 3/18  stat_all_cold 0.945s 2965.0 stats/s ok  (elapsed 01:12)"
                    set -- $line
                    p=${1#phase=} secs=${2#seconds=} r=${3#rate=} u=${4#unit=} st=${line##*status=}
                    msg=$(printf '  %s %-6s %-17s %9ss %12s %-9s %s  (elapsed %s)' "$tag" "${cur#* n=}" "$p" "$secs" "$r" "$u" "$st" "$(elapsed)")
                    if [ $TTY = 1 ]; then printf '\r\033[K%s\n' "$msg" >&3; echo "$msg" >> "$LOG"; else echo "$msg"; fi ;;
                *) echo "  $line" >> "$RUN_DIR/logs/$CUR_LABEL-bench.log" ;;
            esac
        done
        exec 4<&-
        wait_for 10 eval "[ -z \"\$(ps -o pid= -s $BENCH_PID)\" ]" || warn "wp-bench.sh (session $BENCH_PID) still running"
        BENCH_PID=""
        result=ok
        [ -s "$dir/phases.txt" ] || result=no_phases
        grep -q 'status=FAILED' "$dir/phases.txt" 2>/dev/null && result=failed_phases
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$sys" "$rep" "$CUR_LABEL" "$dir" "$setup" "$result" >> "$RUN_DIR/runs.tsv"
        log "$tag done ($result); tearing down $sys"
        system_down "$sys" "$CUR_LABEL"
        sync   # let the teardown's deletes reach the disk before the next run starts
        sleep 2
    done
done
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$RUN_DIR/machine.txt"
log "all runs done in $(elapsed)"

# ---------------------------------------------------------------- summary
"$PY" "$BENCH_DIR/summarize.py" "$RUN_DIR" || die "summarize.py failed"
