"""`import_file` and `db4e import` on real files and a real store."""

from __future__ import annotations

import gzip
import json
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from db4e import importer
from db4e.importer import import_file
from db4e.parser import BinaryFileError, iter_file
from db4e.store.sqlite import SqliteStore

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

SAMPLES = Path(__file__).parent / "data" / "samples"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def share(n: int) -> bytes:
    """A P2Pool SHARE FOUND line made unique by its sidechain height `14560000 + n`."""
    return (
        f"NOTICE  2026-08-14 09:{n // 60 % 60:02d}:{n % 60:02d}.4821 StratumServer "
        f"SHARE FOUND: mainchain height 3745120, sidechain height {14560000 + n}, "
        f"diff 251004117, client 192.0.2.15:50123, user rig{n % 4}, effort 87.412%\n"
    ).encode()


def shares(numbers: range) -> bytes:
    return b"".join(share(n) for n in numbers)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


@pytest.fixture
async def store(store_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(store_path, xmrig_zone="UTC")
    yield opened
    await opened.aclose()


def query(store_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(store_path) as conn:
        return conn.execute(sql).fetchall()


def heights(store_path: Path) -> list[int]:
    rows = query(
        store_path,
        "SELECT json_extract(data, '$.sidechain_height') FROM events "
        "WHERE kind = 'share_found' ORDER BY 1",
    )
    return [int(str(height)) - 14560000 for (height,) in rows]


# import_file


async def test_import_twice_stores_once(
    store: SqliteStore, tmp_path: Path, store_path: Path
) -> None:
    log = tmp_path / "p2pool.log"
    log.write_bytes(shares(range(50)))
    first = await import_file(store, log)
    second = await import_file(store, log)
    assert (first.new, first.duplicates) == (50, 0)
    assert (second.new, second.duplicates) == (0, 50)
    assert first.error is None
    assert heights(store_path) == list(range(50))


async def test_import_rotated_copy_and_live(
    store: SqliteStore, tmp_path: Path, store_path: Path
) -> None:
    # copytruncate copies lines 0-59 while lines 55-59 are also left in the live file.
    rotated, live = tmp_path / "p2pool.log.1", tmp_path / "p2pool.log"
    rotated.write_bytes(shares(range(60)))
    live.write_bytes(shares(range(55, 100)))
    first = await import_file(store, rotated)
    second = await import_file(store, live)
    assert (first.new, first.duplicates) == (60, 0)
    assert (second.new, second.duplicates) == (40, 5)
    assert heights(store_path) == list(range(100))
    origins = dict(
        query(store_path, "SELECT origin, count(*) FROM events GROUP BY origin")
    )
    assert origins == {str(rotated): 60, str(live): 40}


async def test_import_gzip(
    store: SqliteStore, tmp_path: Path, store_path: Path
) -> None:
    log = tmp_path / "p2pool.log.2.gz"
    log.write_bytes(gzip.compress(shares(range(30))))
    result = await import_file(store, log)
    assert result.error is None
    assert result.new == 30
    assert result.stats.lines == 30
    assert heights(store_path) == list(range(30))


async def test_import_large_file_in_chunks(
    store: SqliteStore,
    tmp_path: Path,
    store_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # About 70 chunks of 64 KiB pass through a queue of one.
    monkeypatch.setattr(importer, "READ_SIZE", 64 << 10)
    monkeypatch.setattr(importer, "QUEUE_CHUNKS", 1)
    count = 25_000
    log = tmp_path / "p2pool.log"
    log.write_bytes(shares(range(count)))
    progress: list[tuple[int, int]] = []
    result = await import_file(
        store, log, lambda done, size: progress.append((done, size))
    )
    assert result.new == count
    assert query(store_path, "SELECT count(*) FROM events") == [(count,)]
    size = log.stat().st_size
    assert len(progress) >= 60
    assert progress[-1] == (size, size)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)


async def test_import_summary_numbers(store: SqliteStore, tmp_path: Path) -> None:
    log = tmp_path / "p2pool.log"
    oversized = b"NOTICE  2026-08-14 09:15:02.4821 P2PServer " + b"x" * 100_000 + b"\n"
    log.write_bytes(shares(range(3)) + b"garbage line\n" + oversized + share(3))
    result = await import_file(store, log)
    assert result.stats.lines == 6
    assert result.stats.events == 4
    assert result.stats.events_by_kind == {"share_found": 4}
    assert result.stats.unrecognised_lines == 1
    assert result.stats.oversized_lines == 1
    assert (result.new, result.duplicates) == (4, 0)


async def test_import_samples_match_parser(
    store: SqliteStore, store_path: Path
) -> None:
    expected = set()
    for log in sorted(SAMPLES.glob("*/*.log")):
        result = await import_file(store, log)
        assert result.error is None, log
        for batch in iter_file(log):
            expected.update(event.identity for event in batch)
    stored = {
        bytes(identity)
        for (identity,) in query(store_path, "SELECT identity FROM events")
    }  # type: ignore[arg-type]
    assert stored == expected


async def test_import_records_run(
    store: SqliteStore, tmp_path: Path, store_path: Path
) -> None:
    log = tmp_path / "p2pool.log"
    log.write_bytes(shares(range(7)))
    await import_file(store, log)
    [(command, origin, finished, new, stats)] = query(
        store_path,
        "SELECT command, origin, finished_at IS NOT NULL, new_events, stats "
        "FROM ingest_runs",
    )
    assert command == "import"
    assert origin == str(log)
    assert finished == 1
    assert new == 7
    assert json.loads(str(stats))["events_by_kind"] == {"share_found": 7}


@pytest.mark.parametrize("case", ["missing", "directory", "binary", "truncated-gz"])
async def test_import_bad_file(store: SqliteStore, tmp_path: Path, case: str) -> None:
    path = tmp_path / "bad.log"
    if case == "directory":
        path.mkdir()
    elif case == "binary":
        path.write_bytes(b"\x7fELF\x00\x00" * 100)
    elif case == "truncated-gz":
        path.write_bytes(gzip.compress(shares(range(2000)))[:5000])
    result = await import_file(store, path)
    expected = {
        "missing": FileNotFoundError,
        "directory": IsADirectoryError,
        "binary": BinaryFileError,
        "truncated-gz": EOFError,
    }[case]
    assert isinstance(result.error, expected)


async def test_import_truncated_gz_keeps_events_read(
    store: SqliteStore, tmp_path: Path
) -> None:
    # About 7 MiB of log cut at 70 % of its compressed size: the first complete
    # 1 MiB chunks are stored, the chunk that hits the cut is lost.
    compressed = gzip.compress(shares(range(40_000)))
    path = tmp_path / "p2pool.log.gz"
    path.write_bytes(compressed[: len(compressed) * 7 // 10])
    result = await import_file(store, path)
    assert isinstance(result.error, EOFError)
    assert result.new > 10_000
    assert await store.count() == result.new


# db4e import


def db4e(
    *args: str, db: Path, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "db4e", "--db", str(db), *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_import_command_summary(tmp_path: Path, store_path: Path) -> None:
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_bytes(shares(range(4)))
    second.write_bytes(shares(range(2, 8)) + b"garbage\n")
    result = db4e("import", str(first), str(second), db=store_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines == [
        f"{first}: 4 new, 0 already stored; 4 lines, 4 events (share_found 4); "
        "0 unrecognised records, 0 unrecognised lines, 0 oversized lines",
        f"{second}: 4 new, 2 already stored; 7 lines, 6 events (share_found 6); "
        "0 unrecognised records, 1 unrecognised lines, 0 oversized lines",
        "total of 2 files: 8 new, 2 already stored; 11 lines, 10 events "
        "(share_found 10); 0 unrecognised records, 1 unrecognised lines, "
        "0 oversized lines",
    ]
    assert result.stderr == b""


def test_import_command_bad_files(tmp_path: Path, store_path: Path) -> None:
    good = tmp_path / "p2pool.log"
    good.write_bytes(shares(range(3)))
    binary = tmp_path / "p2pool.bin"
    binary.write_bytes(b"\x00" * 64)
    missing = tmp_path / "missing.log"
    result = db4e(
        "import", str(missing), str(tmp_path), str(binary), str(good), db=store_path
    )
    assert result.returncode == 3
    errors = result.stderr.decode().splitlines()
    assert errors[0] == f"db4e: {missing}: No such file or directory"
    assert errors[1].startswith(f"db4e: {tmp_path}: is a directory")
    assert errors[2].startswith(f"db4e: {binary}: not a text log")
    assert len(errors) == 3
    assert heights(store_path) == [0, 1, 2]
    assert f"{good}: 3 new" in result.stdout.decode()
    assert f"{missing}: not imported: " in result.stdout.decode()


def test_import_command_newer_store(tmp_path: Path, store_path: Path) -> None:
    log = tmp_path / "p2pool.log"
    log.write_bytes(shares(range(1)))
    assert db4e("import", str(log), db=store_path).returncode == 0
    with sqlite3.connect(store_path) as conn:
        conn.execute("PRAGMA user_version = 7")
    result = db4e("import", str(log), db=store_path)
    assert result.returncode == 3
    assert result.stderr.decode() == (
        f"db4e: {store_path}: store schema version 7 is newer than this db4e "
        "supports (1); upgrade db4e or pass --db with another file\n"
    )


def test_import_command_not_a_store(tmp_path: Path, store_path: Path) -> None:
    log = tmp_path / "p2pool.log"
    log.write_bytes(shares(range(1)))
    store_path.write_bytes(shares(range(3)))
    result = db4e("import", str(log), db=store_path)
    assert result.returncode == 3
    assert result.stderr.decode().startswith(
        f"db4e: {store_path}: not an SQLite database"
    )
    assert store_path.read_bytes() == shares(range(3))


def test_import_command_stdin(store_path: Path) -> None:
    result = db4e("import", "-", db=store_path, stdin=shares(range(3)) + b"NOTICE  20")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith("stdin: 3 new, 0 already stored; 3 lines")
    assert query(store_path, "SELECT DISTINCT origin FROM events") == [("stdin",)]
    assert heights(store_path) == [0, 1, 2]
