#!/usr/bin/env bash
# Installs the Debian packages the pipeline needs (TTS engines, sox, real recordings) when any is missing.
# Idempotent: a machine that has them all does nothing.
set -euo pipefail
packages=(
  espeak-ng flite sox libsox-fmt-all libsndfile1
  asterisk-core-sounds-en-wav asterisk-moh-opsound-wav alsa-utils sound-theme-freedesktop
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
