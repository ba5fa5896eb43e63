#!/usr/bin/env bash
# Fuzz the streaming parser for SECONDS seconds (default 60). Arbitrary bytes, parsed
# whole and cut in two, must give equal events, and a panic counts as a crash. Exits
# non-zero on a crash and leaves the crashing input in fuzz/artifacts/split_stream/.
#
#   fuzz/run.sh 30
#
# cargo-fuzz (checked with 0.13.2) passes nightly-only flags for its sanitizers. With
# `-s none` (no sanitizer) the flags left are accepted by stable rustc when
# RUSTC_BOOTSTRAP=1, so this runs on the stable toolchain. Debug assertions (`-a`) are on, so an integer
# overflow is a crash too.
set -euo pipefail
seconds=${1:-60}
cd "$(dirname "$0")"
export PATH="$HOME/.cargo/bin:$PATH"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz from crates.io"
    cargo install cargo-fuzz --locked
fi

# Seed the corpus with the real samples. Each seed gets the three control bytes the
# target reads first (default line cap, cut at byte 64), so that its log starts intact.
corpus=corpus/split_stream
mkdir -p "$corpus"
for sample in ../tests/data/samples/*/*.log; do
    { printf '\000\000\100'; cat "$sample"; } >"$corpus/sample-$(basename "$sample")"
done

export RUSTC_BOOTSTRAP=1
exec cargo fuzz run split_stream "$corpus" -s none -a -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
