#!/usr/bin/env bash
# Run every fuzz target (fuzz/) for SECONDS_PER_TARGET seconds (default 10) on a temporary copy of the
# committed corpus and regression inputs; fail on any crash, timeout or out-of-memory.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]
#
# cargo-fuzz needs a nightly compiler: the nightly toolchain if rustup has one, otherwise the stable one
# with RUSTC_BOOTSTRAP=1 (which unlocks the same flags). New corpus files go to the temporary copy, never
# into the repository; a crashing input is kept under $FUZZ_KEEP (default: a temporary directory) and
# its path printed. To keep what a long run learns, minimise it into fuzz/corpus (see fuzz/README.md).
set -euo pipefail

secs="${1:-10}"
[[ "$secs" =~ ^[0-9]+$ && "$secs" -gt 0 ]] || { echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2; }
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    fuzz=(cargo +nightly fuzz)
else
    echo "== no nightly toolchain: using stable with RUSTC_BOOTSTRAP=1"
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi

# -s none: the crate is safe Rust, so AddressSanitizer finds nothing more and halves the speed;
# -a: overflow checks and debug assertions on, as in `cargo test`, so that arithmetic on hostile
# sizes fails here rather than wrapping.
build_flags=(-s none -a)
targets=($("${fuzz[@]}" list))
"${fuzz[@]}" build "${build_flags[@]}"

work="$(mktemp -d)"
keep="${FUZZ_KEEP:-$work/artifacts}"
trap 'rm -rf "$work/corpus"' EXIT
failed=()
for t in "${targets[@]}"; do
    mkdir -p "$work/corpus/$t" "$keep/$t"
    cp -r corpus/"$t"/. "$work/corpus/$t/" 2>/dev/null || true
    seeds=()
    [[ -d regressions/$t ]] && seeds=("regressions/$t")
    echo "== fuzzing $t for ${secs}s"
    if ! "${fuzz[@]}" run "${build_flags[@]}" "$t" "$work/corpus/$t" "${seeds[@]}" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -artifact_prefix="$keep/$t/" -print_final_stats=1 2>"$work/$t.log"; then
        tail -n 40 "$work/$t.log" >&2
        failed+=("$t")
        continue
    fi
    grep -E '^#[0-9]+.*DONE|stat::number_of_executed_units' "$work/$t.log" | tail -n 2 || true
done

if ((${#failed[@]})); then
    echo "FAIL: fuzz targets with findings: ${failed[*]} (inputs under $keep/<target>/; add each to fuzz/regressions/<target>/ once fixed)" >&2
    exit 1
fi
rm -rf "$work"
echo "fuzz: ${#targets[@]} targets x ${secs}s, no findings"
