"""The generic daemon process lifecycle that the monerod, p2pool and xmrig actors share.

A `DaemonActor` is a child of the supervisor. Its `run` spawns the daemon from an
argument list, without a shell, in its own session and process group, with stdin a
pipe. It copies the daemon's output to the sink, waits until the daemon is ready and
watches its liveness. It raises when the daemon exits, stalls or does not get ready,
and never restarts the daemon itself: the supervisor starts a fresh actor. When the
supervisor cancels it, the actor stops the daemon with the daemon's own stop command,
then SIGTERM to its process group, then SIGKILL to the group.

A subclass says what ready and progress mean for its daemon by overriding
`probe_ready`, `monitor`, `send_stop_command` and the class attributes below.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
from collections.abc import Awaitable, Callable, Mapping
from typing import ClassVar, Literal, Protocol

import anyio
import httpx
from anyio.abc import ByteReceiveStream, Process, TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from db4e.actors.daemon_spec import (
    DEFAULT_TIMEOUTS,
    DaemonName,
    DaemonSpec,
    Timeouts,
    child_environment,
    redact_command,
)
from db4e.actors.orphans import OrphanEntry, OrphanRegistry, process_start_time

# DaemonSpec and its companions live in daemon_spec and are re-exported here.
__all__ = [
    "DEFAULT_TIMEOUTS",
    "DaemonActor",
    "DaemonError",
    "DaemonExited",
    "DaemonName",
    "DaemonNotReady",
    "DaemonSink",
    "DaemonSpec",
    "DaemonStalled",
    "DaemonStartError",
    "OutputStream",
    "StopUrgency",
    "Timeouts",
    "redact_command",
]

logger = logging.getLogger(__name__)

OutputStream = Literal["stdout", "stderr"]
StopHow = Literal["command", "sigterm", "sigkill"]

#: Bytes read from a pipe at a time.
CHUNK_SIZE = 64 * 1024
#: Chunks queued per pipe between the reader and the sink (at most 16 MiB).
OUTPUT_QUEUE_CHUNKS = 256
#: Seconds to wait for the last output after the process has ended; a helper process
#: that inherited the pipe can keep it open longer.
OUTPUT_DRAIN_TIMEOUT = 5.0
#: Seconds to wait for a process to end after SIGKILL before giving up on it.
KILL_WAIT = 10.0
#: Bytes of output searched for the version; daemons print it first.
VERSION_SEARCH_LIMIT = 1 << 20
#: Poll intervals of the readiness probe: the first, and the maximum it backs off to.
READY_POLL_FIRST = 0.1
READY_POLL_MAX = 2.0


def describe_exit(code: int | None, signal_number: int | None) -> str:
    if signal_number is not None:
        try:
            name = signal.Signals(signal_number).name
        except ValueError:
            name = "unknown signal"
        return f"was killed by signal {signal_number} ({name})"
    return f"exited with code {code}"


def split_returncode(returncode: int) -> tuple[int | None, int | None]:
    """Return (code, signal) for a returncode; negative means killed by a signal."""
    if returncode < 0:
        return None, -returncode
    return returncode, None


def http_client() -> httpx.AsyncClient:
    """Return an HTTP client for a daemon's local API with short timeouts. It ignores
    proxy variables and .netrc, so requests go only to the configured URL."""
    return httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0), trust_env=False)


class DaemonError(Exception):
    """Base of the errors a daemon actor raises so that the supervisor restarts it."""

    #: A daemon that exits or hangs is an expected failure: the supervisor logs it
    #: without a traceback, which would only show the actor's own raise.
    expected_failure = True

    def __init__(self, daemon: str, message: str) -> None:
        super().__init__(f"{daemon}: {message}")
        self.daemon = daemon


class DaemonStartError(DaemonError):
    """Raised when the daemon's executable cannot be started."""


class DaemonExited(DaemonError):
    """Raised when the daemon process ends without a stop request."""

    def __init__(
        self, daemon: str, pid: int, code: int | None, signal_number: int | None
    ) -> None:
        self.pid = pid
        self.code = code
        self.signal = signal_number
        self.reason = describe_exit(code, signal_number)
        super().__init__(daemon, f"pid {pid} {self.reason}")


class DaemonNotReady(DaemonError, TimeoutError):
    """Raised when the daemon is not ready within its ready timeout."""


class DaemonStalled(DaemonError, TimeoutError):
    """Raised when the daemon makes no progress within its liveness timeout."""

    def __init__(self, daemon: str, reason: str) -> None:
        super().__init__(daemon, reason)
        self.reason = reason


class DaemonSink(Protocol):
    """Receiver of a daemon actor's output, facts and health; `db4e run` implements
    it.

    Fact kinds and fields sent by every daemon actor:

    - `daemon_started` {pid, version (None until the daemon printed it), command
      (secrets masked)}
    - `daemon_ready` {after_seconds, version}
    - `daemon_exited` {pid, code, signal, reason}: it ended without a stop request
    - `daemon_stalled` {reason}
    - `daemon_stopped` {pid, how: "command" | "sigterm" | "sigkill", seconds, code,
      signal}
    - `daemon_output_dropped` {stream, bytes}: output lost because the sink fell
      behind

    The monerod, p2pool and xmrig modules list their snapshot facts.
    """

    async def output(self, daemon: str, stream: OutputStream, data: bytes) -> None:
        """Take a raw chunk of output; chunks of one stream arrive in order."""
        ...

    async def fact(self, daemon: str, kind: str, fields: Mapping[str, object]) -> None:
        """Store a lifecycle fact or an API snapshot."""
        ...

    def health(self, daemon: str, facts: Mapping[str, object]) -> None:
        """Take the latest health facts of `daemon` (the full set on every call),
        for `db4e status`: state, pid, version and the daemon's own figures."""
        ...


class StopUrgency:
    """Shared flag that skips the polite stop steps: once set (a second Ctrl-C), every
    actor that is stopping or will stop kills its daemon with SIGKILL at once."""

    def __init__(self) -> None:
        self._event = anyio.Event()

    @property
    def now(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()


class _OutputPump:
    """Copier of one pipe of the daemon to the sink, in order. A reader task drains
    the pipe all the time, so a slow sink does not block the daemon's writes, which
    would stall p2pool's event loop. When the bounded queue is full, chunks are
    dropped and reported as a `daemon_output_dropped` fact.

    The pump runs in a shielded scope because the output a daemon prints while it
    stops must still reach the sink; the actor cancels it once the process ended."""

    def __init__(
        self, actor: DaemonActor, stream: OutputStream, source: ByteReceiveStream
    ) -> None:
        self.actor = actor
        self.stream: OutputStream = stream
        self.source = source
        self.scope = anyio.CancelScope(shield=True)
        self.done = anyio.Event()
        self.dropped_bytes = 0

    async def run(self) -> None:
        send, receive = anyio.create_memory_object_stream[bytes](OUTPUT_QUEUE_CHUNKS)
        try:
            with self.scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._read, send)
                    tg.start_soon(self._forward, receive)
        finally:
            self.done.set()

    async def _read(self, queue: MemoryObjectSendStream[bytes]) -> None:
        async with queue:
            while True:
                try:
                    chunk = await self.source.receive(CHUNK_SIZE)
                except (anyio.EndOfStream, anyio.ClosedResourceError):
                    return
                self.actor.on_output(self.stream, chunk)
                try:
                    queue.send_nowait(chunk)
                except anyio.WouldBlock:
                    self.dropped_bytes += len(chunk)

    async def _forward(self, queue: MemoryObjectReceiveStream[bytes]) -> None:
        name = self.actor.spec.name
        async with queue:
            async for chunk in queue:
                await self.actor.sink.output(name, self.stream, chunk)
                if self.dropped_bytes:
                    await self._report_dropped()

    async def _report_dropped(self) -> None:
        dropped, self.dropped_bytes = self.dropped_bytes, 0
        logger.warning(
            "%s (pid %s): dropped %d bytes of %s because the sink fell behind",
            self.actor.spec.name,
            self.actor.pid,
            dropped,
            self.stream,
        )
        await self.actor.sink.fact(
            self.actor.spec.name,
            "daemon_output_dropped",
            {"stream": self.stream, "bytes": dropped},
        )


class DaemonActor:
    """Runs one daemon for the supervisor; see the module docstring.

    The base class counts any output as progress and is ready once the process runs;
    the monerod, p2pool and xmrig subclasses refine both.
    """

    #: Whether new output counts as progress for the liveness check.
    output_is_progress: ClassVar[bool] = True
    #: When the liveness clock starts: at spawn, or once the daemon is ready.
    liveness_from: ClassVar[Literal["spawn", "ready"]] = "spawn"
    #: What progress is, for the stall message ("no output for 300 s").
    progress_name: ClassVar[str] = "output"
    #: Finds the version in the first output (ANSI colours removed); group 1.
    version_pattern: ClassVar[re.Pattern[bytes] | None] = None

    def __init__(
        self,
        spec: DaemonSpec,
        sink: DaemonSink,
        urgency: StopUrgency | None = None,
        *,
        registry: OrphanRegistry | None = None,
    ) -> None:
        self.spec = spec
        self.sink = sink
        self.urgency = urgency if urgency is not None else StopUrgency()
        self.registry = registry
        self.timeouts = spec.timeouts()
        #: The command line with secrets masked, for logs and facts.
        self.command = redact_command([spec.command, *spec.args], spec.secrets())
        self.pid: int | None = None
        self.version: str | None = None
        #: Why the last readiness probe failed, for the DaemonNotReady message.
        self.not_ready_reason = "not probed yet"
        self._process: Process | None = None
        self._started_at = 0.0
        self._last_progress = 0.0
        self._health: dict[str, object] = {
            "state": "stopped",
            "external": spec.external,
        }
        self._version_window = b""
        self._version_search_bytes = 0
        self._tg: TaskGroup | None = None
        self._failure: Exception | None = None

    # Hooks for the subclasses

    async def probe_ready(self) -> bool:
        """Return whether the daemon is ready; on False set `not_ready_reason`."""
        return True

    async def monitor(self) -> None:
        """Probe health once ready, until cancelled; may raise a DaemonError."""
        await anyio.sleep_forever()

    async def send_stop_command(self) -> bool:
        """Ask the daemon to stop by its own means and log it at INFO; return whether
        the request went out. The base class has no command, so stopping starts with
        SIGTERM."""
        return False

    def on_output(self, stream: OutputStream, chunk: bytes) -> None:
        """Note a chunk of output as it is read (before it is queued for the sink)."""
        if self.output_is_progress:
            self.note_progress()
        searching = self.version is None and self.version_pattern is not None
        if searching and self._version_search_bytes < VERSION_SEARCH_LIMIT:
            self._version_search_bytes += len(chunk)
            self._find_version(chunk)

    # Helpers for the subclasses

    def note_progress(self) -> None:
        """Record that the daemon made progress now, for the liveness check."""
        self._last_progress = anyio.current_time()

    def update_health(self, **facts: object) -> None:
        """Merge `facts` into the health facts and send them to the sink."""
        self._health.update(facts)
        self.sink.health(self.spec.name, dict(self._health))

    async def send_stdin(self, line: str) -> bool:
        """Write `line` and a newline to the daemon's stdin; return whether it went
        out. Bounded, because a daemon that does not read stdin fills the pipe."""
        process = self._process
        if process is None or process.stdin is None:
            return False
        with anyio.move_on_after(2.0):
            try:
                await process.stdin.send(line.encode() + b"\n")
            except (anyio.BrokenResourceError, anyio.ClosedResourceError) as error:
                logger.warning(
                    "%s (pid %s): failed to send %r on stdin: %s",
                    self.spec.name,
                    self.pid,
                    line,
                    str(error) or type(error).__name__,
                )
                return False
            return True
        logger.warning(
            "%s (pid %s): timed out sending %r on stdin", self.spec.name, self.pid, line
        )
        return False

    # Running

    async def run(self, ready: Callable[[], None]) -> None:
        """Run the daemon until cancelled (then stop it) or until it fails (raise)."""
        if self.spec.external:
            await self._run_external(ready)
            return
        process = await self._spawn()
        pumps = [
            _OutputPump(self, "stdout", _require_stream(process.stdout)),
            _OutputPump(self, "stderr", _require_stream(process.stderr)),
        ]
        failure: BaseException | None = None
        async with anyio.create_task_group() as tg:
            for pump in pumps:
                tg.start_soon(pump.run)
            try:
                await self._announce(process)
                await self._supervise(process, ready)
            except anyio.get_cancelled_exc_class():
                await self._shutdown(process, pumps, polite=True)
                raise
            except BaseException as error:
                failure = error
            await self._shutdown(process, pumps, polite=False)
        # Raised outside the task group, which would wrap it in an ExceptionGroup.
        if failure is not None:
            raise failure
        raise self._exit_error(process)

    async def _run_external(self, ready: Callable[[], None]) -> None:
        logger.info("%s is external: probing it, not starting it", self.spec.name)
        self._started_at = anyio.current_time()
        self.note_progress()
        self.update_health(state="starting", pid=None)
        try:
            await self._supervise(None, ready)
        finally:
            self.update_health(state="unwatched")

    async def _spawn(self) -> Process:
        spec = self.spec
        try:
            # Shielded: a cancellation during the spawn could leave a process that
            # nothing stops.
            with anyio.CancelScope(shield=True):
                process = await anyio.open_process(
                    [spec.command, *spec.args],
                    cwd=spec.cwd,
                    env=child_environment(spec.env),
                    # A session of its own: Ctrl-C in db4e's terminal does not reach
                    # the daemon, so the actors decide the stop order, and killpg
                    # reaches the helpers the daemon starts.
                    start_new_session=True,
                )
        except OSError as error:
            logger.error("%s: failed to start %s: %s", spec.name, self.command, error)
            raise DaemonStartError(
                spec.name, f"failed to start {self.command}: {error}"
            ) from error
        self._process = process
        self.pid = process.pid
        self._started_at = anyio.current_time()
        self.note_progress()
        logger.info("started %s (pid %d): %s", spec.name, process.pid, self.command)
        return process

    async def _announce(self, process: Process) -> None:
        """Record the started process in the orphan registry and send the facts."""
        await self._register(process.pid)
        await self.sink.fact(
            self.spec.name,
            "daemon_started",
            {"pid": process.pid, "version": self.version, "command": self.command},
        )
        self.update_health(state="starting", pid=process.pid, version=self.version)

    async def _register(self, pid: int) -> None:
        if self.registry is None:
            return
        entry = OrphanEntry(
            name=self.spec.name,
            pid=pid,
            pgid=pid,
            start_time=process_start_time(pid),
            command=self.command,
            stop_timeout=self.timeouts.stop,
            owner_pid=os.getpid(),
            owner_start_time=process_start_time(os.getpid()),
        )
        try:
            await anyio.to_thread.run_sync(self.registry.add, entry)
        except OSError as error:
            # Running unregistered beats not running: only a killed db4e run would
            # then leave this daemon behind.
            logger.error(
                "%s (pid %d): failed to record it in the orphan registry %s: %s",
                self.spec.name,
                pid,
                self.registry.path,
                error,
            )

    # Watching

    async def _supervise(
        self, process: Process | None, ready: Callable[[], None]
    ) -> None:
        """Return when the process exits on its own; raise the first failure of a
        watcher task. Without a process (external), run until cancelled."""
        self._failure = None
        async with anyio.create_task_group() as tg:
            self._tg = tg
            self._start_watcher(self._watch, ready)
            if process is None:
                await anyio.sleep_forever()
            else:
                await process.wait()
            tg.cancel_scope.cancel()
        self._tg = None
        if self._failure is not None:
            raise self._failure

    def _start_watcher(
        self, function: Callable[..., Awaitable[object]], *args: object
    ) -> None:
        assert self._tg is not None
        self._tg.start_soon(self._guarded, function, *args)

    async def _guarded(
        self, function: Callable[..., Awaitable[object]], *args: object
    ) -> None:
        # Keep the first failure and cancel the watchers, so that `run` raises it as
        # it is instead of inside an ExceptionGroup.
        try:
            await function(*args)
        except Exception as error:
            if self._failure is None:
                self._failure = error
            if self._tg is not None:
                self._tg.cancel_scope.cancel()

    async def _watch(self, ready: Callable[[], None]) -> None:
        if self.liveness_from == "spawn":
            self._start_watcher(self._check_liveness)
        await self._wait_ready()
        await self._mark_ready(ready)
        if self.liveness_from == "ready":
            self.note_progress()
            self._start_watcher(self._check_liveness)
        await self.monitor()

    async def _wait_ready(self) -> None:
        limit = self.timeouts.ready
        delay = READY_POLL_FIRST
        with anyio.move_on_after(limit):
            while not await self.probe_ready():
                await anyio.sleep(delay)
                delay = min(delay * 2, READY_POLL_MAX)
            return
        reason = f"not ready within {limit:g} s: {self.not_ready_reason}"
        logger.error("%s (pid %s) %s", self.spec.name, self.pid, reason)
        self.update_health(state="not_ready", reason=reason)
        raise DaemonNotReady(self.spec.name, reason)

    async def _mark_ready(self, ready: Callable[[], None]) -> None:
        after = anyio.current_time() - self._started_at
        logger.info(
            "%s (pid %s) is ready after %.1f s", self.spec.name, self.pid, after
        )
        ready()
        await self.sink.fact(
            self.spec.name,
            "daemon_ready",
            {"after_seconds": round(after, 3), "version": self.version},
        )
        self.update_health(state="ready", version=self.version)

    async def _check_liveness(self) -> None:
        limit = self.timeouts.liveness
        while True:
            idle = anyio.current_time() - self._last_progress
            if idle >= limit:
                break
            await anyio.sleep(limit - idle)
        reason = f"no {self.progress_name} for {limit:g} s"
        logger.error("%s (pid %s) stalled: %s", self.spec.name, self.pid, reason)
        await self.sink.fact(self.spec.name, "daemon_stalled", {"reason": reason})
        self.update_health(state="stalled", reason=reason)
        raise DaemonStalled(self.spec.name, reason)

    def _find_version(self, chunk: bytes) -> None:
        assert self.version_pattern is not None
        # Keep a short window so that a version split across two chunks is found.
        window = _ANSI_ESCAPE.sub(b"", self._version_window + chunk)
        found = self.version_pattern.search(window)
        if found:
            self.version = found.group(1).decode("ascii", "replace")
            self._version_window = b""
        else:
            self._version_window = window[-256:]

    # Stopping

    async def _shutdown(
        self, process: Process, pumps: list[_OutputPump], polite: bool
    ) -> None:
        """Stop the process if it still runs and record how it ended, then release
        it. Shielded: it runs while being cancelled."""
        with anyio.CancelScope(shield=True):
            try:
                if process.returncode is None:
                    await self._stop(process, polite)
                else:
                    await self._record_exit(process)
            finally:
                # Even when the sink fails, so that no process outlives its actor.
                await self._release(process, pumps)

    async def _release(self, process: Process, pumps: list[_OutputPump]) -> None:
        """End what is left of the process group, deliver the last output, close
        the pipes and remove the orphan registry entry."""
        _kill_group_leftovers(self.spec.name, process.pid)
        with anyio.move_on_after(OUTPUT_DRAIN_TIMEOUT):
            for pump in pumps:
                await pump.done.wait()
        for pump in pumps:
            pump.scope.cancel()
        with anyio.move_on_after(KILL_WAIT):
            await process.aclose()
        if self.registry is None:
            return
        try:
            await anyio.to_thread.run_sync(self.registry.remove, process.pid)
        except OSError as error:
            logger.error(
                "%s (pid %d): failed to remove it from the orphan registry %s: %s",
                self.spec.name,
                process.pid,
                self.registry.path,
                error,
            )

    async def _record_exit(self, process: Process) -> None:
        assert process.returncode is not None
        code, signal_number = split_returncode(process.returncode)
        reason = describe_exit(code, signal_number)
        logger.warning("%s (pid %d) %s", self.spec.name, process.pid, reason)
        await self.sink.fact(
            self.spec.name,
            "daemon_exited",
            {
                "pid": process.pid,
                "code": code,
                "signal": signal_number,
                "reason": reason,
            },
        )
        self.update_health(state="exited", reason=reason)

    def _exit_error(self, process: Process) -> DaemonExited:
        assert process.returncode is not None
        code, signal_number = split_returncode(process.returncode)
        return DaemonExited(self.spec.name, process.pid, code, signal_number)

    async def _stop(self, process: Process, polite: bool) -> None:
        """Stop the process: its stop command (when `polite`), then SIGTERM to its
        group, each with `stop_timeout` seconds, then SIGKILL. StopUrgency skips to
        SIGKILL at any point."""
        name, pid = self.spec.name, process.pid
        started = anyio.current_time()
        self.update_health(state="stopping")
        how: StopHow | None = None
        sent_command = False

        # The daemon's own stop command.
        if polite and not self.urgency.now:
            sent_command = await self.send_stop_command()
            if sent_command and await self._wait_exit(process, self.timeouts.stop):
                how = "command"

        # SIGTERM to the process group.
        if how is None and not self.urgency.now:
            log = logger.warning if sent_command else logger.info
            log(
                "stopping %s (pid %d): sending SIGTERM to its process group%s",
                name,
                pid,
                f" after {self.timeouts.stop:g} s" if sent_command else "",
            )
            _signal_group(process.pid, signal.SIGTERM)
            if await self._wait_exit(process, self.timeouts.stop):
                how = "sigterm"

        # SIGKILL to the process group.
        if how is None:
            await self._kill(process)
            how = "sigkill"
        await self._record_stop(process, how, anyio.current_time() - started)

    async def _kill(self, process: Process) -> None:
        why = (
            "stop is urgent"
            if self.urgency.now
            else f"still running {self.timeouts.stop:g} s after SIGTERM"
        )
        logger.warning(
            "%s (pid %d) %s: sending SIGKILL to its process group",
            self.spec.name,
            process.pid,
            why,
        )
        _signal_group(process.pid, signal.SIGKILL)
        with anyio.move_on_after(KILL_WAIT):
            await process.wait()
            return
        logger.error(
            "%s (pid %d) still running %g s after SIGKILL (stuck in the kernel?)",
            self.spec.name,
            process.pid,
            KILL_WAIT,
        )

    async def _wait_exit(self, process: Process, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the process to end, or until the stop
        turns urgent; return whether it ended."""
        with anyio.move_on_after(timeout):
            async with anyio.create_task_group() as tg:

                async def cancel_when_urgent() -> None:
                    await self.urgency.wait()
                    tg.cancel_scope.cancel()

                tg.start_soon(cancel_when_urgent)
                await process.wait()
                tg.cancel_scope.cancel()
        return process.returncode is not None

    async def _record_stop(
        self, process: Process, how: StopHow, seconds: float
    ) -> None:
        code, signal_number = (None, None)
        if process.returncode is not None:
            code, signal_number = split_returncode(process.returncode)
        logger.info(
            "stopped %s (pid %d) by %s in %.1f s (%s)",
            self.spec.name,
            process.pid,
            how,
            seconds,
            describe_exit(code, signal_number),
        )
        await self.sink.fact(
            self.spec.name,
            "daemon_stopped",
            {
                "pid": process.pid,
                "how": how,
                "seconds": round(seconds, 3),
                "code": code,
                "signal": signal_number,
            },
        )
        self.update_health(state="stopped", pid=None)


_ANSI_ESCAPE = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")


def _require_stream(stream: ByteReceiveStream | None) -> ByteReceiveStream:
    assert stream is not None, "the daemon's output pipes are always opened"
    return stream


def _signal_group(pgid: int, number: signal.Signals) -> None:
    # The group may have ended since the caller checked.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, number)


def _kill_group_leftovers(name: str, pgid: int) -> None:
    """SIGKILL whatever is left in the daemon's process group: helpers it started,
    which would otherwise run on unsupervised, or the daemon itself when its stop
    failed half-way."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    logger.warning("%s: killed processes left in its process group %d", name, pgid)
