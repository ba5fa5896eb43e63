"""Following a live log file as its writer appends to it, checkpointed in the store.

The checkpoint is (device, inode, offset, line, fingerprint of the first bytes), where
offset and line are the parser's `safe_position`. It is written in the same transaction
as the events read before it, so a restart, even after `kill -9`, neither loses nor
repeats a record. The follower handles the ways log files are rotated:

- Rename and re-create (logrotate `create`, P2Pool's own reopening). The renamed file
  is read through the descriptor still open until the new file at the path grows,
  because the writer goes on writing to the old file until it reopens the path. Then
  come the files rotated after it, if the log was rotated more than once since the
  last read, and the new file from byte 0.
- Copy and truncate (logrotate `copytruncate`). The file shrinks below the offset, or
  its first bytes change. The bytes after the offset are read from the copy, then the
  file again from byte 0.
- Deletion and re-creation, handled like a rename.
- Any of these while db4e was stopped. On start the file of the checkpoint is found in
  the log's folder by its device and inode (a copy by its first bytes) and read from
  the checkpoint, then every rotated file written after it, then the live file. The
  newest rotated file is followed like the live file until the new file grows.

A first run, without a checkpoint, reads the live file from byte 0 and no rotated
files: store those once with `db4e import`.

`FileFollower` does the file work synchronously and returns `Batch`es. `follow` runs it
in a worker thread and stores each batch with its checkpoint.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import math
import os
import stat
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

import anyio
import anyio.to_thread

from db4e.parser import CHUNK_SIZE, GZIP_MAGIC, Event, Parser, ParserStats, open_log
from db4e.store import Checkpoint, Store

__all__ = [
    "FINGERPRINT_SIZE",
    "QUIET_SECONDS",
    "Batch",
    "CompressedLogError",
    "FileFollower",
    "FollowResult",
    "fingerprint",
    "follow",
]

logger = logging.getLogger(__name__)

#: Bytes at the start of a file whose hash distinguishes it from another file that got
#: the same inode, or from the same file truncated and written again.
FINGERPRINT_SIZE = 1024

#: Seconds without new bytes after which a pending multi-line record (a status block
#: at the end of the file) is taken as complete and stored.
QUIET_SECONDS = 1.0

#: Seconds subtracted from a checkpoint's time when searching for rotated files written
#: after it; file times and the clock may differ by a timer tick.
MTIME_MARGIN_SECONDS = 2.0

#: Seconds between two progress records of a watch run in the store.
RUN_UPDATE_SECONDS = 10.0


class CompressedLogError(ValueError):
    """Raised when the file to follow is compressed, so it cannot be a growing log."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path}: a compressed file does not grow; store it with `db4e import`"
        )
        self.path = path


def fingerprint(head: bytes) -> bytes:
    """Hash the first bytes of a file (16 bytes of BLAKE2b)."""
    return hashlib.blake2b(head, digest_size=16).digest()


@dataclass
class Batch:
    """Events read in one step, and the checkpoint to store with them."""

    events: list[Event]
    #: Path of the file the events were read from.
    origin: str
    #: Position to store with the events; None keeps the stored checkpoint.
    checkpoint: Checkpoint | None
    #: True when there is nothing more to read now, so the caller may wait.
    idle: bool


@dataclass
class _OpenFile:
    """The followed file, open by descriptor so that a rename does not lose it."""

    #: Name the file was opened under, stored as the origin of its events.
    path: str
    fd: int
    device: int
    inode: int
    parser: Parser
    #: Hash of the first `fingerprint_len` bytes, extended as the file grows to
    #: `FINGERPRINT_SIZE`.
    fingerprint: bytes
    fingerprint_len: int

    def checkpoint(self, origin: str) -> Checkpoint:
        offset, line = self.parser.safe_position
        return Checkpoint(
            origin=origin,
            device=self.device,
            inode=self.inode,
            offset=offset,
            line=line,
            fingerprint=self.fingerprint,
            fingerprint_len=self.fingerprint_len,
        )


@dataclass
class _CatchUp:
    """A rotated file to read before the live file."""

    path: str
    #: Device and inode the file had when it was found.
    key: tuple[int, int]
    offset: int = 0
    line: int = 1
    #: The stored checkpoint when this is the checkpointed file itself, so reading it
    #: moves the checkpoint along; None for other rotated files.
    checkpoint: Checkpoint | None = None


@dataclass
class _Sibling:
    path: str
    stat: os.stat_result


class FileFollower:
    """Reads a log file as it grows, across rotation and truncation, in bounded steps.

    Call `start` once with the stored checkpoint, then `next_batch` repeatedly. Not
    thread-safe: use one thread at a time.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        quiet: float = QUIET_SECONDS,
        read_size: int = CHUNK_SIZE,
    ) -> None:
        self.path = os.path.abspath(path)
        self.quiet = quiet
        self.read_size = read_size
        self._live: _OpenFile | None = None
        self._catch_up: deque[_CatchUp] = deque()
        self._catch_up_batches: Iterator[Batch] | None = None
        self._finished_stats = ParserStats()
        self._last_growth = time.monotonic()
        self._flushed = False
        self._replacement_logged = False
        self._missing_logged = False

    # Start

    def start(self, checkpoint: Checkpoint | None) -> None:
        """Decide where to read from, given the stored checkpoint of this file.

        Raises `IsADirectoryError`, `FileNotFoundError` (missing folder), or
        `ValueError` for a compressed or binary file.
        """
        folder = os.path.dirname(self.path)
        if not os.path.isdir(folder):
            raise FileNotFoundError(
                errno.ENOENT, "folder not found; check the log file path", folder
            )
        opened = self._open(self.path, check_content=True)
        if opened is None:
            logger.warning("%s does not exist yet; waiting for it to appear", self.path)
            self._missing_logged = True
        if checkpoint is None:
            self._start_fresh(opened)
        elif opened is not None and self._resumable(opened, checkpoint):
            logger.info(
                "resuming %s at line %d (byte %d) from its checkpoint",
                self.path,
                checkpoint.line,
                checkpoint.offset,
            )
            opened.parser = Parser(checkpoint.offset, checkpoint.line)
            opened.fingerprint = checkpoint.fingerprint
            opened.fingerprint_len = checkpoint.fingerprint_len
            self._live = opened
        else:
            self._plan_catch_up(checkpoint, opened)

    def _start_fresh(self, opened: _OpenFile | None) -> None:
        if opened is not None:
            logger.info("reading %s from the start: no checkpoint", self.path)
        self._live = opened

    def _resumable(self, opened: _OpenFile, checkpoint: Checkpoint) -> bool:
        if (opened.device, opened.inode) != (checkpoint.device, checkpoint.inode):
            return False
        size = os.fstat(opened.fd).st_size
        head = os.pread(opened.fd, checkpoint.fingerprint_len, 0)
        return size >= checkpoint.offset and _head_matches(head, checkpoint)

    def _plan_catch_up(self, checkpoint: Checkpoint, opened: _OpenFile | None) -> None:
        """Plan how to read the files written after the checkpoint, because the file
        at the path was rotated, truncated or replaced while db4e was stopped."""
        key = (checkpoint.device, checkpoint.inode)
        exclude = set() if opened is None else {(opened.device, opened.inode)}
        siblings = self._siblings(key, exclude)
        match = _find_checkpointed(siblings, checkpoint)
        items = []
        if match is None:
            logger.warning(
                "%s changed while db4e was stopped, and the file of its checkpoint "
                "(inode %d, line %d) is not in %s; lines written to it after that "
                "are lost unless you import a copy with `db4e import`",
                self.path,
                checkpoint.inode,
                checkpoint.line,
                os.path.dirname(self.path),
            )
            threshold = checkpoint.updated_at / 1e6 - MTIME_MARGIN_SECONDS
        else:
            threshold = match.stat.st_mtime
            same_file = _key(match.stat) == key
            items.append(
                _CatchUp(
                    match.path,
                    _key(match.stat),
                    checkpoint.offset,
                    checkpoint.line,
                    checkpoint if same_file else None,
                )
            )
        items += _rotated_after(siblings, threshold, match)
        self._live = opened
        self._read_rotated_files(items)

    def _read_rotated_files(self, items: list[_CatchUp]) -> None:
        """Queue rotated files, oldest first, to be read before the live file.

        The newest one is followed like the live file instead, until the new file at the
        path grows: the writer may still be writing to it.
        """
        if items and self._follow_rotated(items[-1]):
            items = items[:-1]
        for item in items:
            logger.info(
                "reading rotated file %s of %s from line %d",
                item.path,
                self.path,
                item.line,
            )
        self._catch_up.extend(items)

    def _follow_rotated(self, item: _CatchUp) -> bool:
        rotated = self._open(item.path, check_content=False)
        if rotated is None:
            return False
        head = os.pread(rotated.fd, len(GZIP_MAGIC), 0)
        if (rotated.device, rotated.inode) != item.key or head == GZIP_MAGIC:
            os.close(rotated.fd)
            return False
        logger.info(
            "following rotated file %s of %s from line %d until the new file grows",
            item.path,
            self.path,
            item.line,
        )
        rotated.parser = Parser(item.offset, item.line)
        if item.checkpoint is not None:
            rotated.fingerprint = item.checkpoint.fingerprint
            rotated.fingerprint_len = item.checkpoint.fingerprint_len
        if self._live is not None:
            os.close(self._live.fd)
        self._live = rotated
        return True

    def _siblings(
        self, include: tuple[int, int] | None, exclude: set[tuple[int, int]]
    ) -> list[_Sibling]:
        """List the regular files in the log's folder that may be rotated copies: names
        that start with the log's name, and the file with the device and inode
        `include`."""
        folder, name = os.path.split(self.path)
        found = []
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if not stat.S_ISREG(st.st_mode) or _key(st) in exclude:
                    continue
                is_rotated_name = entry.name.startswith(name) and entry.name != name
                if is_rotated_name or _key(st) == include:
                    found.append(_Sibling(entry.path, st))
        return found

    # Reading

    def next_batch(self) -> Batch:
        """Read the next step: a chunk of a rotated file being caught up, or what the
        live file has gained since the last call."""
        catch_up = self._next_catch_up()
        if catch_up is not None:
            return catch_up
        return self._poll_live()

    def stats(self) -> ParserStats:
        """Counters of everything read so far."""
        total = ParserStats()
        total.merge(self._finished_stats)
        if self._live is not None:
            total.merge(self._live.parser.stats())
        return total

    def close(self) -> None:
        """Close the open file."""
        if self._live is not None:
            os.close(self._live.fd)
            self._live = None

    def _next_catch_up(self) -> Batch | None:
        while True:
            if self._catch_up_batches is not None:
                batch = next(self._catch_up_batches, None)
                if batch is not None:
                    return batch
                self._catch_up_batches = None
            if not self._catch_up:
                return None
            self._catch_up_batches = self._read_rotated(self._catch_up.popleft())

    def _read_rotated(self, item: _CatchUp) -> Iterator[Batch]:
        """Read a rotated file (plain or .gz) from `item.offset` to its end."""
        parser = Parser(item.offset, item.line)
        try:
            with open_log(item.path) as stream:
                stream.seek(item.offset)
                while chunk := stream.read(self.read_size):
                    events = parser.feed(chunk)
                    yield Batch(events, item.path, _moved(item, parser), idle=False)
        except (OSError, EOFError, ValueError) as e:
            logger.warning("skipping the rest of rotated file %s: %s", item.path, e)
        events = parser.finish()
        self._finished_stats.merge(parser.stats())
        yield Batch(events, item.path, _moved(item, parser), idle=False)

    def _poll_live(self) -> Batch:
        live = self._live
        if live is None:
            live = self._live = self._open(self.path, check_content=False)
            if live is None:
                if not self._missing_logged:
                    logger.info("waiting for %s to appear", self.path)
                    self._missing_logged = True
                return Batch([], self.path, None, idle=True)
            self._missing_logged = False
            logger.info("reading %s (inode %d) from the start", self.path, live.inode)

        if self._truncated(live):
            return self._restart_truncated(live)
        data = os.pread(live.fd, self.read_size, live.parser.end_offset)
        if data:
            # A truncation between the check and the read would leave bytes of the
            # new content at the old offset: check again before parsing them.
            if self._truncated(live):
                return self._restart_truncated(live)
            events = live.parser.feed(data)
            self._last_growth = time.monotonic()
            self._flushed = False
            idle = len(data) < self.read_size
            return Batch(events, live.path, live.checkpoint(self.path), idle=idle)

        switched = self._switch_if_replaced(live)
        if switched is not None:
            return switched
        return self._flush_if_quiet(live)

    def _flush_if_quiet(self, live: _OpenFile) -> Batch:
        events: list[Event] = []
        quiet_for = time.monotonic() - self._last_growth
        if not self._flushed and quiet_for >= self.quiet:
            self._flushed = True
            events = live.parser.flush_record()
        return Batch(events, live.path, live.checkpoint(self.path), idle=True)

    # Truncation (copytruncate)

    def _truncated(self, live: _OpenFile) -> bool:
        """Check whether the file shrank below the read offset or its first bytes
        changed, extending the fingerprint while the file is short."""
        if os.fstat(live.fd).st_size < live.parser.end_offset:
            return True
        head = os.pread(live.fd, FINGERPRINT_SIZE, 0)
        if len(head) < live.fingerprint_len:
            return True
        if fingerprint(head[: live.fingerprint_len]) != live.fingerprint:
            return True
        if len(head) > live.fingerprint_len:
            live.fingerprint = fingerprint(head)
            live.fingerprint_len = len(head)
        return False

    def _restart_truncated(self, live: _OpenFile) -> Batch:
        offset = live.parser.end_offset
        logger.info(
            "%s was truncated (it is shorter than byte %d or its first bytes changed); "
            "reading it again from the start",
            self.path,
            offset,
        )
        events = self._finish_from_copy(live)
        events += live.parser.finish()
        self._finished_stats.merge(live.parser.stats())

        live.parser = Parser()
        head = os.pread(live.fd, FINGERPRINT_SIZE, 0)
        live.fingerprint, live.fingerprint_len = fingerprint(head), len(head)
        self._last_growth = time.monotonic()
        self._flushed = False
        return Batch(events, live.path, live.checkpoint(self.path), idle=False)

    def _finish_from_copy(self, live: _OpenFile) -> list[Event]:
        """Read what was written after the read offset and before the truncation from
        the copy that `copytruncate` made, if it is in the log's folder."""
        checkpoint = live.checkpoint(self.path)
        copies = [
            s
            for s in self._siblings(None, {(live.device, live.inode)})
            if s.stat.st_size > live.parser.end_offset and _file_matches(s, checkpoint)
        ]
        if not copies:
            return []
        copy = max(copies, key=lambda s: s.stat.st_mtime)
        logger.info(
            "reading the end of %s from its copy %s from byte %d",
            self.path,
            copy.path,
            live.parser.end_offset,
        )
        # NOTE: the rest of the copy becomes one batch. It is small when the follower
        # keeps up, but holds every event of the copy's tail when it was far behind.
        events: list[Event] = []
        try:
            with open_log(copy.path) as stream:
                stream.seek(live.parser.end_offset)
                while chunk := stream.read(self.read_size):
                    events += live.parser.feed(chunk)
        except (OSError, EOFError, ValueError) as e:
            logger.warning("could not read the copy %s: %s", copy.path, e)
        return events

    # Rotation (rename, delete)

    def _switch_if_replaced(self, live: _OpenFile) -> Batch | None:
        """At the end of the open file, move to the file now at the path once the old
        one was renamed or deleted and the writer has moved on.

        The writer has moved on when the new file is not empty. Until then the old file
        is still followed: P2Pool writes to it until its next check of the path, and a
        P2Pool before v4.8 keeps writing to it as long as the path exists.
        """
        try:
            st: os.stat_result | None = os.stat(self.path)
        except FileNotFoundError:
            st = None
        if st is not None and (st.st_dev, st.st_ino) == (live.device, live.inode):
            self._replacement_logged = False
            return None

        if not self._replacement_logged:
            self._replacement_logged = True
            logger.info(
                "%s was %s; reading the old file (inode %d) until the new one grows",
                self.path,
                "moved or deleted" if st is None else "replaced by a new file",
                live.inode,
            )
        if st is None or st.st_size == 0:
            return None
        return self._switch(live)

    def _switch(self, live: _OpenFile) -> Batch:
        """Finish the old file, then go on with the files rotated after it, or with the
        file at the path."""
        events: list[Event] = []
        while data := os.pread(live.fd, self.read_size, live.parser.end_offset):
            events += live.parser.feed(data)
        events += live.parser.finish()
        self._finished_stats.merge(live.parser.stats())
        finished = live.checkpoint(self.path)
        mtime = os.fstat(live.fd).st_mtime
        os.close(live.fd)
        self._live = None
        self._replacement_logged = False
        self._last_growth = time.monotonic()
        self._flushed = False

        # Rotated more than once since the last check: read the files in between
        # first, and keep the checkpoint on the old file until they are stored.
        exclude = {(live.device, live.inode)}
        with contextlib.suppress(FileNotFoundError):
            exclude.add(_key(os.stat(self.path)))
        later = _rotated_after(self._siblings(None, exclude), mtime, None)
        if later:
            self._read_rotated_files(later)
            return Batch(events, live.path, finished, idle=False)

        new = self._live = self._open(self.path, check_content=False)
        if new is None:
            return Batch(events, live.path, None, idle=False)
        logger.info(
            "rotation of %s: finished the old file (inode %d), reading the new file "
            "(inode %d) from the start",
            self.path,
            live.inode,
            new.inode,
        )
        return Batch(events, live.path, new.checkpoint(self.path), idle=False)

    # Opening

    def _open(self, path: str, *, check_content: bool) -> _OpenFile | None:
        """Open `path` for following; None when it does not exist."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise _not_regular(path, st)
            head = os.pread(fd, FINGERPRINT_SIZE, 0)
            if check_content:
                _check_followable(path, fd)
        except BaseException:
            os.close(fd)
            raise
        self._last_growth = time.monotonic()
        return _OpenFile(
            path=path,
            fd=fd,
            device=st.st_dev,
            inode=st.st_ino,
            parser=Parser(),
            fingerprint=fingerprint(head),
            fingerprint_len=len(head),
        )


def _not_regular(path: str, st: os.stat_result) -> OSError:
    if stat.S_ISDIR(st.st_mode):
        return IsADirectoryError(
            errno.EISDIR, "is a directory; pass the log file inside it", path
        )
    return OSError(
        errno.EINVAL, "not a regular file; `db4e watch` follows log files only", path
    )


def _check_followable(path: str, fd: int) -> None:
    # Imported here: db4e.parser owns the binary check and its error.
    from db4e.parser import SNIFF_SIZE, BinaryFileError

    head = os.pread(fd, SNIFF_SIZE, 0)
    if head.startswith(GZIP_MAGIC):
        raise CompressedLogError(path)
    if b"\0" in head:
        raise BinaryFileError(path)


def _key(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


def _rotated_after(
    siblings: list[_Sibling], threshold: float, skip: _Sibling | None
) -> list[_CatchUp]:
    """Return the files last written at or after `threshold` (seconds since the epoch),
    oldest first, as files to read from their start."""
    later = [s for s in siblings if s is not skip and s.stat.st_mtime >= threshold]
    later.sort(key=lambda s: s.stat.st_mtime)
    return [_CatchUp(s.path, _key(s.stat)) for s in later]


def _head_matches(head: bytes, checkpoint: Checkpoint) -> bool:
    return (
        len(head) >= checkpoint.fingerprint_len
        and fingerprint(head[: checkpoint.fingerprint_len]) == checkpoint.fingerprint
    )


def _file_matches(sibling: _Sibling, checkpoint: Checkpoint) -> bool:
    """Check whether a file (plain or .gz) starts with the checkpoint's first bytes."""
    try:
        with open_log(sibling.path) as stream:
            head = stream.read(checkpoint.fingerprint_len)
    except (OSError, EOFError, ValueError):
        return False
    return _head_matches(head, checkpoint)


def _find_checkpointed(
    siblings: list[_Sibling], checkpoint: Checkpoint
) -> _Sibling | None:
    """Find the file the checkpoint was taken on: the one with its device and inode,
    else the newest copy that starts with the same bytes."""
    for sibling in siblings:
        key = (sibling.stat.st_dev, sibling.stat.st_ino)
        if key == (checkpoint.device, checkpoint.inode) and _file_matches(
            sibling, checkpoint
        ):
            return sibling
    # With no bytes read there is nothing to recognise a copy by.
    if checkpoint.fingerprint_len == 0:
        return None
    copies = [s for s in siblings if _file_matches(s, checkpoint)]
    return max(copies, key=lambda s: s.stat.st_mtime, default=None)


def _moved(item: _CatchUp, parser: Parser) -> Checkpoint | None:
    """Return the checkpoint of a rotated file being caught up, moved to the parser's
    safe position, or None when the file is not the checkpointed one."""
    if item.checkpoint is None:
        return None
    offset, line = parser.safe_position
    return Checkpoint(
        origin=item.checkpoint.origin,
        device=item.checkpoint.device,
        inode=item.checkpoint.inode,
        offset=offset,
        line=line,
        fingerprint=item.checkpoint.fingerprint,
        fingerprint_len=item.checkpoint.fingerprint_len,
    )


# The async driver


@dataclass
class FollowResult:
    """Totals of one `follow` run."""

    path: str
    new: int = 0
    duplicates: int = 0
    stats: ParserStats = field(default_factory=ParserStats)


def _position(checkpoint: Checkpoint | None) -> tuple[object, ...] | None:
    if checkpoint is None:
        return None
    return (
        checkpoint.device,
        checkpoint.inode,
        checkpoint.offset,
        checkpoint.line,
        checkpoint.fingerprint,
        checkpoint.fingerprint_len,
    )


async def follow(
    store: Store,
    path: str | os.PathLike[str],
    *,
    interval: float = 0.2,
    duration: float | None = None,
    stop: anyio.Event | None = None,
    quiet: float = QUIET_SECONDS,
) -> FollowResult:
    """Store the events of the log file at `path` as they appear, until `stop` is set
    or `duration` seconds have passed.

    Checks the file for new bytes every `interval` seconds. Each batch of events is
    stored in one transaction with the file's checkpoint, and the run is recorded in
    the store's ingest runs.
    """
    follower = FileFollower(path, quiet=quiet)
    checkpoint = await store.load_checkpoint(follower.path)
    await anyio.to_thread.run_sync(follower.start, checkpoint)
    deadline = math.inf if duration is None else anyio.current_time() + duration
    run = _FollowRun(store, follower, stop or anyio.Event(), deadline, interval)
    run.saved = _position(checkpoint)
    run_id = await store.start_run("watch", follower.path)
    try:
        await run.loop(run_id)
    finally:
        run.result.stats = follower.stats()
        follower.close()
        with anyio.CancelScope(shield=True):
            await store.finish_run(
                run_id, run.result.new, run.result.duplicates, run.result.stats
            )
    return run.result


class _FollowRun:
    """The state of one `follow` call: what is stored, and when to stop."""

    def __init__(
        self,
        store: Store,
        follower: FileFollower,
        stop: anyio.Event,
        deadline: float,
        interval: float,
    ) -> None:
        self.store = store
        self.follower = follower
        self.stop = stop
        self.deadline = deadline
        self.interval = interval
        self.result = FollowResult(follower.path)
        #: Position of the stored checkpoint, to skip writing an unchanged one.
        self.saved: tuple[object, ...] | None = None

    def running(self) -> bool:
        return not self.stop.is_set() and anyio.current_time() < self.deadline

    async def loop(self, run_id: int) -> None:
        next_update = anyio.current_time() + RUN_UPDATE_SECONDS
        while self.running():
            batch = await anyio.to_thread.run_sync(self.follower.next_batch)
            await self.store_batch(batch)
            if anyio.current_time() >= next_update:
                next_update = anyio.current_time() + RUN_UPDATE_SECONDS
                await self.store.update_run(
                    run_id,
                    self.result.new,
                    self.result.duplicates,
                    self.follower.stats(),
                )
            if batch.idle:
                await self.sleep()

    async def store_batch(self, batch: Batch) -> None:
        position = _position(batch.checkpoint)
        moved = position is not None and position != self.saved
        if not batch.events and not moved:
            return
        new, duplicates = await self.store.insert(
            batch.events, batch.origin, batch.checkpoint
        )
        self.result.new += new
        self.result.duplicates += duplicates
        if moved:
            self.saved = position

    async def sleep(self) -> None:
        wait = min(self.interval, self.deadline - anyio.current_time())
        with anyio.move_on_after(max(wait, 0.0)):
            await self.stop.wait()
