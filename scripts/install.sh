#!/usr/bin/env bash
# Builds and installs shoal: shoal (/usr/local/bin), shoald (/usr/local/sbin), mount.shoal (/usr/sbin,
# where mount(8) and fstab look for it), bash completion for shoal, and the shoald systemd unit (not enabled: that is the
# admin's choice, with `systemctl enable --now shoald`).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "install: run as root (it writes to /usr/local, /usr/sbin and /etc)" >&2; exit 1; }
scripts/build.sh
cmake --install build --prefix /usr/local > /dev/null
install -m 0644 packaging/shoald.service /etc/systemd/system/shoald.service
install -D -m 0644 packaging/shoal.bash-completion /usr/share/bash-completion/completions/shoal
[ -e /etc/default/shoald ] || install -m 0644 packaging/shoald.default /etc/default/shoald
command -v systemctl > /dev/null && [ -d /run/systemd/system ] && systemctl daemon-reload || true
echo "install: shoal $(/usr/local/bin/shoal --version) installed: /usr/local/bin/shoal, /usr/local/sbin/shoald, /usr/sbin/mount.shoal"
