"""Benchmarks of `db4e run`: restart latency, live latency and the supervisor's cost.

    python benches/supervisor.py [--restarts 20] [--cost-seconds 60]

1. Restart latency: the simulated P2Pool under the real actor tree (in this process) is
   killed with SIGKILL `--restarts` times; the time from the kill to the replacement
   process running (its pid in /proc) is measured, with the default restart policy
   (first delay 100 ms with 20 % jitter, systemd's RestartSec) and with no delay.
2. Live latency: `db4e run` (a subprocess) runs the simulated P2Pool, which stamps each
   record with the time it writes it (100 µs resolution). The latency of a stored event
   is its `stored_at` (taken as the row is built, just before the commit) minus that
   time, so it covers pipe, parser and batching; the store actor's own figures (bytes
   read from the pipe to commit done) come from the status socket.
3. Cost: the same `db4e run` with monerod (regtest, when installed), P2Pool and XMRig
   for `--cost-seconds`; CPU time and peak RSS of the db4e process itself, from /proc.

Results are printed as Markdown tables for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import anyio

from db4e.config import Config, DaemonConfig, SupervisorConfig
from db4e.farm import Farm
from db4e.runner import daemon_child, ready_wait, registry

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def p2pool_daemon(stratum: int, *extra: str) -> DaemonConfig:
    args = ("-m", "db4e.simulate.p2pool_daemon", "--stratum-port", str(stratum))
    return DaemonConfig(
        "p2pool",
        sys.executable,
        args + extra,
        stratum=f"127.0.0.1:{stratum}",
        console_interval=5,
        stop_timeout=5,
    )


def emit(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)]


# 1. Restart latency


async def _restart_latencies(config: Config, count: int) -> list[float]:
    farm = Farm(config, partial(daemon_child, orphans=registry(config)), ready_wait)
    # Measure first attempts only: a child counts as stable at once, so each kill
    # starts the backoff from its first delay instead of doubling it.
    farm.daemons.limits = replace(farm.daemons.limits, stable_after=0.0)
    latencies: list[float] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(farm.run)
        for _ in range(count):
            old = await _ready_pid(farm, None)
            killed = time.perf_counter()
            os.kill(old, signal.SIGKILL)
            await _running_pid(farm, old)
            latencies.append(time.perf_counter() - killed)
            await _ready_pid(farm, old)
        farm.stop_requested.set()
    return latencies


async def _ready_pid(farm: Farm, not_pid: int | None) -> int:
    with anyio.fail_after(30):
        while True:
            info = farm.daemons.states()["p2pool"]
            pid = farm.sink.health_facts.get("p2pool", {}).get("pid")
            if info["state"] == "ready" and isinstance(pid, int) and pid != not_pid:
                return pid
            await anyio.sleep(0.01)


async def _running_pid(farm: Farm, old: int) -> None:
    """Wait until a new p2pool process exists; poll /proc children of this process
    every millisecond rather than waiting for the actor's own notice."""
    me = os.getpid()
    with anyio.fail_after(30):
        while True:
            for pid in _children(me):
                if pid != old:
                    return
            await anyio.sleep(0.001)


def _children(parent: int) -> list[int]:
    path = Path(f"/proc/{parent}/task/{parent}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except OSError:
        return []


def restart_latency(count: int, root: Path) -> list[tuple[str, list[float]]]:
    results = []
    for label, delay in (
        ("first delay 100 ms ± 20 % (default)", 0.1),
        ("no delay", 0.0),
    ):
        runtime = Path(tempfile.mkdtemp(prefix="db4e-bench-"))
        config = replace(
            Config(),
            store_path=root / f"restart-{delay}.sqlite3",
            daemons=(p2pool_daemon(free_port()),),
            supervisor=SupervisorConfig(
                runtime_dir=runtime,
                initial_delay=delay,
                max_restarts=count + 5,
                restart_period=1.0,
            ),
        )
        results.append((label, anyio.run(_restart_latencies, config, count)))
        shutil.rmtree(runtime, ignore_errors=True)
    return results


# 2 and 3. db4e run as a subprocess


def write_config(root: Path, with_all: bool) -> Path:
    """Write a `db4e run` configuration. Without `with_all`: a busy simulated P2Pool
    alone (a share every 0.5 s, 20 lines/s), for latency samples. With it: monerod
    (when installed), P2Pool and XMRig at the rates of a real farm (P2Pool at its
    default log level prints about one line a second, db4e asks for `status` and
    `workers` every minute and reads XMRig's API every minute)."""
    stratum, http = free_port(), free_port()
    daemons = []
    monerod = shutil.which("monerod")
    if with_all and monerod:
        p2p, rpc, zmq = free_port(), free_port(), free_port()
        args = [
            "--regtest", "--offline", "--non-interactive",
            "--data-dir", str(root / "monero"),
            "--p2p-bind-ip", "127.0.0.1", "--p2p-bind-port", str(p2p),
            "--rpc-bind-ip", "127.0.0.1", "--rpc-bind-port", str(rpc),
            "--zmq-rpc-bind-ip", "127.0.0.1", "--zmq-rpc-bind-port", str(zmq),
            "--no-igd", "--fixed-difficulty", "1",
        ]  # fmt: skip
        daemons.append(
            f'[daemons.monerod]\ncommand = "{monerod}"\nargs = {json.dumps(args)}\n'
            f'rpc_url = "http://127.0.0.1:{rpc}"\n'
        )
    rate = ["--lines-per-second", "1"] if with_all else ["--share-every", "0.5",
            "--lines-per-second", "20"]  # fmt: skip
    interval = 60 if with_all else 10
    p2pool_args = [
        "-m", "db4e.simulate.p2pool_daemon", "--stratum-port", str(stratum), *rate,
    ]  # fmt: skip
    daemons.append(
        f'[daemons.p2pool]\ncommand = "{sys.executable}"\n'
        f"args = {json.dumps(p2pool_args)}\n"
        f'stratum = "127.0.0.1:{stratum}"\nconsole_interval = {interval}\n'
    )
    if with_all:
        xmrig_args = [
            "-m", "db4e.simulate.xmrig_daemon", "-o", f"127.0.0.1:{stratum}",
            "--http-port", str(http),
        ]  # fmt: skip
        daemons.append(
            f'[daemons.xmrig]\ncommand = "{sys.executable}"\n'
            f"args = {json.dumps(xmrig_args)}\n"
            f'api_url = "http://127.0.0.1:{http}"\napi_interval = 60\n'
        )
    runtime = tempfile.mkdtemp(prefix="db4e-bench-")
    config = root / f"config-{with_all}.toml"
    config.write_text(
        f'[store]\npath = "{root / f"run-{with_all}.sqlite3"}"\n'
        f'[supervisor]\nruntime_dir = "{runtime}"\n' + "".join(daemons)
    )
    return config


def run_db4e(
    config: Path, seconds: float, sample: bool
) -> tuple[float, int, dict[str, object]]:
    """Run `db4e run` for `seconds` once every daemon is ready; return its CPU seconds
    over that span, its peak RSS in KiB and the store figures of its status."""
    process = subprocess.Popen(
        [sys.executable, "-m", "db4e", "--config", str(config), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(config)
        cpu_start = _cpu_seconds(process.pid)
        peak = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if sample:
                peak = max(peak, _rss_kib(process.pid))
            time.sleep(0.5)
        cpu = _cpu_seconds(process.pid) - cpu_start
        peak = max(peak, _rss_kib(process.pid))
        store = _store_status(config)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
    return cpu, peak, store


def _store_status(config: Path) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-m", "db4e", "--config", str(config), "status", "--json"],
        capture_output=True,
        check=False,
    )
    document = json.loads(result.stdout)
    store: dict[str, object] = document["supervisor"]["store"]
    return store


def _wait_healthy(config: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        result = subprocess.run(
            [sys.executable, "-m", "db4e", "--config", str(config), "status"],
            capture_output=True,
            check=False,
        )
        if result.returncode == 0:
            return
        time.sleep(0.5)
    raise TimeoutError("db4e run did not get healthy within 120 s")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def live_latencies(root: Path, seconds: float) -> tuple[list[float], dict[str, object]]:
    config = write_config(root, with_all=False)
    _cpu, _rss, store = run_db4e(config, seconds, sample=False)
    db = sqlite3.connect(root / "run-False.sqlite3")
    try:
        rows = db.execute(
            "SELECT stored_at - ts_utc FROM events WHERE source = 'p2pool' "
            "AND kind IN ('share_found', 'worker', 'workers_total')"
        ).fetchall()
    finally:
        db.close()
    return [micros / 1e6 for (micros,) in rows], store


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--restarts", type=int, default=20)
    parser.add_argument("--live-seconds", type=float, default=30.0)
    parser.add_argument("--cost-seconds", type=float, default=60.0)
    parser.add_argument("--only-cost", action="store_true", help="measure cost only")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="db4e-bench-"))
    try:
        report(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def report(args: argparse.Namespace, root: Path) -> None:
    if args.only_cost:
        report_cost(args, root)
        return
    emit("| restart latency (kill -9 to new process) | n | p50 ms | p99 ms | max ms |")
    emit("| --- | --- | --- | --- | --- |")
    for label, values in restart_latency(args.restarts, root):
        ms = [v * 1000 for v in values]
        emit(
            f"| {label} | {len(ms)} | {statistics.median(ms):.1f} | "
            f"{percentile(ms, 0.99):.1f} | {max(ms):.1f} |"
        )
    seconds, store = live_latencies(root, args.live_seconds)
    live = [v * 1000 for v in seconds]
    emit()
    emit("| live latency | n | p50 ms | p99 ms |")
    emit("| --- | --- | --- | --- |")
    emit(
        f"| P2Pool writes the line → row built for the commit | {len(live)} | "
        f"{statistics.median(live):.2f} | {percentile(live, 0.99):.2f} |"
    )
    emit(
        f"| bytes read from the pipe → commit done (store actor, last 1000) | "
        f"{store['batches']} batches | {store['commit_latency_p50_ms']} | "
        f"{store['commit_latency_p99_ms']} |"
    )
    report_cost(args, root)


def report_cost(args: argparse.Namespace, root: Path) -> None:
    config = write_config(root, with_all=True)
    cpu, rss, _store = run_db4e(config, args.cost_seconds, True)
    daemons = "monerod, p2pool, xmrig" if shutil.which("monerod") else "p2pool, xmrig"
    emit()
    emit("| supervisor cost | daemons | seconds | CPU % | peak RSS MB |")
    emit("| --- | --- | --- | --- | --- |")
    emit(
        f"| db4e run process | {daemons} | {args.cost_seconds:g} | "
        f"{100 * cpu / args.cost_seconds:.2f} | {rss / 1024:.1f} |"
    )


if __name__ == "__main__":
    main()
