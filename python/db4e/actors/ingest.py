"""The ingest actor: daemon output in, parsed events out to the store actor.

Each output stream of each daemon has its own parser, because P2Pool writes info records
to stdout and warnings and errors to stderr, and a record must not be split between
two parsers. A multi-line record (a status block) is complete when the next record
starts or, on a stream that went quiet, after `quiet` seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio

from db4e.actors.mailbox import Mailbox
from db4e.actors.store import StoreWrite
from db4e.parser import Event, Parser, ParserStats

__all__ = ["IngestActor", "IngestState", "Output"]

logger = logging.getLogger(__name__)

#: Seconds a stopping ingest actor spends parsing what is still queued.
DRAIN_SECONDS = 5.0


@dataclass(frozen=True)
class Output:
    """A chunk of a daemon's output, as read from its pipe."""

    daemon: str
    stream: str
    data: bytes
    #: `time.monotonic_ns()` when the chunk was read.
    received_ns: int


@dataclass
class _Stream:
    parser: Parser
    #: Arrival of the oldest bytes not yet turned into events.
    pending_since: int | None = None


@dataclass
class IngestState:
    """Parsers and counters of the output streams (`p2pool:stdout`). It outlives the
    actor instances, so a restarted actor goes on with the same parsers and no bytes of
    an unfinished line are lost."""

    streams: dict[str, _Stream] = field(default_factory=dict)
    #: `time.time()` of the newest output per daemon, for liveness and status.
    last_output_at: dict[str, float] = field(default_factory=dict)

    def stats(self) -> dict[str, ParserStats]:
        """Return the parser counters of every stream."""
        return {origin: s.parser.stats() for origin, s in self.streams.items()}


class IngestActor:
    """Parses output from its mailbox and sends the events to the store actor."""

    def __init__(
        self,
        mailbox: Mailbox[Output],
        store: Mailbox[StoreWrite],
        state: IngestState,
        quiet: float = 0.2,
    ) -> None:
        self.mailbox = mailbox
        self.store = store
        self.state = state
        self.quiet = quiet
        self._streams = state.streams

    async def run(self, ready: Callable[[], None]) -> None:
        self.mailbox.recover()
        ready()
        try:
            while True:
                output = None
                with anyio.move_on_after(self.quiet if self._any_pending() else None):
                    output = await self.mailbox.receive()
                if output is None:
                    await self._flush_quiet()
                    continue
                await self._handle(output)
                self.mailbox.ack()
        except anyio.get_cancelled_exc_class():
            # Stopping after the daemons: parse their last output, close open records.
            with anyio.CancelScope(shield=True), anyio.move_on_after(DRAIN_SECONDS):
                await self._drain()
            raise

    async def _drain(self) -> None:
        while (output := self.mailbox.receive_nowait()) is not None:
            await self._handle(output)
            self.mailbox.ack()
        for origin, stream in self._streams.items():
            await self._send(
                origin, stream, stream.parser.finish(), time.monotonic_ns()
            )

    def _any_pending(self) -> bool:
        return any(s.pending_since is not None for s in self._streams.values())

    def _stream(self, origin: str) -> _Stream:
        stream = self._streams.get(origin)
        if stream is None:
            stream = self._streams[origin] = _Stream(Parser())
        return stream

    async def _handle(self, output: Output) -> None:
        origin = f"{output.daemon}:{output.stream}"
        stream = self._stream(origin)
        self.state.last_output_at[output.daemon] = time.time()
        if stream.pending_since is None:
            stream.pending_since = output.received_ns
        events = stream.parser.feed(output.data)
        await self._send(origin, stream, events, output.received_ns)

    async def _flush_quiet(self) -> None:
        for origin, stream in self._streams.items():
            if stream.pending_since is not None:
                events = stream.parser.flush_record()
                await self._send(origin, stream, events, time.monotonic_ns())

    async def _send(
        self, origin: str, stream: _Stream, events: list[Event], now_ns: int
    ) -> None:
        """Send `events` to the store, then note whether bytes are still pending: an
        unfinished line or a record that may go on."""
        if events:
            received = stream.pending_since or now_ns
            await self.store.send(StoreWrite(tuple(events), origin, received))
            stream.pending_since = now_ns
        offset, _line = stream.parser.safe_position
        if offset >= stream.parser.end_offset:
            stream.pending_since = None
