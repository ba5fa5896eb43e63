"""`kill -9` of `db4e watch` and `db4e import` while a writer appends and rotates.

A writer thread appends P2Pool-like records, each with a unique height. It splits some
of them into two writes, as P2Pool writes the level word and the rest separately. Now
and then it renames the file to `p2pool.log.1`, `.2`, ..., creates an empty file in
its place and writes a few more records to the renamed file before it opens the new
one. Meanwhile `db4e watch` and `db4e import`
are started and killed with SIGKILL at random moments. At the end one `db4e watch`
runs until its checkpoint reaches the end of the live file, and the store must hold
every record exactly once, with the line number it has in its file.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from db4e.parser import iter_file

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

#: Seconds the writer appends and rotates while processes are killed.
WRITE_SECONDS = 25.0

SHARE_BASE = 14_560_000
STATUS_BASE = 20_000_000


def share_record(n: int, stamp: str) -> bytes:
    return (
        f"NOTICE  {stamp} StratumServer SHARE FOUND: mainchain height 3745120, "
        f"sidechain height {SHARE_BASE + n}, diff 251004117, "
        f"client 192.0.2.15:50123, user rig{n % 5}, effort 87.412%\n"
    ).encode()


def status_record(n: int, stamp: str) -> bytes:
    return (
        f"NOTICE  {stamp} SideChain status\n"
        "Monero node               = rig7:RPC 19081:ZMQ 19083 (127.0.1.1)\n"
        "Main chain height         = 3741362\n"
        "Main chain hashrate       = 5.621 GH/s\n"
        "Side chain ID             = mini\n"
        f"Side chain height         = {STATUS_BASE + n}\n"
    ).encode()


def noise_record(stamp: str) -> bytes:
    return f"NOTICE  {stamp} P2PServer peer 198.51.100.7:37889 is ahead\n".encode()


@dataclass(eq=False)
class Writer(threading.Thread):
    """Appends records to `log` and rotates it by renaming, like P2Pool with
    logrotate `create`."""

    log: Path
    seconds: float
    rng: random.Random
    #: ("share_found" or "sidechain_status", unique height) of every record written.
    written: list[tuple[str, int]] = field(default_factory=list)
    rotations: int = 0

    def __post_init__(self) -> None:
        threading.Thread.__init__(self, daemon=True)
        self.clock = 1_786_000_000.0

    def stamp(self) -> str:
        self.clock += self.rng.uniform(0.001, 2.0)
        whole = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.clock))
        return f"{whole}.{int(self.clock * 10_000) % 10_000:04d}"

    def record(self) -> bytes:
        n = len(self.written)
        roll = self.rng.random()
        if roll < 0.1:
            self.written.append(("sidechain_status", STATUS_BASE + n))
            return status_record(n, self.stamp())
        if roll < 0.2:
            return noise_record(self.stamp())
        self.written.append(("share_found", SHARE_BASE + n))
        return share_record(n, self.stamp())

    def write(self, f: IO[bytes], record: bytes) -> None:
        if self.rng.random() < 0.3:
            f.write(record[:8])
            time.sleep(self.rng.uniform(0, 0.003))
            f.write(record[8:])
        else:
            f.write(record)

    def rotate(self, f: IO[bytes]) -> IO[bytes]:
        """Rotate as logrotate `create` does with P2Pool: rename, create an empty file,
        and P2Pool goes on writing to the renamed file until it checks the path."""
        self.rotations += 1
        os.rename(self.log, f"{self.log}.{self.rotations}")
        self.log.touch()
        for _ in range(self.rng.randint(1, 3)):
            time.sleep(self.rng.uniform(0, 0.03))
            self.write(f, self.record())
        f.close()
        return self.log.open("ab", buffering=0)

    def run(self) -> None:
        end = time.monotonic() + self.seconds
        next_rotation = time.monotonic() + self.rng.uniform(0.5, 2.5)
        f = self.log.open("ab", buffering=0)
        try:
            while time.monotonic() < end:
                self.write(f, self.record())
                time.sleep(self.rng.uniform(0, 0.012))
                if time.monotonic() >= next_rotation:
                    f = self.rotate(f)
                    next_rotation = time.monotonic() + self.rng.uniform(0.5, 2.5)
        finally:
            f.close()


def db4e(store: Path, stderr: IO[bytes], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "db4e",
            "--db",
            str(store),
            "--log-level",
            "info",
            *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


def kill(process: subprocess.Popen[bytes]) -> bool:
    """Send SIGKILL; return whether the process was still running."""
    running = process.poll() is None
    if running:
        process.kill()
    process.wait(timeout=30)
    return running


@dataclass
class Chaos:
    store: Path
    log: Path
    rng: random.Random
    stderr: IO[bytes]
    watch_kills: int = 0
    import_kills: int = 0

    def start_watch(self) -> subprocess.Popen[bytes]:
        return db4e(
            self.store, self.stderr, "watch", "--interval", "0.05", str(self.log)
        )

    def watch_loop(self, writer: Writer, process: subprocess.Popen[bytes]) -> None:
        """Kill `db4e watch` and start it again until the writer stops, sometimes
        staying down long enough for one or more rotations."""
        while True:
            time.sleep(self.rng.uniform(0.05, 1.5))
            self.watch_kills += kill(process)
            if not writer.is_alive():
                return
            if self.rng.random() < 0.25:
                time.sleep(self.rng.uniform(0.5, 4.0))
            process = self.start_watch()

    def import_loop(self, writer: Writer) -> None:
        """Start and kill `db4e import` of the live file.

        Only the live path is imported: the records written to a file after its
        rename must come from `db4e watch`, or the test would not see it lose them.
        """
        while writer.is_alive():
            process = db4e(self.store, self.stderr, "import", str(self.log))
            time.sleep(self.rng.uniform(0.05, 1.2))
            self.import_kills += kill(process)


def query(store: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    """Run a read query; no rows while the store does not exist or another process
    holds it locked."""
    if not store.exists():
        return []
    try:
        with sqlite3.connect(store, timeout=5) as conn:
            return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError:
        return []


def checkpoint_at_end(store: Path, log: Path) -> bool:
    st = log.stat()
    rows = query(
        store,
        "SELECT device, inode, offset FROM checkpoints WHERE origin = ?",
        str(log),
    )
    return rows == [(st.st_dev, st.st_ino, st.st_size)]


def last_run_id(store: Path) -> int:
    [(run_id,)] = query(store, "SELECT coalesce(max(id), 0) FROM ingest_runs")
    return int(str(run_id))


def catch_up(store: Path, log: Path, stderr: IO[bytes]) -> None:
    """Run `db4e watch` until its checkpoint is at the end of the live file, then stop
    it with SIGTERM."""
    before = last_run_id(store)
    process = db4e(store, stderr, "watch", "--interval", "0.05", str(log))
    try:
        deadline = time.monotonic() + 40

        # The run is recorded after the signal handlers are installed.
        def started() -> bool:
            return bool(
                query(
                    store,
                    "SELECT 1 FROM ingest_runs WHERE id > ? AND command = 'watch'",
                    before,
                )
            )

        while not (started() and checkpoint_at_end(store, log)):
            assert time.monotonic() < deadline, "watch did not catch up in 40 s"
            assert process.poll() is None, "watch exited before catching up"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        kill(process)


def expected_events(folder: Path) -> dict[bytes, tuple[str, Path, int]]:
    """Parse every log file in `folder`: identity → (kind, file, line)."""
    expected = {}
    for path in sorted(folder.glob("p2pool.log*")):
        for batch in iter_file(path):
            for event in batch:
                assert event.identity not in expected, f"identity repeats in {path}"
                expected[event.identity] = (event.kind, path, event.line)
    return expected


def stored_events(store: Path) -> list[tuple[bytes, str, str, int, str]]:
    with sqlite3.connect(store) as conn:
        rows = conn.execute("SELECT identity, kind, origin, line, data FROM events")
        return [(bytes(i), k, o, n, d) for i, k, o, n, d in rows]


def test_kill_nine_watch_and_import(tmp_path: Path) -> None:
    seed = int(os.environ.get("DB4E_FAULT_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    folder = tmp_path / "logs"
    folder.mkdir()
    log = folder / "p2pool.log"
    store = tmp_path / "store.sqlite3"
    log_path = tmp_path / "db4e.log"

    with log_path.open("wb") as stderr:
        writer = Writer(log, WRITE_SECONDS, random.Random(rng.random()))
        chaos = Chaos(store, log, random.Random(rng.random()), stderr)
        importer = threading.Thread(target=chaos.import_loop, args=(writer,))

        # A watch started without a checkpoint reads the live file only, so the first
        # one must store its checkpoint before the writer's first rotation.
        log.touch()
        first = chaos.start_watch()
        deadline = time.monotonic() + 30
        while not query(store, "SELECT 1 FROM checkpoints"):
            assert time.monotonic() < deadline, "the first watch stored no checkpoint"
            time.sleep(0.02)

        writer.start()
        importer.start()
        chaos.watch_loop(writer, first)
        writer.join()
        importer.join()
        catch_up(store, log, stderr)

    context = f"seed {seed}; db4e log in {log_path}"
    assert chaos.watch_kills + chaos.import_kills >= 20, context
    assert chaos.watch_kills >= 10, context
    assert writer.rotations >= 5, context

    expected = expected_events(folder)
    stored = stored_events(store)
    stored_ids = [identity for identity, *_ in stored]
    assert len(stored_ids) == len(set(stored_ids)), context
    assert set(stored_ids) == set(expected), context

    # Every record the writer wrote, found by its unique height.
    written = set(writer.written)
    found = set()
    for _, kind, _, _, data in stored:
        fields = json.loads(data)
        if kind in ("share_found", "sidechain_status"):
            found.add((kind, fields["sidechain_height"]))
    assert found == written, context

    # Each event keeps the line it has in its file, read from that file or from the
    # live path before the rotation.
    for identity, kind, origin, line, _ in stored:
        expected_kind, path, expected_line = expected[identity]
        assert kind == expected_kind, context
        assert line == expected_line, (context, origin, path)
        assert origin in (str(path), str(log)), (context, origin, path)
