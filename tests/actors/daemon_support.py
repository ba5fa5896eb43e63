"""Shared pieces of the daemon actor tests: a recording sink, an actor runner that
cancels like the supervisor does, free ports and process checks."""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress

import anyio

from db4e.actors import DaemonActor
from db4e.actors.orphans import process_start_time

PYTHON = sys.executable
#: Where Debian's monero package installs monerod.
MONEROD = "/usr/bin/monerod"


class RecordingSink:
    """Records every call of the `DaemonSink` protocol, with waits on facts and
    output."""

    def __init__(self) -> None:
        self.outputs: list[tuple[str, str, bytes]] = []
        self.facts: list[tuple[str, str, dict[str, object]]] = []
        self.healths: list[dict[str, object]] = []
        #: "output" or the fact kind of every call, in order.
        self.sequence: list[str] = []
        self._changed = anyio.Event()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def output(self, daemon: str, stream: str, data: bytes) -> None:
        self.outputs.append((daemon, stream, data))
        self.sequence.append("output")
        self._notify()

    async def fact(self, daemon: str, kind: str, fields: Mapping[str, object]) -> None:
        self.facts.append((daemon, kind, dict(fields)))
        self.sequence.append(kind)
        self._notify()

    def health(self, daemon: str, facts: Mapping[str, object]) -> None:
        self.healths.append(dict(facts))
        self._notify()

    def text(self, stream: str = "stdout") -> bytes:
        return b"".join(data for _, name, data in self.outputs if name == stream)

    def of_kind(self, kind: str) -> list[dict[str, object]]:
        return [fields for _, name, fields in self.facts if name == kind]

    def kinds(self) -> list[str]:
        return [kind for _, kind, _ in self.facts]

    async def wait_fact(
        self, kind: str, count: int = 1, timeout: float = 10.0
    ) -> dict[str, object]:
        """Wait for the `count`-th fact of `kind` and return it."""
        with anyio.fail_after(timeout):
            while len(self.of_kind(kind)) < count:
                await self._changed.wait()
        return self.of_kind(kind)[count - 1]

    async def wait_until(
        self, condition: Callable[[], bool], timeout: float = 10.0
    ) -> None:
        """Wait until `condition()` holds, checking after every call of the sink."""
        with anyio.fail_after(timeout):
            while not condition():
                await self._changed.wait()

    async def wait_output(
        self,
        needle: bytes,
        count: int = 1,
        stream: str = "stdout",
        timeout: float = 10.0,
    ) -> None:
        with anyio.fail_after(timeout):
            while self.text(stream).count(needle) < count:
                await self._changed.wait()


class Running:
    """An actor running in a shielded cancel scope, as the supervisor runs it."""

    def __init__(self, actor: DaemonActor) -> None:
        self.actor = actor
        self.scope = anyio.CancelScope(shield=True)
        self.ready = anyio.Event()
        self.done = anyio.Event()
        self.error: BaseException | None = None

    async def run(self) -> None:
        try:
            with self.scope:
                await self.actor.run(self.ready.set)
        except Exception as error:
            self.error = error
        finally:
            self.done.set()

    async def wait_ready(self, timeout: float = 10.0) -> None:
        with anyio.fail_after(timeout):
            await self.ready.wait()

    async def wait_error(self, timeout: float = 10.0) -> BaseException:
        """Wait for the actor to end on its own and return what it raised."""
        with anyio.fail_after(timeout):
            await self.done.wait()
        assert self.error is not None, "the actor returned without raising"
        return self.error

    async def stop(self, timeout: float = 10.0) -> float:
        """Cancel the actor like the supervisor does; return the seconds it took."""
        started = anyio.current_time()
        self.scope.cancel()
        with anyio.fail_after(timeout):
            await self.done.wait()
        return anyio.current_time() - started


@asynccontextmanager
async def running(actor: DaemonActor) -> AsyncIterator[Running]:
    """Run `actor` for the block, and stop it afterwards if it still runs."""
    runner = Running(actor)
    async with anyio.create_task_group() as tg:
        tg.start_soon(runner.run)
        try:
            yield runner
        finally:
            if not runner.done.is_set():
                with anyio.CancelScope(shield=True):
                    await runner.stop(timeout=30.0)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def is_running(pid: int) -> bool:
    """Return whether `pid` runs (a zombie counts as ended)."""
    return process_start_time(pid) is not None


async def wait_gone(pid: int, timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        while is_running(pid):
            await anyio.sleep(0.02)


def fact_pid(fields: Mapping[str, object]) -> int:
    pid = fields["pid"]
    assert isinstance(pid, int)
    return pid


def kill_quietly(pid: int) -> None:
    """SIGKILL `pid` in a test's cleanup, if it still runs."""
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
