"""The monerod actor against a real monerod in regtest mode, offline, on free ports
of 127.0.0.1."""

from __future__ import annotations

import os
import re
import signal
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from daemon_support import (
    MONEROD,
    PYTHON,
    RecordingSink,
    fact_pid,
    free_port,
    running,
)

from db4e.actors import (
    DaemonExited,
    DaemonNotReady,
    DaemonSpec,
    DaemonStalled,
    MonerodActor,
)

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(90)]

#: Any valid mainnet address works for generateblocks in regtest mode.
WALLET = (
    "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7"
    "f2wfn3RVGQBEP3A"
)


@pytest.fixture
def monerod_spec(tmp_path: Path) -> DaemonSpec:
    rpc_port = free_port()
    args = (
        "--regtest",
        "--offline",
        "--non-interactive",
        "--data-dir",
        str(tmp_path / "monerod"),
        "--p2p-bind-ip",
        "127.0.0.1",
        "--p2p-bind-port",
        str(free_port()),
        "--rpc-bind-ip",
        "127.0.0.1",
        "--rpc-bind-port",
        str(rpc_port),
        "--zmq-rpc-bind-ip",
        "127.0.0.1",
        "--zmq-rpc-bind-port",
        str(free_port()),
        "--no-igd",
        "--fixed-difficulty",
        "1",
        "--log-level",
        "0",
    )
    return DaemonSpec(
        "monerod",
        MONEROD,
        args,
        rpc_url=f"http://127.0.0.1:{rpc_port}",
        rpc_interval=0.2,
        ready_timeout=30.0,
        stop_timeout=30.0,
    )


async def generate_blocks(spec: DaemonSpec, count: int) -> None:
    request = {
        "jsonrpc": "2.0",
        "id": "0",
        "method": "generateblocks",
        "params": {"amount_of_blocks": count, "wallet_address": WALLET},
    }
    async with httpx.AsyncClient(trust_env=False, timeout=10.0) as client:
        response = await client.post(f"{spec.rpc_url}/json_rpc", json=request)
    response.raise_for_status()
    assert "result" in response.json(), response.text


@pytest.mark.monerod
async def test_monerod_ready_when_synchronized(monerod_spec: DaemonSpec) -> None:
    sink = RecordingSink()
    async with running(MonerodActor(monerod_spec, sink)) as run:
        await run.wait_ready(timeout=30)
        ready = await sink.wait_fact("daemon_ready")
        info = sink.of_kind("monerod_info")[0]
        await run.stop(timeout=40)
    assert info["synchronized"] is True
    assert info["nettype"] == "fakechain"
    assert info["busy_syncing"] is False
    assert isinstance(ready["version"], str)
    assert re.match(r"\d+\.\d+", ready["version"])
    assert sink.healths[-1]["state"] == "stopped"


@pytest.mark.monerod
async def test_monerod_height_facts(monerod_spec: DaemonSpec) -> None:
    sink = RecordingSink()
    async with running(MonerodActor(monerod_spec, sink)) as run:
        await run.wait_ready(timeout=30)
        first = await sink.wait_fact("monerod_info")
        assert isinstance(first["height"], int)
        await generate_blocks(monerod_spec, 3)
        target = first["height"] + 3
        await sink.wait_until(
            lambda: any(f["height"] == target for f in sink.of_kind("monerod_info"))
        )
        await run.stop(timeout=40)
    heights = [fields["height"] for fields in sink.of_kind("monerod_info")]
    assert heights == sorted(heights)
    # A fact only when the subset changed: each height appears once.
    assert len(heights) == len(set(heights))


@pytest.mark.monerod
async def test_monerod_stop_via_rpc(monerod_spec: DaemonSpec) -> None:
    sink = RecordingSink()
    async with running(MonerodActor(monerod_spec, sink)) as run:
        await run.wait_ready(timeout=30)
        await run.stop(timeout=40)
    stopped = sink.of_kind("daemon_stopped")[0]
    assert stopped["how"] == "command"
    assert stopped["code"] == 0
    assert b"Node stopped." in sink.text()
    assert run.error is None


@pytest.mark.monerod
async def test_monerod_stop_via_stdin(monerod_spec: DaemonSpec) -> None:
    args = tuple(arg for arg in monerod_spec.args if arg != "--non-interactive")
    spec = replace(monerod_spec, args=args)
    sink = RecordingSink()
    actor = MonerodActor(spec, sink)
    assert actor.stop_via == "stdin"
    async with running(actor) as run:
        await run.wait_ready(timeout=30)
        await run.stop(timeout=40)
    assert sink.of_kind("daemon_stopped")[0]["how"] == "command"


@pytest.mark.monerod
async def test_monerod_kill_9_raises_exited(monerod_spec: DaemonSpec) -> None:
    sink = RecordingSink()
    async with running(MonerodActor(monerod_spec, sink)) as run:
        await run.wait_ready(timeout=30)
        pid = fact_pid(sink.of_kind("daemon_started")[0])
        os.kill(pid, signal.SIGKILL)
        error = await run.wait_error(timeout=20)
    assert isinstance(error, DaemonExited)
    assert error.signal == 9
    exited = sink.of_kind("daemon_exited")[0]
    assert exited["pid"] == pid
    assert exited["signal"] == 9


async def test_monerod_rpc_down_not_ready() -> None:
    # A stand-in that never opens the RPC port: monerod's own start-up is not needed.
    sink = RecordingSink()
    spec = DaemonSpec(
        "monerod",
        PYTHON,
        ("-c", "import time; time.sleep(60)"),
        rpc_url=f"http://127.0.0.1:{free_port()}",
        ready_timeout=1.0,
    )
    async with running(MonerodActor(spec, sink)) as run:
        error = await run.wait_error()
    assert isinstance(error, DaemonNotReady)
    assert "get_info at http://127.0.0.1:" in str(error)
    assert "ConnectError" in str(error)


async def test_monerod_rpc_down_stalls() -> None:
    sink = RecordingSink()
    spec = DaemonSpec(
        "monerod",
        PYTHON,
        (
            "-c",
            "import time\nwhile True: print('chatter', flush=True); time.sleep(0.05)",
        ),
        rpc_url=f"http://127.0.0.1:{free_port()}",
        liveness_timeout=0.5,
    )
    async with running(MonerodActor(spec, sink)) as run:
        error = await run.wait_error()
    # Output alone is no progress for monerod: only RPC responses are.
    assert isinstance(error, DaemonStalled)
    assert "no response to JSON-RPC get_info for 0.5 s" in str(error)


def test_monerod_stop_via_default() -> None:
    interactive = DaemonSpec("monerod", MONEROD, ("--regtest",))
    detached = DaemonSpec("monerod", MONEROD, ("--non-interactive",))
    explicit = DaemonSpec("monerod", MONEROD, ("--non-interactive",), stop_via="stdin")
    sink = RecordingSink()
    assert MonerodActor(interactive, sink).stop_via == "stdin"
    assert MonerodActor(detached, sink).stop_via == "rpc"
    assert MonerodActor(explicit, sink).stop_via == "stdin"
