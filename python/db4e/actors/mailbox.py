"""Bounded mailboxes that outlive the actor instances reading them.

The supervisor replaces a crashed actor with a fresh instance, but the messages sent to
it must not be lost. So the mailbox belongs to the actor tree, not to one instance, and
the messages an instance took but did not acknowledge go to the next instance first.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["Mailbox"]

T = TypeVar("T")


class Mailbox(Generic[T]):
    """A bounded queue of immutable messages with at-least-once delivery."""

    def __init__(self, name: str, size: int) -> None:
        if size < 1:
            raise ValueError(f"mailbox {name}: size must be at least 1, got {size}")
        self.name = name
        self.size = size
        send, receive = anyio.create_memory_object_stream[T](size)
        self._send: MemoryObjectSendStream[T] = send
        self._receive: MemoryObjectReceiveStream[T] = receive
        #: Messages taken by the current reader and not acknowledged yet.
        self._in_flight: list[T] = []
        #: Messages a crashed reader had taken, handed out again before new ones.
        self._redeliver: deque[T] = deque()

    async def send(self, message: T) -> None:
        """Queue `message`, waiting while the mailbox is full (backpressure)."""
        await self._send.send(message)

    def try_send(self, message: T) -> bool:
        """Queue `message` unless the mailbox is full; return whether it was queued."""
        try:
            self._send.send_nowait(message)
        except anyio.WouldBlock:
            return False
        return True

    def recover(self) -> None:
        """Start a new reader: what the last one took without acknowledging comes
        first."""
        self._redeliver.extendleft(reversed(self._in_flight))
        self._in_flight.clear()

    async def receive(self) -> T:
        """Take the next message, waiting for one."""
        message = self._redeliver.popleft() if self._redeliver else None
        if message is None:
            message = await self._receive.receive()
        self._in_flight.append(message)
        return message

    def receive_nowait(self) -> T | None:
        """Take the next message if one is queued, else return None."""
        if self._redeliver:
            message = self._redeliver.popleft()
        else:
            try:
                message = self._receive.receive_nowait()
            except anyio.WouldBlock:
                return None
        self._in_flight.append(message)
        return message

    def ack(self) -> None:
        """Acknowledge every message taken so far: they are handled."""
        self._in_flight.clear()

    def depth(self) -> int:
        """Return the number of messages not handled yet."""
        queued = self._receive.statistics().current_buffer_used
        return queued + len(self._redeliver) + len(self._in_flight)

    def close(self) -> None:
        """Close both ends; senders and the reader then get `ClosedResourceError`."""
        self._send.close()
        self._receive.close()

    def __enter__(self) -> Mailbox[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
