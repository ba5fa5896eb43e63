"""The p2pool actor against the simulated P2Pool (`python -m
db4e.simulate.p2pool_daemon`): stratum readiness, console commands on stdin and on
the local console port, data API facts, stalls, crashes and the `exit` stop."""

from __future__ import annotations

import logging
import signal
import subprocess
from itertools import pairwise
from pathlib import Path

import anyio
import pytest
from daemon_support import PYTHON, RecordingSink, free_port, running

from db4e.actors import (
    DaemonExited,
    DaemonNotReady,
    DaemonSpec,
    DaemonStalled,
    P2poolActor,
)

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

SIMULATOR = ("-m", "db4e.simulate.p2pool_daemon")
#: Chatter often enough that a liveness timeout of a second never fires by chance.
CHATTY = ("--lines-per-second", "20")


def simulator_args(port: int, *extra: str) -> tuple[str, ...]:
    return (*SIMULATOR, "--stratum-port", str(port), *CHATTY, *extra)


def p2pool_spec(*extra: str, **fields: object) -> DaemonSpec:
    """A spec that runs the simulator on a free stratum port."""
    port = free_port()
    values: dict[str, object] = {
        "stratum": f"127.0.0.1:{port}",
        "console_interval": 0.3,
        "stop_timeout": 10.0,
        **fields,
    }
    return DaemonSpec(
        "p2pool",
        PYTHON,
        simulator_args(port, *extra),
        **values,  # type: ignore[arg-type]
    )


def data_api_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "api"
    directory.mkdir()
    return directory


class StdinSpy(P2poolActor):
    """Records the lines the actor writes to stdin."""

    def __init__(self, spec: DaemonSpec, sink: RecordingSink) -> None:
        super().__init__(spec, sink)
        self.stdin_lines: list[str] = []

    async def send_stdin(self, line: str) -> bool:
        self.stdin_lines.append(line)
        return await super().send_stdin(line)


async def test_p2pool_ready_when_stratum_accepts() -> None:
    sink = RecordingSink()
    spec = p2pool_spec("--ready-delay", "0.5")
    async with running(P2poolActor(spec, sink)) as run:
        await run.wait_ready()
        ready = await sink.wait_fact("daemon_ready")
        await run.stop()
    assert isinstance(ready["after_seconds"], float)
    assert ready["after_seconds"] >= 0.5
    assert ready["version"] == "4.18"
    assert sink.healths[-1]["state"] == "stopped"


async def test_p2pool_not_ready_when_stratum_closed() -> None:
    sink = RecordingSink()
    spec = p2pool_spec("--ready-delay", "60", ready_timeout=1.0)
    async with running(P2poolActor(spec, sink)) as run:
        error = await run.wait_error()
    assert isinstance(error, DaemonNotReady)
    assert f"stratum port {spec.stratum} does not accept connections" in str(error)


async def test_p2pool_console_commands_on_interval() -> None:
    sink = RecordingSink()
    actor = StdinSpy(p2pool_spec(), sink)
    async with running(actor) as run:
        await sink.wait_output(b"StratumServer status", count=3)
        await sink.wait_output(b"StratumServer IP:port", count=3)
        await run.stop()
    assert actor.stdin_lines[:4] == ["status", "workers", "status", "workers"]


async def test_p2pool_stop_with_exit() -> None:
    sink = RecordingSink()
    async with running(P2poolActor(p2pool_spec(), sink)) as run:
        await run.wait_ready()
        await run.stop()
    stopped = sink.of_kind("daemon_stopped")[0]
    assert stopped["how"] == "command"
    assert stopped["code"] == 0
    # The records P2Pool prints while it stops reach the sink too.
    assert b"P2Pool stopped" in sink.text()
    assert run.error is None


async def test_p2pool_local_console(tmp_path: Path) -> None:
    api = data_api_dir(tmp_path)
    sink = RecordingSink()
    spec = p2pool_spec(
        "--data-api", str(api), "--local-api", data_api=api, local_console=True
    )
    actor = StdinSpy(spec, sink)
    async with running(actor) as run:
        await sink.wait_output(b"StratumServer status", count=2)
        await sink.wait_output(b"StratumServer IP:port", count=2)
        await run.stop()
    assert actor.stdin_lines == []
    assert sink.of_kind("daemon_stopped")[0]["how"] == "command"


async def test_p2pool_data_api_facts_when_changed(tmp_path: Path) -> None:
    api = data_api_dir(tmp_path)
    sink = RecordingSink()
    spec = p2pool_spec(
        "--data-api",
        str(api),
        "--local-api",
        "--data-api-interval",
        "0.2",
        data_api=api,
    )
    files = {"pool/stats", "network/stats", "local/stratum", "local/p2p"}
    async with running(P2poolActor(spec, sink)) as run:
        await sink.wait_until(
            lambda: {f["file"] for f in sink.of_kind("p2pool_data_api")} == files
        )
        await sink.wait_output(b"StratumServer status", count=4)
        await run.stop()
    snapshots = sink.of_kind("p2pool_data_api")
    for name in files:
        versions = [f["data"] for f in snapshots if f["file"] == name]
        assert all(a != b for a, b in pairwise(versions)), name
    health = sink.healths[-1]
    assert isinstance(health["pool_hashrate"], int | float)
    assert isinstance(health["mainchain_height"], int)
    assert isinstance(health["stratum_connections"], int)


async def test_p2pool_data_api_tolerates_bad_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = data_api_dir(tmp_path)
    (api / "pool").mkdir()
    (api / "pool" / "stats").write_text('{"pool_statistics": {"hashRate": 1')
    sink = RecordingSink()
    # The simulator writes no data API files here: every file is missing but one.
    async with running(P2poolActor(p2pool_spec(data_api=api), sink)) as run:
        await sink.wait_output(b"StratumServer status", count=3)
        assert not run.done.is_set()
        await run.stop()
    assert sink.of_kind("p2pool_data_api") == []
    skipped = [r for r in caplog.records if "skipping data API file" in r.getMessage()]
    assert len(skipped) == 1


async def test_p2pool_hang_raises_stalled() -> None:
    sink = RecordingSink()
    spec = p2pool_spec("--hang-after", "1", liveness_timeout=1.0, stop_timeout=0.5)
    async with running(P2poolActor(spec, sink)) as run:
        error = await run.wait_error(timeout=15)
    assert isinstance(error, DaemonStalled)
    assert "no output for 1 s" in str(error)
    # A hung P2Pool ignores SIGTERM, so only SIGKILL ends it.
    assert sink.of_kind("daemon_stopped")[0]["how"] == "sigkill"


async def test_p2pool_crash_raises_exited() -> None:
    sink = RecordingSink()
    spec = p2pool_spec("--crash-after", "0.5", "--exit-code", "7")
    async with running(P2poolActor(spec, sink)) as run:
        error = await run.wait_error()
    assert isinstance(error, DaemonExited)
    assert error.code == 7
    assert sink.of_kind("daemon_exited")[0]["code"] == 7


async def test_p2pool_external_only_probed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="db4e.actors")
    api = data_api_dir(tmp_path)
    port = free_port()
    args = simulator_args(port, "--data-api", str(api), "--local-api")
    process = subprocess.Popen(
        [PYTHON, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        sink = RecordingSink()
        spec = DaemonSpec(
            "p2pool",
            "/nonexistent/db4e-test/p2pool",
            external=True,
            stratum=f"127.0.0.1:{port}",
            data_api=api,
            local_console=True,
            console_interval=0.2,
        )
        async with running(P2poolActor(spec, sink)) as run:
            await run.wait_ready()
            await sink.wait_fact("p2pool_data_api")
            await run.stop()
        assert "daemon_started" not in sink.kinds()
        assert "daemon_stopped" not in sink.kinds()
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        with anyio.fail_after(10):
            while process.poll() is None:
                await anyio.sleep(0.05)
        assert process.stdin is not None
        process.stdin.close()
