#!/usr/bin/env bash
# Install what the ParaView tests need (idempotent; a second run takes a second): Debian's ParaView
# 5.11 with pvpython (python3-paraview, only a recommendation of paraview; recommendations stay out,
# which skips paraview-doc and friends) and Xvfb: Debian's ParaView renders through GLX only, so a
# screenshot needs an X server even without a display (xvfb-run; offscreen flags do not help).
# With --plugin it also installs what building a C++ ParaView plugin needs (paraview-dev, cmake and
# the -dev packages find_package(ParaView) looks for: found by iterating on cmake's errors against
# Debian's 5.11) and builds the echo-onnx plugin (paraview-plugin/, over the C++ bridge) into
# build/paraview-plugin; the plugin is then
# build/paraview-plugin/lib/paraview-5.11/plugins/EchoOnnx/EchoOnnx.so.
# Usage: scripts/setup-paraview.sh [--plugin]
set -euo pipefail
cd "$(dirname "$0")/.."
plugin=0
case "${1:-}" in
  --plugin) plugin=1 ;;
  "") ;;
  *) echo "usage: $0 [--plugin]" >&2; exit 2 ;;
esac

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
pkgs=(paraview python3-paraview xvfb xauth)
if [ "$plugin" = 1 ]; then
  pkgs+=(paraview-dev cmake g++ qtbase5-dev qttools5-dev libqt5svg5-dev libqt5x11extras5-dev
    libqt5opengl5-dev libutfcpp-dev libhdf5-openmpi-dev libnetcdf-dev libgdal-dev libavformat-dev
    libavcodec-dev libavutil-dev libswscale-dev libswresample-dev libtheora-dev libgl2ps-dev
    libglew-dev liblz4-dev liblzma-dev libxml2-dev libexpat1-dev libfreetype-dev libfontconfig-dev
    libjpeg-dev libpng-dev libtiff-dev zlib1g-dev libboost-dev libopenmpi-dev python3-dev libx11-dev
    libxt-dev libgl-dev libdouble-conversion-dev libpugixml-dev libjsoncpp-dev
    qtxmlpatterns5-dev-tools
    openfoam)  # the last for the tests only: an OpenFOAM result for ParaView's OpenFOAM reader
fi
for pkg in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  printf '\n== installing system packages: %s\n' "${missing[*]}"
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
fi
command -v pvpython >/dev/null && command -v xvfb-run >/dev/null ||
  { echo "error: pvpython or xvfb-run is still missing after installing paraview and xvfb" >&2; exit 1; }

if [ "$plugin" = 1 ]; then
  # The C++ bridge (one compiler job at a time), then the plugin.
  target=${CARGO_TARGET_DIR:-$PWD/target}
  printf '\n== building the C++ bridge (%s/release/libecho_onnx_cxx.a)\n' "$target"
  CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1} cargo build --release --locked --manifest-path cxx-bridge/Cargo.toml --target-dir "$target"
  printf '\n== building the ParaView plugin (build/paraview-plugin)\n'
  cmake -S paraview-plugin -B build/paraview-plugin -DCMAKE_BUILD_TYPE=Release \
    -DECHO_ONNX_LIB="$target/release/libecho_onnx_cxx.a" >/dev/null
  cmake --build build/paraview-plugin -j 1
  ls build/paraview-plugin/lib/paraview-*/plugins/EchoOnnx/EchoOnnx.so
fi
