"""The SQLite store, db4e's default backend: one file, WAL mode, stdlib `sqlite3`.

`connect` opens, checks and migrates a store file synchronously (reports use it for
their own SQL). `SqliteStore` is the asynchronous `db4e.store.Store` on top of it: every
call runs in a worker thread, one at a time per connection.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import tzinfo
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from db4e import __version__
from db4e.config import resolve_zone
from db4e.parser import Event, ParserStats
from db4e.store import (
    Checkpoint,
    NotAStoreError,
    SchemaTooNewError,
    StoredEvent,
    StoreLockedError,
    local_zone,
    utc_micros,
)

__all__ = [
    "BUSY_TIMEOUT",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SqliteStore",
    "connect",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds a statement waits for another process's write lock before failing.
BUSY_TIMEOUT = 10.0

#: Schema migrations in order: entry `i` takes the store from version `i` to `i + 1`.
#: Each entry is a list of single statements, run in one transaction.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  identity BLOB NOT NULL UNIQUE,
  farm TEXT NOT NULL,
  source TEXT NOT NULL,
  kind TEXT NOT NULL,
  ts_utc INTEGER,
  ts_text TEXT,
  height INTEGER,
  amount_pico INTEGER,
  hashrate_hs INTEGER,
  worker TEXT,
  data TEXT NOT NULL,
  origin TEXT,
  line INTEGER,
  stored_at INTEGER NOT NULL
)""",
        "CREATE INDEX events_kind_ts ON events(kind, ts_utc)",
        "CREATE INDEX events_worker_ts ON events(worker, ts_utc) "
        "WHERE worker IS NOT NULL",
        "CREATE INDEX events_ts ON events(ts_utc)",
        """CREATE TABLE checkpoints (
  origin TEXT PRIMARY KEY,
  device INTEGER NOT NULL,
  inode INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  line INTEGER NOT NULL,
  fingerprint BLOB NOT NULL,
  fingerprint_len INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
)""",
        """CREATE TABLE ingest_runs (
  id INTEGER PRIMARY KEY,
  command TEXT NOT NULL,
  origin TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  new_events INTEGER NOT NULL DEFAULT 0,
  duplicate_events INTEGER NOT NULL DEFAULT 0,
  stats TEXT NOT NULL DEFAULT '{}'
)""",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ],
]

#: The schema version this code writes and reads.
SCHEMA_VERSION = len(MIGRATIONS)

_INSERT_EVENT = """INSERT OR IGNORE INTO events (
  identity, farm, source, kind, ts_utc, ts_text, height, amount_pico, hashrate_hs,
  worker, data, origin, line, stored_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""

_UPSERT_CHECKPOINT = """INSERT INTO checkpoints (
  origin, device, inode, offset, line, fingerprint, fingerprint_len, updated_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (origin) DO UPDATE SET
  device = excluded.device, inode = excluded.inode, offset = excluded.offset,
  line = excluded.line, fingerprint = excluded.fingerprint,
  fingerprint_len = excluded.fingerprint_len, updated_at = excluded.updated_at"""

_SELECT_EVENT = """SELECT kind, source, farm, ts_utc, ts_text, height, amount_pico,
  hashrate_hs, worker, data, origin, line, stored_at FROM events"""

# Primary result codes (the low byte of an extended code), from sqlite3.h.
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26


def now_micros() -> int:
    """Return the current time in microseconds since the epoch, UTC."""
    return time.time_ns() // 1000


@contextmanager
def _translate_errors(path: Path, busy_timeout: float) -> Iterator[None]:
    """Turn `sqlite3` errors about the file into db4e's errors naming `path`."""
    try:
        yield
    except sqlite3.DatabaseError as e:
        code = getattr(e, "sqlite_errorcode", 0) & 0xFF
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
            raise StoreLockedError(path, busy_timeout) from e
        if code == _SQLITE_NOTADB:
            raise NotAStoreError(path, "not an SQLite database") from e
        if code == _SQLITE_CORRUPT:
            raise NotAStoreError(path, f"damaged SQLite database ({e})") from e
        if code == _SQLITE_READONLY:
            raise PermissionError(
                errno.EACCES, f"store is read-only ({e}); make it writable", str(path)
            ) from e
        if code == _SQLITE_FULL:
            raise OSError(errno.ENOSPC, f"disk full ({e})", str(path)) from e
        if code in (_SQLITE_CANTOPEN, _SQLITE_IOERR):
            raise OSError(
                errno.EIO,
                f"cannot open or write the store ({e}); check the file, its folder "
                "and their permissions",
                str(path),
            ) from e
        raise


def _make_private_dirs(folder: Path) -> None:
    """Create `folder` and its missing parents with mode 0700, leaving existing ones."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=0o700)
        except FileExistsError:
            continue
        # mkdir applies the umask; set the mode exactly.
        created.chmod(0o700)


def _create_store_file(path: Path) -> None:
    """Create an empty store file with mode 0600, and its folders with mode 0700."""
    _make_private_dirs(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    path.chmod(0o600)
    logger.info("created store %s", path)


#: Page cache of each connection, in KiB.
CACHE_KIB = 32 * 1024


def _configure(conn: sqlite3.Connection, path: Path) -> None:
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        logger.warning(
            "store %s stays in journal mode %s: WAL is not available on its "
            "file system, so readers and the writer block each other",
            path,
            mode,
        )
    conn.execute("PRAGMA synchronous=NORMAL")
    # The unique index on random 16-byte identities touches pages all over the file.
    # A 32 MiB page cache (SQLite's default is 2 MiB) keeps more of them in memory,
    # which made an import of a 40 MB log about 10 to 25 % faster here.
    conn.execute(f"PRAGMA cache_size={-CACHE_KIB:d}")
    conn.execute("PRAGMA temp_store=MEMORY")


def _has_tables(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    ).fetchone()
    return bool(row[0])


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema to `SCHEMA_VERSION`, or raise if the store is newer or
    foreign."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise SchemaTooNewError(path, version, SCHEMA_VERSION)
    if version == SCHEMA_VERSION:
        return

    # Another process may migrate at the same time: decide again under the write lock.
    with _transaction(conn):
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise SchemaTooNewError(path, version, SCHEMA_VERSION)
        if version == 0 and _has_tables(conn):
            raise NotAStoreError(
                path, "an SQLite database of another program (tables, no db4e schema)"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[target - 1]:
                conn.execute(statement)
            logger.info("migrated store %s to schema version %d", path, target)
        if version == 0:
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [
                    ("created_by", f"db4e {__version__}"),
                    ("created_at", str(now_micros())),
                ],
            )
        # PRAGMA takes no parameters; SCHEMA_VERSION is an int constant.
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """Run the block in a write transaction, taking the write lock up front so that
    waiting for another writer happens here, under the busy timeout."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def connect(
    path: str | os.PathLike[str],
    *,
    create: bool = True,
    busy_timeout: float = BUSY_TIMEOUT,
) -> sqlite3.Connection:
    """Open the store at `path` and bring its schema up to date.

    Creates the file (mode 0600, new folders 0700) unless `create` is false. The
    connection is in autocommit mode (`isolation_level=None`), in WAL journal mode,
    and may be used from any thread, one at a time. Raises `SchemaTooNewError`,
    `StoreLockedError`, `NotAStoreError`, or an `OSError` naming the path.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            errno.EISDIR, "is a directory; pass --db with a file name", str(path)
        )
    if not path.exists():
        if not create:
            raise FileNotFoundError(
                errno.ENOENT,
                "no store here yet; store events first with `db4e import` or "
                "`db4e watch`, or pass --db with the store file",
                str(path),
            )
        _create_store_file(path)
    # The file's header is checked by SQLite itself (SQLITE_NOTADB below), never by
    # opening the file here: closing any descriptor of a file drops every POSIX lock
    # the process holds on it, including those of this process's other SQLite
    # connections. Another process could then take the store for unused, checkpoint
    # and delete the WAL file under them, and their later commits would be lost.
    with _translate_errors(path, busy_timeout):
        conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            _configure(conn, path)
            _migrate(conn, path)
        except BaseException:
            conn.close()
            raise
    return conn


def _event_from_row(row: tuple[Any, ...]) -> StoredEvent:
    return StoredEvent(*row)


def _checkpoint_from_row(origin: str, row: tuple[Any, ...]) -> Checkpoint:
    device, inode, offset, line, fingerprint, fingerprint_len, updated_at = row
    return Checkpoint(
        origin=origin,
        device=device,
        inode=inode,
        offset=offset,
        line=line,
        fingerprint=bytes(fingerprint),
        fingerprint_len=fingerprint_len,
        updated_at=updated_at,
    )


class SqliteStore:
    """The asynchronous SQLite store. Open it with `SqliteStore.open`."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        farm: str,
        xmrig_zone: tzinfo,
        busy_timeout: float,
    ) -> None:
        self.path = path
        self.farm = farm
        self.xmrig_zone = xmrig_zone
        self._conn: sqlite3.Connection | None = conn
        self._busy_timeout = busy_timeout
        # One call at a time per connection, so that two transactions never interleave.
        self._limiter = anyio.CapacityLimiter(1)

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        farm: str = "default",
        xmrig_zone: str | tzinfo = "local",
        busy_timeout: float = BUSY_TIMEOUT,
    ) -> SqliteStore:
        """Open (creating and migrating as needed) the store file at `path`.

        `xmrig_zone` is a zone name as in the configuration (`local` for this
        machine's zone) or a `tzinfo`.
        """
        if isinstance(xmrig_zone, str):
            xmrig_zone = resolve_zone(xmrig_zone) or local_zone()
        conn = await anyio.to_thread.run_sync(
            lambda: connect(path, busy_timeout=busy_timeout)
        )
        return cls(
            conn,
            Path(path),
            farm=farm,
            xmrig_zone=xmrig_zone,
            busy_timeout=busy_timeout,
        )

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(
            self._call, function, *args, limiter=self._limiter
        )

    def _call(self, function: Callable[..., T], *args: Any) -> T:
        if self._conn is None:
            raise anyio.ClosedResourceError(f"{self.path}: store is closed")
        with _translate_errors(self.path, self._busy_timeout):
            return function(self._conn, *args)

    # Writing

    def _row(self, event: Event, origin: str | None, stored_at: int) -> tuple[Any, ...]:
        ts_utc = event.ts_micros
        if ts_utc is not None and event.source == "xmrig":
            ts_utc = utc_micros(ts_utc, self.xmrig_zone)
        return (
            event.identity,
            self.farm,
            event.source,
            event.kind,
            ts_utc,
            event.timestamp,
            event.height,
            event.amount_pico,
            event.hashrate_hs,
            event.worker,
            event.json,
            origin,
            event.line,
            stored_at,
        )

    async def insert(
        self,
        events: Sequence[Event],
        origin: str | None,
        checkpoint: Checkpoint | None = None,
    ) -> tuple[int, int]:
        """Store `events` read from `origin` and `checkpoint` in one transaction.

        Returns `(new, duplicates)`.
        """
        now = now_micros()
        rows = [self._row(event, origin, now) for event in events]
        return await self._run(_insert_rows, rows, checkpoint, now)

    async def start_run(self, command: str, origin: str) -> int:
        """Record the start of an ingest run and return its id."""
        return await self._run(_start_run, command, origin, now_micros())

    async def update_run(
        self, run_id: int, new: int, duplicates: int, stats: ParserStats
    ) -> None:
        """Record the totals of a run so far."""
        await self._run(_update_run, run_id, new, duplicates, stats, None)

    async def finish_run(
        self, run_id: int, new: int, duplicates: int, stats: ParserStats
    ) -> None:
        """Record the end of a run with its final totals."""
        await self._run(_update_run, run_id, new, duplicates, stats, now_micros())

    # Reading

    async def load_checkpoint(self, origin: str) -> Checkpoint | None:
        """Return the checkpoint of the log file `origin`, None when there is none."""
        return await self._run(_load_checkpoint, origin)

    async def count(self, kind: str | None = None) -> int:
        """Return the number of stored events, of one kind or of all."""
        return await self._run(_count, kind)

    async def latest(self, kinds: Sequence[str] = ()) -> StoredEvent | None:
        """Return the stored event with the newest timestamp among `kinds` (all kinds
        when empty); events without a timestamp come last."""
        return await self._run(_latest, tuple(kinds))

    async def aclose(self) -> None:
        """Close the connection; later calls raise `anyio.ClosedResourceError`."""
        if self._conn is not None:
            await self._run(sqlite3.Connection.close)
            self._conn = None


def _insert_rows(
    conn: sqlite3.Connection,
    rows: list[tuple[Any, ...]],
    checkpoint: Checkpoint | None,
    now: int,
) -> tuple[int, int]:
    with _transaction(conn):
        before = conn.total_changes
        conn.executemany(_INSERT_EVENT, rows)
        new = conn.total_changes - before
        if checkpoint is not None:
            conn.execute(
                _UPSERT_CHECKPOINT,
                (
                    checkpoint.origin,
                    checkpoint.device,
                    checkpoint.inode,
                    checkpoint.offset,
                    checkpoint.line,
                    checkpoint.fingerprint,
                    checkpoint.fingerprint_len,
                    now,
                ),
            )
    return new, len(rows) - new


def _start_run(conn: sqlite3.Connection, command: str, origin: str, now: int) -> int:
    with _transaction(conn):
        cursor = conn.execute(
            "INSERT INTO ingest_runs (command, origin, started_at) VALUES (?, ?, ?)",
            (command, origin, now),
        )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _update_run(
    conn: sqlite3.Connection,
    run_id: int,
    new: int,
    duplicates: int,
    stats: ParserStats,
    finished_at: int | None,
) -> None:
    with _transaction(conn):
        conn.execute(
            "UPDATE ingest_runs SET new_events = ?, duplicate_events = ?, stats = ?, "
            "finished_at = coalesce(?, finished_at) WHERE id = ?",
            (new, duplicates, json.dumps(stats.as_dict()), finished_at, run_id),
        )


def _load_checkpoint(conn: sqlite3.Connection, origin: str) -> Checkpoint | None:
    row = conn.execute(
        "SELECT device, inode, offset, line, fingerprint, fingerprint_len, updated_at "
        "FROM checkpoints WHERE origin = ?",
        (origin,),
    ).fetchone()
    return None if row is None else _checkpoint_from_row(origin, row)


def _count(conn: sqlite3.Connection, kind: str | None) -> int:
    if kind is None:
        row = conn.execute("SELECT count(*) FROM events").fetchone()
    else:
        row = conn.execute(
            "SELECT count(*) FROM events WHERE kind = ?", (kind,)
        ).fetchone()
    return int(row[0])


def _latest(conn: sqlite3.Connection, kinds: tuple[str, ...]) -> StoredEvent | None:
    order = " ORDER BY ts_utc IS NULL, ts_utc DESC, id DESC LIMIT 1"
    if kinds:
        marks = ", ".join("?" * len(kinds))
        sql = f"{_SELECT_EVENT} WHERE kind IN ({marks}){order}"
    else:
        sql = _SELECT_EVENT + order
    row = conn.execute(sql, kinds).fetchone()
    return None if row is None else _event_from_row(row)
