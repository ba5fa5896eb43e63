"""The event store: the contract every backend implements, its errors and value types.

A store keeps each parsed event once, keyed by `Event.identity`, together with the
checkpoint of the file the events came from and a record of every ingest run. Reports
query the backend directly (SQL for SQLite), so this contract only covers writing and a
few simple reads.
"""

from __future__ import annotations

import errno
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from db4e.config import Config
from db4e.parser import Event, ParserStats

__all__ = [
    "Checkpoint",
    "NotAStoreError",
    "SchemaTooNewError",
    "Store",
    "StoreLockedError",
    "StoredEvent",
    "local_zone",
    "open_store",
    "utc_micros",
]


class SchemaTooNewError(ValueError):
    """Raised when the store has a newer schema version than this db4e supports."""

    def __init__(
        self, path: str | os.PathLike[str], found: int, supported: int
    ) -> None:
        super().__init__(
            f"{os.fspath(path)}: store schema version {found} is newer than this db4e "
            f"supports ({supported}); upgrade db4e or pass --db with another file"
        )
        self.path = os.fspath(path)
        self.found = found
        self.supported = supported


class StoreLockedError(TimeoutError):
    """Raised when another process holds the store's lock past the busy timeout."""

    def __init__(self, path: str | os.PathLike[str], timeout: float) -> None:
        super().__init__(
            errno.EBUSY,
            f"store is locked by another process for more than {timeout:g} s; "
            "wait for it to finish, stop it, or pass --db with another file",
            os.fspath(path),
        )


class NotAStoreError(ValueError):
    """Raised when the store path names a file that is not a db4e SQLite store."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(
            f"{os.fspath(path)}: {reason}; "
            "pass --db with a db4e store or a new file name"
        )
        self.path = os.fspath(path)


@dataclass(frozen=True)
class Checkpoint:
    """Position up to which a followed log file is stored, and how to recognise it."""

    #: Absolute path of the followed log file, the checkpoint's key.
    origin: str
    device: int
    inode: int
    #: Byte offset and 1-based line number from which to read again (the parser's
    #: `safe_position`): every record before it is stored.
    offset: int
    line: int
    #: Hash of the file's first `fingerprint_len` bytes, to tell a reused inode or a
    #: truncated and rewritten file from the file the checkpoint was taken on.
    fingerprint: bytes
    fingerprint_len: int
    #: When the checkpoint was written, in microseconds since the epoch (UTC). It is 0
    #: in a checkpoint not yet stored.
    updated_at: int = 0


@dataclass(frozen=True)
class StoredEvent:
    """One stored event row."""

    kind: str
    source: str
    farm: str
    #: Microseconds since the epoch, UTC; None when the record has no timestamp.
    ts_utc: int | None
    ts_text: str | None
    height: int | None
    amount_pico: int | None
    hashrate_hs: int | None
    worker: str | None
    #: The event as one JSON object (`Event.json`).
    data: str
    origin: str | None
    line: int | None
    #: Microseconds since the epoch, UTC.
    stored_at: int


class Store(Protocol):
    """Asynchronous event store whose methods run blocking I/O off the event loop."""

    async def insert(
        self,
        events: Sequence[Event],
        origin: str | None,
        checkpoint: Checkpoint | None = None,
    ) -> tuple[int, int]:
        """Store `events` read from `origin` and, in the same transaction, `checkpoint`.

        Returns `(new, duplicates)`: how many events were stored now and how many were
        stored before (same identity).
        """
        ...

    async def load_checkpoint(self, origin: str) -> Checkpoint | None:
        """Return the checkpoint of the log file `origin`, None when there is none."""
        ...

    async def start_run(self, command: str, origin: str) -> int:
        """Record the start of an ingest run (`import` or `watch`) and return its id."""
        ...

    async def update_run(
        self, run_id: int, new: int, duplicates: int, stats: ParserStats
    ) -> None:
        """Record the progress of a run: totals so far."""
        ...

    async def finish_run(
        self, run_id: int, new: int, duplicates: int, stats: ParserStats
    ) -> None:
        """Record the end of a run with its final totals."""
        ...

    async def count(self, kind: str | None = None) -> int:
        """Return the number of stored events, of one kind or of all."""
        ...

    async def latest(self, kinds: Sequence[str] = ()) -> StoredEvent | None:
        """Return the stored event with the newest timestamp among `kinds` (all kinds
        when empty), None when there is none."""
        ...

    async def aclose(self) -> None:
        """Close the store. Later calls raise an error."""
        ...


@asynccontextmanager
async def open_store(config: Config) -> AsyncIterator[Store]:
    """Open the store that `config` names, creating and migrating it as needed.

    Raises `SchemaTooNewError`, `StoreLockedError`, `NotAStoreError`, or an `OSError`
    naming the path.
    """
    from db4e.store.sqlite import SqliteStore

    store = await SqliteStore.open(
        config.store_path, farm=config.farm, xmrig_zone=config.xmrig_timezone
    )
    try:
        yield store
    finally:
        await store.aclose()


def local_zone() -> tzinfo:
    """Return this machine's time zone as a `ZoneInfo`.

    Looks at `TZ` (an IANA name, with or without a leading `:`), then at
    `/etc/localtime`, and falls back to UTC when neither names a zone.
    """
    name = os.environ.get("TZ", "").removeprefix(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ValueError, OSError):
            # Not an IANA key: a POSIX rule such as "CET-1CEST" or a missing file.
            pass
    try:
        with Path("/etc/localtime").open("rb") as f:
            return ZoneInfo.from_file(f, key="localtime")
    except (OSError, ValueError):
        return UTC


_EPOCH = datetime(1970, 1, 1)


def utc_micros(wall_micros: int, zone: tzinfo) -> int:
    """Convert a wall-clock time in `zone`, read as if it were UTC (how the parser
    returns XMRig's local times), to microseconds since the epoch.

    A time in the hour skipped when DST starts, or repeated when it ends, is resolved
    with `fold=0`: it is read with the offset in force before the change. So a repeated
    hour maps to its first occurrence, and a skipped time maps to an instant one hour
    later than its face value.
    """
    wall = _EPOCH + timedelta(microseconds=wall_micros)
    offset = wall.replace(tzinfo=zone, fold=0).utcoffset() or timedelta(0)
    return wall_micros - (offset // timedelta(microseconds=1))
