#!/usr/bin/env bash
# Install what the ParaView tests need (idempotent; a second run takes a second): Debian's ParaView
# 5.11 with pvpython (python3-paraview, only a recommendation of paraview; recommendations stay out,
# which skips paraview-doc and friends) and Xvfb: Debian's ParaView renders through GLX only, so a
# screenshot needs an X server even without a display (xvfb-run; offscreen flags do not help).
# Usage: scripts/setup-paraview.sh
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for pkg in paraview python3-paraview xvfb xauth; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  printf '\n== installing system packages: %s\n' "${missing[*]}"
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
fi
command -v pvpython >/dev/null && command -v xvfb-run >/dev/null ||
  { echo "error: pvpython or xvfb-run is still missing after installing paraview and xvfb" >&2; exit 1; }
