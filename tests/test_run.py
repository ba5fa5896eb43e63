"""`db4e run` end to end: a real regtest monerod and the simulated P2Pool under the real
command, driven through signals, the status socket and the store."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

MONEROD = shutil.which("monerod") or "/usr/bin/monerod"

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(autouse=True)
def need_monerod() -> None:
    if os.path.exists(MONEROD):
        return
    message = "needs monerod (Debian package monero)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI must install it")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(check: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # kill 0 succeeds on a zombie too, so /proc tells it apart.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


@dataclass
class Farm:
    root: Path
    config: Path
    process: subprocess.Popen[bytes] | None = None

    def db4e(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "db4e", "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start(self) -> None:
        with (self.root / "run.log").open("ab") as log:
            self._spawn(log)

    def _spawn(self, log: Any) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "db4e",
                "--config",
                str(self.config),
                "--log-level",
                "info",
                "run",
            ],
            stdout=log,
            stderr=log,
        )

    def status(self) -> dict[str, Any] | None:
        result = self.db4e("status", "--json")
        if result.returncode not in (0, 1) or not result.stdout.strip():
            return None
        document: dict[str, Any] = json.loads(result.stdout)
        return document.get("supervisor")

    def daemon(self, name: str) -> dict[str, Any]:
        status = self.status()
        assert status is not None, self.log()
        info: dict[str, Any] = status["daemons"][name]
        return info

    def wait_ready(self, timeout: float = 60.0) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            status = self.status()
            if status and all(
                d["state"] == "ready" for d in status["daemons"].values()
            ):
                return status
            return None

        result: dict[str, Any] = wait_until(ready, timeout, "every daemon ready")
        return result

    def events(self, kind: str) -> list[dict[str, Any]]:
        db = sqlite3.connect(f"file:{self.root / 'db4e.sqlite3'}?mode=ro", uri=True)
        try:
            rows = db.execute(
                "SELECT data FROM events WHERE kind = ? ORDER BY id", (kind,)
            ).fetchall()
        finally:
            db.close()
        return [json.loads(data) for (data,) in rows]

    def log(self) -> str:
        path = self.root / "run.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def write_config(root: Path, extra: str = "", p2pool_args: str = "") -> Path:
    p2p, rpc, zmq, stratum = free_port(), free_port(), free_port(), free_port()
    monerod_args = [
        "--regtest", "--offline", "--non-interactive",
        "--data-dir", str(root / "monero"),
        "--p2p-bind-ip", "127.0.0.1", "--p2p-bind-port", str(p2p),
        "--rpc-bind-ip", "127.0.0.1", "--rpc-bind-port", str(rpc),
        "--zmq-rpc-bind-ip", "127.0.0.1", "--zmq-rpc-bind-port", str(zmq),
        "--no-igd", "--fixed-difficulty", "1",
    ]  # fmt: skip
    p2pool = [
        "-m", "db4e.simulate.p2pool_daemon",
        "--stratum-port", str(stratum),
        "--share-every", "2", "--lines-per-second", "5",
    ]  # fmt: skip
    config = root / "config.toml"
    config.write_text(
        f"""
[store]
path = "{root / "db4e.sqlite3"}"

[supervisor]
runtime_dir = "{root / "run"}"
initial_delay = 0.05
max_delay = 0.5
{extra}

[daemons.monerod]
command = "{MONEROD}"
args = {json.dumps(monerod_args)}
rpc_url = "http://127.0.0.1:{rpc}"
stop_timeout = 30

[daemons.p2pool]
command = "{sys.executable}"
args = {json.dumps(p2pool + p2pool_args.split())}
stratum = "127.0.0.1:{stratum}"
console_interval = 2
stop_timeout = 5
"""
    )
    return config


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[Farm]:
    handle = Farm(tmp_path, write_config(tmp_path))
    yield handle
    if handle.process is not None and handle.process.poll() is None:
        handle.stop()


def test_run_starts_in_order_and_answers(farm: Farm) -> None:
    farm.start()
    status = farm.wait_ready()
    assert status["supervisor"]["healthy"] is True
    assert status["daemons"]["monerod"]["synchronized"] is True
    assert status["daemons"]["p2pool"]["uptime_seconds"] >= 0
    assert set(status) >= {"supervisor", "daemons", "actors", "store", "parser"}
    ready = farm.events("daemon_ready")
    started = farm.events("daemon_started")
    assert [e["daemon"] for e in ready][:2] == ["monerod", "p2pool"]
    p2pool_start = next(e for e in started if e["daemon"] == "p2pool")
    assert ready[0]["timestamp"] <= p2pool_start["timestamp"]
    assert farm.db4e("status").returncode == 0


def test_run_stores_live_p2pool_output(farm: Farm) -> None:
    farm.start()
    farm.wait_ready()
    wait_until(lambda: farm.events("share_found"), 30, "a stored share")
    wait_until(lambda: farm.events("stratum_status"), 30, "a stored status record")
    workers = wait_until(lambda: farm.events("worker"), 30, "stored worker lines")
    assert workers[0]["name"].startswith("rig")


def test_run_restarts_killed_daemon(farm: Farm) -> None:
    farm.start()
    farm.wait_ready()
    old_pid = farm.daemon("p2pool")["pid"]
    os.kill(old_pid, signal.SIGKILL)

    def replaced() -> bool:
        info = farm.daemon("p2pool")
        return info["state"] == "ready" and info.get("pid") not in (None, old_pid)

    wait_until(replaced, 30, "p2pool restarted")
    assert farm.daemon("p2pool")["restarts"] == 1
    restarted = wait_until(lambda: farm.events("daemon_restarted"), 10, "the event")
    assert restarted[0]["daemon"] == "p2pool"
    assert restarted[0]["attempt"] == 1
    exited = [e for e in farm.events("daemon_exited") if e["daemon"] == "p2pool"]
    assert exited[0]["signal"] == signal.SIGKILL


def test_run_sigterm_stops_newest_first(farm: Farm) -> None:
    farm.start()
    status = farm.wait_ready()
    pids = [d["pid"] for d in status["daemons"].values()]
    assert farm.stop() == 0
    assert not any(alive(pid) for pid in pids)
    stopped = [e["daemon"] for e in farm.events("daemon_stopped")]
    assert stopped == ["p2pool", "monerod"]
    assert not (farm.root / "run" / "db4e.sock").exists()


def test_run_sigkill_leaves_no_orphans(farm: Farm) -> None:
    farm.start()
    status = farm.wait_ready()
    old = {name: d["pid"] for name, d in status["daemons"].items()}
    assert farm.process is not None
    farm.process.kill()
    farm.process.wait(timeout=10)
    farm.start()
    new = farm.wait_ready()
    assert not alive(old["p2pool"])
    assert not alive(old["monerod"])
    assert new["daemons"]["p2pool"]["pid"] != old["p2pool"]
    assert "left running by an earlier db4e run" in farm.log()


def test_run_db4e_stop_command(farm: Farm) -> None:
    farm.start()
    farm.wait_ready()
    result = farm.db4e("stop")
    assert result.returncode == 0
    assert "db4e run stopped" in result.stdout
    assert farm.process is not None
    assert farm.process.wait(timeout=60) == 0


def test_run_second_instance_refused(farm: Farm) -> None:
    farm.start()
    farm.wait_ready()
    second = farm.db4e("run")
    assert second.returncode == 3
    assert "db4e run is already running" in second.stderr


def test_status_not_running_exit_2(farm: Farm) -> None:
    result = farm.db4e("status")
    assert result.returncode == 2
    assert "db4e run is not running" in result.stderr
    assert "no store at" in result.stderr


def test_restart_rest_for_one_restarts_dependents(tmp_path: Path) -> None:
    farm = Farm(tmp_path, write_config(tmp_path, 'strategy = "rest_for_one"'))
    try:
        farm.start()
        status = farm.wait_ready()
        old_p2pool = status["daemons"]["p2pool"]["pid"]
        result = farm.db4e("restart", "monerod")
        assert result.returncode == 0, result.stderr
        new = farm.wait_ready()
        assert new["daemons"]["p2pool"]["pid"] != old_p2pool
        assert not alive(old_p2pool)
    finally:
        farm.stop()


def test_run_daily_restart(tmp_path: Path) -> None:
    # Far enough ahead that the daemons are ready, and their pids read, before it.
    at = (datetime.now().astimezone() + timedelta(seconds=25)).strftime("%H:%M:%S")
    config = write_config(tmp_path, f'\n[schedule]\ndaily_restart = "{at}"\n')
    farm = Farm(tmp_path, config)
    try:
        farm.start()
        old = farm.wait_ready()["daemons"]
        assert not farm.events("daily_restart"), "started too late to see the restart"
        jobs = wait_until(lambda: farm.events("daily_restart"), 60, "the restart")
        assert jobs[0]["outcome"] == "ok"
        assert jobs[0]["ready"] == ["monerod", "p2pool"]
        new = farm.wait_ready()["daemons"]
        assert new["monerod"]["pid"] != old["monerod"]["pid"]
        assert new["p2pool"]["pid"] != old["p2pool"]["pid"]
    finally:
        farm.stop()


def test_run_restarts_hung_daemon(tmp_path: Path) -> None:
    config = write_config(tmp_path, p2pool_args="--hang-after 2")
    text = config.read_text().replace(
        "console_interval = 2", "console_interval = 1\nliveness_timeout = 3"
    )
    config.write_text(text)
    farm = Farm(tmp_path, config)
    try:
        farm.start()
        farm.wait_ready()
        stalled = wait_until(lambda: farm.events("daemon_stalled"), 60, "a stall")
        assert stalled[0]["daemon"] == "p2pool"
        wait_until(lambda: farm.daemon("p2pool")["restarts"] >= 1, 30, "a restart")
    finally:
        farm.stop()


def test_run_without_daemons_rejected(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "db4e.sqlite3"}"\n')
    result = subprocess.run(
        [sys.executable, "-m", "db4e", "--config", str(config), "run"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 3
    assert "no daemons configured" in result.stderr


def test_run_external_daemon_followed(tmp_path: Path) -> None:
    stratum = free_port()
    log = tmp_path / "p2pool.log"
    p2pool = subprocess.Popen(
        [
            sys.executable, "-m", "db4e.simulate.p2pool_daemon",
            "--stratum-port", str(stratum), "--log-file", str(log),
            "--share-every", "1", "--lines-per-second", "5",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[store]
path = "{tmp_path / "db4e.sqlite3"}"
[supervisor]
runtime_dir = "{tmp_path / "run"}"
[daemons.p2pool]
external = true
log_file = "{log}"
stratum = "127.0.0.1:{stratum}"
"""
    )
    farm = Farm(tmp_path, config)
    try:
        farm.start()
        status = farm.wait_ready()
        assert status["daemons"]["p2pool"]["external"] is True
        shares = wait_until(lambda: farm.events("share_found"), 30, "followed shares")
        assert shares[0]["source"] == "p2pool"
        assert farm.stop() == 0
        # db4e never stops an external daemon.
        assert p2pool.poll() is None
    finally:
        if farm.process is not None and farm.process.poll() is None:
            farm.stop()
        p2pool.kill()
        p2pool.wait(timeout=10)
        assert p2pool.stdin is not None
        p2pool.stdin.close()
