"""A registry of the daemons that db4e started, so that the next start can end the
daemons that a killed `db4e run` left behind.

Each daemon runs in its own session and process group, so it outlives a `db4e run`
that dies by SIGKILL or a crash. Without this registry the next `db4e run` would start
a second p2pool beside the orphaned one, and both would bind the same ports. The
registry is one JSON file (mode 0600, in a 0700 directory) with one entry per running
daemon. An entry records the pid with its start time from /proc, so a pid that the
kernel has since given to an unrelated process is never signalled.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import anyio

__all__ = [
    "OrphanEntry",
    "OrphanRegistry",
    "default_registry_path",
    "process_start_time",
    "reap_orphans",
]

logger = logging.getLogger(__name__)

REGISTRY_NAME = "daemons.json"
#: Seconds between checks whether a signalled orphan has ended.
_POLL_INTERVAL = 0.05
#: Seconds to wait for an orphan to disappear after SIGKILL.
_KILL_WAIT = 5.0


@dataclass(frozen=True)
class OrphanEntry:
    """One daemon process that db4e started and has not yet stopped."""

    name: str
    pid: int
    #: Process group of the daemon and of every process it started.
    pgid: int
    #: Start time of `pid` in clock ticks since boot (/proc/PID/stat field 22), or
    #: None where /proc is missing; such an entry is never signalled.
    start_time: int | None
    #: Command line with secrets masked, for the log only.
    command: str
    #: Seconds the daemon gets between SIGTERM and SIGKILL when it is reaped.
    stop_timeout: float
    #: The `db4e run` process that started the daemon, and its start time.
    owner_pid: int
    owner_start_time: int | None


def default_registry_path() -> Path:
    """Return `$XDG_RUNTIME_DIR/db4e/daemons.json`, or `db4e-UID/daemons.json` in the
    temporary directory when XDG_RUNTIME_DIR is unset or relative."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime):
        return Path(runtime) / "db4e" / REGISTRY_NAME
    return Path(tempfile.gettempdir()) / f"db4e-{os.getuid()}" / REGISTRY_NAME


def _read_proc_stat(pid: int) -> tuple[str, int] | None:
    """Return the state letter and start time of `pid`, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) is in parentheses and may itself contain spaces and
    # parentheses, so the fields after it are counted from the last ")".
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[19])


def process_start_time(pid: int) -> int | None:
    """Return the start time of `pid` in clock ticks since boot, or None when no such
    process runs (a zombie counts as ended) or /proc is not available."""
    try:
        stat = _read_proc_stat(pid)
    except OSError:
        return None
    if stat is None or stat[0] in ("Z", "X"):
        return None
    return stat[1]


def _prepare_directory(directory: Path) -> None:
    """Create `directory` with mode 0700 and check that this user owns it, because
    the fallback location is in the shared temporary directory."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    # lstat, so that a symlink planted in the temporary directory is rejected.
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode):
        raise PermissionError(
            f"orphan registry directory {directory} is not a directory (a symlink?)"
        )
    if info.st_uid != os.getuid():
        raise PermissionError(
            f"orphan registry directory {directory} belongs to uid {info.st_uid}, "
            f"not to this user (uid {os.getuid()}); remove it or set XDG_RUNTIME_DIR"
        )
    if info.st_mode & 0o077:
        os.chmod(directory, 0o700)


class OrphanRegistry:
    """The registry file at `path`. Its methods do blocking file I/O, so async code
    calls them through `anyio.to_thread.run_sync`; a lock keeps concurrent calls from
    losing each other's entries."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_registry_path()
        self._lock = threading.Lock()

    def entries(self) -> list[OrphanEntry]:
        """Return the recorded entries; a missing file has none. An unreadable or
        invalid file is logged and treated as empty."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            raw = json.loads(text)
            return [OrphanEntry(**item) for item in raw["daemons"]]
        except (ValueError, KeyError, TypeError) as error:
            logger.error(
                "ignoring invalid orphan registry %s: %s; orphaned daemons listed "
                "there are not ended",
                self.path,
                error,
            )
            return []

    def add(self, entry: OrphanEntry) -> None:
        """Record `entry`, replacing any entry with the same pid."""
        with self._lock:
            kept = [item for item in self.entries() if item.pid != entry.pid]
            self._write([*kept, entry])

    def remove(self, pid: int) -> None:
        """Forget the entry of `pid`, if any."""
        with self._lock:
            entries = self.entries()
            kept = [item for item in entries if item.pid != pid]
            if len(kept) != len(entries):
                self._write(kept)

    def clear(self, pids: Iterable[int]) -> None:
        """Forget the entries of every pid in `pids`."""
        gone = set(pids)
        with self._lock:
            self._write([item for item in self.entries() if item.pid not in gone])

    def _write(self, entries: list[OrphanEntry]) -> None:
        if not entries:
            self.path.unlink(missing_ok=True)
            return
        _prepare_directory(self.path.parent)
        text = json.dumps({"daemons": [asdict(item) for item in entries]}, indent=1)
        # Write a new file and rename it over the old one, so that a reader (or the
        # next start after a crash) reads the old or the new registry, never half.
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        descriptor = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600
        )
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, self.path)


def _is_same_process(pid: int, start_time: int | None) -> bool:
    return start_time is not None and process_start_time(pid) == start_time


async def _wait_gone(entry: OrphanEntry, timeout: float) -> bool:
    """Wait until the orphan's process has ended; return False after `timeout`."""
    with anyio.move_on_after(timeout):
        while _is_same_process(entry.pid, entry.start_time):
            await anyio.sleep(_POLL_INTERVAL)
        return True
    return False


def _signal_orphan(entry: OrphanEntry, number: signal.Signals) -> None:
    # Signal the whole group, so that helpers the daemon started end too, but only
    # while the pid still leads the recorded group.
    try:
        if os.getpgid(entry.pid) == entry.pgid:
            os.killpg(entry.pgid, number)
        else:
            os.kill(entry.pid, number)
    except ProcessLookupError:
        pass
    except PermissionError as error:
        logger.error(
            "failed to send %s to orphaned %s (pid %d): %s",
            number.name,
            entry.name,
            entry.pid,
            error,
        )


async def _end_orphan(entry: OrphanEntry, max_timeout: float | None) -> None:
    """End one orphan: SIGTERM to its process group, then SIGKILL after its stop
    timeout (at most `max_timeout`)."""
    timeout = entry.stop_timeout
    if max_timeout is not None:
        timeout = min(timeout, max_timeout)
    logger.warning(
        "ending orphaned %s (pid %d, process group %d) left by an earlier db4e run: "
        "sending SIGTERM; command: %s",
        entry.name,
        entry.pid,
        entry.pgid,
        entry.command,
    )
    _signal_orphan(entry, signal.SIGTERM)
    if await _wait_gone(entry, timeout):
        logger.info("orphaned %s (pid %d) ended after SIGTERM", entry.name, entry.pid)
        return
    logger.warning(
        "orphaned %s (pid %d) still running %g s after SIGTERM: sending SIGKILL to "
        "process group %d",
        entry.name,
        entry.pid,
        timeout,
        entry.pgid,
    )
    _signal_orphan(entry, signal.SIGKILL)
    if not await _wait_gone(entry, _KILL_WAIT):
        logger.error(
            "orphaned %s (pid %d) still running %g s after SIGKILL",
            entry.name,
            entry.pid,
            _KILL_WAIT,
        )


def _owner_is_running(entry: OrphanEntry) -> bool:
    # True for this very process too, so that a reap during a run spares its daemons.
    return _is_same_process(entry.owner_pid, entry.owner_start_time)


def _select_orphans(entries: list[OrphanEntry]) -> tuple[list[OrphanEntry], set[int]]:
    """Split `entries` into the orphans to end and the pids to forget. Entries of a
    db4e run that is still running are neither."""
    orphans: list[OrphanEntry] = []
    forget: set[int] = set()
    for entry in entries:
        if _owner_is_running(entry):
            logger.warning(
                "leaving %s (pid %d) alone: the db4e run that started it (pid %d) is "
                "still running",
                entry.name,
                entry.pid,
                entry.owner_pid,
            )
            continue
        forget.add(entry.pid)
        if entry.start_time is None:
            logger.warning(
                "not ending %s (pid %d): its start time was not recorded, so the pid "
                "may belong to another process now",
                entry.name,
                entry.pid,
            )
        elif _is_same_process(entry.pid, entry.start_time):
            orphans.append(entry)
        else:
            logger.info(
                "%s (pid %d) from an earlier run has ended", entry.name, entry.pid
            )
    return orphans, forget


async def reap_orphans(
    path: Path | None = None, max_timeout: float | None = None
) -> list[OrphanEntry]:
    """End the daemons that an earlier `db4e run` started and did not stop, and return
    them. Each orphan's process group gets SIGTERM, then SIGKILL after its recorded
    stop timeout, which gives monerod time to close its database (capped at
    `max_timeout` seconds when given). Orphans are ended concurrently.

    Entries are checked against /proc: a pid that no longer runs, or that now runs a
    process with another start time, is forgotten without a signal. Entries whose
    `db4e run` is still running are left in place, so a second instance never ends
    the daemons of the first.
    """
    registry = OrphanRegistry(path)
    entries = await anyio.to_thread.run_sync(registry.entries)
    orphans, forget = _select_orphans(entries)
    async with anyio.create_task_group() as tg:
        for entry in orphans:
            tg.start_soon(_end_orphan, entry, max_timeout)
    if forget:
        await anyio.to_thread.run_sync(registry.clear, forget)
    return orphans
