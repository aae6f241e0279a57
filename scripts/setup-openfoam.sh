#!/usr/bin/env bash
# Set up the OpenFOAM side of echo-onnx on a fresh Debian/Ubuntu machine (idempotent; a second run
# takes seconds):
#   1. Debian's OpenFOAM v1912 (apt: openfoam, openfoam-examples; Open MPI comes with it),
#   2. OpenFOAM's headers, which no binary package ships: deb-src entries derived from the
#      machine's own apt sources, `apt-get source openfoam` (the same version as the binaries) into
#      build/openfoam/src, and wmakeLnInclude for OpenFOAM, OSspecific/POSIX, finiteVolume and
#      meshTools,
#   3. the C++ bridge: cxx-bridge/ as a static library (libecho_onnx_cxx.a) and its smoke test,
#   4. the function object: build/openfoam/lib/libechoSurrogate.so.
# Needs Rust (cargo); the tests also need scripts/setup.sh (the project's .venv).
# Usage: scripts/setup-openfoam.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=$root/build/openfoam
target=${CARGO_TARGET_DIR:-$root/target}

say() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. OpenFOAM and the tools the build needs
missing=()
for pkg in openfoam openfoam-examples g++ dpkg-dev liblzma-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing system packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# 2. OpenFOAM's source (headers), same version as the installed binaries
version=$(dpkg-query -W -f='${Version}' libopenfoam)
version=${version%+b*}          # a binary-only rebuild (+bN) has the source of the plain version
upstream=${version%-*}
src=$out/src/openfoam-$upstream
if [ ! -f "$src/src/finiteVolume/lnInclude/fvCFD.H" ]; then
  if ! grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    say "enabling source packages (deb-src) from the existing apt sources"
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      sed 's/^Types:.*$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
        as_root tee /etc/apt/sources.list.d/echo-onnx-deb-src.sources >/dev/null
    else
      grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | sed 's/^deb /deb-src /' |
        as_root tee /etc/apt/sources.list.d/echo-onnx-deb-src.list >/dev/null
    fi
  fi
  say "downloading OpenFOAM's source ($version) for its headers"
  as_root apt-get update -qq
  mkdir -p "$out/src"
  (cd "$out/src" && apt-get source -qq "openfoam=$version" >/dev/null)
  say "linking OpenFOAM's headers (wmakeLnInclude)"
  for d in OpenFOAM OSspecific/POSIX finiteVolume meshTools; do
    "$src/wmake/wmakeLnInclude" -u "$src/src/$d" >/dev/null 2>&1
  done
  [ -f "$src/src/finiteVolume/lnInclude/fvCFD.H" ] || { echo "error: wmakeLnInclude failed in $src" >&2; exit 1; }
fi

# 3. The bridge (static library) and its smoke test
say "building the C++ bridge (cxx-bridge, release)"
cargo build --release --locked --manifest-path cxx-bridge/Cargo.toml --target-dir "$target"
staticlib=$target/release/libecho_onnx_cxx.a
# What `cargo rustc -- --print native-static-libs` lists for this library.
native_libs=(-lstdc++ -ldl -llzma -lgcc_s -lutil -lrt -lpthread -lm)
mkdir -p "$out/lib" "$out/bin"
if [ ! -x "$out/bin/echo-cxx-smoke" ] || [ "$staticlib" -nt "$out/bin/echo-cxx-smoke" ] ||
   [ cxx-bridge/tests/smoke.cpp -nt "$out/bin/echo-cxx-smoke" ]; then
  g++ -std=c++14 -O1 -Iinclude cxx-bridge/tests/smoke.cpp "$staticlib" -Wl,--exclude-libs,ALL \
    "${native_libs[@]}" -o "$out/bin/echo-cxx-smoke"
fi

# 4. The function object
lib=$out/lib/libechoSurrogate.so
if [ ! -f "$lib" ] || [ "$staticlib" -nt "$lib" ] || [ openfoam-plugin/src/echoSurrogate.C -nt "$lib" ] ||
   [ openfoam-plugin/src/echoSurrogate.H -nt "$lib" ] || [ include/echo_onnx.hpp -nt "$lib" ]; then
  say "building the function object $lib"
  s=$src/src
  g++ -std=c++14 -O2 -fPIC -shared -m64 -DWM_DP -DWM_LABEL_SIZE=32 -DNoRepository \
    -ftemplate-depth-100 -Wall -Wno-attributes -Wno-unused-local-typedefs \
    -Iinclude -I"$s/OpenFOAM/lnInclude" -I"$s/OSspecific/POSIX/lnInclude" \
    -I"$s/finiteVolume/lnInclude" -I"$s/meshTools/lnInclude" \
    openfoam-plugin/src/echoSurrogate.C -o "$lib.tmp" \
    -Wl,--no-as-needed -lfiniteVolume -lmeshTools -lOpenFOAM \
    "$staticlib" -Wl,--exclude-libs,ALL "${native_libs[@]}"
  mv "$lib.tmp" "$lib"
fi
say "ready: $lib (controlDict: libs (\"libechoSurrogate.so\"); with LD_LIBRARY_PATH=$out/lib)"
