"""The supervised part of `db4e demo`: the real `db4e run` actor tree over a regtest
monerod (when the monero package is installed) and the simulated P2Pool and XMRig, with
one daemon killed on purpose to show the restart."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import anyio

from db4e.config import Config, DaemonConfig, SupervisorConfig
from db4e.farm import Farm
from db4e.runner import daemon_child, ready_wait, reap_leftovers, registry

__all__ = ["demo_config", "run_demo_farm"]

logger = logging.getLogger(__name__)

Echo = Callable[[str], None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _monerod(folder: Path) -> DaemonConfig | None:
    command = shutil.which("monerod")
    if command is None:
        return None
    p2p, rpc, zmq = _free_port(), _free_port(), _free_port()
    args = (
        "--regtest", "--offline", "--non-interactive",
        "--data-dir", str(folder / "monero"),
        "--p2p-bind-ip", "127.0.0.1", "--p2p-bind-port", str(p2p),
        "--rpc-bind-ip", "127.0.0.1", "--rpc-bind-port", str(rpc),
        "--zmq-rpc-bind-ip", "127.0.0.1", "--zmq-rpc-bind-port", str(zmq),
        "--no-igd", "--fixed-difficulty", "1",
    )  # fmt: skip
    return DaemonConfig(
        "monerod", command, args, rpc_url=f"http://127.0.0.1:{rpc}", stop_timeout=30
    )


def demo_config(config: Config, folder: Path) -> Config:
    """Return `config` with the demo's daemons: monerod in regtest when installed, and
    the simulated P2Pool and XMRig on free loopback ports."""
    stratum, http = _free_port(), _free_port()
    p2pool = DaemonConfig(
        "p2pool",
        sys.executable,
        ("-m", "db4e.simulate.p2pool_daemon", "--stratum-port", str(stratum),
         "--share-every", "2", "--block-every", "6", "--lines-per-second", "10"),
        stratum=f"127.0.0.1:{stratum}",
        console_interval=2,
        stop_timeout=5,
    )  # fmt: skip
    xmrig = DaemonConfig(
        "xmrig",
        sys.executable,
        ("-m", "db4e.simulate.xmrig_daemon", "-o", f"127.0.0.1:{stratum}",
         "-u", "rig1", "--http-port", str(http), "--print-time", "2"),
        api_url=f"http://127.0.0.1:{http}",
        api_interval=2,
        stop_timeout=5,
    )  # fmt: skip
    monerod = _monerod(folder)
    daemons = (monerod, p2pool, xmrig) if monerod else (p2pool, xmrig)
    # A short private runtime folder: UNIX socket paths are limited to 108 bytes.
    runtime = Path(tempfile.mkdtemp(prefix="db4e-demo-"))
    supervisor = SupervisorConfig(runtime_dir=runtime, initial_delay=0.1)
    return replace(config, daemons=daemons, supervisor=supervisor)


async def _wait(check: Callable[[], bool], timeout: float, what: str) -> float:
    started = anyio.current_time()
    with anyio.fail_after(timeout):
        while not check():
            await anyio.sleep(0.05)
    logger.debug("%s after %.2f s", what, anyio.current_time() - started)
    return anyio.current_time() - started


def _all_ready(farm: Farm) -> bool:
    states = farm.daemons.states()
    return all(info["state"] == "ready" for info in states.values())


def _pid(farm: Farm, name: str) -> int | None:
    pid = farm.sink.health_facts.get(name, {}).get("pid")
    return pid if isinstance(pid, int) else None


async def _show(farm: Farm, seconds: float, echo: Echo) -> dict[str, Any]:
    names = ", ".join(d.name for d in farm.config.daemons)
    took = await _wait(lambda: _all_ready(farm), 120, "all ready")
    echo(f"{names}: all ready in {took:.1f} s, each started after the one before")
    victim = "p2pool"
    old_pid = _pid(farm, victim)
    if old_pid is not None:
        os.kill(old_pid, signal.SIGKILL)
        echo(f"killed {victim} (pid {old_pid}) with SIGKILL on purpose")

        def replaced() -> bool:
            info = farm.daemons.states()[victim]
            pid = _pid(farm, victim)
            return info["state"] == "ready" and pid not in (None, old_pid)

        took = await _wait(replaced, 30, "restarted")
        echo(f"{victim} restarted by the supervisor and ready again in {took:.2f} s")
    await anyio.sleep(seconds)
    return farm.status_document()


async def run_demo_farm(config: Config, seconds: float, echo: Echo) -> dict[str, Any]:
    """Run the farm of `config`, kill P2Pool once, let it run `seconds` more, stop it
    newest first and return the supervisor's last status document."""
    await reap_leftovers(config)
    farm = Farm(config, partial(daemon_child, orphans=registry(config)), ready_wait)
    document: dict[str, Any] = {}
    async with anyio.create_task_group() as tg:
        tg.start_soon(farm.run)
        try:
            document = await _show(farm, seconds, echo)
        finally:
            stop_requested = time.monotonic()
            farm.stop_requested.set()
    names = ", ".join(d.name for d in reversed(farm.config.daemons))
    echo(f"stopped {names} in {time.monotonic() - stop_requested:.1f} s")
    shutil.rmtree(config.supervisor.runtime_dir, ignore_errors=True)
    return document
