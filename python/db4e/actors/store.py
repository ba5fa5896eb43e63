"""The store actor: the one writer of the event store during `db4e run`.

It owns the store connection and writes the events the other actors send it in
batches, one transaction per batch, so a burst of output costs one commit and not one
per line.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio

from db4e.actors.mailbox import Mailbox
from db4e.config import Config
from db4e.parser import Event
from db4e.store import Store, open_store

__all__ = ["StoreActor", "StoreStats", "StoreWrite"]

logger = logging.getLogger(__name__)

#: Events written in one transaction at most.
MAX_BATCH_EVENTS = 2000
#: Seconds a stopping store actor spends writing what is still queued.
DRAIN_SECONDS = 10.0


@dataclass(frozen=True)
class StoreWrite:
    """Events to store, with the moment their oldest bytes were read."""

    events: tuple[Event, ...]
    #: Where the events come from, such as `p2pool:stdout` or `db4e`.
    origin: str
    #: `time.monotonic_ns()` when the bytes of the oldest event arrived.
    received_ns: int


@dataclass
class StoreStats:
    """Counters of the store actor, read by the status server."""

    batches: int = 0
    new: int = 0
    duplicates: int = 0
    #: Seconds from the arrival of an event's bytes to its commit, newest last.
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=1000))
    last_commit_at: float | None = None

    def latency_percentile(self, fraction: float) -> float | None:
        """Return the given percentile (0 to 1) of the recent commit latencies."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        index = min(int(fraction * len(ordered)), len(ordered) - 1)
        return ordered[index]


class StoreActor:
    """Writes batches from its mailbox until cancelled; a failed write raises, and the
    supervisor starts a new actor that writes the same batch again."""

    def __init__(
        self,
        config: Config,
        mailbox: Mailbox[StoreWrite],
        stats: StoreStats,
        on_commit: Callable[[list[Event]], None] | None = None,
    ) -> None:
        self.config = config
        self.mailbox = mailbox
        self.stats = stats
        self.on_commit = on_commit

    async def run(self, ready: Callable[[], None]) -> None:
        self.mailbox.recover()
        async with open_store(self.config) as store:
            ready()
            try:
                while True:
                    await self._write(store, await self.mailbox.receive())
            except anyio.get_cancelled_exc_class():
                # Stopping: what the other actors sent before they stopped is stored.
                with anyio.CancelScope(shield=True), anyio.move_on_after(DRAIN_SECONDS):
                    while (first := self.mailbox.receive_nowait()) is not None:
                        await self._write(store, first)
                raise

    async def _write(self, store: Store, first: StoreWrite) -> None:
        writes = [first, *self._drain(MAX_BATCH_EVENTS - len(first.events))]
        for origin, events in _by_origin(writes).items():
            new, duplicates = await store.insert(events, origin)
            self.stats.new += new
            self.stats.duplicates += duplicates
            if self.on_commit is not None:
                self.on_commit(events)
        self.mailbox.ack()
        self._count(writes)

    def _drain(self, room: int) -> list[StoreWrite]:
        writes: list[StoreWrite] = []
        while room > 0:
            write = self.mailbox.receive_nowait()
            if write is None:
                break
            writes.append(write)
            room -= len(write.events)
        return writes

    def _count(self, writes: list[StoreWrite]) -> None:
        now = time.monotonic_ns()
        self.stats.batches += 1
        self.stats.last_commit_at = time.time()
        for write in writes:
            self.stats.latencies.append((now - write.received_ns) / 1e9)


def _by_origin(writes: list[StoreWrite]) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = {}
    for write in writes:
        grouped.setdefault(write.origin, []).extend(write.events)
    return grouped
