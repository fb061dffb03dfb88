#!/bin/bash
# shoal-down.sh [--keep] - undo shoal-up.sh: unmount /mnt/shoal-bench/shoal (and make sure the
#   FUSE client it started is gone), then stop each shoald by the pid shoal-up.sh recorded
#   (SIGTERM, SIGKILL after 10 s; its session too, which setsid made for it), remove the network
#   namespaces and bridge of SHOAL_NETNS=1, and delete /srv/shoal-bench/shoal unless --keep. Safe to run repeatedly and after a failed start.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
need_root
KEEP=0
[ "${1:-}" = --keep ] && KEEP=1

unmount_and_reap "$SHOAL_MNT" "$SHOAL_BASE/client.pid"

for pf in "$SHOAL_BASE"/s*/shoald.pid; do
    [ -f "$pf" ] || continue
    d=$(dirname "$pf")
    pid=$(cat "$pf")
    # the command line names this server's data dir, which guards against a recycled pid
    if pid_alive "$pid" "$d/data"; then
        stop_pid "$pid" "$d/data"
        # anything shoald left behind in its own process group (setsid made pgid = pid)
        kill -KILL -- "-$pid" 2>/dev/null
    fi
    rm -f "$pf"
done
for n in $SH_NODES; do
    [ -e "/run/netns/$n" ] && ip netns del "$n"  # not `ip netns list | grep -q`: under pipefail its SIGPIPE reads as no
done
ip link show "$SH_BR" > /dev/null 2>&1 && ip link del "$SH_BR"
[ $KEEP = 1 ] || rm -rf "$SHOAL_BASE"
log "shoal: down"
