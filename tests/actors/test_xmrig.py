"""The xmrig actor against the simulated XMRig (`python -m
db4e.simulate.xmrig_daemon`): HTTP API readiness with a token that is never logged,
summary facts, the hashrate liveness check and the SIGTERM stop."""

from __future__ import annotations

import logging

import pytest
from daemon_support import PYTHON, RecordingSink, free_port, running

from db4e.actors import DaemonNotReady, DaemonSpec, DaemonStalled, XmrigActor
from db4e.actors.xmrig import summarize

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

TOKEN = "db4e-test-token-7f3a91"
#: Shrinks XMRig's hashrate windows, so a 10-second value is measured at once.
FAST_WARMUP = ("--warmup-scale", "0.01")


def xmrig_spec(*extra: str, token: str | None = TOKEN, **fields: object) -> DaemonSpec:
    """A spec that runs the simulator with its HTTP API on a free port, protected by
    TOKEN; `token` is what the actor sends."""
    port = free_port()
    args = (
        "-m",
        "db4e.simulate.xmrig_daemon",
        "--http-port",
        str(port),
        "--http-access-token",
        TOKEN,
        *FAST_WARMUP,
        *extra,
    )
    values: dict[str, object] = {
        "api_url": f"http://127.0.0.1:{port}",
        "api_token": token,
        "api_interval": 0.2,
        "ready_timeout": 10.0,
        **fields,
    }
    return DaemonSpec("xmrig", PYTHON, args, **values)  # type: ignore[arg-type]


def hashing(sink: RecordingSink) -> bool:
    rates = [f["hashrate_10s"] for f in sink.of_kind("xmrig_summary")]
    return any(isinstance(rate, float | int) and rate > 0 for rate in rates)


async def test_xmrig_ready_when_api_responds() -> None:
    sink = RecordingSink()
    async with running(XmrigActor(xmrig_spec(), sink)) as run:
        await run.wait_ready()
        ready = await sink.wait_fact("daemon_ready")
        await sink.wait_until(lambda: hashing(sink))
        await run.stop()
    assert ready["version"] == "6.22.2"
    summary = sink.of_kind("xmrig_summary")[-1]
    assert set(summary) == {
        "hashrate_10s",
        "hashrate_60s",
        "hashrate_15m",
        "shares_good",
        "shares_total",
        "accepted",
        "rejected",
        "uptime",
    }
    assert isinstance(summary["uptime"], int)
    assert sink.healths[-1]["state"] == "stopped"


async def test_xmrig_token_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    # Every logger at DEBUG, httpx and httpcore included.
    caplog.set_level(logging.DEBUG)
    sink = RecordingSink()
    async with running(XmrigActor(xmrig_spec(), sink)) as run:
        await run.wait_ready()
        await sink.wait_until(lambda: hashing(sink))
        await run.stop()
    assert "xmrig" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(sink.facts)
    assert TOKEN not in repr(sink.healths)
    command = sink.of_kind("daemon_started")[0]["command"]
    assert isinstance(command, str)
    assert "--http-access-token '***'" in command


async def test_xmrig_wrong_token_not_ready(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "db4e-wrong-token-55e1"
    sink = RecordingSink()
    spec = xmrig_spec(token=wrong, ready_timeout=1.0)
    async with running(XmrigActor(spec, sink)) as run:
        error = await run.wait_error()
    assert isinstance(error, DaemonNotReady)
    assert "HTTP 403" in str(error)
    assert "check that api_token matches" in str(error)
    assert wrong not in str(error)
    assert wrong not in caplog.text


async def test_xmrig_zero_hashrate_stalls() -> None:
    sink = RecordingSink()
    spec = xmrig_spec("--hashrate", "0", liveness_timeout=1.0)
    async with running(XmrigActor(spec, sink)) as run:
        await run.wait_ready()
        error = await run.wait_error()
    assert isinstance(error, DaemonStalled)
    assert "no 10-second hashrate above zero for 1 s" in str(error)
    assert len(sink.of_kind("xmrig_summary")) >= 2


async def test_xmrig_hashing_does_not_stall() -> None:
    sink = RecordingSink()
    spec = xmrig_spec(liveness_timeout=1.0)
    async with running(XmrigActor(spec, sink)) as run:
        await run.wait_ready()
        await sink.wait_fact("xmrig_summary", count=12)
        assert not run.done.is_set()
        await run.stop()


async def test_xmrig_stop_uses_sigterm() -> None:
    sink = RecordingSink()
    async with running(XmrigActor(xmrig_spec(), sink)) as run:
        await run.wait_ready()
        await run.stop()
    stopped = sink.of_kind("daemon_stopped")[0]
    assert stopped["how"] == "sigterm"
    assert b"SIGTERM received, exiting" in sink.text()


def test_xmrig_requires_api_url() -> None:
    spec = DaemonSpec("xmrig", "/usr/bin/xmrig")
    with pytest.raises(ValueError, match="api_url is not set"):
        XmrigActor(spec, RecordingSink())


def test_summarize_tolerates_nulls_and_gaps() -> None:
    summary: dict[str, object] = {
        "uptime": 12,
        "hashrate": {"total": [None, None]},
        "results": {"shares_good": 3, "shares_total": "4"},
    }
    assert summarize(summary) == {
        "hashrate_10s": None,
        "hashrate_60s": None,
        "hashrate_15m": None,
        "shares_good": 3,
        "shares_total": None,
        "accepted": None,
        "rejected": None,
        "uptime": 12,
    }
