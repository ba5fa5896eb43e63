"""The supervisor: runs child actors in order, restarts them by policy with backoff
and a restart budget, and stops them in reverse order.

The model is Erlang/OTP's. Each child has a restart policy: `permanent` children are
always restarted, `transient` ones only after an abnormal end (an exception), and
`temporary` ones never. The strategy decides what else restarts: `one_for_one` restarts
only the child that ended, while `rest_for_one` also stops the children started after
it and starts them again once it is ready, because they depend on it.

A child is an object with `async run(ready)`: it calls `ready()` once it can serve (a
daemon whose RPC responds), returns when it ends cleanly, and raises when it fails. Each
child runs in its own shielded cancel scope, so cancelling the supervisor does not reach
the children at once: the supervisor stops them one by one, newest first, and a child's
`run` sees the cancellation only then.
"""

from __future__ import annotations

import logging
import math
import random
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectSendStream

__all__ = [
    "Child",
    "ChildSpec",
    "Lifecycle",
    "RestartLimits",
    "RestartPolicy",
    "Strategy",
    "Supervisor",
]

logger = logging.getLogger(__name__)

RestartPolicy = Literal["permanent", "transient", "temporary"]
Strategy = Literal["one_for_one", "rest_for_one"]
ChildState = Literal["starting", "ready", "waiting", "failed", "stopped", "exited"]


class Child(Protocol):
    """An actor the supervisor runs."""

    async def run(self, ready: Callable[[], None]) -> None:
        """Serve until done; call `ready()` once ready, raise on failure."""
        ...


@dataclass(frozen=True)
class ChildSpec:
    """How to start one child and when to restart it."""

    name: str
    #: Builds a fresh child for every start, so no state survives a crash.
    factory: Callable[[], Child]
    restart: RestartPolicy = "permanent"
    #: Seconds the child has to call `ready()`; a start that takes longer counts as a
    #: failed start. None: the supervisor does not wait for it.
    ready_timeout: float | None = None


@dataclass(frozen=True)
class RestartLimits:
    """Backoff and restart budget, shared by the children of one supervisor."""

    #: Delay before the first restart; systemd's default RestartSec is 100 ms.
    initial_delay: float = 0.1
    factor: float = 2.0
    max_delay: float = 30.0
    #: Each delay is multiplied by a random factor in [1 - jitter, 1 + jitter], so that
    #: children that failed together do not restart in lockstep.
    jitter: float = 0.2
    #: At most this many restarts of one child within `period` seconds; one more and
    #: the child is marked failed.
    max_restarts: int = 5
    period: float = 60.0
    #: A failed child is tried again after this many seconds, with a fresh budget.
    slow_retry: float = 300.0
    #: A child that ran this long before ending starts its backoff from the beginning.
    stable_after: float = 60.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Return the delay before restart number `attempt` (0 for the first)."""
        base = min(self.initial_delay * self.factor**attempt, self.max_delay)
        return base * rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)


@dataclass(frozen=True)
class Lifecycle:
    """A fact about a child, reported to the supervisor's `on_event` callback."""

    kind: Literal["started", "ready", "exited", "restarting", "failed", "stopped"]
    child: str
    #: Why the child exited, is restarting or was stopped.
    reason: str = ""
    #: Restart attempt counted since the child last ran stably (restarting only).
    attempt: int = 0
    #: Seconds until the restart (restarting and failed).
    delay: float = 0.0
    #: Whether the exit was abnormal (exited only).
    abnormal: bool = False


@dataclass
class _Exit:
    index: int
    generation: int
    reason: str
    abnormal: bool


@dataclass
class _Slot:
    """The supervisor's state of one child."""

    spec: ChildSpec
    state: ChildState = "stopped"
    #: Increases with every start; exits of older generations are ignored.
    generation: int = 0
    scope: anyio.CancelScope | None = None
    #: Set once the current run has ended and been reported.
    done: anyio.Event = field(default_factory=anyio.Event)
    ready: anyio.Event = field(default_factory=anyio.Event)
    #: True once the current run called `ready()`.
    ready_seen: bool = False
    #: Reason of a stop that the supervisor ordered; such an end is not restarted.
    stop_reason: str | None = None
    #: Reason to report when the supervisor cancels a start that did not get ready.
    start_failure: str | None = None
    started_at: float = 0.0
    restarts: deque[float] = field(default_factory=deque)
    attempt: int = 0
    last_exit: str | None = None
    restart_count: int = 0


def _log_crash(name: str, error: Exception) -> None:
    """Log a child's exception: with its traceback unless the exception class marks it
    as an expected failure (`expected_failure = True`), such as a daemon that died."""
    if getattr(error, "expected_failure", False):
        logger.warning("%s ended: %s", name, error)
        return
    trace = "".join(traceback.format_exception(error))
    logger.error("%s crashed:\n%s", name, trace)


class Supervisor:
    """Runs `specs` in order and keeps them running. Itself a `Child`, so supervisors
    nest: a daemon supervisor under the top-level one."""

    def __init__(
        self,
        name: str,
        specs: list[ChildSpec],
        strategy: Strategy = "one_for_one",
        limits: RestartLimits | None = None,
        on_event: Callable[[Lifecycle], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"supervisor {name}: child names must be unique: {names}")
        self.name = name
        self.strategy: Strategy = strategy
        self.limits = limits or RestartLimits()
        self._slots = [_Slot(spec) for spec in specs]
        self._on_event = on_event
        self._rng = rng or random.Random()
        self._lock = anyio.Lock()
        self._tg: TaskGroup | None = None
        #: Ends of child runs, for the restart loop; open only while `run` runs.
        self._exits: MemoryObjectSendStream[_Exit] | None = None

    # Public view

    def states(self) -> dict[str, dict[str, object]]:
        """Return each child's state, restart count and last exit reason."""
        return {
            slot.spec.name: {
                "state": slot.state,
                "restarts": slot.restart_count,
                "last_exit": slot.last_exit,
            }
            for slot in self._slots
        }

    async def restart(self, name: str, reason: str = "restart requested") -> None:
        """Stop the child called `name` and start it again at once (and, with
        `rest_for_one`, the children after it)."""
        index = self._index(name)
        async with self._lock:
            await self._stop_range(index, reason, dependents_only=False)
            await self._start_range(index)

    async def restart_chain(self, names: list[str], reason: str) -> dict[str, bool]:
        """Stop the named children newest first, then start them in order, each once
        the one before it is ready. Returns whether each got ready; a child that did
        not is restarted by the usual policy, which also starts the ones after it."""
        indexes = sorted(self._index(name) for name in names)
        results = {self._slots[i].spec.name: False for i in indexes}
        async with self._lock:
            for i in reversed(indexes):
                await self._stop(self._slots[i], reason)
            for i in indexes:
                ok = await self._start(i)
                results[self._slots[i].spec.name] = ok
                if not ok:
                    break
        return results

    # Running

    async def run(self, ready: Callable[[], None] = lambda: None) -> None:
        """Start every child in order, each after the one before it is ready, then
        restart them as they end, until cancelled; then stop them newest first."""
        send, receive = anyio.create_memory_object_stream[_Exit](math.inf)
        self._exits = send
        with send, receive:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                try:
                    async with self._lock:
                        await self._start_range(0)
                    ready()
                    async for ended in receive:
                        await self._on_exit(ended)
                finally:
                    with anyio.CancelScope(shield=True):
                        async with self._lock:
                            await self._stop_range(0, "supervisor stopping")
                    tg.cancel_scope.cancel()

    def _index(self, name: str) -> int:
        for i, slot in enumerate(self._slots):
            if slot.spec.name == name:
                return i
        known = ", ".join(slot.spec.name for slot in self._slots)
        raise KeyError(f"no child named {name!r} in {self.name}; children: {known}")

    def _emit(self, event: Lifecycle) -> None:
        if self._on_event is not None:
            self._on_event(event)

    async def _start_range(self, first: int) -> None:
        """Start child `first`, then every later child that is stopped: not started
        yet, or stopped because it depends on `first` (`rest_for_one`). Each waits for
        the one before it to get ready; a failed start ends the range, and the
        restart of the failed child starts the rest."""
        for i in range(first, len(self._slots)):
            if i != first and self._slots[i].state != "stopped":
                continue
            if not await self._start(i):
                return

    async def _start(self, index: int) -> bool:
        """Start one child and wait for it to get ready. Returns False when the start
        failed (its exit is then handled as any other)."""
        assert self._tg is not None
        slot = self._slots[index]
        slot.generation += 1
        slot.state = "starting"
        slot.stop_reason = None
        slot.start_failure = None
        slot.ready_seen = False
        slot.done = anyio.Event()
        slot.ready = anyio.Event()
        slot.scope = anyio.CancelScope(shield=True)
        slot.started_at = anyio.current_time()
        self._tg.start_soon(self._run_child, index, slot.generation, slot.scope)
        self._emit(Lifecycle("started", slot.spec.name))
        timeout = slot.spec.ready_timeout
        if timeout is None:
            return True
        with anyio.move_on_after(timeout):
            await slot.ready.wait()
        if slot.ready_seen:
            return True
        if not slot.done.is_set() and slot.scope is not None:
            slot.start_failure = f"not ready within {timeout:g} s"
            logger.warning("%s: %s, stopping it", slot.spec.name, slot.start_failure)
            slot.scope.cancel()
        return False

    def _mark_ready(self, index: int, generation: int) -> None:
        slot = self._slots[index]
        if slot.generation != generation or slot.state != "starting":
            return
        slot.state = "ready"
        slot.ready_seen = True
        slot.ready.set()
        self._emit(Lifecycle("ready", slot.spec.name))

    async def _run_child(
        self, index: int, generation: int, scope: anyio.CancelScope
    ) -> None:
        slot = self._slots[index]
        name = slot.spec.name
        reason, abnormal = "exited normally", False
        with scope:
            try:
                child = slot.spec.factory()
                await child.run(lambda: self._mark_ready(index, generation))
            except Exception as error:
                reason = f"crashed: {type(error).__name__}: {error}"
                abnormal = True
                _log_crash(name, error)
        if scope.cancelled_caught and slot.start_failure is not None:
            reason, abnormal = slot.start_failure, True
        slot.ready.set()
        slot.last_exit = reason
        if slot.stop_reason is not None:
            slot.state = "stopped"
            self._emit(Lifecycle("stopped", name, reason=slot.stop_reason))
            slot.done.set()
            return
        slot.done.set()
        try:
            if self._exits is not None:
                self._exits.send_nowait(_Exit(index, generation, reason, abnormal))
        except anyio.ClosedResourceError:
            # The supervisor is past its restart loop: nothing restarts any more.
            logger.info("%s %s while the supervisor stops", name, reason)

    # Restarting

    async def _on_exit(self, ended: _Exit) -> None:
        slot = self._slots[ended.index]
        if ended.generation != slot.generation:
            return
        name = slot.spec.name
        slot.state = "exited"
        self._emit(Lifecycle("exited", name, ended.reason, abnormal=ended.abnormal))
        policy = slot.spec.restart
        if policy == "temporary" or (policy == "transient" and not ended.abnormal):
            logger.info("%s %s; policy %s, not restarting", name, ended.reason, policy)
            return
        if self.strategy == "rest_for_one":
            async with self._lock:
                await self._stop_range(ended.index + 1, f"{name} {ended.reason}")
        delay = self._next_delay(slot, ended.reason)
        assert self._tg is not None
        self._tg.start_soon(self._restart_later, ended.index, slot.generation, delay)

    def _next_delay(self, slot: _Slot, reason: str) -> float:
        """Count the restart against the budget and return the delay before it."""
        now = anyio.current_time()
        limits = self.limits
        while slot.restarts and now - slot.restarts[0] > limits.period:
            slot.restarts.popleft()
        if now - slot.started_at >= limits.stable_after:
            slot.attempt = 0
        if len(slot.restarts) >= limits.max_restarts:
            slot.state = "failed"
            slot.restarts.clear()
            slot.attempt = 0
            logger.error(
                "%s: %d restarts within %g s, marked failed; next try in %g s",
                slot.spec.name,
                limits.max_restarts,
                limits.period,
                limits.slow_retry,
            )
            self._emit(
                Lifecycle("failed", slot.spec.name, reason, delay=limits.slow_retry)
            )
            return limits.slow_retry
        delay = limits.delay(slot.attempt, self._rng)
        slot.restarts.append(now)
        self._emit(
            Lifecycle("restarting", slot.spec.name, reason, slot.attempt + 1, delay)
        )
        logger.warning(
            "%s %s; restart %d in %.3f s",
            slot.spec.name,
            reason,
            slot.attempt + 1,
            delay,
        )
        slot.attempt += 1
        if slot.state != "failed":
            slot.state = "waiting"
        return delay

    async def _restart_later(self, index: int, generation: int, delay: float) -> None:
        await anyio.sleep(delay)
        slot = self._slots[index]
        async with self._lock:
            # A manual restart or a shutdown may have happened meanwhile.
            if slot.generation != generation or slot.state not in ("waiting", "failed"):
                return
            slot.restart_count += 1
            await self._start_range(index)

    # Stopping

    async def _stop_range(
        self, first: int, reason: str, dependents_only: bool = True
    ) -> None:
        """Stop child `first` and the children that depend on it, newest first: all
        later children with `rest_for_one` (or when `dependents_only` is true),
        none with `one_for_one`."""
        last = first + 1
        if dependents_only or self.strategy == "rest_for_one":
            last = len(self._slots)
        for slot in reversed(self._slots[first:last]):
            await self._stop(slot, reason)

    async def _stop(self, slot: _Slot, reason: str) -> None:
        if slot.state in ("waiting", "failed"):
            # A restart is pending: moving on the generation cancels it.
            slot.generation += 1
            slot.state = "stopped"
            return
        if slot.state not in ("starting", "ready") or slot.scope is None:
            return
        slot.stop_reason = reason
        logger.info("stopping %s: %s", slot.spec.name, reason)
        slot.scope.cancel()
        await slot.done.wait()
