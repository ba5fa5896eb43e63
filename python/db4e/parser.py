"""The one Python entry to the native parser `db4e._parser`.

It owns the event type, the counters, streaming and whole-file parsing, and the errors
a caller can meet."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from db4e import _parser
from db4e._parser import ParserBug, ScanCancelled, StopFlag

__all__ = [
    "CHUNK_SIZE",
    "BinaryFileError",
    "Event",
    "Parser",
    "ParserBug",
    "ParserStats",
    "ScanCancelled",
    "StopFlag",
    "iter_file",
    "open_log",
    "scan_file",
]

#: Bytes read and parsed per step of a whole-file parse: large enough that the per-call
#: overhead vanishes, small enough that a stop request is honoured within milliseconds.
CHUNK_SIZE = 1 << 20

#: Bytes inspected to tell a text log from a binary file.
SNIFF_SIZE = 8192

GZIP_MAGIC = b"\x1f\x8b"


class BinaryFileError(ValueError):
    """Raised when a file given as a log contains NUL bytes, so it is not a text log."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(
            f"{os.fspath(path)}: not a text log (NUL bytes in the first "
            f"{SNIFF_SIZE} bytes); pass a P2Pool, XMRig or monerod log, "
            "plain or .gz"
        )
        self.path = os.fspath(path)


class Event(NamedTuple):
    """One event, as the native parser returns it."""

    kind: str
    #: "p2pool", "xmrig" or "monerod".
    source: str
    #: 1-based number of the record's first line.
    line: int
    #: Absolute byte offset of the record's first line.
    offset: int
    #: Timestamp text as printed, None when the line has none.
    timestamp: str | None
    #: Printed date and time read as UTC, in microseconds since the epoch. Exact for
    #: P2Pool and monerod; XMRig prints local time, which the store converts with the
    #: configured zone.
    ts_micros: int | None
    #: 16-byte hash of the source and the record's normalised bytes.
    identity: bytes
    #: The whole event as one JSON object (the `db4e parse` output).
    json: str
    #: The Monero height the event is about.
    height: int | None
    #: Payout amount in piconero.
    amount_pico: int | None
    #: Hashrate in H/s (worker estimate, pool-side or stratum 15-minute hashrate).
    hashrate_hs: int | None
    #: Miner name (share user or worker name).
    worker: str | None

    def fields(self) -> dict[str, Any]:
        """Decode the JSON form into a dict."""
        result: dict[str, Any] = json.loads(self.json)
        return result


def _events(batch: list[_parser.EventTuple]) -> list[Event]:
    return [Event._make(t) for t in batch]


@dataclass
class ParserStats:
    """Counts of lines, records and events, summed over one or more parsers."""

    bytes: int = 0
    lines: int = 0
    records: dict[str, int] = field(default_factory=dict)
    unrecognised_records: dict[str, int] = field(default_factory=dict)
    continuation_lines: int = 0
    unrecognised_lines: int = 0
    oversized_lines: int = 0
    dropped_partial_bytes: int = 0
    events: int = 0
    events_by_kind: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_counters(cls, counters: dict[str, Any]) -> ParserStats:
        stats = cls()
        stats.add(counters)
        return stats

    def add(self, counters: dict[str, Any]) -> None:
        """Add the counters dict of a native parser to these totals."""
        for name in (
            "bytes",
            "lines",
            "continuation_lines",
            "unrecognised_lines",
            "oversized_lines",
            "dropped_partial_bytes",
            "events",
        ):
            setattr(self, name, getattr(self, name) + int(counters[name]))
        for source in ("p2pool", "xmrig", "monerod"):
            for prefix, target in (
                ("records_", self.records),
                ("unrecognised_records_", self.unrecognised_records),
            ):
                target[source] = target.get(source, 0) + int(counters[prefix + source])
        for kind, n in counters["events_by_kind"].items():
            self.events_by_kind[kind] = self.events_by_kind.get(kind, 0) + int(n)

    def merge(self, other: ParserStats) -> None:
        """Add another set of totals to these."""
        self.add(other.as_counters())

    def as_counters(self) -> dict[str, Any]:
        """Convert these totals back to the native counters dict shape."""
        counters: dict[str, Any] = {
            name: getattr(self, name)
            for name in (
                "bytes",
                "lines",
                "continuation_lines",
                "unrecognised_lines",
                "oversized_lines",
                "dropped_partial_bytes",
                "events",
            )
        }
        for source in ("p2pool", "xmrig", "monerod"):
            counters["records_" + source] = self.records.get(source, 0)
            counters["unrecognised_records_" + source] = self.unrecognised_records.get(
                source, 0
            )
        counters["events_by_kind"] = dict(self.events_by_kind)
        return counters

    def as_dict(self) -> dict[str, Any]:
        """Convert to a JSON-ready dict with stable keys, kinds sorted by name."""
        return {
            "bytes": self.bytes,
            "lines": self.lines,
            "records": dict(sorted(self.records.items())),
            "unrecognised_records": dict(sorted(self.unrecognised_records.items())),
            "continuation_lines": self.continuation_lines,
            "unrecognised_lines": self.unrecognised_lines,
            "oversized_lines": self.oversized_lines,
            "dropped_partial_bytes": self.dropped_partial_bytes,
            "events": self.events,
            "events_by_kind": dict(sorted(self.events_by_kind.items())),
        }


class Parser:
    """Streaming parser for P2Pool, XMRig and monerod output.

    Feed bytes in chunks of any size; each call returns the events of the records it
    completed. A record of several lines (a status block, the BLOCK FOUND banner) is
    complete when the next record starts, when `flush_record` is called after a quiet
    period, or at `finish`. A last line without a newline stays pending.

    `base_offset` and `base_line` give the position of the first byte fed, for a reader
    that resumes a file from a checkpoint.
    """

    def __init__(
        self,
        base_offset: int = 0,
        base_line: int = 1,
        max_line: int = _parser.DEFAULT_MAX_LINE,
    ) -> None:
        self._native = _parser.Parser(base_offset, base_line, max_line)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Event]:
        """Parse `data` (GIL released) and return the events it completes."""
        if not isinstance(data, bytes):
            data = bytes(data)
        return _events(self._native.feed(data))

    def feed_count(self, data: bytes) -> int:
        """Parse `data` but keep the events native; return how many there were."""
        return self._native.feed_count(data)

    def flush_record(self) -> list[Event]:
        """Close pending multi-line records, keeping an unfinished last line pending."""
        return _events(self._native.flush_record())

    def finish(self, parse_partial: bool = False) -> list[Event]:
        """End the stream. The unfinished last line is parsed only if `parse_partial`;
        otherwise its bytes are dropped and counted."""
        return _events(self._native.finish(parse_partial))

    @property
    def safe_position(self) -> tuple[int, int]:
        """`(offset, line)` from which a restarted reader must read again so that no
        record is lost: the start of the earliest pending record or unfinished line."""
        return self._native.safe_position

    @property
    def end_offset(self) -> int:
        """Absolute offset just past the last byte fed."""
        return self._native.end_offset

    def stats(self) -> ParserStats:
        """Counters of everything fed so far."""
        return ParserStats.from_counters(self._native.counters())


def open_log(path: str | os.PathLike[str]) -> Any:
    """Open a log for binary reading, decompressing `.gz` files on the fly.

    Raises `IsADirectoryError`, `FileNotFoundError` or `PermissionError` with the
    path, and `BinaryFileError` when the file contains NUL bytes (a binary file given by
    mistake).
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(21, "is a directory, not a log file", str(path))
    raw: Any = path.open("rb")
    try:
        head = raw.read(SNIFF_SIZE)
        raw.seek(0)
        if head.startswith(GZIP_MAGIC):
            # A GzipFile leaves a file object it was given open when it is closed, so
            # let gzip open (and close) the file itself.
            raw.close()
            raw = stream = gzip.open(path, "rb")  # noqa: SIM115 (returned open)
            head = stream.peek(SNIFF_SIZE)[:SNIFF_SIZE]
        else:
            stream = raw
        if b"\0" in head:
            raise BinaryFileError(path)
    except BaseException:
        raw.close()
        raise
    return stream


def iter_file(
    path: str | os.PathLike[str],
    chunk_size: int = CHUNK_SIZE,
    stop: StopFlag | None = None,
    parser: Parser | None = None,
) -> Iterator[list[Event]]:
    """Parse a whole file (plain or `.gz`) in chunks, yielding one list of events per
    chunk. Memory stays bounded by the chunk size. The final line without a newline is
    dropped, as a log writer may still be writing it. Stops between chunks once `stop`
    is set, raising `ScanCancelled`.
    """
    parser = parser or Parser()
    with open_log(path) as stream:
        while True:
            if stop is not None and stop.is_set():
                raise ScanCancelled(
                    f"{os.fspath(path)}: parse stopped at byte {parser.end_offset}"
                )
            chunk = stream.read(chunk_size)
            if not chunk:
                break
            events = parser.feed(chunk)
            if events:
                yield events
    tail = parser.finish()
    if tail:
        yield tail


def scan_file(
    path: str | os.PathLike[str], stop: StopFlag | None = None
) -> ParserStats:
    """Parse a plain file entirely in native code with the GIL released and return only
    the counters (the fastest path, for benchmarks and checks). Raises `ScanCancelled`
    when `stop` is set before the end."""
    return ParserStats.from_counters(
        _parser.scan_file(os.fspath(path), stop or StopFlag(), CHUNK_SIZE)
    )
