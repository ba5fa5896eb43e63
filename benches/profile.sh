#!/usr/bin/env bash
# Profile the parser core on the first MEGABYTES (default 20) of a log with callgrind and
# print the functions that execute the most instructions, self and inclusive.
#
#   benches/profile.sh benches/data/p2pool-B-1000MB.log [MEGABYTES]
#
# Instruction counts, unlike timings, do not depend on the load of a shared machine, so
# two builds can be compared exactly. perf's hardware counters are not available in
# every virtual machine; `perf record -e cpu-clock` sampling is an alternative there.
set -euo pipefail
cd "$(dirname "$0")/.."
log=${1:?usage: benches/profile.sh LOG [MEGABYTES]}
megabytes=${2:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build -q --release --example scan_file
head -c "$((megabytes * 1000000))" "$log" >"$work/slice.log"
valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
    target/release/examples/scan_file "$work/slice.log" 2>"$work/valgrind.err"
grep -E "Collected" "$work/valgrind.err" | sed 's/^==[0-9]*== /instructions /'

echo "== self"
callgrind_annotate --inclusive=no "$work/callgrind.out" | sed -n '/file:function/,$p' | sed -n 3,27p
echo "== inclusive"
callgrind_annotate --inclusive=yes "$work/callgrind.out" | sed -n '/file:function/,$p' | sed -n 3,40p
