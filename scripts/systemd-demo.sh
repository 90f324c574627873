#!/usr/bin/env bash
# `signage service install` under a real systemd: a Debian bookworm container booted with
# systemd-nspawn (systemd is its PID 1), the player installed as a Type=notify service, then frozen
# with SIGSTOP to show the watchdog kill and restart it. For build machines whose own PID 1 is not
# systemd (README "Running as a service"). Needs root and the network (apt, debootstrap) once.
#
# Usage: sudo scripts/systemd-demo.sh            (WATCHDOG_S=10 ROOTFS=/var/tmp/signage-nspawn/root)
#
# The repository and its venv's base Python are bound read-only into the container at the same
# paths, so the unit's ExecStart= is this checkout's .venv/bin/signage. Nothing is left running:
# the service is uninstalled and the container powered off at the end (or killed on an error).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
ROOTFS=${ROOTFS:-/var/tmp/signage-nspawn/root}
WATCHDOG_S=${WATCHDOG_S:-10}
USER_NAME=${USER_NAME:-kiosk}
MACHINE=signage-demo
# Libraries the venv's wheels and the base Python load that a minimal Debian lacks, and VLC.
LIBS=libvlc5,vlc-plugin-base,libgl1,libglib2.0-0,libxcb1,libx11-6,libxext6,libsm6,libice6
LIBS=$LIBS,libsqlite3-0,libreadline8,libncursesw6,libtirpc3,libnsl2,tzdata,ca-certificates,procps

[ "$(id -u)" = 0 ] || { echo "run it as root (sudo $0)" >&2; exit 1; }
[ -x "$REPO/.venv/bin/signage" ] || { echo "no $REPO/.venv: run make setup first" >&2; exit 1; }
# The venv's python is a symlink to a base install (pyenv here): bind that install's prefix too.
PYPREFIX=$(dirname "$(dirname "$(readlink -f "$REPO/.venv/bin/python")")")

section() { printf '\n===== %s\n' "$*"; }

if ! command -v systemd-nspawn >/dev/null || ! command -v debootstrap >/dev/null; then
    section "apt-get install debootstrap systemd-container"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap systemd-container
fi

if [ ! -x "$ROOTFS/lib/systemd/systemd" ]; then
    section "debootstrap bookworm into $ROOTFS"
    mkdir -p "$(dirname "$ROOTFS")"
    debootstrap --variant=minbase --include="systemd,systemd-sysv,dbus,$LIBS" \
        bookworm "$ROOTFS" http://deb.debian.org/debian
fi

section "the player's settings in $ROOTFS/etc/signage"
mkdir -p "$ROOTFS/etc/signage"
"$REPO/.venv/bin/python" - "$ROOTFS/etc/signage/slide.png" <<'EOF'
import sys

import cv2
import numpy as np

cv2.imwrite(sys.argv[1], np.full((720, 1280, 3), (40, 160, 40), np.uint8))
EOF
cat >"$ROOTFS/etc/signage/catalog.yaml" <<'EOF'
ads:
  - id: slide
    media: slide.png
    advertiser: Demo
    campaign: systemd
    duration_s: 5
EOF
cat >"$ROOTFS/etc/signage/signage.yaml" <<'EOF'
screen_id: screen-nspawn
data_dir: /var/lib/signage
catalog: catalog.yaml
rules: []
camera:
  source: simulated
EOF
cat "$ROOTFS/etc/signage/signage.yaml"
chroot "$ROOTFS" id "$USER_NAME" >/dev/null 2>&1 || chroot "$ROOTFS" useradd --create-home "$USER_NAME"
case "$PYPREFIX" in /root/*) chmod 0711 "$ROOTFS/root" ;; esac # the user reaches the bound Python

section "systemd-nspawn --boot (systemd as the container's PID 1)"
LOG=$(dirname "$ROOTFS")/nspawn-console.log
# --register=no --keep-unit: the host has no systemd or machined to register with.
systemd-nspawn --boot --register=no --keep-unit --private-network --machine="$MACHINE" \
    --directory="$ROOTFS" --bind-ro="$REPO" --bind-ro="$PYPREFIX" >"$LOG" 2>&1 &
NSPAWN=$!
LEADER=
cleanup() {
    if kill -0 "$NSPAWN" 2>/dev/null; then
        kill -TERM "$NSPAWN" 2>/dev/null || true # nspawn shuts the container down in order
        for _ in $(seq 60); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 1; done
        kill -KILL "$NSPAWN" 2>/dev/null || true
    fi
}
trap cleanup EXIT
for _ in $(seq 60); do
    LEADER=$( (ps -o pid= --ppid "$NSPAWN" || true) | tr -d ' ' | head -n1)
    [ -n "$LEADER" ] && [ "$(cat "/proc/$LEADER/comm" 2>/dev/null)" = systemd ] && break
    sleep 1
done
[ -n "$LEADER" ] || { echo "the container did not start:"; cat "$LOG"; exit 1; }

inside() { # a command in the container's namespaces, as root, with a plain environment
    nsenter --target "$LEADER" --mount --uts --ipc --net --pid -- \
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SYSTEMD_PAGER= LANG=C.UTF-8 "$@"
}
echo "container PID 1 (host PID $LEADER): $(inside cat /proc/1/comm), $(inside systemctl --version | head -n1)"
echo "system state: $(inside timeout 120 systemctl is-system-running --wait || true)"

section "signage service install --config /etc/signage/signage.yaml --user $USER_NAME --display none --watchdog-s $WATCHDOG_S"
inside "$REPO/.venv/bin/signage" service install --config /etc/signage/signage.yaml \
    --user "$USER_NAME" --display none --watchdog-s "$WATCHDOG_S"

section "systemd-analyze verify /etc/systemd/system/signage.service"
inside systemd-analyze verify /etc/systemd/system/signage.service && echo "no complaints"

section "signage service status (systemctl status signage; exit code 0: active)"
sleep 8 # a few plays and watchdog pings
inside "$REPO/.venv/bin/signage" service status

section "journalctl -u signage"
JOURNAL=$(inside journalctl --no-pager -o short -u signage)
tail -n 15 <<<"$JOURNAL"

section "watchdog: kill -STOP the main PID"
OLD=$(inside systemctl show -p MainPID --value signage)
SINCE=$(inside date +%s)
inside kill -STOP "$OLD"
echo "stopped PID $OLD at $(inside date -u +%T); WatchdogSec=$WATCHDOG_S"
for _ in $(seq 240); do
    sleep 1
    NEW=$(inside systemctl show -p MainPID --value signage)
    STATE=$(inside systemctl show -p ActiveState --value signage)
    RESTARTS=$(inside systemctl show -p NRestarts --value signage)
    [ "$RESTARTS" -ge 1 ] && [ "$STATE" = active ] && [ "$NEW" != "$OLD" ] && [ "$NEW" != 0 ] && break
done
echo "now: MainPID $NEW, ActiveState $STATE, NRestarts $RESTARTS"
# systemd's lines about the unit, and the player's first and last words (not the whole traceback
# Python's faulthandler writes on SIGABRT).
JOURNAL=$(inside journalctl --no-pager -o short -u signage --since "@$SINCE")
grep -E 'systemd\[1\]|Fatal Python|supervises|ready' <<<"$JOURNAL" || true

section "systemctl status signage (after the restart)"
inside systemctl status --no-pager --full --lines=6 signage || true

section "signage service uninstall"
inside "$REPO/.venv/bin/signage" service uninstall

section "poweroff"
inside systemctl poweroff || true
for _ in $(seq 60); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 1; done
cleanup
wait "$NSPAWN" 2>/dev/null || true
echo "container stopped"
[ "$RESTARTS" -ge 1 ] && [ "$NEW" != "$OLD" ] # the exit code says whether the watchdog restart was seen
