"""Appending simulated records to a live file, as P2Pool appends to its log."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from db4e.simulate.config import PlantedEvent, SimConfig
from db4e.simulate.node import Simulator
from db4e.simulate.text import TICKS_PER_SECOND

__all__ = ["LiveFile", "append_live"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class LiveFile:
    """One file written by `append_live`: the live path, or a rotated one."""

    path: Path
    planted: list[PlantedEvent] = field(default_factory=list)
    lines: int = 0
    bytes: int = 0


def append_live(
    path: str | os.PathLike[str],
    seconds: float,
    lines_per_second: float = 50.0,
    config: SimConfig | None = None,
    rotate_every_s: float | None = None,
    split_writes: bool = False,
    stop: threading.Event | None = None,
    sleep: Callable[[float], None] = time.sleep,
    realtime: bool = False,
) -> list[LiveFile]:
    """Append simulated records to `path` for `seconds` of wall time at about
    `lines_per_second`, the way P2Pool appends to its log.

    Records are written whole and flushed one by one. With `split_writes` the 8-byte
    level word and the rest of a record are two writes, as in P2Pool's logger, so that
    a reader can catch a half-written record. With `rotate_every_s` the file is renamed
    to `path.1`, `path.2`, … (higher is newer) and a new one started, like logrotate's
    move-and-create. Rotation happens between simulation steps so that every record
    stays in one file. Timestamps follow the simulated clock, which starts at
    `config.start` and runs at its own pace, not the wall clock.

    Returns the files written, oldest first, each with the events planted in it and
    line numbers counted from that file's first line. `stop` ends the run early.

    With `realtime` the simulated clock is held to the wall clock instead: each
    simulation step waits until its simulated time has come, so the timestamps in the
    file are the times the records were written (`config.start` should then be now).
    """
    path = Path(path)
    config = config or SimConfig(start=time.time(), duration_s=float("inf"))
    planted: list[PlantedEvent] = []
    sim = Simulator(config, planted)
    if config.startup:
        sim.startup()
    files = [LiveFile(path)]
    started = time.monotonic()
    rotated_at = started
    lines_done = 0
    out: BinaryIO = path.open("ab")
    try:
        while not _live_should_stop(started, seconds, stop):
            if not sim.records:
                # Between two steps no record is half-way, so a rotation is safe here.
                due = rotate_every_s is not None and (
                    time.monotonic() - rotated_at >= rotate_every_s
                )
                if due:
                    out = _rotate(out, files, sim, planted)
                    rotated_at = time.monotonic()
                sim.step()
                if realtime:
                    _wait_for(sim.now / TICKS_PER_SECOND, started, seconds, sleep)
                continue
            record = sim.records.pop(0)
            _write_record(out, record.encode(), split_writes)
            current = files[-1]
            current.lines += record.count("\n")
            current.bytes += len(record)
            lines_done += record.count("\n")
            delay = started + lines_done / lines_per_second - time.monotonic()
            if delay > 0 and not realtime:
                sleep(delay)
    finally:
        out.close()
    _assign_planted(files[-1], planted, files[-1].lines)
    return files


def _wait_for(
    wall_time: float, started: float, seconds: float, sleep: Callable[[float], None]
) -> None:
    """Sleep until the wall clock reaches `wall_time` (Unix seconds), but not past the
    end of the run."""
    remaining = started + seconds - time.monotonic()
    delay = min(wall_time - time.time(), remaining)
    if delay > 0:
        sleep(delay)


def _live_should_stop(
    started: float, seconds: float, stop: threading.Event | None
) -> bool:
    if stop is not None and stop.is_set():
        return True
    return time.monotonic() - started >= seconds


def _write_record(out: BinaryIO, data: bytes, split_writes: bool) -> None:
    if split_writes and len(data) > 8:
        out.write(data[:8])
        out.flush()
        data = data[8:]
    out.write(data)
    out.flush()


def _assign_planted(live: LiveFile, planted: list[PlantedEvent], lines: int) -> None:
    """Move the events of records fully written to `live` from `planted` to it."""
    live.planted.extend(e for e in planted if e.line <= lines)
    planted.clear()


def _rotate(
    out: BinaryIO, files: list[LiveFile], sim: Simulator, planted: list[PlantedEvent]
) -> BinaryIO:
    """Rename the live file to the next free `.N` name and start a new one."""
    out.close()
    current = files[-1]
    _assign_planted(current, planted, current.lines)
    live_path = current.path
    rotated = live_path.with_name(f"{live_path.name}.{len(files)}")
    live_path.rename(rotated)
    current.path = rotated
    logger.debug("rotated %s to %s after %d lines", live_path, rotated, current.lines)
    files.append(LiveFile(live_path))
    sim.line = 1
    return live_path.open("ab")
