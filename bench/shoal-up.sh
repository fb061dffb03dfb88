#!/bin/bash
# shoal-up.sh - start a fresh three-server shoal pool on this machine, create and start its volume
#   "wp" the way an admin does (peer probe, volume create, volume start) and mount it at
#   /mnt/shoal-bench/shoal. Each server is `shoald --data-dir DIR --listen 127.0.0.1:PORT` (its
#   etcd member on PORT+1 and PORT+2; state under /srv/shoal-bench/shoal/sN), started in its own
#   session with setsid, its pid recorded in sN/shoald.pid, its output in sN/shoald.log. The
#   volume's one brick is on s1; with SHOAL_REPLICA=3 in the environment it is `replica 3` with
#   one brick on each server (sN/brick). The client is
#   `shoal mount S1:/wp MOUNTPOINT -o log-file=/srv/shoal-bench/shoal/client.log,backup-servers=S2:S3`.
#   Tear down with shoal-down.sh.
#   With SHOAL_REPLICA=N it waits until every brick is in the volume's in-sync set, and builds
#   the pool again (up to 3 times; logs of a failed attempt kept in
#   /srv/shoal-bench/shoal-not-in-sync-*) when one dropped out at start.
#   SHOAL_MOUNT_OPTS=a,b adds mount options (e.g. reads=primary, to read only from the primary).
#   With SHOAL_NETNS=1 each server runs in a network namespace of its own (lib.sh: shb-s1..3 on
#   bridge shb-br1, 10.99.61.0/24) and listens on its address there; the client and the CLI reach
#   them through the bridge. failover.sh needs that for `cut`.
#   Wipes /srv/shoal-bench/shoal first; refuses to run while a previous pool is still up.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
m=$(shoal_missing)
[ -z "$m" ] || die "$m"

for pf in "$SHOAL_BASE"/s*/shoald.pid; do
    [ -f "$pf" ] && pid_alive "$(cat "$pf")" "$(dirname "$pf")" && die "shoald $(cat "$pf") still runs - run shoal-down.sh first"
done
mountpoint -q "$SHOAL_MNT" && die "$SHOAL_MNT is mounted - run shoal-down.sh first"

# shoal_net_up : SHOAL_NETNS=1's bridge and namespaces (lib.sh)
shoal_net_up() {
    local i n v
    ip link show "$SH_BR" > /dev/null 2>&1 && die "$SH_BR exists - run shoal-down.sh first"
    log "shoal: network $SH_BR + namespaces $SH_NODES"
    ip link add "$SH_BR" type bridge forward_delay 0 stp_state 0
    ip addr add "$SH_NET.1/24" dev "$SH_BR"
    ip link set "$SH_BR" up
    for i in 1 2 3; do
        n=shb-s$i v=shb-w$i
        ip netns add "$n"
        ip link add "$v" type veth peer name sh0 netns "$n"
        ip link set "$v" master "$SH_BR" up
        ip -n "$n" link set lo up
        ip -n "$n" addr add "$(sh_ip $i)/24" dev sh0
        ip -n "$n" link set sh0 up
        wait_for 10 eval "bridge link show dev $v | grep -q 'state forwarding'" || warn "$v not forwarding yet"
    done
}

# shoal_server_start I PORT : start server I on the first PORT' >= PORT with PORT'..PORT'+2 free
# (SHOAL_NETNS=1: PORT, on its own address in its namespace), and wait until it serves; prints
# its listen address
shoal_server_start() {
    local d=$SHOAL_BASE/s$1 port=$2 pid host=127.0.0.1 enter=()
    if [ "${SHOAL_NETNS:-0}" = 1 ]; then
        host=$(sh_ip "$1")
        enter=(nsenter "--net=/run/netns/shb-s$1")  # nsenter execs shoald: the same pid
    else
        while ! { port_free "$port" && port_free $((port + 1)) && port_free $((port + 2)); }; do port=$((port + 1)); done
    fi
    mkdir -p "$d/data" "$d/brick"
    # in the background of a non-interactive shell the child is not a process-group leader,
    # so setsid does not fork and $! is shoald itself
    setsid "${enter[@]}" "$SHOALD" --data-dir "$d/data" --listen "$host:$port" \
        > "$d/shoald.log" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$d/shoald.pid"
    wait_for 30 eval "grep -qs '^shoald ready listen=$host:$port' '$d/shoald.log' || ! kill -0 $pid 2>/dev/null"
    if ! grep -q "^shoald ready listen=$host:$port" "$d/shoald.log"; then
        warn "last lines of $d/shoald.log:"
        tail -n 20 "$d/shoald.log" >&2
        pid_alive "$pid" && die "shoald (pid $pid) did not print its ready line within 30 s"
        die "shoald exited before it was ready"
    fi
    echo "$host:$port"
}

# shoal_pool_up SERVER_INDEX... : start the servers, make them one pool, create and start the
# volume (its brick on the first, or SHOAL_REPLICA=N: replica N over the first N), and mount it
# through the first (the others as backups).
shoal_pool_up() {
    local i addr port=$SHOAL_PORT first="" backups="" bricks=()
    for i in "$@"; do
        addr=$(shoal_server_start "$i" "$port")
        port=$((${addr##*:} + 3))
        log "shoal: server s$i pid $(cat "$SHOAL_BASE/s$i/shoald.pid") ready at $addr"
        bricks+=("$addr:$SHOAL_BASE/s$i/brick")
        if [ -z "$first" ]; then
            first=$addr
        else
            "$SHOAL_CLI" --server "$first" peer probe "$addr" >> "$SHOAL_BASE/admin.log" 2>&1 \
                || { cat "$SHOAL_BASE/admin.log" >&2; die "shoal peer probe $addr failed"; }
            backups=${backups:+$backups:}$addr
        fi
    done
    # one brick on the first server, or (SHOAL_REPLICA=N) one on each of the first N
    local layout=("${bricks[0]}")
    if [ "${SHOAL_REPLICA:-1}" != 1 ]; then
        [ "$SHOAL_REPLICA" -le $# ] || die "SHOAL_REPLICA=$SHOAL_REPLICA needs as many servers (the pool has $#)"
        layout=(replica "$SHOAL_REPLICA" "${bricks[@]:0:$SHOAL_REPLICA}")
    fi
    # force: the bench's bricks sit on the root filesystem, which shoal refuses by default
    { "$SHOAL_CLI" --server "$first" volume create "$SHOAL_VOL" "${layout[@]}" force \
        && "$SHOAL_CLI" --server "$first" volume start "$SHOAL_VOL"; } >> "$SHOAL_BASE/admin.log" 2>&1 \
        || { cat "$SHOAL_BASE/admin.log" >&2; die "creating and starting volume $SHOAL_VOL failed"; }
    log "shoal: pool of $# servers, volume $SHOAL_VOL started (${layout[*]})"
    mkdir -p "$SHOAL_MNT"
    # the client logs to a file of its own (default: syslog, which a bare machine may not have)
    local opts="log-file=$SHOAL_BASE/client.log${backups:+,backup-servers=$backups}${SHOAL_MOUNT_OPTS:+,$SHOAL_MOUNT_OPTS}"
    timeout 60 "$SHOAL_CLI" mount "$first:/$SHOAL_VOL" "$SHOAL_MNT" -o "$opts" \
        > "$SHOAL_BASE/mount.log" 2>&1 \
        || { cat "$SHOAL_BASE/mount.log" >&2; die "shoal mount $first:/$SHOAL_VOL $SHOAL_MNT failed"; }
    wait_for 10 mountpoint -q "$SHOAL_MNT" || die "$SHOAL_MNT is not a mount point after shoal mount"
    fuse_client_pid "$SHOAL_MNT" > "$SHOAL_BASE/client.pid" || warn "shoal FUSE client pid not found"
    log "shoal: mounted $first:/$SHOAL_VOL at $SHOAL_MNT"
}

# shoal_in_sync SERVER N : 0 when the volume has a primary and all N bricks in its in-sync set,
# 1 when a brick is out of sync (not yet healed back), 2 while undecided
shoal_in_sync() {
    timeout 10 "$SHOAL_CLI" --server "$1" volume status "$SHOAL_VOL" --json 2> /dev/null | "$PY" -c '
import json, sys
try:
    v = json.load(sys.stdin)
except ValueError:
    sys.exit(2)
states = [b.get("state") for b in v["bricks"]]
if "out-of-sync" in states:
    sys.exit(1)
rs = v.get("replica_set") or {}
sys.exit(0 if rs.get("primary") and len(rs.get("in_sync", [])) == int(sys.argv[1]) else 2)
' "$2"
}

# A replicated volume is measured only with every brick in sync. A brick can drop out of the
# in-sync set right at `volume start` (the primary reaches it before it serves the volume);
# if it is not healed back in time, the pool is built again (up to 3 times), its logs kept.
tries=1
[ "${SHOAL_REPLICA:-1}" = 1 ] || tries=3
for attempt in $(seq 1 $tries); do
    rm -rf "$SHOAL_BASE"
    mkdir -p "$SHOAL_BASE"
    if [ "${SHOAL_NETNS:-0}" = 1 ]; then
        shoal_net_up
        touch "$SHOAL_BASE/netns"
    fi
    shoal_pool_up 1 2 3
    [ $tries = 1 ] && break
    first=$(sed -n 's/^shoald ready listen=//p' "$SHOAL_BASE/s1/shoald.log" | head -n 1)
    rc=2
    for i in $(seq 1 75); do
        rc=0
        shoal_in_sync "$first" "$SHOAL_REPLICA" || rc=$?
        [ $rc = 2 ] || break
        sleep 0.2
    done
    if [ $rc = 0 ]; then
        log "shoal: all $SHOAL_REPLICA bricks in sync"
        break
    fi
    keep=$SHB_BASE/shoal-not-in-sync-$(date +%Y%m%d-%H%M%S)
    mkdir -p "$keep"
    "$SHOAL_CLI" --server "$first" volume status "$SHOAL_VOL" > "$keep/volume-status.txt" 2>&1 || true
    for d in "$SHOAL_BASE"/s*; do cp "$d/shoald.log" "$keep/${d##*/}-shoald.log"; done
    cp "$SHOAL_BASE"/*.log "$keep/" 2> /dev/null || true
    warn "attempt $attempt: not every brick of $SHOAL_VOL is in sync after volume start" \
        "($(grep -E '^Epoch' "$keep/volume-status.txt")); logs kept in $keep"
    grep -hE 'replica\.(out_of_sync|primary)|hello_refused' "$keep"/s*-shoald.log | cut -c1-300 >&2 || true
    "$BENCH_DIR/shoal-down.sh" >&2 || true
    [ "$attempt" -lt $tries ] || die "no attempt brought up $SHOAL_VOL with every brick in sync"
done
