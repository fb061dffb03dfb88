#!/bin/bash
# shoal-up.sh - start a fresh shoal pool on this machine and mount its volume "wp" at
#   /mnt/shoal-bench/shoal. Each server is `shoald --data-dir DIR --listen 127.0.0.1:PORT
#   --volume wp=BRICK` (state under /srv/shoal-bench/shoal/sN), started in its own session with
#   setsid, its pid recorded in sN/shoald.pid, its output in sN/shoald.log. The client is
#   `shoal mount 127.0.0.1:PORT:/wp MOUNTPOINT`. Tear down with shoal-down.sh.
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

# shoal_server_start I : start server I and wait until it serves; prints its listen address
shoal_server_start() {
    local d=$SHOAL_BASE/s$1 port=$SHOAL_PORT pid
    while ! port_free "$port"; do port=$((port + 1)); done
    mkdir -p "$d/data" "$d/brick"
    # in the background of a non-interactive shell the child is not a process-group leader,
    # so setsid does not fork and $! is shoald itself
    setsid "$SHOALD" --data-dir "$d/data" --listen "127.0.0.1:$port" --volume "$SHOAL_VOL=$d/brick" \
        > "$d/shoald.log" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$d/shoald.pid"
    wait_for 30 eval "grep -qs '^shoald ready listen=127.0.0.1:$port' '$d/shoald.log' || ! kill -0 $pid 2>/dev/null"
    if ! grep -q "^shoald ready listen=127.0.0.1:$port" "$d/shoald.log"; then
        warn "last lines of $d/shoald.log:"
        tail -n 20 "$d/shoald.log" >&2
        pid_alive "$pid" && die "shoald (pid $pid) did not print its ready line within 30 s"
        die "shoald exited before it was ready"
    fi
    echo "127.0.0.1:$port"
}

# shoal_pool_up SERVER_INDEX... : start the servers, then mount the volume through the first.
# The pool is a single server until shoal has replication. With replication the caller passes
# three indices, and the servers get their own network namespaces like the GlusterFS pool.
shoal_pool_up() {
    local i addr first=""
    for i in "$@"; do
        addr=$(shoal_server_start "$i")
        log "shoal: server s$i pid $(cat "$SHOAL_BASE/s$i/shoald.pid") ready at $addr"
        [ -n "$first" ] || first=$addr
    done
    mkdir -p "$SHOAL_MNT"
    timeout 60 "$SHOAL_CLI" mount "$first:/$SHOAL_VOL" "$SHOAL_MNT" > "$SHOAL_BASE/mount.log" 2>&1 \
        || { cat "$SHOAL_BASE/mount.log" >&2; die "shoal mount $first:/$SHOAL_VOL $SHOAL_MNT failed"; }
    wait_for 10 mountpoint -q "$SHOAL_MNT" || die "$SHOAL_MNT is not a mount point after shoal mount"
    fuse_client_pid "$SHOAL_MNT" > "$SHOAL_BASE/client.pid" || warn "shoal FUSE client pid not found"
    log "shoal: mounted $first:/$SHOAL_VOL at $SHOAL_MNT"
}

rm -rf "$SHOAL_BASE"
mkdir -p "$SHOAL_BASE"
shoal_pool_up 1
