#!/usr/bin/env bash
# The README's first command: builds and installs shoal, starts a server on loopback (a pool of
# one), creates and starts a volume "demo" on it the way an admin would, and mounts it.
#   scripts/demo.sh          set up (or report what is already running)
#   scripts/demo.sh stop     unmount and stop the demo server
set -euo pipefail
cd "$(dirname "$0")/.."

STATE=/var/lib/shoal-demo
BRICK=/srv/shoal/demo
MOUNT=/mnt/shoal/demo
LISTEN=127.0.0.1:24100
LOG=/var/log/shoal/demo-shoald.log
PIDFILE=$STATE/shoald.pid

[ "$(id -u)" = 0 ] || { echo "demo: run as root (it installs packages, starts a server and mounts)" >&2; exit 1; }

running() { [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2> /dev/null; }

if [ "${1:-}" = stop ]; then
  if mountpoint -q "$MOUNT"; then umount "$MOUNT" && echo "demo: unmounted $MOUNT"; fi
  if running; then
    pid=$(cat "$PIDFILE")
    kill -TERM "$pid"
    # It finishes requests under way and stops its etcd member; wait for that (at most 30 s).
    for _ in $(seq 300); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    echo "demo: stopped shoald (pid $pid)"
    rm -f "$PIDFILE"
  fi
  exit 0
fi

scripts/install.sh
mkdir -p "$STATE" "$BRICK" "$MOUNT" "$(dirname "$LOG")"

if running; then
  echo "demo: shoald already running (pid $(cat "$PIDFILE"))"
else
  # shoald prints one line, "shoald ready listen=...", once it serves: wait for exactly that.
  fifo=$(mktemp -u /tmp/shoal-demo-ready.XXXXXX)
  mkfifo "$fifo"
  setsid /usr/local/sbin/shoald --data-dir "$STATE" --listen "$LISTEN" \
    --log-file "$LOG" > "$fifo" 2>> "$LOG" < /dev/null &
  echo $! > "$PIDFILE"
  if ! read -r -t 15 ready < "$fifo" || [[ "$ready" != "shoald ready"* ]]; then
    rm -f "$fifo"
    echo "demo: shoald did not start; its log says:" >&2
    tail -n 20 "$LOG" >&2
    exit 1
  fi
  rm -f "$fifo"
  echo "demo: $ready (pid $(cat "$PIDFILE"), log $LOG)"
fi

# The admin's workflow: create the volume (force: the demo's brick sits on the root filesystem,
# which shoal refuses by default), then start it.
shoal=(/usr/local/bin/shoal --server "$LISTEN")
if ! "${shoal[@]}" volume info demo > /dev/null 2>&1; then
  "${shoal[@]}" volume create demo "$LISTEN:$BRICK" force 2> /dev/null
fi
if ! "${shoal[@]}" volume info demo --json | grep -q '"state": "started"'; then
  "${shoal[@]}" volume start demo
fi

if ! mountpoint -q "$MOUNT"; then
  mount -t shoal "$LISTEN:/demo" "$MOUNT"
fi

cat <<MSG

shoal is running.
  volume 'demo' is mounted at   $MOUNT
  served by shoald on           $LISTEN   (brick: $BRICK, log: $LOG)
  see it:                       shoal volume info demo; shoal volume status demo
  try:                          echo hello > $MOUNT/hello.txt && ls -li $MOUNT
  mount it elsewhere:           mount -t shoal $LISTEN:/demo /some/dir
  stop the demo:                scripts/demo.sh stop
MSG
