#!/bin/bash
# gluster-down.sh [--keep] - undo gluster-up.sh: unmount /mnt/shoal-bench/gluster, make sure the
#   FUSE client it started is gone, stop every process inside the namespaces shb-g1..3 (all of
#   them started there by gluster-up.sh: glusterd, bricks, self-heal daemons; by pid: SIGCONT,
#   SIGTERM, then SIGKILL), delete the namespaces and the bridge, and delete $GL_BASE
#   (bricks, state, logs) unless --keep. Safe to run repeatedly and on a half-built pool.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
need_root
KEEP=0
[ "${1:-}" = --keep ] && KEEP=1

unmount_and_reap "$GL_MNT" "$GL_BASE/client.pid"

for n in $GL_NODES; do
    [ -e "/run/netns/$n" ] || continue
    pids=$(ip netns pids "$n")
    if [ -n "$pids" ]; then
        kill -CONT $pids 2>/dev/null
        kill -TERM $pids 2>/dev/null
        wait_for 5 eval "[ -z \"\$(ip netns pids $n)\" ]" || {
            pids=$(ip netns pids "$n")
            warn "$n: SIGKILL $(echo $pids)"
            kill -KILL $pids 2>/dev/null
            wait_for 5 eval "[ -z \"\$(ip netns pids $n)\" ]"
        }
    fi
    ip netns del "$n"
done
# the root-side veth ends vanish with their namespaces; remove stragglers and the bridge
for n in $GL_NODES; do
    v=shb-v$(gl_idx "$n")
    ip link show "$v" >/dev/null 2>&1 && ip link del "$v"
done
ip link show "$GL_BR" >/dev/null 2>&1 && ip link del "$GL_BR"
[ $KEEP = 1 ] || rm -rf "$GL_BASE"
log "gluster: down"
