#!/usr/bin/env bash
# Install the system packages the player needs (libVLC for video, ffmpeg for the sample jingles,
# Chromium for the dashboard's browser tests, Xvfb for windowed tests). Root: apt-get; otherwise
# print the one command to run.
set -euo pipefail
PACKAGES=(libvlc5 vlc-plugin-base vlc-plugin-video-output ffmpeg chromium xvfb)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Please install these system packages with your package manager: ${missing[*]}" >&2
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
