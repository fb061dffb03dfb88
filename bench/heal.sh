#!/bin/bash
# heal.sh [--fresh] shoal|gluster
#
# How long a server that was down takes to be healed once it is back, on a replica 3 volume, and
# whether every copy is then identical. The same workload as the reference gluster-heal.sh:
#   1. create NBASE (500) base files of 4 KiB random data under MOUNT/healtest/base (in BASEDIRS
#      subdirectories of it if BASEDIRS is set)
#   2. take one server down:
#        shoal     a server whose brick is a backup, not the primary (`shoal volume status wp
#                  --json`; of the backups the highest-numbered, s3 unless s3 is the primary):
#                  kill -9 of its shoald and of the etcd member it runs, by pid
#        gluster   shb-g3: kill -9 of every process in its namespace (glusterd, brick process,
#                  self-heal daemon), all of them started there by gluster-up.sh
#   3. through the mount, create NNEW (2,000) new 4 KiB files in 20 dirs and modify NMOD (100)
#      base files (rewrite their 4 KiB, then append a 27-byte line)
#   4. bring the server back and time until the volume is fully in sync again:
#        shoal     the same shoald command line started again (as failover.sh does); in sync =
#                  `shoal volume status wp --json` shows every brick "primary" or "in-sync" and
#                  replica_set.in_sync has all 3 servers, polled every 0.2 s. shoal heals the
#                  brick by itself (no command); the "heal" object of the brick (copied, bytes,
#                  passes, ...) is reported too.
#        gluster   its glusterd started again (it restarts the brick process and self-heal
#                  daemon); in sync = the bricks' AFR index dirs are empty (polled every 0.5 s)
#                  and `gluster volume heal wp info` confirms 0 entries on 3 connected bricks
#                  (POLL=healinfo: poll `heal info` itself every 1 s, as gluster-heal.sh can)
#   5. verify: md5 of every file under healtest/ on each brick == the mount
#
#   --fresh   bring the pool up first (shoal-up.sh with SHOAL_REPLICA=3 / gluster-up.sh) and
#             take it down at the end; without it the pool must be up and mounted already (for
#             shoal: a replica 3 volume, SHOAL_REPLICA=3 bench/shoal-up.sh).
#
# Environment: NNEW (new files, default 2000), NMOD (modified base files, default 100), NBASE
# (base files, default 500), BASEDIRS (directories for them, default 0: all in base/), FULL=1
# (shoal: `volume heal wp full` while the server is down, so that its heal compares the whole
# tree instead of only where it missed changes), TIMEOUT
# (s to wait for the heal, default 900), POLL (gluster: index or healinfo, default index).
#
# Results in $OUT_BASE/heal-<system>-<timestamp>/: result.txt, heal-poll.txt (one line per poll),
# md5-<brick>.txt and md5-mount.txt; shoal: the volume status JSON before, while down and after
# the heal, and logs/ (every shoald's log and the client's). The last line printed is the
# summary: system=... heal_s=... files=... verified=identical|DIFFERENT ... (shoal: copied=...
# heal_bytes=... bytes_changed=...). Only processes the bench started are touched, by pid; a
# server taken down is always started again on exit.
set -uo pipefail
# shellcheck source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

usage() { sed -n '2,/^set /s/^# \{0,1\}//p' "$0" | grep -v '^set ' >&2; exit 2; }
FRESH=0
[ "${1:-}" = --fresh ] && { FRESH=1; shift; }
SYSTEM=${1:-}
case $SYSTEM in shoal | gluster) ;; -h | --help | *) usage ;; esac
NNEW=${NNEW:-2000}
NMOD=${NMOD:-100}
NBASE=${NBASE:-500}
BASEDIRS=${BASEDIRS:-0}
FULL=${FULL:-0}
TIMEOUT=${TIMEOUT:-900}
POLL=${POLL:-index}
need_root

OUT=$OUT_BASE/heal-$SYSTEM-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
RESULT=$OUT/result.txt
: > "$RESULT"
note() { log "$*" | tee -a "$RESULT"; }
now() { date +%s.%N; }
el() { echo "$(now) - $1" | bc; }

# ---------------------------------------------------------------- the pool
UP_BY_US=0
if [ $FRESH = 1 ]; then
    if [ "$SYSTEM" = shoal ]; then
        m=$(shoal_missing)
        [ -z "$m" ] || die "$m"
        export SHOAL_REPLICA=3   # the heal of a replica 3 volume is what is measured
    fi
    note "bringing $SYSTEM up ($SYSTEM-up.sh, log in $OUT/up.log)"
    UP_BY_US=1
    "$BENCH_DIR/$SYSTEM-up.sh" > "$OUT/up.log" 2>&1 || {
        tail -n 20 "$OUT/up.log" >&2
        "$BENCH_DIR/$SYSTEM-down.sh" > "$OUT/down.log" 2>&1
        die "$SYSTEM-up.sh failed"
    }
fi
MNT=$([ "$SYSTEM" = shoal ] && echo "$SHOAL_MNT" || echo "$GL_MNT")

# mount_users : pids whose cwd, root or open files are under $MNT (somebody else's use of it)
mount_users() {
    local p l
    for p in /proc/[0-9]*; do
        for l in "$p/cwd" "$p/root" "$p"/fd/*; do
            case $(readlink "$l" 2>/dev/null) in
                "$MNT" | "$MNT"/*) echo -n "${p#/proc/} "; break ;;
            esac
        done
    done
}

# ---------------------------------------------------------------- shoal
# shoal_address I : the address server sI listens on, from its ready line
shoal_address() {
    sed -n 's/^shoald ready listen=\([^ ]*\).*/\1/p' "$SHOAL_BASE/s$1/shoald.log" 2>/dev/null | tail -n 1
}

# shoal_addresses : the addresses of every server shoal-up.sh started, one a line
shoal_addresses() {
    local d
    for d in "$SHOAL_BASE"/s*/; do shoal_address "$(basename "$d" | tr -d s)"; done
}

# shoal_status FILE : `volume status --json` into FILE, asked of each server in turn until one
# answers with JSON
shoal_status() {
    local a
    for a in $(shoal_addresses); do
        timeout 10 "$SHOAL_CLI" --server "$a" volume status "$SHOAL_VOL" --json > "$1" 2>> "$OUT/status.err" \
            && "$PY" -c 'import json, sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null && return 0
    done
    return 1
}

# children PID : the direct children of PID (shoald's etcd member)
children() { cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -v '^$'; }

# ---------------------------------------------------------------- GlusterFS
# shb-g3, as gluster-heal.sh takes s3 down
DOWN_NODE=${GL_NODES##* }

# gl_node_start (lib.sh) starts a node's glusterd again, which respawns its brick process and
# self-heal daemon.

# gl_brick_pid NODE : pid of NODE's brick process of $GL_VOL (pid file under its run dir)
gl_brick_pid() {
    local f p
    for f in "$(gl_dir "$1")"/run/vols/"$GL_VOL"/*.pid; do
        [ -f "$f" ] || continue
        p=$(cat "$f")
        pid_alive "$p" glusterfsd && { echo "$p"; return 0; }
    done
    return 1
}

# gl_heal_pending : total "Number of entries" over the bricks in `volume heal wp info`, or NA
# when not all 3 bricks are Connected or the command failed
gl_heal_pending() {
    local out
    out=$(gl_cli "${GL_NODES%% *}" volume heal "$GL_VOL" info 2>&1) || { echo NA; return; }
    if [ "$(echo "$out" | grep -c '^Status: Connected')" != 3 ]; then echo NA; return; fi
    echo "$out" | awk -F': ' '/^Number of entries:/ {s += $2; n++} END {if (n == 3) print s; else print "NA"}'
}

# gl_index_pending : pending-heal entries read straight from the bricks' AFR index dirs
# (.glusterfs/indices/{xattrop,dirty} entries other than the base file, plus granular
# entry-changes); the bricks are local directories, so this costs no glfsheal crawl
gl_index_pending() {
    local n t=0 b
    for n in $GL_NODES; do
        b=$(gl_dir "$n")/brick/.glusterfs/indices
        t=$((t + $(find "$b/xattrop" "$b/dirty" -mindepth 1 -maxdepth 1 ! -name 'xattrop-*' ! -name 'dirty-*' 2>/dev/null | wc -l)))
        t=$((t + $(find "$b/entry-changes" -mindepth 2 2>/dev/null | wc -l)))
    done
    echo "$t"
}

# ---------------------------------------------------------------- down / back
DOWN=0           # the server is down (taken down by us and not started again yet)
FAULT_PIDS=()    # the processes killed (shoal: shoald and its etcd member)
RESTART=()       # shoal: the command line of the shoald taken down
SERVER_DIR=""    # shoal: sN of that server
TARGET=""        # shoal: its address; gluster: the node
T_BACK=""        # when it was started again

take_down() {
    if [ "$SYSTEM" = shoal ]; then
        kill -KILL "${FAULT_PIDS[@]}"
        wait_for 10 eval "! kill -0 $SPID 2>/dev/null" || warn "shoald $SPID still there after kill -9"
    else
        kill -KILL "${FAULT_PIDS[@]}"
        wait_for 10 eval "[ -z \"\$(ip netns pids $DOWN_NODE)\" ]" || warn "processes left in $DOWN_NODE after kill -9"
    fi
    DOWN=1
}

# bring_back : start the server again; T_BACK = when
bring_back() {
    [ $DOWN = 1 ] || return 0
    DOWN=0
    T_BACK=$(now)
    if [ "$SYSTEM" = shoal ]; then
        local slog=$SERVER_DIR/shoald.log ready pid
        ready=$(grep -c '^shoald ready' "$slog")
        setsid "${RESTART[@]}" >> "$slog" 2>&1 < /dev/null &
        pid=$!
        echo "$pid" > "$SERVER_DIR/shoald.pid"
        wait_for 30 eval "[ \$(grep -c '^shoald ready' '$slog') -gt $ready ] || ! kill -0 $pid 2>/dev/null"
        if [ "$(grep -c '^shoald ready' "$slog")" -gt "$ready" ]; then
            note "shoald ${SERVER_DIR##*/} restarted (pid $pid), ready after $(el "$T_BACK")s"
        else
            warn "restarted shoald (pid $pid) is not ready; see $slog"
        fi
    else
        if gl_node_start "$DOWN_NODE"; then
            note "glusterd $DOWN_NODE back after $(el "$T_BACK")s"
        else
            warn "glusterd on $DOWN_NODE did not come up (see $(gl_dir "$DOWN_NODE")/log/glusterd.log)"
        fi
    fi
}

copy_logs() {
    [ "$SYSTEM" = shoal ] || return 0
    mkdir -p "$OUT/logs"
    local d
    for d in "$SHOAL_BASE"/s*; do cp "$d/shoald.log" "$OUT/logs/${d##*/}-shoald.log" 2>/dev/null; done
    cp "$SHOAL_BASE/client.log" "$OUT/logs/" 2>/dev/null
}

cleanup() {
    bring_back
    copy_logs
    if [ $UP_BY_US = 1 ]; then
        log "taking $SYSTEM down ($SYSTEM-down.sh)"
        "$BENCH_DIR/$SYSTEM-down.sh" > "$OUT/down.log" 2>&1
    fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

mountpoint -q "$MNT" || die "$MNT is not mounted: run bench/$SYSTEM-up.sh first (or use --fresh)"
USERS=$(mount_users)
[ -z "$USERS" ] || die "pids using $MNT: $USERS- refusing to run"

# ---------------------------------------------------------------- the target
if [ "$SYSTEM" = shoal ]; then
    shoal_status "$OUT/volume-status-before.json" || die "no shoal server answered volume status (see $OUT/status.err)"
    # "PRIMARY_SERVER BRICKS IN_SYNC BACKUP_SERVER...": the backups are the bricks not primary
    P=$("$PY" -c '
import json, sys
v = json.load(open(sys.argv[1]))
bricks = v["bricks"]
primary = [b["server"] for b in bricks if b.get("state") == "primary"]
if len(primary) != 1:
    sys.exit(1)
in_sync = len((v.get("replica_set") or {}).get("in_sync", []))
print(primary[0], len(bricks), in_sync, *[b["server"] for b in bricks if b.get("state") != "primary"])
' "$OUT/volume-status-before.json") || die "volume status names no primary of $SHOAL_VOL (see $OUT/volume-status-before.json)"
    read -r P_SERVER P_BRICKS P_IN_SYNC BACKUPS <<< "$P"
    [ "$P_BRICKS" = 3 ] || die "volume $SHOAL_VOL has $P_BRICKS bricks, not 3: bring it up with SHOAL_REPLICA=3 bench/shoal-up.sh (or use --fresh)"
    [ "$P_IN_SYNC" = 3 ] || die "only $P_IN_SYNC of 3 bricks of $SHOAL_VOL are in sync before the test"
    # the backup on the highest-numbered server (s3 unless s3 is the primary)
    for d in "$SHOAL_BASE"/s*; do
        a=$(shoal_address "${d##*/s}")
        case " $BACKUPS " in *" $a "*) SERVER_DIR=$d; TARGET=$a ;; esac
    done
    [ -n "$SERVER_DIR" ] || die "no backup brick of $SHOAL_VOL is on a server shoal-up.sh started ($BACKUPS)"
    SPID=$(cat "$SERVER_DIR/shoald.pid")
    pid_alive "$SPID" "$SERVER_DIR/data" || die "shoald of $TARGET (pid file $SERVER_DIR/shoald.pid) is not running"
    mapfile -t FAULT_PIDS < <(echo "$SPID"; children "$SPID")
    mapfile -d '' RESTART < "/proc/$SPID/cmdline"
    DOWN_NAME=${SERVER_DIR##*/}
    note "target: backup brick on $DOWN_NAME ($TARGET); primary $P_SERVER; shoald $SPID and its etcd member, pids ${FAULT_PIDS[*]}"
else
    for n in $GL_NODES; do
        gl_glusterd_pid "$n" >/dev/null || die "glusterd of $n is not running"
        gl_brick_pid "$n" >/dev/null || die "no running brick process of $GL_VOL on $n"
    done
    DOWN_NAME=s$(gl_idx "$DOWN_NODE")
    TARGET=$DOWN_NODE
    note "target: $DOWN_NODE ($(gl_ip "$DOWN_NODE")): every process in its namespace"
fi

# ---------------------------------------------------------------- 1. base files
T=$MNT/healtest
rm -rf "$T"
mkdir -p "$T/base" || die "mkdir $T/base failed"
"$PY" - "$T/base" "$NBASE" "$BASEDIRS" <<'EOF' || die "creating the base files failed"
import os, sys
d, n, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    sub = os.path.join(d, "d%03d" % (i % dirs)) if dirs else d
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "b%04d" % i), "wb") as f:
        f.write(os.urandom(4096))
EOF
sync
if [ "$SYSTEM" = gluster ]; then
    note "$NBASE base files created; heal pending before: $(gl_heal_pending)"
else
    note "$NBASE base files created"
fi

# ---------------------------------------------------------------- 2. down
if [ "$SYSTEM" = gluster ]; then
    mapfile -t FAULT_PIDS < <(ip netns pids "$DOWN_NODE")
    [ ${#FAULT_PIDS[@]} -gt 0 ] || die "no process in namespace $DOWN_NODE"
fi
note "== $DOWN_NAME down: kill -9 ${FAULT_PIDS[*]}"
take_down
sleep 3
if [ "$SYSTEM" = shoal ]; then
    shoal_status "$OUT/volume-status-down.json" \
        && note "while down: $("$PY" -c '
import json, sys
v = json.load(open(sys.argv[1]))
rs = v.get("replica_set") or {}
print(" ".join("%s=%s" % (b["server"], b.get("state")) for b in v["bricks"]),
      "epoch=%s in_sync=%s" % (rs.get("epoch"), ",".join(rs.get("in_sync", []))))
' "$OUT/volume-status-down.json")"
fi

# ---------------------------------------------------------------- 3. degraded workload
t=$(now)
timeout "$TIMEOUT" "$PY" - "$T" "$NNEW" "$NMOD" "$DOWN_NAME" "$NBASE" "$BASEDIRS" <<'EOF' || die "the workload failed while $DOWN_NAME was down"
import os, sys
t, nnew, nmod, down = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
nbase, dirs = int(sys.argv[5]), int(sys.argv[6])
for d in range(20):
    os.makedirs(os.path.join(t, "new", "d%02d" % d), exist_ok=True)
for i in range(nnew):
    with open(os.path.join(t, "new", "d%02d" % (i % 20), "n%05d" % i), "wb") as f:
        f.write(os.urandom(4096))
for i in range(0, nbase, nbase // nmod)[:nmod] if nmod else []:
    p = os.path.join(t, "base", "d%03d" % (i % dirs) if dirs else "", "b%04d" % i)
    with open(p, "r+b") as f:
        f.write(os.urandom(4096))
    with open(p, "ab") as f:
        f.write(b"modified while %s was down\n" % down.encode())  # 27 bytes
EOF
W=$(el "$t")
sync
CHANGED=$((NNEW * 4096 + NMOD * (4096 + 27)))
note "degraded workload (create $NNEW + modify $NMOD, $CHANGED bytes of file data) took ${W}s"

if [ "$SYSTEM" = shoal ] && [ "$FULL" = 1 ]; then
    "$SHOAL_CLI" --server "$P_SERVER" volume heal "$SHOAL_VOL" full > "$OUT/heal-full.txt" 2>&1 \
        && note "asked for a full heal (volume heal $SHOAL_VOL full)" || warn "volume heal full failed: $(cat "$OUT/heal-full.txt")"
fi

# ---------------------------------------------------------------- 4. back, heal
note "== $DOWN_NAME back up"
bring_back
HEAL_LINE=""
if [ "$SYSTEM" = shoal ]; then
    # the primary first, then the others
    mapfile -t ADDRS < <(echo "$P_SERVER"; shoal_addresses | grep -vx "$P_SERVER")
    HEAL_LINE=$("$PY" - "$SHOAL_CLI" "$SHOAL_VOL" "$OUT" "$T_BACK" "$TIMEOUT" "$TARGET" "${ADDRS[@]}" <<'EOF'
import json, subprocess, sys, time
cli, vol, out, t0, lim, target = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
addrs = sys.argv[7:]
polls = open(out + "/heal-poll.txt", "w")
first_healing = None
last = None
timed_out = False
while True:
    v = None
    for a in addrs:
        try:
            p = subprocess.run([cli, "--server", a, "volume", "status", vol, "--json"],
                               capture_output=True, timeout=10)
            v = json.loads(p.stdout)
            break
        except (subprocess.TimeoutExpired, ValueError):
            continue
    el = time.time() - t0
    if v is None:
        polls.write("%.3f no answer\n" % el)
    else:
        last = v
        states = [b.get("state") for b in v["bricks"]]
        rs = v.get("replica_set") or {}
        h = next((b.get("heal") for b in v["bricks"] if b["server"] == target), None) or {}
        if h.get("state") == "healing" and first_healing is None:
            first_healing = el
        polls.write("%.3f states=%s epoch=%s in_sync=%d heal=%s pass=%s entries=%s/%s copied=%s removed=%s bytes=%s dirty=%s\n"
                    % (el, ",".join(map(str, states)), rs.get("epoch"), len(rs.get("in_sync", [])), h.get("state"),
                       h.get("pass"), h.get("entries"), h.get("entries_total"), h.get("copied"), h.get("removed"),
                       h.get("bytes"), h.get("dirty")))
        if all(s in ("primary", "in-sync") for s in states) and len(rs.get("in_sync", [])) == len(states) == 3:
            break
    if el > lim:
        timed_out = True
        break
    time.sleep(0.2)
polls.close()
json.dump(last, open(out + "/volume-status-after.json", "w"), indent=1)
h = next((b.get("heal") for b in (last or {}).get("bricks", []) if b["server"] == target), None) or {}
rs = (last or {}).get("replica_set") or {}
print("heal_s=%s heal_seen_s=%s heal_state=%s passes=%s compares=%s directories=%s entries=%s copied=%s removed=%s "
      "heal_bytes=%s epoch=%s in_sync=%d"
      % ("TIMEOUT" if timed_out else "%.3f" % el, "%.3f" % first_healing if first_healing is not None else "never",
         h.get("state"), h.get("pass"), h.get("compares"), h.get("directories"), h.get("entries"), h.get("copied"),
         h.get("removed"), h.get("bytes"), rs.get("epoch"), len(rs.get("in_sync", []))))
EOF
)
    H=$(echo "$HEAL_LINE" | sed -n 's/^heal_s=\([^ ]*\).*/\1/p')
    note "in sync (every brick primary or in-sync, 3 in replica_set.in_sync) ${H}s after restarting $DOWN_NAME's shoald: $HEAL_LINE"
    grep -hE 'heal\.(started|done|joined|failed|waiting)' "$SHOAL_BASE"/s*/shoald.log 2>/dev/null | cut -c1-400 | sed 's/^/  /' | tee -a "$RESULT"
else
    wait_for 60 eval "gl_brick_pid $DOWN_NODE >/dev/null" || warn "no brick process on $DOWN_NODE after 60 s"
    note "$DOWN_NODE brick process running after $(el "$T_BACK")s"
    : > "$OUT/heal-poll.txt"
    I=""
    TO=0
    if [ "$POLL" = index ]; then
        while :; do
            p=$(gl_index_pending)
            echo "$(el "$T_BACK") index=$p" >> "$OUT/heal-poll.txt"
            if [ "$p" = 0 ]; then
                I=$(el "$T_BACK")
                h=$(gl_heal_pending)
                echo "$(el "$T_BACK") healinfo=$h" >> "$OUT/heal-poll.txt"
                [ "$h" = 0 ] && break
            fi
            if [ "$(echo "$(el "$T_BACK") > $TIMEOUT" | bc)" = 1 ]; then TO=1; break; fi
            sleep 0.5
        done
        H=$(el "$T_BACK")
        MAXP=$(sed -n 's/.* index=//p' "$OUT/heal-poll.txt" | sort -n | tail -n 1)
        note "brick index dirs empty ${I}s after restarting $DOWN_NODE; confirmed by heal info (0 entries, 3 bricks connected) at ${H}s; max index entries seen=$MAXP"
    else
        while :; do
            p=$(gl_heal_pending)
            echo "$(el "$T_BACK") $p" >> "$OUT/heal-poll.txt"
            [ "$p" = 0 ] && break
            if [ "$(echo "$(el "$T_BACK") > $TIMEOUT" | bc)" = 1 ]; then TO=1; break; fi
            sleep 1
        done
        H=$(el "$T_BACK")
        MAXP=$(awk '$2 != "NA" && $2 > m {m = $2} END {print m + 0}' "$OUT/heal-poll.txt")
        note "heal complete (heal info 0 entries on all 3 bricks) ${H}s after restarting $DOWN_NODE (polling heal info); max pending seen=$MAXP"
    fi
    [ $TO = 0 ] || { note "TIMEOUT after ${TIMEOUT}s"; H=TIMEOUT; }
    HEAL_LINE="heal_s=$H index_empty_s=${I:-never} max_pending=$MAXP poll=$POLL"
fi

# ---------------------------------------------------------------- 5. verify
note "== verify"
sums() { (cd "$1" && find healtest -type f -print0 | sort -z | xargs -0 md5sum); }
sums "$MNT" > "$OUT/md5-mount.txt"
FILES=$(wc -l < "$OUT/md5-mount.txt")
VERIFIED=identical
for i in 1 2 3; do
    if [ "$SYSTEM" = shoal ]; then
        b=$SHOAL_BASE/s$i/brick
    else
        b=$GL_BASE/g$i/brick
    fi
    sums "$b" > "$OUT/md5-s$i.txt"
    if cmp -s "$OUT/md5-s$i.txt" "$OUT/md5-mount.txt"; then v=identical; else v=DIFFERENT; VERIFIED=DIFFERENT; fi
    note "brick s$i ($b): $(wc -l < "$OUT/md5-s$i.txt") files, md5 list vs mount: $v"
done
note "mount: $FILES files (expected $((NBASE + NNEW)))"
[ "$FILES" = $((NBASE + NNEW)) ] || VERIFIED=DIFFERENT

LINE="system=$SYSTEM ${HEAL_LINE} files=$FILES verified=$VERIFIED bytes_changed=$CHANGED degraded_workload_s=$W down=$DOWN_NAME"
if [ "$SYSTEM" = shoal ]; then
    {
        echo "volume status after the heal:"
        for a in "${ADDRS[@]}"; do timeout 10 "$SHOAL_CLI" --server "$a" volume status "$SHOAL_VOL" 2>&1 && break; done | sed 's/^/  /'
        echo "shoald and client logs: $OUT/logs"
    } >> "$RESULT"
fi
echo "$LINE" >> "$RESULT"
echo "results: $OUT"
echo "$LINE"
