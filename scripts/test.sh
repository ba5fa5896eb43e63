#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run every check and test:
# a virtual environment with db4e and its test tools (builds the Rust extension), the Rust
# unit tests, formatting, lints, types, the pytest suite and a bounded fuzz run.
#
#   scripts/test.sh              everything
#   DB4E_FUZZ_SECONDS=0 ...      skip the fuzz run
#   PYTEST_ARGS="-m 'not slow'"  extra arguments for pytest
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

venv=${DB4E_VENV:-.venv}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -e '.[test]'

echo "== Rust: format, lints, unit tests"
cargo fmt --check
cargo clippy --all-targets -q -- -D warnings
cargo test -q

echo "== Python: format, lints, types"
"$venv/bin/ruff" format --check python tests benches
"$venv/bin/ruff" check python tests benches
"$venv/bin/mypy"

echo "== pytest"
eval "set -- ${PYTEST_ARGS:-}"
"$venv/bin/python" -m pytest "$@"

fuzz_seconds=${DB4E_FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" -gt 0 ]; then
    echo "== fuzz the parser for ${fuzz_seconds}s"
    # libFuzzer prints a line per corpus change; keep its output unless the run fails.
    fuzz_log=$(mktemp)
    if ! fuzz/run.sh "$fuzz_seconds" >"$fuzz_log" 2>&1; then
        tail -n 60 "$fuzz_log"
        echo "fuzz: the parser crashed or the fuzz build failed; full output in $fuzz_log" >&2
        exit 1
    fi
    grep -E '^(Done|stat::number_of_executed_units)' "$fuzz_log" || tail -n 3 "$fuzz_log"
    rm -f "$fuzz_log"
fi
