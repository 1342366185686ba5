#!/usr/bin/env bash
# Installs the Debian packages whose files the pipeline reads (TTS engines, sox, real recordings), then checks
# the files and tools themselves. The list of paths and packages is tasks/system_files.py (one list for the
# code, this script and its test). Idempotent: a machine that has every file does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
files() { "$python" -m tasks.system_files "$@"; }
files check 2>/dev/null && exit 0
mapfile -t needed < <(files missing-packages)
install=() reinstall=()
for p in "${needed[@]}"; do
  # Installed but a file is gone (deleted by hand, a broken unpack): only a reinstall brings it back.
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then reinstall+=("$p"); else install+=("$p"); fi
done
echo "installing Debian packages: ${install[*]:-}${reinstall:+ (reinstalling ${reinstall[*]})}"
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
apt_install() { DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
$sudo_cmd apt-get update -qq
[ ${#install[@]} -eq 0 ] || apt_install "${install[@]}"
[ ${#reinstall[@]} -eq 0 ] || apt_install --reinstall "${reinstall[@]}"
if ! files check; then
  echo "still missing after installing: if a path-exclude in /etc/dpkg/dpkg.cfg.d/ drops it (minimal images drop" \
       "documentation files), remove that line and run \`make system\` again" >&2
  exit 1
fi
