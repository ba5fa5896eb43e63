"""Following live log files: partial lines, rotation, truncation, restarts.

Most tests drive `FileFollower` step by step, so each file operation lands between two
known reads. The tests at the end run the real `follow` loop and `db4e watch`.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from db4e.follow import Batch, FileFollower, fingerprint, follow
from db4e.store import Checkpoint
from db4e.store.sqlite import SqliteStore

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

STATUS_BLOCK = (
    b"NOTICE  2026-08-16 10:34:27.6667 SideChain status\n"
    b"Monero node               = rig7:RPC 19081:ZMQ 19083 (127.0.1.1)\n"
    b"Main chain height         = 3741362\n"
    b"Main chain hashrate       = 5.621 GH/s\n"
    b"Side chain ID             = mini\n"
    b"Side chain height         = 14538931\n"
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def share(n: int) -> bytes:
    """A P2Pool SHARE FOUND line made unique by its sidechain height `14560000 + n`."""
    return (
        f"NOTICE  2026-08-14 09:{n // 60 % 60:02d}:{n % 60:02d}.4821 StratumServer "
        f"SHARE FOUND: mainchain height 3745120, sidechain height {14560000 + n}, "
        f"diff 251004117, client 192.0.2.15:50123, user rig1, effort 87.412%\n"
    ).encode()


def shares(numbers: range) -> bytes:
    return b"".join(share(n) for n in numbers)


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as f:
        f.write(data)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    return folder / "p2pool.log"


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


@pytest.fixture
async def store(store_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(store_path, xmrig_zone="UTC")
    yield opened
    await opened.aclose()


def heights(store_path: Path) -> list[int]:
    """Sidechain heights of the stored shares minus 14560000, in storing order."""
    with sqlite3.connect(store_path) as conn:
        rows = conn.execute(
            "SELECT json_extract(data, '$.sidechain_height') FROM events "
            "WHERE kind = 'share_found' ORDER BY id"
        ).fetchall()
    return [height - 14560000 for (height,) in rows]


def stored_lines(store_path: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(store_path) as conn:
        rows = conn.execute("SELECT origin, line FROM events ORDER BY id").fetchall()
    return [(Path(origin).name, line) for origin, line in rows]


class Stepper:
    """Runs a `FileFollower` one read at a time and stores what it returns, as
    `follow` does."""

    def __init__(self, store: SqliteStore, path: Path, quiet: float = 3600.0) -> None:
        self.store = store
        self.follower = FileFollower(path, quiet=quiet)
        self.new = 0
        self.duplicates = 0

    async def start(self) -> None:
        checkpoint = await self.store.load_checkpoint(self.follower.path)
        await anyio.to_thread.run_sync(self.follower.start, checkpoint)

    async def step(self) -> Batch:
        batch = await anyio.to_thread.run_sync(self.follower.next_batch)
        if batch.events or batch.checkpoint is not None:
            new, duplicates = await self.store.insert(
                batch.events, batch.origin, batch.checkpoint
            )
            self.new += new
            self.duplicates += duplicates
        return batch

    async def drain(self) -> None:
        """Step until the follower has nothing more to read."""
        for _ in range(1000):
            if (await self.step()).idle:
                return
        raise AssertionError("follower never became idle")

    def close(self) -> None:
        self.follower.close()


@pytest.fixture
async def stepper(store: SqliteStore, log: Path) -> AsyncIterator[Stepper]:
    started = Stepper(store, log)
    yield started
    started.close()


async def restart(stepper: Stepper, store: SqliteStore, log: Path) -> Stepper:
    stepper.close()
    again = Stepper(store, log)
    await again.start()
    return again


# Appending


async def test_follow_partial_lines(
    stepper: Stepper, log: Path, store: SqliteStore, store_path: Path
) -> None:
    line = share(1)
    log.write_bytes(share(0) + line[:30])
    await stepper.start()
    await stepper.drain()
    assert heights(store_path) == [0]
    checkpoint = await store.load_checkpoint(str(log))
    assert checkpoint is not None
    assert checkpoint.offset == len(share(0))
    assert checkpoint.line == 2

    append(log, line[30:60])
    await stepper.drain()
    assert heights(store_path) == [0]

    append(log, line[60:] + share(2))
    await stepper.drain()
    assert heights(store_path) == [0, 1, 2]
    assert stored_lines(store_path) == [("p2pool.log", n) for n in (1, 2, 3)]


async def test_follow_status_block_flushed_when_quiet(
    store: SqliteStore, log: Path, store_path: Path
) -> None:
    log.write_bytes(share(0) + STATUS_BLOCK)
    stepper = Stepper(store, log, quiet=0.0)
    await stepper.start()
    try:
        await stepper.drain()
        await stepper.step()
    finally:
        stepper.close()
    with sqlite3.connect(store_path) as conn:
        kinds = [k for (k,) in conn.execute("SELECT kind FROM events ORDER BY id")]
    assert kinds == ["share_found", "sidechain_status"]
    checkpoint = await store.load_checkpoint(str(log))
    assert checkpoint is not None
    assert checkpoint.offset == log.stat().st_size


async def test_follow_status_block_pending_without_quiet(
    stepper: Stepper, log: Path, store: SqliteStore
) -> None:
    log.write_bytes(share(0) + STATUS_BLOCK)
    await stepper.start()
    await stepper.drain()
    await stepper.step()
    assert await store.count("sidechain_status") == 0
    checkpoint = await store.load_checkpoint(str(log))
    assert checkpoint is not None
    assert checkpoint.offset == len(share(0))


async def test_follow_waits_for_missing_file(
    stepper: Stepper, log: Path, store_path: Path
) -> None:
    await stepper.start()
    batch = await stepper.step()
    assert batch.idle
    log.write_bytes(shares(range(2)))
    await stepper.drain()
    assert heights(store_path) == [0, 1]


# Rotation while following


async def test_follow_rename_rotation(
    stepper: Stepper, log: Path, store: SqliteStore, store_path: Path
) -> None:
    log.write_bytes(shares(range(3)))
    await stepper.start()
    await stepper.drain()

    # As P2Pool does: one more write to the renamed file, then reopen the path.
    with log.open("ab") as old:
        log.rename(log.with_name("p2pool.log.1"))
        old.write(share(3))
        old.flush()
        log.write_bytes(shares(range(4, 6)))
    await stepper.drain()
    await stepper.drain()

    assert heights(store_path) == [0, 1, 2, 3, 4, 5]
    assert stored_lines(store_path)[3:] == [
        ("p2pool.log", 4),
        ("p2pool.log", 1),
        ("p2pool.log", 2),
    ]
    checkpoint = await store.load_checkpoint(str(log))
    assert checkpoint is not None
    assert checkpoint.inode == log.stat().st_ino
    assert checkpoint.offset == log.stat().st_size
    assert stepper.duplicates == 0


async def test_follow_rotation_waits_for_writer(
    stepper: Stepper, log: Path, store_path: Path
) -> None:
    log.write_bytes(shares(range(2)))
    await stepper.start()
    await stepper.drain()

    with log.open("ab") as old:
        log.rename(log.with_name("p2pool.log.1"))
        log.touch()
        await stepper.drain()
        # The new file is empty, so the old one is still followed.
        old.write(share(2))
        old.flush()
        await stepper.drain()
        assert heights(store_path) == [0, 1, 2]
    append(log, share(3))
    await stepper.drain()
    await stepper.drain()
    assert heights(store_path) == [0, 1, 2, 3]


async def test_follow_two_rotations_between_reads(
    stepper: Stepper, log: Path, store: SqliteStore, store_path: Path
) -> None:
    log.write_bytes(shares(range(2)))
    await stepper.start()
    await stepper.drain()

    # Both rotations happen before the follower looks again.
    first, second = log.with_name("p2pool.log.1"), log.with_name("p2pool.log.2")
    append(log, share(2))
    log.rename(first)
    log.write_bytes(shares(range(3, 5)))
    os.utime(log, (time.time() + 1, time.time() + 1))
    log.rename(second)
    log.write_bytes(share(5))
    os.utime(log, (time.time() + 2, time.time() + 2))
    for _ in range(4):
        await stepper.drain()

    assert heights(store_path) == [0, 1, 2, 3, 4, 5]
    assert stepper.duplicates == 0
    checkpoint = await store.load_checkpoint(str(log))
    assert checkpoint is not None
    assert checkpoint.inode == log.stat().st_ino


async def test_follow_copytruncate(
    stepper: Stepper, log: Path, store: SqliteStore, store_path: Path
) -> None:
    log.write_bytes(shares(range(3)))
    await stepper.start()
    await stepper.drain()

    # Line 3 arrives after the last read and before the copy: only the copy has it.
    append(log, share(3))
    shutil.copyfile(log, log.with_name("p2pool.log.1"))
    with log.open("r+b") as f:
        f.truncate(0)
    append(log, share(4))
    await stepper.drain()
    await stepper.drain()

    assert heights(store_path) == [0, 1, 2, 3, 4]
    assert stored_lines(store_path)[-1] == ("p2pool.log", 1)
    checkpoint = await store.load_checkpoint(str(log))
    assert checkpoint is not None
    assert checkpoint.offset == len(share(4))
    assert checkpoint.fingerprint == fingerprint(share(4))


async def test_follow_truncated_and_regrown(
    stepper: Stepper, log: Path, store_path: Path
) -> None:
    log.write_bytes(shares(range(2)))
    await stepper.start()
    await stepper.drain()

    # Longer than before: only the changed first bytes show the truncation.
    with log.open("r+b") as f:
        f.truncate(0)
    append(log, shares(range(10, 15)))
    await stepper.drain()
    await stepper.drain()
    assert heights(store_path) == [0, 1, 10, 11, 12, 13, 14]


async def test_follow_delete_and_recreate(
    stepper: Stepper, log: Path, store_path: Path
) -> None:
    log.write_bytes(shares(range(2)))
    await stepper.start()
    await stepper.drain()

    log.unlink()
    assert (await stepper.step()).idle
    log.write_bytes(shares(range(2, 4)))
    await stepper.drain()
    await stepper.drain()
    assert heights(store_path) == [0, 1, 2, 3]


# Restarts


async def test_restart_resumes_checkpoint(
    stepper: Stepper, log: Path, store: SqliteStore, store_path: Path
) -> None:
    log.write_bytes(shares(range(3)) + share(3)[:20])
    await stepper.start()
    await stepper.drain()
    append(log, share(3)[20:] + share(4))

    again = await restart(stepper, store, log)
    try:
        await again.drain()
    finally:
        again.close()
    assert heights(store_path) == [0, 1, 2, 3, 4]
    assert again.duplicates == 0
    assert stored_lines(store_path)[3:] == [("p2pool.log", 4), ("p2pool.log", 5)]


async def test_restart_after_rotation(
    stepper: Stepper, log: Path, store: SqliteStore, store_path: Path
) -> None:
    log.write_bytes(shares(range(3)))
    await stepper.start()
    await stepper.drain()
    stepper.close()

    append(log, shares(range(3, 5)))
    log.rename(log.with_name("p2pool.log.1"))
    log.write_bytes(shares(range(5, 7)))

    again = await restart(stepper, store, log)
    try:
        await again.drain()
        await again.drain()
    finally:
        again.close()
    assert heights(store_path) == [0, 1, 2, 3, 4, 5, 6]
    assert again.duplicates == 0
    assert stored_lines(store_path)[3:] == [
        ("p2pool.log.1", 4),
        ("p2pool.log.1", 5),
        ("p2pool.log", 1),
        ("p2pool.log", 2),
    ]
    checkpoint = await store.load_checkpoint(str(log))
    assert checkpoint is not None
    assert checkpoint.inode == log.stat().st_ino


async def test_restart_while_rotated_file_written(
    stepper: Stepper, log: Path, store: SqliteStore, store_path: Path
) -> None:
    log.write_bytes(shares(range(2)))
    await stepper.start()
    await stepper.drain()
    stepper.close()

    rotated = log.with_name("p2pool.log.1")
    log.rename(rotated)
    log.touch()
    again = await restart(stepper, store, log)
    try:
        await again.drain()
        # The writer has not reopened the path yet: the rotated file still grows.
        append(rotated, share(2))
        await again.drain()
        assert heights(store_path) == [0, 1, 2]
        append(log, share(3))
        await again.drain()
        await again.drain()
    finally:
        again.close()
    assert heights(store_path) == [0, 1, 2, 3]
    assert stored_lines(store_path)[2:] == [("p2pool.log.1", 3), ("p2pool.log", 1)]


async def test_restart_after_two_rotations(
    stepper: Stepper, log: Path, store: SqliteStore, store_path: Path
) -> None:
    log.write_bytes(shares(range(2)))
    await stepper.start()
    await stepper.drain()
    stepper.close()

    # logrotate numbering: the checkpointed file ends up as .2, a later one as .1.
    first, second = log.with_name("p2pool.log.1"), log.with_name("p2pool.log.2")
    append(log, share(2))
    log.rename(first)
    os.utime(first, (1_000_000, 1_000_000))
    log.write_bytes(shares(range(3, 5)))
    first.rename(second)
    log.rename(first)
    os.utime(first, (2_000_000, 2_000_000))
    log.write_bytes(share(5))

    again = await restart(stepper, store, log)
    try:
        await again.drain()
        await again.drain()
    finally:
        again.close()
    assert heights(store_path) == [0, 1, 2, 3, 4, 5]
    assert again.duplicates == 0


async def test_restart_while_newest_rotated_written(
    stepper: Stepper, log: Path, store: SqliteStore, store_path: Path
) -> None:
    log.write_bytes(shares(range(2)))
    await stepper.start()
    await stepper.drain()
    stepper.close()

    # While stopped: the checkpointed file becomes .1, the next one .2, and the writer
    # still writes to .2 after the restart, before it opens the new empty file.
    first, second = log.with_name("p2pool.log.1"), log.with_name("p2pool.log.2")
    log.rename(first)
    log.write_bytes(share(2))
    os.utime(log, (time.time() + 1, time.time() + 1))
    log.rename(second)
    log.touch()
    again = await restart(stepper, store, log)
    try:
        await again.drain()
        append(second, share(3))
        await again.drain()
        assert heights(store_path) == [0, 1, 2, 3]
        append(log, share(4))
        await again.drain()
        await again.drain()
    finally:
        again.close()
    assert heights(store_path) == [0, 1, 2, 3, 4]
    assert again.duplicates == 0


async def test_restart_after_copytruncate(
    stepper: Stepper, log: Path, store: SqliteStore, store_path: Path
) -> None:
    log.write_bytes(shares(range(3)))
    await stepper.start()
    await stepper.drain()
    stepper.close()

    append(log, share(3))
    shutil.copyfile(log, log.with_name("p2pool.log.1"))
    with log.open("r+b") as f:
        f.truncate(0)
    append(log, shares(range(4, 9)))

    again = await restart(stepper, store, log)
    try:
        await again.drain()
        await again.drain()
    finally:
        again.close()
    assert heights(store_path) == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert again.duplicates == 0


async def test_restart_reused_inode_reads_from_start(
    log: Path, store: SqliteStore, store_path: Path
) -> None:
    # A checkpoint on this inode whose first bytes differ: an earlier file that was
    # deleted while db4e was stopped, its inode reused.
    log.write_bytes(shares(range(4)))
    st = log.stat()
    stale = Checkpoint(
        origin=str(log),
        device=st.st_dev,
        inode=st.st_ino,
        offset=len(share(0)) * 2,
        line=3,
        fingerprint=fingerprint(b"something else"),
        fingerprint_len=len(b"something else"),
    )
    await store.insert([], None, stale)

    stepper = Stepper(store, log)
    await stepper.start()
    try:
        await stepper.drain()
    finally:
        stepper.close()
    assert heights(store_path) == [0, 1, 2, 3]


async def test_restart_with_deleted_rotated_file(
    stepper: Stepper, log: Path, store: SqliteStore, store_path: Path
) -> None:
    log.write_bytes(shares(range(2)))
    await stepper.start()
    await stepper.drain()
    stepper.close()
    log.unlink()
    log.write_bytes(shares(range(2, 4)))

    again = await restart(stepper, store, log)
    try:
        await again.drain()
    finally:
        again.close()
    assert heights(store_path) == [0, 1, 2, 3]


# The follow loop and the command


async def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.02)


async def test_follow_loop_until_stop(
    store: SqliteStore, log: Path, store_path: Path
) -> None:
    log.write_bytes(share(0) + share(1)[:25])
    stop = anyio.Event()
    async with anyio.create_task_group() as group:
        results = []

        async def run() -> None:
            results.append(await follow(store, log, interval=0.01, stop=stop))

        group.start_soon(run)
        await wait_until(lambda: heights(store_path) == [0])
        append(log, share(1)[25:])
        await wait_until(lambda: heights(store_path) == [0, 1])
        log.rename(log.with_name("p2pool.log.1"))
        log.write_bytes(share(2))
        await wait_until(lambda: heights(store_path) == [0, 1, 2])
        stop.set()
    [result] = results
    assert result.new == 3
    assert result.duplicates == 0
    assert result.stats.lines == 3
    with sqlite3.connect(store_path) as conn:
        run = conn.execute(
            "SELECT command, finished_at IS NOT NULL, new_events FROM ingest_runs"
        ).fetchall()
    assert run == [("watch", 1, 3)]


async def test_follow_loop_duration(store: SqliteStore, log: Path) -> None:
    log.write_bytes(shares(range(3)))
    started = time.monotonic()
    result = await follow(store, log, interval=0.01, duration=0.3)
    assert 0.3 <= time.monotonic() - started < 5
    assert result.new == 3


def db4e(*args: str, db: Path) -> list[str]:
    return [sys.executable, "-m", "db4e", "--db", str(db), *args]


def test_watch_command_sigterm(log: Path, store_path: Path) -> None:
    log.write_bytes(shares(range(3)))
    with subprocess.Popen(
        db4e("watch", "--interval", "0.05", str(log), db=store_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as watcher:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if store_path.exists() and len(heights_or_empty(store_path)) == 3:
                break
            time.sleep(0.05)
        append(log, share(3))
        while time.monotonic() < deadline and len(heights_or_empty(store_path)) < 4:
            time.sleep(0.05)
        watcher.send_signal(signal.SIGTERM)
        stdout, stderr = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, stderr
    assert heights(store_path) == [0, 1, 2, 3]
    assert b"4 new, 0 already stored" in stdout


def heights_or_empty(store_path: Path) -> list[int]:
    try:
        return heights(store_path)
    except sqlite3.OperationalError:
        return []


def test_watch_command_for_seconds(log: Path, store_path: Path) -> None:
    log.write_bytes(shares(range(2)) + STATUS_BLOCK)
    result = subprocess.run(
        db4e("watch", "--for", "2", str(log), db=store_path),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert heights(store_path) == [0, 1]
    assert b"3 new, 0 already stored" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x1f\x8b\x08\x00compressed", b"compressed file does not grow"),
        (b"\x00\x01\x02binary", b"not a text log"),
    ],
)
def test_watch_command_rejects_file(
    log: Path, store_path: Path, content: bytes, message: bytes
) -> None:
    log.write_bytes(content)
    result = subprocess.run(
        db4e("watch", "--for", "1", str(log), db=store_path),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3
    assert result.stderr.startswith(b"db4e: " + str(log).encode())
    assert message in result.stderr


def test_watch_command_rejects_directory(log: Path, store_path: Path) -> None:
    result = subprocess.run(
        db4e("watch", "--for", "1", str(log.parent), db=store_path),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3
    assert b"is a directory" in result.stderr
