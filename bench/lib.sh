# lib.sh - settings and helpers shared by the bench/ scripts. Source it; do not run it.
#
# Everything the benchmark creates lives under names that belong to it alone, so it can run
# next to other work on the machine (and next to /work/shared/bench, which uses s1..s3/br-gl):
#   state, bricks, local baseline, backup target   $SHB_BASE   (/srv/shoal-bench)
#   mount points                                   $SHB_MNT    (/mnt/shoal-bench/{gluster,shoal})
#   network namespaces shb-g1..3, bridge shb-br0, 10.99.60.0/24 (GlusterFS servers)
#   network namespaces shb-s1..3, bridge shb-br1, 10.99.61.0/24 (shoal servers, SHOAL_NETNS=1)
#   results                                        $OUT_BASE   (/tmp/shoal-bench-results)
# Processes are only ever stopped by pids the scripts started (recorded in pid files, or living
# inside the namespaces the scripts created) - never by name.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SHB_BASE=${SHB_BASE:-/srv/shoal-bench}
SHB_MNT=${SHB_MNT:-/mnt/shoal-bench}
OUT_BASE=${OUT_BASE:-/tmp/shoal-bench-results}
# WordPress: the Debian packages are dpkg -x'ed into $WP_ROOT; $WP_SRC is the clean copy
# (every symlink dereferenced) that the benchmark copies onto each filesystem.
WP_ROOT=${WP_ROOT:-/srv/wp-src}
WP_SRC=${WP_SRC:-$WP_ROOT/wordpress}
LOCAL_DIR=$SHB_BASE/local
BACKUP_BASE=${BACKUP_BASE:-$SHB_BASE/backup}
# Debian's matplotlib lives in the system interpreter, not in whatever python3 is first in PATH.
PY=/usr/bin/python3

# The scratch filesystem (run.sh, unless --root-fs): a fresh ext4 with mkfs's defaults (journal
# on) mounted at $SHB_BASE from a loop device over a sparse image, so that every system's bricks,
# the local baseline and the backup target sit on a filesystem set up as a server's would be.
# Why: this machine's root filesystem is ext4 without a journal, where a create right after many
# deletes is slow - ext4 then refuses to reuse inodes deleted in the last 60 s (300 s while their
# inode table block is dirty) and checks them one by one (recently_deleted() in `perf`). Each
# run's teardown deletes thousands of files, so the run after it paid for them.
SHB_IMG=${SHB_IMG:-$SHB_BASE.img}
SHB_IMG_BYTES=${SHB_IMG_BYTES:-32G}

# scratch_fs_down : unmounts $SHB_BASE if our image is mounted there, detaches its loop devices,
# deletes the image (a leftover of an interrupted run too)
scratch_fs_down() {
    local dev
    for dev in $(losetup -j "$SHB_IMG" -O NAME -n 2>/dev/null); do
        findmnt -n -S "$dev" > /dev/null && umount "$dev"
        losetup -d "$dev"
    done
    rm -f "$SHB_IMG"
}

# scratch_fs_up : makes and mounts the scratch filesystem at $SHB_BASE
scratch_fs_up() {
    local dev
    scratch_fs_down
    mountpoint -q "$SHB_BASE" && die "$SHB_BASE is already a mount point (not of $SHB_IMG): unmount it or use --root-fs"
    mkdir -p "$SHB_BASE" || return 1  # what it holds is hidden, not touched, while mounted over
    truncate -s "$SHB_IMG_BYTES" "$SHB_IMG" || return 1
    mkfs.ext4 -q -F "$SHB_IMG" || return 1
    # direct I/O: the image's pages are not cached a second time in the root filesystem
    dev=$(losetup --find --show --direct-io=on "$SHB_IMG") || return 1
    mount "$dev" "$SHB_BASE"
}

BENCH_PACKAGES="glusterfs-server glusterfs-client fio rsync python3-matplotlib gcc"

log() { echo "[$(date +%H:%M:%S)] $*"; }
warn() { echo "[$(date +%H:%M:%S)] WARNING: $*" >&2; }
die() { echo "[$(date +%H:%M:%S)] ERROR: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "$(basename "$0") must run as root"; }

# wait_for SECONDS CMD... : poll CMD every 0.2 s until it succeeds; fails after SECONDS
wait_for() {
    local lim=$1 i
    shift
    for ((i = 0; i < lim * 5; i++)); do
        "$@" && return 0
        sleep 0.2
    done
    return 1
}

# pid_alive PID [CMDLINE_SUBSTRING] : PID exists (and its command line contains the substring,
# which guards against a recycled pid)
pid_alive() {
    [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
    [ -z "${2:-}" ] && return 0
    tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# stop_pid PID [CMDLINE_SUBSTRING] : SIGCONT + SIGTERM, up to 10 s, then SIGKILL; by pid only
stop_pid() {
    local p=$1 m=${2:-}
    pid_alive "$p" "$m" || return 0
    kill -CONT "$p" 2>/dev/null
    kill -TERM "$p" 2>/dev/null
    wait_for 10 eval "! kill -0 $p 2>/dev/null" && return 0
    warn "pid $p ignored SIGTERM, sending SIGKILL"
    kill -KILL "$p" 2>/dev/null
    wait_for 5 eval "! kill -0 $p 2>/dev/null"
}

# fuse_client_pid MOUNTPOINT : pid of the user-space side of the FUSE mount at MOUNTPOINT that
# our own mount command just started: the process holding /dev/fuse open whose command line
# names MOUNTPOINT
fuse_client_pid() {
    local p f
    for p in /proc/[0-9]*; do
        tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -qE -- " $1/?( |\$)" || continue
        for f in "$p"/fd/*; do
            [ "$(readlink "$f" 2>/dev/null)" = /dev/fuse ] && { echo "${p#/proc/}"; return 0; }
        done
    done
    return 1
}

# unmount_and_reap MOUNTPOINT PIDFILE : umount (lazy if busy), then make sure the FUSE client
# process recorded in PIDFILE at mount time is gone
unmount_and_reap() {
    local mnt=$1 pf=$2 p=""
    [ -f "$pf" ] && p=$(cat "$pf")
    if mountpoint -q "$mnt"; then
        umount "$mnt" 2>/dev/null || { warn "$mnt busy, lazy unmount"; umount -l "$mnt"; }
    fi
    if [ -n "$p" ]; then
        wait_for 10 eval "! pid_alive $p '$mnt'" || stop_pid "$p" "$mnt"
    fi
    rm -f "$pf"
}

# install_packages : install the benchmark's Debian packages that are missing (waits for the
# dpkg lock, since other work on the machine may be installing too)
install_packages() {
    local p missing=()
    for p in $BENCH_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} = 0 ] && return 0
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq || warn "apt-get update failed; using the cached lists"
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" \
        || die "apt-get install ${missing[*]} failed"
}

# tree_stats DIR : "files=N dirs=N symlinks=N bytes=N" (dirs excludes DIR itself)
tree_stats() {
    echo "files=$(find "$1" -type f | wc -l) dirs=$(find "$1" -mindepth 1 -type d | wc -l)" \
        "symlinks=$(find "$1" -type l | wc -l)" \
        "bytes=$(find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')"
}

# prepare_wordpress : make $WP_SRC, a symlink-free WordPress tree, from Debian's package.
# The package is never installed: `apt-get download` + `dpkg -x` into $WP_ROOT/pkg. Its tree has
# symlinks that point outside it (ID3/* -> php-getid3, underscore*.js -> libjs-underscore,
# js/crop/* -> libjs-cropper, .htaccess -> /etc/wordpress/htaccess, ca-bundle.crt -> the host's
# CA bundle); those packages are dpkg -x'ed into the same root, absolute links are pointed into
# that root, and `cp -aL` makes the clean tree, so every path is a regular file as in an
# upstream install. The links found are listed in $WP_ROOT/DEREFERENCED-SYMLINKS.txt.
prepare_wordpress() {
    [ -f "$WP_ROOT/READY" ] && [ -d "$WP_SRC" ] && return 0
    local pkg=$WP_ROOT/pkg dl=$WP_ROOT/debs l t
    log "preparing the WordPress tree in $WP_SRC"
    rm -rf "$pkg" "$dl" "$WP_SRC" "$WP_SRC.tmp" "$WP_ROOT/READY"
    mkdir -p "$pkg" "$dl"
    # _apt must be able to write the download directory
    chmod 777 "$dl"
    (cd "$dl" && apt-get download wordpress php-getid3 libjs-underscore libjs-cropper) \
        || { apt-get update -qq && (cd "$dl" && apt-get download wordpress php-getid3 libjs-underscore libjs-cropper); } \
        || die "apt-get download wordpress failed"
    for t in "$dl"/*.deb; do dpkg -x "$t" "$pkg" || die "dpkg -x $t failed"; done
    : > "$WP_ROOT/DEREFERENCED-SYMLINKS.txt"
    while read -r l; do
        t=$(readlink "$l")
        echo "${l#"$pkg"/usr/share/wordpress/} -> $t" >> "$WP_ROOT/DEREFERENCED-SYMLINKS.txt"
        # absolute target: prefer the copy extracted from the packages, else the host's file
        case $t in /*) [ -e "$pkg$t" ] && ln -sfn "$pkg$t" "$l" ;; esac
    done < <(find "$pkg/usr/share/wordpress" -type l | sort)
    cp -aL "$pkg/usr/share/wordpress" "$WP_SRC.tmp" || die "cp -aL of the WordPress tree failed"
    [ "$(find "$WP_SRC.tmp" -type l | wc -l)" = 0 ] || die "symlinks left in $WP_SRC.tmp"
    mv "$WP_SRC.tmp" "$WP_SRC"
    {
        echo "wordpress=$(dpkg-deb -f "$dl"/wordpress_*.deb Version)"
        tree_stats "$WP_SRC"
    } > "$WP_ROOT/READY"
    log "WordPress tree ready: $(tr '\n' ' ' < "$WP_ROOT/READY")"
}

# ---------------------------------------------------------------- GlusterFS pool
# Three servers, one per network namespace shb-g1..3 (gl0 = 10.99.60.11-13, veth peers shb-vN on
# bridge shb-br0 = 10.99.60.1). Each glusterd runs in a private mount namespace where /run
# (tmpfs), /run/gluster, /var/lib/glusterd and /var/log/glusterfs are its own, under
# $GL_BASE/gN. Volume "wp" = replica 3 of the three bricks $GL_BASE/gN/brick, default options,
# FUSE-mounted in the root namespace at $GL_MNT.
GL_BR=shb-br0
GL_NET=10.99.60
GL_NODES="shb-g1 shb-g2 shb-g3"
GL_BASE=$SHB_BASE/gl
GL_VOL=wp
GL_MNT=$SHB_MNT/gluster

gl_idx() { echo "${1##*g}"; }                     # shb-g2 -> 2
gl_ip() { echo "$GL_NET.1$(gl_idx "$1")"; }       # shb-g2 -> 10.99.60.12
gl_dir() { echo "$GL_BASE/g$(gl_idx "$1")"; }

# gl_node_start NODE : starts NODE's glusterd in its namespace, with its own /run, state and logs
gl_node_start() {
    local n=$1 d
    d=$(gl_dir "$1")
    rm -f "$d/run/glusterd.pid"  # left by a glusterd that was killed
    ip netns exec "$n" unshare -m --propagation private sh -c "
        set -e
        mount -t tmpfs -o mode=755 shb-run-$n /run
        mkdir -p /run/gluster
        mount --bind $d/run /run/gluster
        mount --bind $d/lib /var/lib/glusterd
        mount --bind $d/log /var/log/glusterfs
        exec glusterd -p /run/gluster/glusterd.pid --log-level INFO
    "
    wait_for 20 eval "gl_cli $n peer status >/dev/null 2>&1" \
        || die "glusterd on $n did not come up (see $d/log/glusterd.log)"
}

gl_glusterd_pid() { # NODE -> pid of that node's glusterd, if alive
    local p
    p=$(cat "$(gl_dir "$1")/run/glusterd.pid" 2>/dev/null) || return 1
    pid_alive "$p" glusterd && echo "$p"
}

# gl_cli NODE ARGS... : the gluster CLI inside NODE's network and mount namespace
gl_cli() {
    local n=$1 p
    shift
    p=$(gl_glusterd_pid "$n") || { echo "gl_cli: glusterd of $n is not running" >&2; return 1; }
    timeout 120 nsenter -t "$p" -m -n gluster --mode=script "$@"
}

# ---------------------------------------------------------------- shoal pool
# The installed binaries (scripts/install.sh or cmake --install); override with SHOALD=/path and
# SHOAL_CLI=/path to bench a build tree.
SHOALD=${SHOALD:-$(command -v shoald || true)}
SHOAL_CLI=${SHOAL_CLI:-$(command -v shoal || true)}
SHOAL_BASE=$SHB_BASE/shoal
SHOAL_VOL=wp
SHOAL_MNT=$SHB_MNT/shoal
SHOAL_PORT=${SHOAL_PORT:-17460}   # first port tried; the next free one is used
# SHOAL_NETNS=1: each shoald in a network namespace of its own, shb-s1..3 (sh0 = 10.99.61.11-13,
# veth peers shb-wN on bridge shb-br1 = 10.99.61.1), so that failover.sh can cut one off the
# network as it does a GlusterFS server. shoal-up.sh leaves $SHOAL_BASE/netns when it did so.
SH_BR=shb-br1
SH_NET=10.99.61
SH_NODES="shb-s1 shb-s2 shb-s3"
sh_ip() { echo "$SH_NET.1$1"; }                   # 2 -> 10.99.61.12
shoal_netns() { [ -f "$SHOAL_BASE/netns" ]; }     # the running pool was started in namespaces

# shoal_missing : say why shoal cannot be benched here (empty output = it can)
shoal_missing() {
    [ -n "$SHOALD" ] && [ -x "$SHOALD" ] || { echo "shoald not found in PATH (install shoal with scripts/install.sh, or set SHOALD=)"; return; }
    [ -n "$SHOAL_CLI" ] && [ -x "$SHOAL_CLI" ] || echo "shoal (the client CLI) not found in PATH (install shoal with scripts/install.sh, or set SHOAL_CLI=)"
}

port_free() { [ -z "$(ss -Htln "sport = :$1")" ]; }
