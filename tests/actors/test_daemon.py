"""The generic daemon lifecycle with small Python scripts as daemons: spawning,
process groups, output, readiness, liveness, exits and the stop escalation."""

from __future__ import annotations

import logging
import os
import signal
import textwrap
from collections.abc import Mapping
from typing import ClassVar

import anyio
import pytest
from daemon_support import (
    PYTHON,
    RecordingSink,
    fact_pid,
    free_port,
    is_running,
    kill_quietly,
    running,
    wait_gone,
)

from db4e.actors import (
    DaemonActor,
    DaemonExited,
    DaemonNotReady,
    DaemonSpec,
    DaemonStalled,
    DaemonStartError,
    StopUrgency,
    create_daemon_actor,
)
from db4e.actors.daemon_spec import (
    DEFAULT_TIMEOUTS,
    child_environment,
    redact_command,
)
from db4e.actors.p2pool import P2poolActor

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

#: Prints "ready", then echoes stdin lines until EOF; ends 0 on "exit".
ECHO = """
import sys
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "exit":
        print("bye", flush=True)
        sys.exit(0)
    print("got", line.strip(), flush=True)
"""

#: Ignores SIGTERM and prints a tick every 50 ms, so it never stalls.
STUBBORN = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ignoring SIGTERM", flush=True)
while True:
    print("tick", flush=True)
    time.sleep(0.05)
"""


def script_spec(script: str, *args: str, **fields: object) -> DaemonSpec:
    """A spec that runs `script` with this Python, as the p2pool daemon."""
    code = textwrap.dedent(script)
    return DaemonSpec(
        "p2pool",
        PYTHON,
        ("-u", "-c", code, *args),
        **fields,  # type: ignore[arg-type]
    )


class PoliteActor(DaemonActor):
    """The base actor with `exit` on stdin as its stop command."""

    stop_commands: ClassVar[list[str]] = []

    async def send_stop_command(self) -> bool:
        self.stop_commands.append("exit")
        return await self.send_stdin("exit")


class NeverReady(DaemonActor):
    async def probe_ready(self) -> bool:
        self.not_ready_reason = "the test probe always fails"
        return False


# Spawning


async def test_spawn_passes_args_without_shell() -> None:
    sink = RecordingSink()
    literal = "$HOME; echo injected `id`"
    spec = script_spec("import sys; print(repr(sys.argv[1:]))", literal)
    async with running(DaemonActor(spec, sink)) as run:
        error = await run.wait_error()
    assert isinstance(error, DaemonExited)
    assert sink.text().strip() == repr([literal]).encode()


async def test_spawn_in_own_session_and_group() -> None:
    sink = RecordingSink()
    script = """
    import os, sys
    print(os.getpid(), os.getpgid(0), os.getsid(0), flush=True)
    sys.stdin.read()
    """
    async with running(DaemonActor(script_spec(script), sink)) as run:
        started = await sink.wait_fact("daemon_started")
        await sink.wait_output(b"\n")
        pid, group, session = map(int, sink.text().split())
        assert pid == fact_pid(started)
        assert group == pid
        assert session == pid
        assert os.getpgid(0) != pid
        await run.stop()


async def test_grandchild_ends_with_group_on_stop() -> None:
    sink = RecordingSink()
    script = """
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    print(child.pid, flush=True)
    time.sleep(60)
    """
    async with running(DaemonActor(script_spec(script), sink)) as run:
        await sink.wait_output(b"\n")
        grandchild = int(sink.text())
        try:
            assert is_running(grandchild)
            await run.stop()
            await wait_gone(grandchild, timeout=5)
        finally:
            kill_quietly(grandchild)
    stopped = sink.of_kind("daemon_stopped")[0]
    assert stopped["how"] == "sigterm"


async def test_missing_executable_raises_start_error() -> None:
    sink = RecordingSink()
    spec = DaemonSpec("p2pool", "/nonexistent/db4e-test/p2pool")
    async with running(DaemonActor(spec, sink)) as run:
        error = await run.wait_error()
    assert isinstance(error, DaemonStartError)
    assert "/nonexistent/db4e-test/p2pool" in str(error)
    assert sink.facts == []


async def test_environment_is_minimal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB4E_TEST_SECRET_URI", "mongodb://user:secret@example.invalid")
    sink = RecordingSink()
    script = "import os; print(sorted(os.environ))"
    spec = script_spec(script, env={"DB4E_TEST_EXTRA": "1"})
    async with running(DaemonActor(spec, sink)) as run:
        await run.wait_error()
    names = sink.text().decode()
    assert "DB4E_TEST_SECRET_URI" not in names
    assert "'DB4E_TEST_EXTRA'" in names
    assert "'PATH'" in names


def test_child_environment_adds_extra() -> None:
    env = child_environment({"LANG": "C", "EXTRA": "x"})
    assert env["LANG"] == "C"
    assert env["EXTRA"] == "x"


# Output


async def test_output_reaches_sink_in_order() -> None:
    sink = RecordingSink()
    script = """
    import sys
    for i in range(20000):
        sys.stdout.write(f"line {i}\\n")
        if i % 1000 == 0:
            sys.stderr.write(f"err {i}\\n")
    """
    async with running(DaemonActor(script_spec(script), sink)) as run:
        error = await run.wait_error()
    expected_out = "".join(f"line {i}\n" for i in range(20000)).encode()
    expected_err = "".join(f"err {i}\n" for i in range(0, 20000, 1000)).encode()
    assert isinstance(error, DaemonExited)
    assert sink.text("stdout") == expected_out
    assert sink.text("stderr") == expected_err
    # The last output is delivered before the exit is reported.
    last_output = max(i for i, call in enumerate(sink.sequence) if call == "output")
    assert sink.sequence.index("daemon_exited") > last_output


class BlockedSink(RecordingSink):
    """A sink whose stdout consumer hangs until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = anyio.Event()

    async def output(self, daemon: str, stream: str, data: bytes) -> None:
        if stream == "stdout":
            await self.release.wait()
        await super().output(daemon, stream, data)


async def test_slow_sink_never_blocks_daemon() -> None:
    sink = BlockedSink()
    # 64 MiB is four times the output queue, so the daemon finishes writing only
    # if the reader keeps draining the pipe while the sink hangs.
    script = """
    import sys
    block = b"x" * 65535 + b"\\n"
    for _ in range(1024):
        sys.stdout.buffer.write(block)
    sys.stdout.flush()
    sys.stderr.write("written\\n")
    sys.stderr.flush()
    sys.stdin.read()
    """
    async with running(DaemonActor(script_spec(script), sink)) as run:
        await sink.wait_output(b"written\n", stream="stderr", timeout=20)
        sink.release.set()
        dropped = await sink.wait_fact("daemon_output_dropped")
        await run.stop()
    assert dropped["stream"] == "stdout"
    assert isinstance(dropped["bytes"], int)
    assert dropped["bytes"] > 0
    assert len(sink.text()) + dropped["bytes"] <= 1024 * 65536


# Readiness and liveness


async def test_ready_called_and_reported() -> None:
    sink = RecordingSink()
    async with running(DaemonActor(script_spec(ECHO), sink)) as run:
        await run.wait_ready()
        ready = await sink.wait_fact("daemon_ready")
        await run.stop()
    assert isinstance(ready["after_seconds"], float)
    assert sink.kinds()[:2] == ["daemon_started", "daemon_ready"]
    assert sink.healths[-1]["state"] == "stopped"


async def test_ready_timeout_raises_not_ready() -> None:
    sink = RecordingSink()
    spec = script_spec(ECHO, ready_timeout=0.5)
    async with running(NeverReady(spec, sink)) as run:
        error = await run.wait_error()
    assert isinstance(error, DaemonNotReady)
    assert isinstance(error, TimeoutError)
    assert "not ready within 0.5 s" in str(error)
    assert "the test probe always fails" in str(error)
    assert not run.ready.is_set()
    # The daemon is stopped before the actor raises.
    assert sink.of_kind("daemon_stopped")[0]["how"] == "sigterm"


async def test_silent_daemon_raises_stalled() -> None:
    sink = RecordingSink()
    spec = script_spec(ECHO, liveness_timeout=0.5)
    async with running(DaemonActor(spec, sink)) as run:
        error = await run.wait_error()
    assert isinstance(error, DaemonStalled)
    assert "no output for 0.5 s" in str(error)
    assert sink.of_kind("daemon_stalled")[0]["reason"] == "no output for 0.5 s"
    assert sink.of_kind("daemon_stopped")[0]["how"] == "sigterm"


async def test_chatty_daemon_does_not_stall() -> None:
    sink = RecordingSink()
    script = """
    import time
    while True:
        print("tick", flush=True)
        time.sleep(0.05)
    """
    spec = script_spec(script, liveness_timeout=0.3)
    async with running(DaemonActor(spec, sink)) as run:
        await sink.wait_output(b"tick", count=30)
        assert not run.done.is_set()
        await run.stop()


# Exits


async def test_exit_code_raises_daemon_exited() -> None:
    sink = RecordingSink()
    script = "import sys; print('failing', flush=True); sys.exit(3)"
    async with running(DaemonActor(script_spec(script), sink)) as run:
        error = await run.wait_error()
    assert isinstance(error, DaemonExited)
    assert error.code == 3
    assert error.signal is None
    exited = sink.of_kind("daemon_exited")[0]
    assert exited["code"] == 3
    assert exited["reason"] == "exited with code 3"
    assert sink.of_kind("daemon_stopped") == []


async def test_killed_daemon_raises_with_signal() -> None:
    sink = RecordingSink()
    async with running(DaemonActor(script_spec(ECHO), sink)) as run:
        started = await sink.wait_fact("daemon_started")
        await sink.wait_output(b"ready")
        os.kill(fact_pid(started), signal.SIGKILL)
        error = await run.wait_error()
    assert isinstance(error, DaemonExited)
    assert error.signal == 9
    assert "killed by signal 9 (SIGKILL)" in str(error)
    assert sink.of_kind("daemon_exited")[0]["signal"] == 9


# Stopping


async def test_stop_with_own_command() -> None:
    sink = RecordingSink()
    async with running(PoliteActor(script_spec(ECHO), sink)) as run:
        await sink.wait_output(b"ready")
        await run.stop()
    stopped = sink.of_kind("daemon_stopped")[0]
    assert stopped["how"] == "command"
    assert stopped["code"] == 0
    # Output printed while stopping still reaches the sink.
    assert sink.text().endswith(b"bye\n")
    assert run.error is None


async def test_stop_escalates_to_sigkill(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="db4e.actors")
    sink = RecordingSink()
    spec = script_spec(STUBBORN, stop_timeout=1.0)
    async with running(DaemonActor(spec, sink)) as run:
        started = await sink.wait_fact("daemon_started")
        await sink.wait_output(b"ignoring SIGTERM")
        seconds = await run.stop()
    pid = fact_pid(started)
    stopped = sink.of_kind("daemon_stopped")[0]
    assert stopped["how"] == "sigkill"
    assert stopped["signal"] == 9
    assert 0.9 <= seconds < 3.0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("SIGKILL" in m and f"pid {pid}" in m and "p2pool" in m for m in warnings)
    assert not is_running(pid)


async def test_stop_command_then_sigterm_then_sigkill(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="db4e.actors")
    sink = RecordingSink()
    spec = script_spec(STUBBORN, stop_timeout=0.5)
    async with running(PoliteActor(spec, sink)) as run:
        await sink.wait_output(b"ignoring SIGTERM")
        seconds = await run.stop()
    assert sink.of_kind("daemon_stopped")[0]["how"] == "sigkill"
    # Each of the two polite steps waits stop_timeout.
    assert 0.9 <= seconds < 3.0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "SIGTERM" in warnings[0]
    assert "SIGKILL" in warnings[1]


async def test_urgency_skips_polite_steps() -> None:
    sink = RecordingSink()
    urgency = StopUrgency()
    PoliteActor.stop_commands.clear()
    spec = script_spec(STUBBORN, stop_timeout=30.0)
    async with running(PoliteActor(spec, sink, urgency)) as run:
        await sink.wait_output(b"ignoring SIGTERM")
        urgency.set()
        seconds = await run.stop()
    assert sink.of_kind("daemon_stopped")[0]["how"] == "sigkill"
    assert seconds < 2.0
    assert PoliteActor.stop_commands == []


async def test_urgency_during_stop_kills_at_once() -> None:
    sink = RecordingSink()
    urgency = StopUrgency()
    spec = script_spec(STUBBORN, stop_timeout=30.0)
    async with running(DaemonActor(spec, sink, urgency)) as run:
        await sink.wait_output(b"ignoring SIGTERM")
        run.scope.cancel()
        with anyio.fail_after(5):
            while sink.healths[-1]["state"] != "stopping":
                await anyio.sleep(0.01)
        urgency.set()
        with anyio.fail_after(5):
            await run.done.wait()
    assert sink.of_kind("daemon_stopped")[0]["how"] == "sigkill"


# External daemons


async def test_external_daemon_only_probed() -> None:
    sink = RecordingSink()
    spec = DaemonSpec("p2pool", "/nonexistent/db4e-test/p2pool", external=True)
    async with running(DaemonActor(spec, sink)) as run:
        await run.wait_ready()
        await run.stop()
    assert sink.kinds() == ["daemon_ready"]
    assert run.error is None


# Spec


def test_spec_defaults_per_daemon() -> None:
    monerod = DaemonSpec("monerod", "/usr/bin/monerod").timeouts()
    xmrig = DaemonSpec("xmrig", "/usr/bin/xmrig", stop_timeout=5.0).timeouts()
    assert monerod == DEFAULT_TIMEOUTS["monerod"]
    assert monerod.stop == 120.0
    assert xmrig.stop == 5.0
    assert xmrig.ready == DEFAULT_TIMEOUTS["xmrig"].ready


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "bitcoind"}, "invalid daemon name 'bitcoind'"),
        ({"stop_timeout": 0.0}, "stop_timeout must be positive"),
        ({"console_interval": -1.0}, "console_interval must be positive"),
        ({"stratum": "localhost"}, "invalid address 'localhost'"),
        ({"stratum": "127.0.0.1:70000"}, "invalid address"),
    ],
)
def test_spec_rejects_invalid(fields: Mapping[str, object], message: str) -> None:
    values: dict[str, object] = {"name": "p2pool", "command": "/bin/true", **fields}
    with pytest.raises(ValueError, match=message):
        DaemonSpec(**values)  # type: ignore[arg-type]


def test_spec_repr_hides_token() -> None:
    spec = DaemonSpec("xmrig", "/usr/bin/xmrig", api_token="s3cr3t-token")
    assert "s3cr3t-token" not in repr(spec)


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["xmrig", "--http-access-token", "T0K"], "xmrig --http-access-token '***'"),
        (["xmrig", "--http-access-token=T0K"], "xmrig '--http-access-token=***'"),
        (["monerod", "--rpc-login", "u:p"], "monerod --rpc-login '***'"),
        (
            ["xmrig", "-o", "127.0.0.1:3333", "-p", "x"],
            "xmrig -o 127.0.0.1:3333 -p '***'",
        ),
        (["xmrig", "--config=/a/T0K.json"], "xmrig '***'"),
        (["p2pool", "--wallet", "4AAA"], "p2pool --wallet 4AAA"),
    ],
)
def test_redact_command(argv: list[str], shown: str) -> None:
    assert redact_command(argv, secrets=("T0K",)) == shown


def test_create_daemon_actor_picks_class() -> None:
    spec = DaemonSpec("p2pool", "/usr/bin/p2pool", stratum=f"127.0.0.1:{free_port()}")
    assert isinstance(create_daemon_actor(spec, RecordingSink()), P2poolActor)
