"""`db4e status` and `db4e export` through the real command line, in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from db4e.parser import Parser
from db4e.reports import CSV_HEADERS
from db4e.store.sqlite import SqliteStore, connect

pytestmark = pytest.mark.timeout(120)

#: Top-level keys of the `db4e status --json` document.
STATUS_KEYS = {
    "version",
    "generated_at",
    "farm",
    "timezone",
    "store",
    "freshness",
    "last_share",
    "last_block",
    "last_payout",
    "totals",
    "today",
    "last_7_days",
    "hashrates",
    "workers",
    "ingest",
}


def share(ts: str, n: int) -> str:
    return (
        f"NOTICE  {ts} StratumServer SHARE FOUND: mainchain height 3745120, "
        f"sidechain height {14560000 + n}, diff 251004117, client 192.0.2.15:50123, "
        "user rig1, effort 87.412%\n"
    )


def store_text(path: Path, text: str) -> None:
    async def insert() -> None:
        store = await SqliteStore.open(path, xmrig_zone="UTC")
        try:
            parser = Parser()
            await store.insert(
                parser.feed(text.encode()) + parser.finish(), "p2pool.log"
            )
        finally:
            await store.aclose()

    anyio.run(insert)


def db4e(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "db4e", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write_config(tmp_path: Path, store: Path, extra: str = "") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{store}"\n{extra}')
    return config


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "data" / "db4e.sqlite3"


@pytest.fixture
def farm(store: Path) -> Path:
    """A store with shares on 14 and 16 August 2026, the newest at 22:30 UTC."""
    store.parent.mkdir()
    store_text(
        store,
        share("2026-08-14 09:00:00.0000", 1)
        + share("2026-08-16 10:00:00.0000", 2)
        + share("2026-08-16 22:30:00.0000", 3),
    )
    return store


# status


def test_status_missing_store(tmp_path: Path, store: Path) -> None:
    config = write_config(tmp_path, store)
    for args in ([], ["--json"]):
        result = db4e(config, "status", *args)
        assert result.returncode == 1
        assert result.stderr == (
            f"db4e: no store at {store}; run db4e import or db4e demo first\n"
        )
        assert result.stdout == ""
    assert not store.exists()
    assert not store.parent.exists()


def test_status_empty_store(tmp_path: Path, store: Path) -> None:
    store.parent.mkdir()
    connect(store).close()
    result = db4e(write_config(tmp_path, store), "status")
    assert result.returncode == 1
    assert "empty: the store holds no events of this farm" in result.stdout


def test_status_fresh_exit_zero(tmp_path: Path, farm: Path) -> None:
    config = write_config(tmp_path, farm)
    result = db4e(config, "status", "--now", "2026-08-16T22:40:00Z")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("fresh: newest event 10 min ago")
    assert "rig1" in result.stdout


def test_status_stale_exit_one(tmp_path: Path, farm: Path) -> None:
    config = write_config(tmp_path, farm)
    result = db4e(config, "status", "--now", "2026-08-17T01:00:00Z")
    assert result.returncode == 1
    assert result.stdout.startswith("stale: newest event 2 h 30 min ago")
    assert "(stale after 15 min)" in result.stdout


def test_status_stale_after_from_config(tmp_path: Path, farm: Path) -> None:
    config = write_config(tmp_path, farm, "[status]\nstale_after_seconds = 60\n")
    fresh = db4e(config, "status", "--json", "--now", "2026-08-16T22:31:00Z")
    stale = db4e(config, "status", "--json", "--now", "2026-08-16T22:31:01Z")
    assert fresh.returncode == 0
    assert stale.returncode == 1
    assert json.loads(stale.stdout)["freshness"]["stale_after_seconds"] == 60


def test_status_json_document(tmp_path: Path, farm: Path) -> None:
    config = write_config(tmp_path, farm, '[export]\ntimezone = "Europe/Berlin"\n')
    result = db4e(config, "status", "--json", "--now", "2026-08-16T22:40:00Z")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == STATUS_KEYS
    assert document["freshness"]["state"] == "fresh"
    assert document["timezone"] == "Europe/Berlin"
    # 22:30 UTC is 00:30 on 17 August in Berlin, so "today" there has one share.
    assert document["today"]["first_day"] == "2026-08-17"
    assert document["today"]["shares"] == 1
    assert document["totals"]["shares"] == 3
    assert document["store"]["path"] == str(farm)


def test_status_not_a_store(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database\n")
    result = db4e(write_config(tmp_path, bogus), "status")
    assert result.returncode == 3
    assert result.stderr.startswith(f"db4e: {bogus}: not an SQLite database")


def test_status_invalid_now(tmp_path: Path, farm: Path) -> None:
    result = db4e(write_config(tmp_path, farm), "status", "--now", "yesterday")
    assert result.returncode == 2
    assert "invalid time 'yesterday'" in result.stderr


# export


def test_export_writes_files(tmp_path: Path, farm: Path) -> None:
    out = tmp_path / "csv"
    result = db4e(write_config(tmp_path, farm), "export", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(out / name) for name in CSV_HEADERS]
    assert (out / "shares-found.csv").read_text() == (
        "date,shares\n2026-08-14,1\n2026-08-15,0\n2026-08-16,2\n"
    )


def test_export_rerun_byte_identical(tmp_path: Path, farm: Path) -> None:
    config = write_config(tmp_path, farm)
    out = tmp_path / "csv"
    assert db4e(config, "export", "--out", str(out)).returncode == 0
    first = {name: (out / name).read_bytes() for name in CSV_HEADERS}
    assert db4e(config, "export", "--out", str(out)).returncode == 0
    second = {name: (out / name).read_bytes() for name in CSV_HEADERS}
    assert first == second


def test_export_zone_from_config(tmp_path: Path, farm: Path) -> None:
    config = write_config(tmp_path, farm, '[export]\ntimezone = "Europe/Berlin"\n')
    out = tmp_path / "csv"
    assert db4e(config, "export", "--out", str(out)).returncode == 0
    assert (out / "shares-found.csv").read_text() == (
        "date,shares\n2026-08-14,1\n2026-08-15,0\n2026-08-16,1\n2026-08-17,1\n"
    )


def test_export_tz_overrides_config(tmp_path: Path, farm: Path) -> None:
    config = write_config(tmp_path, farm, '[export]\ntimezone = "Europe/Berlin"\n')
    out = tmp_path / "csv"
    assert db4e(config, "export", "--out", str(out), "--tz", "UTC").returncode == 0
    assert (out / "shares-found.csv").read_text() == (
        "date,shares\n2026-08-14,1\n2026-08-15,0\n2026-08-16,2\n"
    )


def test_export_out_from_config(tmp_path: Path, farm: Path) -> None:
    out = tmp_path / "published"
    config = write_config(tmp_path, farm, f'[export]\nout = "{out}"\n')
    result = db4e(config, "export")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(CSV_HEADERS)


def test_export_days_option(tmp_path: Path, farm: Path) -> None:
    out = tmp_path / "csv"
    args = ["--out", str(out), "--days", "2", "--now", "2026-08-17T08:00:00Z"]
    result = db4e(write_config(tmp_path, farm), "export", *args)
    assert result.returncode == 0, result.stderr
    assert (out / "shares-found.csv").read_text() == (
        "date,shares\n2026-08-16,2\n2026-08-17,0\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "x", "--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["--out", "x", "--days", "0"], "0 is not in the range x>=1"),
        ([], "missing --out"),
    ],
)
def test_export_usage_errors(
    tmp_path: Path, farm: Path, args: list[str], message: str
) -> None:
    result = db4e(write_config(tmp_path, farm), "export", *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_export_missing_store(tmp_path: Path, store: Path) -> None:
    out = tmp_path / "csv"
    result = db4e(write_config(tmp_path, store), "export", "--out", str(out))
    assert result.returncode == 3
    assert result.stderr == (
        f"db4e: no store at {store}; run db4e import or db4e demo first\n"
    )
    assert not store.exists()
    assert not out.exists()
