#!/bin/bash
# gluster-up.sh - build a fresh 3-server GlusterFS replica 3 pool on this machine and mount it.
#   Network: bridge shb-br0 (10.99.60.1/24) + namespaces shb-g1..3 (10.99.60.11-13); nothing
#   leaves the machine. One glusterd per namespace, volume "wp" = replica 3, default options,
#   mounted at /mnt/shoal-bench/gluster (see the GlusterFS section of lib.sh).
#   Wipes $GL_BASE first; refuses to run while a previous pool is still up (gluster-down.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
command -v glusterd >/dev/null || die "glusterd not installed (apt-get install glusterfs-server glusterfs-client)"

for n in $GL_NODES; do
    [ -e "/run/netns/$n" ] && die "netns $n exists - run gluster-down.sh first"
done
ip link show "$GL_BR" >/dev/null 2>&1 && die "$GL_BR exists - run gluster-down.sh first"
mountpoint -q "$GL_MNT" && die "$GL_MNT is mounted - run gluster-down.sh first"

# gl_node_start NODE : start NODE's glusterd (it daemonizes, and later spawns the brick and
# self-heal daemon inside the same namespaces)

log "gluster: network $GL_BR + namespaces $GL_NODES"
ip link add "$GL_BR" type bridge forward_delay 0 stp_state 0
ip addr add "$GL_NET.1/24" dev "$GL_BR"
ip link set "$GL_BR" up
for n in $GL_NODES; do
    v=shb-v$(gl_idx "$n")
    ip netns add "$n"
    ip link add "$v" type veth peer name gl0 netns "$n"
    ip link set "$v" master "$GL_BR" up
    ip -n "$n" link set lo up
    ip -n "$n" addr add "$(gl_ip "$n")/24" dev gl0
    ip -n "$n" link set gl0 up
    wait_for 10 eval "bridge link show dev $v | grep -q 'state forwarding'" || warn "$v not forwarding yet"
done

log "gluster: one glusterd per namespace (state in $GL_BASE)"
rm -rf "$GL_BASE"
for n in $GL_NODES; do
    d=$(gl_dir "$n")
    mkdir -p "$d/lib" "$d/log" "$d/run" "$d/brick"
    cp -a /var/lib/glusterd/groups "$d/lib/"   # option groups from the package; fresh UUID per node
    gl_node_start "$n"
done
first=${GL_NODES%% *}
for n in $GL_NODES; do
    [ "$n" = "$first" ] || gl_cli "$first" peer probe "$(gl_ip "$n")" >/dev/null
done
wait_for 30 eval "[ \$(gl_cli $first peer status | grep -c 'Peer in Cluster (Connected)') = 2 ]" \
    || die "peers did not connect"

log "gluster: volume $GL_VOL (replica 3, default options)"
bricks=""
for n in $GL_NODES; do bricks="$bricks $(gl_ip "$n"):$(gl_dir "$n")/brick"; done
# 'force': the bricks live on the root filesystem, which glusterd refuses without it
gl_cli "$first" volume create "$GL_VOL" replica 3 $bricks force >/dev/null
gl_cli "$first" volume start "$GL_VOL" >/dev/null
wait_for 30 eval "[ \$(gl_cli $first volume status $GL_VOL detail | grep -c '^Online.*: Y') = 3 ]" \
    || die "bricks did not come online"

gl_cli "$first" volume info "$GL_VOL"
log "gluster: mount $GL_MNT"
mkdir -p "$GL_MNT"
mount -t glusterfs "$(gl_ip "$first"):/$GL_VOL" "$GL_MNT"
wait_for 10 mountpoint -q "$GL_MNT" || die "mount of $GL_MNT did not appear"
fuse_client_pid "$GL_MNT" > "$GL_BASE/client.pid" || warn "FUSE client pid not found"
# the client must be connected to all three bricks before the pool counts as up
wait_for 30 eval "[ \$(gl_cli $first volume status $GL_VOL clients | grep -c '^$GL_NET.1:') -ge 3 ]" \
    || die "the client is not connected to all three bricks"
log "gluster: up ($(gl_cli "$first" --version | head -n 1))"
