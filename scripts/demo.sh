#!/usr/bin/env bash
# Install db4e into a virtual environment (builds the Rust extension) and run the demo:
# an embedded store in a new folder, the real sample logs and a generated day of P2Pool
# output imported, a live log followed for a few seconds, then status and CSV files.
# Arguments are passed to `db4e demo` (see `db4e demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

venv=${DB4E_VENV:-.venv}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q .
exec "$venv/bin/db4e" demo "$@"
