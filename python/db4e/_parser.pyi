"""Native log parser (Rust, PyO3). Use it through `db4e.parser`, which owns its
types."""

from os import PathLike
from typing import Final

EventTuple = tuple[
    str,  # kind
    str,  # source: "p2pool", "xmrig" or "monerod"
    int,  # line: 1-based number of the record's first line
    int,  # offset: absolute byte offset of the record's first line
    str | None,  # timestamp as printed
    int | None,  # printed time read as UTC, microseconds since the epoch
    bytes,  # identity: 16-byte hash of the source and the normalised record
    str,  # the event as one JSON object
    int | None,  # height: the Monero height the event is about
    int | None,  # amount in piconero (payouts)
    int | None,  # hashrate in H/s (workers, status records)
    str | None,  # worker name
]

DEFAULT_MAX_LINE: Final[int]

class ParserBug(RuntimeError):
    """An internal parser error (a bug): the parser panicked."""

class ScanCancelled(RuntimeError):
    """The stop flag ended a bulk scan between two chunks."""

class Parser:
    """Streaming parser: feed bytes in chunks of any size, receive events."""

    def __init__(
        self, base_offset: int = 0, base_line: int = 1, max_line: int = ...
    ) -> None: ...
    def feed(self, data: bytes) -> list[EventTuple]:
        """Parse `data` with the GIL released; return the events it completes."""
    def feed_count(self, data: bytes) -> int:
        """Parse `data` like `feed` but return only the number of events."""
    def flush_record(self) -> list[EventTuple]:
        """Close pending multi-line records; an unfinished last line stays pending."""
    def finish(self, parse_partial: bool = False) -> list[EventTuple]:
        """End the stream; parse the unfinished last line only if `parse_partial`."""
    @property
    def safe_position(self) -> tuple[int, int]:
        """`(offset, line)` from which a restarted reader must read to lose nothing."""
    @property
    def end_offset(self) -> int:
        """Absolute offset just past the last byte fed."""
    def counters(self) -> dict[str, int | dict[str, int]]:
        """Line, record and event counts so far."""

class StopFlag:
    """A flag that stops a bulk scan running without the GIL."""

    def __init__(self) -> None: ...
    def set(self) -> None: ...
    def is_set(self) -> bool: ...

def scan_file(
    path: str | PathLike[str], stop: StopFlag, chunk_size: int = 1048576
) -> dict[str, int | dict[str, int]]:
    """Parse a whole file with the GIL released; return its counters only."""
