"""`db4e demo`, the README's main command, as a new user runs it."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.timeout(180)
def test_demo_end_to_end(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = subprocess.run(
        [
            sys.executable, "-m", "db4e", "demo", "--dir", str(folder),
            "--live-seconds", "3", "--farm-seconds", "2",
        ],
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "147 events stored, 0 already stored" in out
    assert "0 events stored, 147 already stored" in out
    assert "restarted by the supervisor and ready again" in out
    assert "fresh: newest event" in out
    names = sorted(p.name for p in (folder / "csv").iterdir())
    assert names == [
        "blocks-found.csv",
        "hashrate-hourly.csv",
        "payouts.csv",
        "shares-by-worker.csv",
        "shares-found.csv",
    ]
    db = sqlite3.connect(folder / "db4e.sqlite3")
    try:
        kinds = {k for (k,) in db.execute("SELECT DISTINCT kind FROM events")}
    finally:
        db.close()
    assert {"share_found", "worker", "daemon_restarted", "daemon_stopped"} <= kinds
    if shutil.which("monerod"):
        assert "monerod, p2pool, xmrig: all ready" in out


def test_demo_refuses_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = subprocess.run(
        [sys.executable, "-m", "db4e", "demo", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "exists and is not empty" in result.stderr
