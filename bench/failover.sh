#!/bin/bash
# failover.sh [--fresh] shoal|gluster [kill|stop|cut]
#
# How long an application stalls when a server fails: a writer on the mounted volume opens,
# writes, fsyncs and closes one small file every 100 ms (fsync-writer.py); PRE s later a fault is
# injected, held HOLD s, then undone; the writer goes on POST s more. The figure is the longest
# gap between two successful writes (a write that blocks simply delays the next one).
#
#   shoal     the fault hits the server whose brick is the volume's primary, as `shoal volume
#             status wp --json` names it ("state": "primary"; a one-brick volume: its only brick):
#             shoald and the etcd member it runs. Pool from shoal-up.sh (SHOAL_REPLICA=3 for
#             replica 3 over its three servers).
#   gluster   the fault hits one brick server, NODE (default shb-g2) of gluster-up.sh's replica 3
#             pool: its brick process (glusterfsd), or for `cut` the whole namespace's network.
#
#   kill      kill -9; undone by starting it again (shoal: the same shoald command line;
#             GlusterFS: `gluster volume start wp force`)
#   stop      kill -STOP (a frozen server: a stuck disk, a VM paused); undone by kill -CONT
#   cut       the server drops off the network: `ip -n NODE link set gl0 down`, then up (shoal:
#             the primary's namespace shb-sN, link sh0). shoal needs its servers in network
#             namespaces for this: a pool from `SHOAL_NETNS=1 shoal-up.sh` (--fresh does that
#             for `cut`); on a pool started on 127.0.0.1 the mode is skipped.
#
#   --fresh   bring the pool up first (shoal-up.sh / gluster-up.sh) and take it down at the end;
#             without it the pool must be up and mounted already. shoal's is replica 3 then, as
#             GlusterFS's is, unless SHOAL_REPLICA says otherwise (one brick: an outage, not a
#             failover).
#
# Environment: PRE (s before the fault, default 5), HOLD (s the fault is held, default 10),
# POST (s after it is undone, default 15), INTERVAL (s between writes, default 0.1), NODE
# (GlusterFS server, shb-g1..3, default shb-g2). GlusterFS detects a frozen or cut-off brick only
# after network.ping-timeout (42 s by default, up to twice that in practice): with a HOLD shorter
# than that its writer stays blocked for the whole hold.
#
# Results in $OUT_BASE/failover-<system>-<mode>-<timestamp>/ (writer.log: one line per write,
# "start end ok|err:ERRNO" in s since the writer started; result.txt; events.txt). The last line
# printed is the summary: system=... mode=... longest_gap_s=... errors=... recovered=... (then
# more fields). A stretch of failed writes that lasts until the end counts as a gap
# (recovered=no: no write succeeded after the fault). shoal: the volume's status after the run
# is in result.txt and the servers' and the client's logs are copied to logs/.
# Only processes the bench started are touched, by pid; a fault is always undone on exit.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

usage() { sed -n '2,/^set /s/^# \{0,1\}//p' "$0" | grep -v '^set ' >&2; exit 2; }
FRESH=0
[ "${1:-}" = --fresh ] && { FRESH=1; shift; }
SYSTEM=${1:-}
MODE=${2:-stop}
case $SYSTEM in shoal | gluster) ;; -h | --help | *) usage ;; esac
case $MODE in kill | stop | cut) ;; *) echo "failover.sh: unknown mode '$MODE'" >&2; usage ;; esac
PRE=${PRE:-5}
HOLD=${HOLD:-10}
POST=${POST:-15}
INTERVAL=${INTERVAL:-0.1}
NODE=${NODE:-shb-g2}
need_root

if [ "$SYSTEM" = shoal ] && [ "$MODE" = cut ]; then
    if [ $FRESH = 1 ]; then
        export SHOAL_NETNS=1
    elif ! shoal_netns; then
        echo "system=shoal mode=cut skipped: the running pool's servers share the machine's loopback" \
            "(127.0.0.1); a network cut needs them in network namespaces (SHOAL_NETNS=1 shoal-up.sh)"
        exit 0
    fi
fi

OUT=$OUT_BASE/failover-$SYSTEM-$MODE-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
EVENTS=$OUT/events.txt
event() { log "$*" | tee -a "$EVENTS"; }
mono() { "$PY" -c 'import time; print("%.6f" % time.monotonic())'; }

# ---------------------------------------------------------------- the pool
UP_BY_US=0
if [ $FRESH = 1 ]; then
    if [ "$SYSTEM" = shoal ]; then
        m=$(shoal_missing)
        [ -z "$m" ] || die "$m"
        export SHOAL_REPLICA=${SHOAL_REPLICA:-3}
    fi
    event "bringing $SYSTEM up ($SYSTEM-up.sh, log in $OUT/up.log)"
    UP_BY_US=1
    "$BENCH_DIR/$SYSTEM-up.sh" > "$OUT/up.log" 2>&1 || { tail -n 20 "$OUT/up.log" >&2; die "$SYSTEM-up.sh failed"; }
fi
MNT=$([ "$SYSTEM" = shoal ] && echo "$SHOAL_MNT" || echo "$GL_MNT")
mountpoint -q "$MNT" || die "$MNT is not mounted: run bench/$SYSTEM-up.sh first (or use --fresh)"

# ---------------------------------------------------------------- the target
FAULT_PIDS=""   # the processes the fault hits
LINK=gl0        # cut: the server's link in its namespace NODE (shoal: sh0, set below)
RESTART=""      # shoal kill: how to start the server again
SERVER_DIR=""

# shoal_address I : the address server sI listens on, from its ready line
shoal_address() {
    sed -n 's/^shoald ready listen=\([^ ]*\).*/\1/p' "$SHOAL_BASE/s$1/shoald.log" 2>/dev/null | tail -n 1
}

# shoal_primary : "SERVER PID STATE BRICKS" of the volume's primary brick, asked of each server
# in turn until one answers
shoal_primary() {
    local d addr
    for d in "$SHOAL_BASE"/s*/; do
        addr=$(shoal_address "$(basename "$d" | tr -d s)")
        [ -n "$addr" ] || continue
        timeout 10 "$SHOAL_CLI" --server "$addr" volume status "$SHOAL_VOL" --json 2>> "$OUT/status.err" \
            | tee "$OUT/volume-status.json" | "$PY" -c '
import json, sys
v = json.load(sys.stdin)
bricks = v["bricks"]
primary = [b for b in bricks if b.get("state") == "primary"]
if not primary and len(bricks) == 1:
    primary = bricks  # a one-brick volume: its only brick does the job of a primary
if len(primary) != 1:
    sys.exit(1)
b = primary[0]
in_sync = len((v.get("replica_set") or {}).get("in_sync", [])) or 1
print(b["server"], b.get("pid", 0), b.get("state", "?"), len(bricks), in_sync)
' && return 0
    done
    return 1
}

# shoal_etcd_leader : the server (sN) whose etcd member leads the pool's etcd cluster, asked of
# each member's JSON gateway (shoal-up.sh gives each member the client port PORT+1)
shoal_etcd_leader() {
    local d a st
    for d in "$SHOAL_BASE"/s*; do
        a=$(shoal_address "${d##*/s}")
        [ -n "$a" ] || continue
        st=$(curl -s --max-time 2 -X POST "http://${a%:*}:$((${a##*:} + 1))/v3/maintenance/status" -d '{}') || continue
        "$PY" -c 'import json, sys; v = json.loads(sys.argv[1]); sys.exit(v["header"]["member_id"] != v["leader"])' "$st" \
            2> /dev/null && { echo "${d##*/}"; return 0; }
    done
    echo unknown
}

# children PID : the direct children of PID (shoald's etcd member)
children() { cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -v '^$'; }

if [ "$SYSTEM" = shoal ]; then
    P=$(shoal_primary) || die "no server named the primary of $SHOAL_VOL (see $OUT/volume-status.json, $OUT/status.err)"
    read -r P_SERVER P_PID P_STATE P_BRICKS P_IN_SYNC <<< "$P"
    for d in "$SHOAL_BASE"/s*; do
        [ "$(shoal_address "${d##*/s}")" = "$P_SERVER" ] && SERVER_DIR=$d
    done
    [ -n "$SERVER_DIR" ] || die "primary $P_SERVER is not one of the servers shoal-up.sh started"
    SPID=$(cat "$SERVER_DIR/shoald.pid")
    pid_alive "$SPID" "$SERVER_DIR/data" || die "shoald of $P_SERVER (pid file $SERVER_DIR/shoald.pid) is not running"
    [ "$P_PID" = "$SPID" ] || warn "volume status says pid $P_PID for $P_SERVER, shoal-up.sh recorded $SPID; using $SPID"
    [ "$P_BRICKS" -gt 1 ] || warn "volume $SHOAL_VOL has one brick: this measures an outage, not a failover"
    [ "$P_IN_SYNC" = "$P_BRICKS" ] || warn "only $P_IN_SYNC of $P_BRICKS bricks of $SHOAL_VOL are in sync before the fault"
    FAULT_PIDS="$SPID $(children "$SPID" | tr '\n' ' ')"
    mapfile -d '' RESTART < "/proc/$SPID/cmdline"
    if shoal_netns; then
        NODE=shb-${SERVER_DIR##*/}  # its namespace: shb-s1..3
        LINK=sh0
        RESTART=(nsenter "--net=/run/netns/$NODE" "${RESTART[@]}")
    fi
    if [ "$MODE" = cut ]; then
        event "target: primary brick on ${SERVER_DIR##*/} ($P_SERVER, state $P_STATE, $P_IN_SYNC of $P_BRICKS bricks in sync): its network link $LINK in $NODE (shoald $SPID)"
    else
        event "target: primary brick on ${SERVER_DIR##*/} ($P_SERVER, state $P_STATE, $P_IN_SYNC of $P_BRICKS bricks in sync): shoald $SPID and its etcd member, pids $FAULT_PIDS"
    fi
    event "etcd leader: the member of $(shoal_etcd_leader)"
else
    case " $GL_NODES " in *" $NODE "*) ;; *) die "NODE must be one of $GL_NODES" ;; esac
    gl_brick_pid() { # NODE : pid of NODE's brick process of $GL_VOL (pid file under its run dir)
        local f p
        for f in "$(gl_dir "$1")"/run/vols/"$GL_VOL"/*.pid; do
            [ -f "$f" ] || continue
            p=$(cat "$f")
            pid_alive "$p" glusterfsd && { echo "$p"; return 0; }
        done
        return 1
    }
    BPID=$(gl_brick_pid "$NODE") || die "no running brick process of $GL_VOL on $NODE"
    # the pid must live in that node's namespace (the pid file could be stale)
    ip netns pids "$NODE" | grep -qx "$BPID" || die "pid $BPID is not in namespace $NODE"
    FAULT_PIDS=$BPID
    if [ "$MODE" = cut ]; then
        event "target: $NODE ($(gl_ip "$NODE")), its network link gl0 (brick process glusterfsd $BPID)"
    else
        event "target: $NODE ($(gl_ip "$NODE")), brick process glusterfsd $BPID"
    fi
fi

# ---------------------------------------------------------------- inject / undo
FAULT_ON=0
inject() {
    case $MODE in
        kill) kill -KILL $FAULT_PIDS ;;
        stop) kill -STOP $FAULT_PIDS ;;
        cut) ip -n "$NODE" link set "$LINK" down ;;
    esac
    FAULT_ON=1
}

undo() {
    [ $FAULT_ON = 1 ] || return 0
    FAULT_ON=0
    case $SYSTEM-$MODE in
        *-stop) kill -CONT $FAULT_PIDS 2>/dev/null ;;
        *-cut) ip -n "$NODE" link set "$LINK" up ;;
        gluster-kill) gl_cli "$NODE" volume start "$GL_VOL" force >> "$OUT/restore.log" 2>&1 \
            || warn "gluster volume start $GL_VOL force failed (see $OUT/restore.log)" ;;
        shoal-kill)
            local log=$SERVER_DIR/shoald.log ready pid
            wait_for 10 eval "! kill -0 $SPID 2>/dev/null"
            ready=$(grep -c '^shoald ready' "$log")
            setsid "${RESTART[@]}" >> "$log" 2>&1 < /dev/null &
            pid=$!
            echo "$pid" > "$SERVER_DIR/shoald.pid"
            wait_for 30 eval "[ \$(grep -c '^shoald ready' '$log') -gt $ready ] || ! kill -0 $pid 2>/dev/null"
            if [ "$(grep -c '^shoald ready' "$log")" -gt "$ready" ]; then
                event "shoald restarted: pid $pid"
            else
                warn "restarted shoald (pid $pid) is not ready; see $log"
            fi ;;
    esac
}

WPID=""
cleanup() {
    undo
    [ -n "$WPID" ] && kill "$WPID" 2>/dev/null
    rm -f "$MNT/failover-probe.txt" 2>/dev/null
    if [ $UP_BY_US = 1 ]; then
        log "taking $SYSTEM down ($SYSTEM-down.sh)"
        "$BENCH_DIR/$SYSTEM-down.sh" > "$OUT/down.log" 2>&1
    fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- run
START_WALL=$(date -u '+%Y-%m-%d %H:%M:%S')  # GlusterFS logs in UTC
rm -f "$MNT/failover-probe.txt"
event "writer: every ${INTERVAL}s for $((PRE + HOLD + POST)) s on $MNT; fault ($MODE) after $PRE s, held $HOLD s"
"$PY" "$BENCH_DIR/fsync-writer.py" "$MNT/failover-probe.txt" "$((PRE + HOLD + POST))" "$OUT/writer.log" "$INTERVAL" \
    > "$OUT/writer.out" 2> "$OUT/writer.err" &
WPID=$!
sleep "$PRE"
TF=$(mono)
inject
event "fault injected: $MODE"
sleep "$HOLD"
TR=$(mono)
undo
event "fault undone"
wait "$WPID"
WPID=""
RES=$(cat "$OUT/writer.out")
[ -n "$RES" ] || die "the writer printed nothing (see $OUT/writer.err)"

# ---------------------------------------------------------------- figures
SUMMARY=$("$PY" - "$OUT/writer.log" "$RES" "$TF" "$TR" <<'EOF'
import sys
log, res, tf, tr = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
fields = dict(kv.split("=", 1) for kv in res.split())
t0 = float(fields["t0_monotonic"])
fault, restored = tf - t0, tr - t0
writes = [(float(s), float(e), st) for s, e, st in (line.split() for line in open(log))]
after = [w for w in writes if w[0] >= fault and w[2] == "ok"]
first_ok = after[0][1] - fault if after else float("nan")
resumed = "yes" if after and after[0][1] < restored else "no"
recovered = "yes" if after else "no"
print("longest_gap_s=%s errors=%s recovered=%s gap_start_after_fault_s=%.3f first_ok_write_after_fault_s=%.3f "
      "resumed_before_undo=%s fault_at_s=%.3f undone_at_s=%.3f writes=%s ok=%s lat_p50_ms=%s lat_p99_ms=%s"
      % (fields["max_gap_s"], fields["errors"], recovered, float(fields["gap_start_s"]) - fault, first_ok, resumed,
         fault, restored, fields["ops"], fields["ok"], fields["lat_p50_ms"], fields["lat_p99_ms"]))
EOF
)
LINE="system=$SYSTEM mode=$MODE $SUMMARY hold_s=$HOLD"
{
    echo "$LINE"
    echo "writer: $RES"
    echo "events:"
    sed 's/^/  /' "$EVENTS"
    if [ "$SYSTEM" = shoal ]; then
        echo "volume status after the run:"
        for d in "$SHOAL_BASE"/s*; do
            a=$(shoal_address "${d##*/s}")
            timeout 10 "$SHOAL_CLI" --server "$a" volume status "$SHOAL_VOL" 2>&1 && break
        done | sed 's/^/  /'
        mkdir -p "$OUT/logs"
        for d in "$SHOAL_BASE"/s*; do cp "$d/shoald.log" "$OUT/logs/${d##*/}-shoald.log" 2>/dev/null; done
        cp "$SHOAL_BASE/client.log" "$OUT/logs/" 2>/dev/null
        echo "shoald and client logs: $OUT/logs"
    fi
    if [ "$SYSTEM" = gluster ]; then
        echo "client log (connection events since $START_WALL):"
        grep -hE 'disconnected from|Connected, attached|has not responded|ping timer|connection to .* failed' \
            "/var/log/glusterfs/$(echo "${GL_MNT#/}" | tr / -).log" 2>/dev/null \
            | awk -v since="$START_WALL" '{ts = substr($1, 2) " " substr($2, 1, 8)} ts >= since' | tail -n 12 | sed 's/^/  /'
        echo "heal info right after the run:"
        gl_cli shb-g1 volume heal "$GL_VOL" info 2>&1 | grep -E '^(Brick|Number of entries)' | sed 's/^/  /'
    fi
} > "$OUT/result.txt"
sed -n '2,$p' "$OUT/result.txt"
echo "results: $OUT"
echo "$LINE"
