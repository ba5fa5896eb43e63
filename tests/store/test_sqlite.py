"""The SQLite store on real files: schema, idempotence, atomicity, errors, modes."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from db4e.parser import Event, Parser, ParserStats
from db4e.store import (
    Checkpoint,
    NotAStoreError,
    SchemaTooNewError,
    StoreLockedError,
    utc_micros,
)
from db4e.store.sqlite import SCHEMA_VERSION, SqliteStore, connect

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def share_line(n: int) -> bytes:
    """A P2Pool SHARE FOUND line made unique by its sidechain height."""
    return (
        f"NOTICE  2026-08-14 09:15:{n % 60:02d}.4821 StratumServer SHARE FOUND: "
        f"mainchain height 3745120, sidechain height {14560000 + n}, diff 251004117, "
        f"client 192.0.2.15:50123, user rig{n % 3}, effort 87.412%\n"
    ).encode()


def shares(count: int) -> list[Event]:
    parser = Parser()
    events = parser.feed(b"".join(share_line(n) for n in range(count)))
    assert len(events) == count
    return events


def xmrig_event(printed: str) -> Event:
    line = f"[{printed}]  cpu      accepted (8/1) diff 120001 (245 ms)\n"
    events = Parser().feed(line.encode())
    assert len(events) == 1
    return events[0]


def checkpoint(offset: int, origin: str = "/var/log/p2pool.log") -> Checkpoint:
    return Checkpoint(
        origin=origin,
        device=1,
        inode=2,
        offset=offset,
        line=7,
        fingerprint=b"f" * 16,
        fingerprint_len=1024,
    )


def micros(*fields: int) -> int:
    moment = datetime(*fields, tzinfo=UTC)  # type: ignore[misc]
    return int(moment.timestamp()) * 1_000_000


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


@pytest.fixture
async def store(store_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(store_path, farm="farm1", xmrig_zone="UTC")
    yield opened
    await opened.aclose()


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


# Idempotence and atomicity


async def test_insert_twice_stores_once(store: SqliteStore, store_path: Path) -> None:
    events = shares(5)
    assert await store.insert(events, "/logs/p2pool.log") == (5, 0)
    assert await store.insert(events, "/logs/p2pool.log") == (0, 5)
    assert await store.count() == 5
    assert await store.count("share_found") == 5
    assert rows(store_path, "SELECT count(DISTINCT identity) FROM events") == [(5,)]


async def test_insert_counts_overlap(store: SqliteStore) -> None:
    events = shares(6)
    assert await store.insert(events[:4], "a") == (4, 0)
    assert await store.insert(events[2:], "b") == (2, 2)


async def test_insert_columns(store: SqliteStore, store_path: Path) -> None:
    event = shares(1)[0]
    await store.insert([event], "/logs/p2pool.log")
    [row] = rows(
        store_path,
        "SELECT identity, farm, source, kind, ts_utc, ts_text, height, worker, data, "
        "origin, line FROM events",
    )
    assert row[0] == event.identity
    assert row[1] == "farm1"
    assert row[2] == "p2pool"
    assert row[3] == "share_found"
    assert row[4] == event.ts_micros
    assert row[5] == "2026-08-14 09:15:00.4821"
    assert row[6] == 3745120
    assert row[7] == "rig0"
    assert row[8] == event.json
    assert row[9] == "/logs/p2pool.log"
    assert row[10] == 1


async def test_checkpoint_stored_with_events(store: SqliteStore) -> None:
    await store.insert(shares(2), "/var/log/p2pool.log", checkpoint(300))
    loaded = await store.load_checkpoint("/var/log/p2pool.log")
    assert loaded is not None
    assert loaded.offset == 300
    assert loaded.line == 7
    assert loaded.fingerprint == b"f" * 16
    assert loaded.updated_at > 0
    assert await store.count() == 2


async def test_checkpoint_replaced(store: SqliteStore) -> None:
    await store.insert([], None, checkpoint(100))
    await store.insert([], None, checkpoint(200))
    loaded = await store.load_checkpoint("/var/log/p2pool.log")
    assert loaded is not None
    assert loaded.offset == 200


async def test_failed_checkpoint_rolls_back_events(
    store: SqliteStore, store_path: Path
) -> None:
    # A NULL fingerprint violates NOT NULL after the events went in: the transaction
    # must take the events back out.
    broken = Checkpoint("/var/log/p2pool.log", 1, 2, 10, 1, None, 0)  # type: ignore[arg-type]
    with pytest.raises(sqlite3.IntegrityError):
        await store.insert(shares(3), "/var/log/p2pool.log", broken)
    assert await store.count() == 0
    assert await store.load_checkpoint("/var/log/p2pool.log") is None
    assert await store.insert(shares(3), "/var/log/p2pool.log") == (3, 0)


async def test_missing_checkpoint_is_none(store: SqliteStore) -> None:
    assert await store.load_checkpoint("/nowhere.log") is None


# Runs and reads


async def test_ingest_run_recorded(store: SqliteStore, store_path: Path) -> None:
    run_id = await store.start_run("import", "/logs/a.log")
    stats = ParserStats(lines=10, events=4, events_by_kind={"share_found": 4})
    await store.update_run(run_id, 3, 1, stats)
    [(finished,)] = rows(store_path, "SELECT finished_at FROM ingest_runs")
    assert finished is None
    await store.finish_run(run_id, 4, 0, stats)
    [row] = rows(
        store_path,
        "SELECT command, origin, finished_at IS NOT NULL, new_events, "
        "duplicate_events, json_extract(stats, '$.lines') FROM ingest_runs",
    )
    assert row == ("import", "/logs/a.log", 1, 4, 0, 10)


async def test_latest_of_kinds(store: SqliteStore) -> None:
    events = shares(3)
    await store.insert(events, "a")
    latest = await store.latest(["share_found"])
    assert latest is not None
    assert latest.ts_utc == max(e.ts_micros or 0 for e in events)
    assert latest.origin == "a"
    assert await store.latest(["payout"]) is None
    assert await store.latest() == latest


# Time zones


def test_utc_micros_winter_and_summer() -> None:
    assert utc_micros(micros(2026, 1, 15, 12, 0, 0), BERLIN) == micros(
        2026, 1, 15, 11, 0, 0
    )
    assert utc_micros(micros(2026, 7, 15, 12, 0, 0), BERLIN) == micros(
        2026, 7, 15, 10, 0, 0
    )


def test_utc_micros_skipped_hour_uses_old_offset() -> None:
    # 02:30 does not exist in Berlin on 2026-03-29; read with +01:00 it is 01:30 UTC.
    assert utc_micros(micros(2026, 3, 29, 2, 30, 0), BERLIN) == micros(
        2026, 3, 29, 1, 30, 0
    )


def test_utc_micros_repeated_hour_is_first() -> None:
    # 02:30 happens twice in Berlin on 2026-10-25: first at +02:00 (00:30 UTC).
    assert utc_micros(micros(2026, 10, 25, 2, 30, 0), BERLIN) == micros(
        2026, 10, 25, 0, 30, 0
    )


async def test_xmrig_time_converted(store_path: Path) -> None:
    store = await SqliteStore.open(store_path, xmrig_zone="Europe/Berlin")
    try:
        await store.insert([xmrig_event("2026-07-15 12:00:00.250")], "xmrig.log")
        await store.insert(shares(1), "p2pool.log")
    finally:
        await store.aclose()
    got = dict(rows(store_path, "SELECT source, ts_utc FROM events"))
    assert got["xmrig"] == micros(2026, 7, 15, 10, 0, 0) + 250_000
    assert got["p2pool"] == shares(1)[0].ts_micros


async def test_xmrig_time_local_zone(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    store = await SqliteStore.open(store_path, xmrig_zone="local")
    try:
        await store.insert([xmrig_event("2026-01-15 12:00:00.000")], "xmrig.log")
    finally:
        await store.aclose()
    assert rows(store_path, "SELECT ts_utc FROM events") == [
        (micros(2026, 1, 15, 17, 0, 0),)
    ]


# Schema and migrations


async def test_migrates_empty_file(store_path: Path) -> None:
    store_path.touch()
    store = await SqliteStore.open(store_path)
    await store.aclose()
    assert rows(store_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    columns = [r[1] for r in rows(store_path, "PRAGMA table_info(events)")]
    assert columns == [
        "id",
        "identity",
        "farm",
        "source",
        "kind",
        "ts_utc",
        "ts_text",
        "height",
        "amount_pico",
        "hashrate_hs",
        "worker",
        "data",
        "origin",
        "line",
        "stored_at",
    ]
    names = {r[0] for r in rows(store_path, "SELECT name FROM sqlite_master")}
    assert {"events", "checkpoints", "ingest_runs", "meta"} <= names
    assert {"events_kind_ts", "events_worker_ts", "events_ts"} <= names


def test_wal_mode(store_path: Path) -> None:
    conn = connect(store_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA synchronous").fetchone() == (1,)
    finally:
        conn.close()


def test_reopen_keeps_schema(store_path: Path) -> None:
    connect(store_path).close()
    conn = connect(store_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert conn.execute("SELECT count(*) FROM meta").fetchone() == (2,)
    finally:
        conn.close()


def test_newer_schema_rejected(store_path: Path) -> None:
    connect(store_path).close()
    with sqlite3.connect(store_path) as conn:
        conn.execute("PRAGMA user_version = 7")
    with pytest.raises(SchemaTooNewError) as caught:
        connect(store_path)
    assert str(caught.value) == (
        f"{store_path}: store schema version 7 is newer than this db4e supports (1); "
        "upgrade db4e or pass --db with another file"
    )


def test_not_a_database_rejected(store_path: Path) -> None:
    store_path.write_text("NOTICE  this is a log, not a store\n" * 100)
    with pytest.raises(NotAStoreError) as caught:
        connect(store_path)
    assert str(store_path) in str(caught.value)
    assert "not an SQLite database" in str(caught.value)
    assert "--db" in str(caught.value)


def test_foreign_database_rejected(store_path: Path) -> None:
    with sqlite3.connect(store_path) as conn:
        conn.execute("CREATE TABLE photos (id INTEGER)")
    with pytest.raises(NotAStoreError) as caught:
        connect(store_path)
    assert "another program" in str(caught.value)
    assert rows(store_path, "SELECT name FROM sqlite_master") == [("photos",)]


def test_missing_store_without_create(store_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        connect(store_path, create=False)
    assert caught.value.filename == str(store_path)
    assert not store_path.exists()


def test_directory_as_store_rejected(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        connect(tmp_path)


# File modes


def test_new_store_is_private(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        path = tmp_path / "data" / "db4e" / "store.sqlite3"
        connect(path).close()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700


def test_wal_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    conn = connect(path)
    try:
        conn.execute("INSERT INTO meta VALUES ('k', 'v')")
        wal = Path(f"{path}-wal")
        assert wal.exists()
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600
    finally:
        conn.close()


def test_existing_folder_mode_kept(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    connect(tmp_path / "store.sqlite3").close()
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


# Locking

LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the store file from another process."""
    with subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as locker:
        assert locker.stdout is not None
        assert locker.stdin is not None
        try:
            assert locker.stdout.readline() == b"locked\n"
            yield
        finally:
            locker.stdin.close()
            locker.wait(timeout=10)


async def test_locked_store_insert_fails(store_path: Path) -> None:
    store = await SqliteStore.open(store_path, busy_timeout=0.2)
    try:
        with locked(store_path), pytest.raises(StoreLockedError) as caught:
            await store.insert(shares(1), "a")
        assert caught.value.filename == str(store_path)
        assert "locked by another process" in str(caught.value.strerror)
        assert "--db" in str(caught.value.strerror)
        assert await store.insert(shares(1), "a") == (1, 0)
    finally:
        await store.aclose()


def test_locked_store_open_fails(store_path: Path) -> None:
    store_path.touch()
    with locked(store_path), pytest.raises(StoreLockedError) as caught:
        connect(store_path, busy_timeout=0.2)
    assert caught.value.filename == str(store_path)


def test_other_process_cannot_delete_live_wal(tmp_path: Path) -> None:
    # Two connections in this process, as in db4e run (store actor and a log
    # follower), then another process opens and closes the store (db4e status).
    path = tmp_path / "db4e.sqlite3"
    first = connect(path)
    second = connect(path)
    try:
        reader = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from db4e.store.sqlite import connect; "
                "connect(sys.argv[1]).close()",
                str(path),
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert reader.returncode == 0, reader.stderr
        first.execute("INSERT INTO meta (key, value) VALUES ('probe', 'kept')")
        assert Path(f"{path}-wal").exists()
    finally:
        second.close()
        first.close()
    check = sqlite3.connect(path)
    try:
        rows = check.execute("SELECT value FROM meta WHERE key = 'probe'").fetchall()
    finally:
        check.close()
    assert rows == [("kept",)]
