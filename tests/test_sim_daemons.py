"""The simulated P2Pool and XMRig daemons, run as real subprocesses.

Each test starts the simulators with `sys.executable -m …` and talks to them as a
supervisor would: through stdin, stdout and stderr, signals, TCP ports and files.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from db4e.parser import Event, Parser

pytestmark = pytest.mark.timeout(60)

P2POOL = "db4e.simulate.p2pool_daemon"
XMRIG = "db4e.simulate.xmrig_daemon"
#: Seconds a test waits for an expected line.
WAIT_S = 10.0
#: Largest gap in seconds between a command and the timestamps of its output.
NOW_TOLERANCE_S = 5.0
LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
HTTP_API = re.compile(r" \* HTTP API +127\.0\.0\.1:(\d+)")
#: Options that make the P2Pool simulator quick and chatty enough for tests.
FAST_P2POOL = ("--stratum-port", "0", "--lines-per-second", "20")


class Stream:
    """The lines of one output pipe, collected by a thread as they arrive."""

    def __init__(self, pipe: Any) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe: Any) -> None:
        for raw in iter(pipe.readline, b""):
            with self._changed:
                self.lines.append(raw.decode("utf-8", "replace"))
                self._changed.notify_all()

    def wait_for(
        self,
        match: str | Callable[[str], bool],
        start: int = 0,
        timeout: float = WAIT_S,
    ) -> int:
        """Return the index of the first line from `start` that contains `match`
        (or satisfies it); fail after `timeout` seconds."""
        test = match if callable(match) else (lambda line: match in line)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index in range(start, len(self.lines)):
                    if test(self.lines[index]):
                        return index
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    tail = "".join(self.lines[-20:])
                    pytest.fail(
                        f"no line with {match!r} in {timeout} s; last lines:\n{tail}"
                    )
                self._changed.wait(remaining)

    def quiet_for(self, seconds: float, start: int) -> bool:
        """Return True when no line arrives after index `start` for `seconds`."""
        time.sleep(seconds)
        return len(self.lines) == start

    def text(self, start: int = 0, end: int | None = None) -> bytes:
        return "".join(self.lines[start:end]).encode()


class Daemon:
    """One simulator process with its output streams."""

    def __init__(self, module: str, *args: str, stdin: Any = subprocess.PIPE) -> None:
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self.out = Stream(self.process.stdout)
        self.err = Stream(self.process.stderr)

    def send(self, data: str | bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data.encode() if isinstance(data, str) else data)
        self.process.stdin.flush()

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = WAIT_S) -> int:
        return self.process.wait(timeout=timeout)

    def alive(self) -> bool:
        return self.process.poll() is None


@pytest.fixture
def spawn() -> Iterator[Callable[..., Daemon]]:
    """Start simulators and kill whatever is still running after the test."""
    daemons: list[Daemon] = []

    def start(module: str, *args: str, stdin: Any = subprocess.PIPE) -> Daemon:
        daemon = Daemon(module, *args, stdin=stdin)
        daemons.append(daemon)
        return daemon

    yield start
    for daemon in daemons:
        if daemon.alive():
            daemon.process.kill()
        daemon.process.wait(timeout=WAIT_S)
        for pipe in (
            daemon.process.stdin,
            daemon.process.stdout,
            daemon.process.stderr,
        ):
            if pipe is not None:
                pipe.close()


def parse(data: bytes) -> list[Event]:
    parser = Parser()
    return parser.feed(data) + parser.finish()


def kinds(events: list[Event]) -> list[str]:
    return [event.kind for event in events]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def connects(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def port_from(stream: Stream, pattern: re.Pattern[str], start: int = 0) -> int:
    index = stream.wait_for(lambda line: pattern.search(line) is not None, start)
    found = pattern.search(stream.lines[index])
    assert found is not None
    return int(found.group(1))


def assert_now(event: Event) -> None:
    """Check that an event's timestamp (UTC) is the current time."""
    assert event.ts_micros is not None
    assert abs(event.ts_micros / 1e6 - time.time()) < NOW_TOLERANCE_S


def wait_until(condition: Callable[[], bool], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met in {timeout} s")
        time.sleep(0.05)


def get(
    port: int, path: str, token: str | None = None, header: str | None = None
) -> tuple[int, Any]:
    """Send `GET path` to the XMRig API; return the status and the decoded body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2.0)
    headers = {}
    if header is not None:
        headers["Authorization"] = header
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    return response.status, json.loads(body) if body else None


def read_json(path: Path) -> Any:
    return json.loads(path.read_bytes())


# -- P2Pool: start-up and console commands -------------------------------------


def test_p2pool_startup_parses_into_kinds(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(P2POOL, *FAST_P2POOL)
    daemon.out.wait_for("Log started")
    first_output_s = time.monotonic() - daemon.started
    end = daemon.out.wait_for("listening on")
    events = parse(daemon.out.text(0, end + 1))
    found = kinds(events)

    assert first_output_s < 1.5
    assert found[0] == "log_started"
    assert "version" in found
    version = next(e for e in events if e.kind == "version").fields()
    assert version["version"] == "v4.18"
    assert version["build"].startswith("built with ")
    config_keys = {e.fields()["key"] for e in events if e.kind == "sidechain_config"}
    assert config_keys == {
        "network type",
        "pool name",
        "block time",
        "min diff",
        "PPLNS window",
        "uncle penalty",
    }
    for event in events:
        assert_now(event)


def test_p2pool_status_command_events_now(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(P2POOL, *FAST_P2POOL)
    start = daemon.out.wait_for("listening on")
    daemon.send("status\n")
    end = daemon.out.wait_for("Node health", start)
    events = parse(daemon.out.text(start, end + 1))
    status_kinds = {"sidechain_status", "stratum_status", "p2p_status", "node_health"}
    status = [e for e in events if e.kind in status_kinds]

    assert kinds(status) == [
        "sidechain_status",
        "stratum_status",
        "p2p_status",
        "node_health",
    ]
    assert status[-1].fields()["score"] == 10
    assert status[0].fields()["wallet"] == "4" + "A" * 94
    for event in status:
        assert_now(event)


def test_p2pool_workers_command_lists_workers(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(P2POOL, *FAST_P2POOL, "--workers", "3")
    start = daemon.out.wait_for("listening on")
    daemon.send("workers\n")
    end = daemon.out.wait_for("Total: 3 workers", start)
    events = parse(daemon.out.text(start, end + 1))
    workers = [e for e in events if e.kind == "worker"]
    totals = [e for e in events if e.kind == "workers_total"]

    assert [w.fields()["name"] for w in workers] == ["rig1", "rig2", "rig3"]
    assert len(totals) == 1
    assert totals[0].fields()["count"] == 3
    for event in workers + totals:
        assert_now(event)


def test_p2pool_unknown_command_warns_on_stderr(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(P2POOL, *FAST_P2POOL)
    start = daemon.out.wait_for("listening on")
    daemon.send("bogus\xff\n")
    daemon.err.wait_for("Unknown command bogus?")
    help_start = daemon.out.wait_for("List of commands", start)
    daemon.out.wait_for("show p2pool version", help_start)

    assert not any("Unknown command" in line for line in daemon.out.lines)
    assert not any("List of commands" in line for line in daemon.err.lines)


def test_p2pool_framing_and_prefix_match(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(P2POOL, *FAST_P2POOL, "--workers", "2")
    start = daemon.out.wait_for("listening on")
    # Two commands in one write, CR and LF line ends, an empty line, and a command
    # name followed by other text, which P2Pool still runs.
    daemon.send("statusXYZ\r\n\r\nworkers\r")
    status = daemon.out.wait_for("Node health", start)
    daemon.out.wait_for("Total: 2 workers", status)
    daemon.send("loglevel 9\n")
    daemon.out.wait_for("log level set to 6", start)

    assert not any("Unknown command" in line for line in daemon.err.lines)


def test_p2pool_version_command(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(P2POOL, *FAST_P2POOL)
    start = daemon.out.wait_for("listening on")
    daemon.send("version\n")
    index = daemon.out.wait_for("ConsoleCommands P2Pool v4.18 (", start)
    daemon.out.wait_for("Dependencies:", index)
    daemon.out.wait_for(" - libuv ", index)
    events = parse(daemon.out.text(index, index + 1))

    assert kinds(events) == ["version"]
    assert events[0].fields()["category"] == "ConsoleCommands"


def test_p2pool_exit_command_stops_cleanly(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(P2POOL, *FAST_P2POOL)
    daemon.out.wait_for("listening on")
    daemon.send("exit\n")

    assert daemon.wait() == 0
    daemon.out.wait_for("Log stopped")
    assert "P2Pool stopping" in daemon.out.text().decode()
    assert daemon.out.lines[-1].rstrip("\n").endswith("Log stopped")
    assert kinds(parse(daemon.out.text()))[-1] == "log_stopped"


def test_p2pool_stdin_eof_keeps_running(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(P2POOL, *FAST_P2POOL)
    daemon.out.wait_for("listening on")
    assert daemon.process.stdin is not None
    daemon.process.stdin.close()
    time.sleep(1.0)

    assert daemon.alive()
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0
    text = daemon.out.text().decode()
    assert "P2Pool caught SIGTERM" in text
    assert daemon.out.lines[-1].rstrip("\n").endswith("Log stopped")
    signals = [e for e in parse(daemon.out.text()) if e.kind == "shutdown_signal"]
    assert [e.fields()["signal"] for e in signals] == ["SIGTERM"]


def test_p2pool_sigint_stops_cleanly(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(P2POOL, *FAST_P2POOL)
    daemon.out.wait_for("listening on")
    daemon.signal(signal.SIGINT)

    assert daemon.wait() == 0
    assert "P2Pool caught SIGINT" in daemon.out.text().decode()
    assert daemon.out.lines[-1].rstrip("\n").endswith("Log stopped")


def test_p2pool_stdin_devnull_not_read(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(P2POOL, *FAST_P2POOL, stdin=subprocess.DEVNULL)
    daemon.err.wait_for("ConsoleCommands tty or named pipe is not available")
    daemon.out.wait_for("listening on")

    assert daemon.alive()


# -- P2Pool: stratum port ------------------------------------------------------


def test_p2pool_stratum_opens_after_ready_delay(
    spawn: Callable[..., Daemon],
) -> None:
    port = free_port()
    daemon = spawn(P2POOL, "--stratum-port", str(port), "--ready-delay", "2")
    daemon.out.wait_for("Log started")
    refused_early = not connects(port)
    daemon.out.wait_for(f"StratumServer listening on 127.0.0.1:{port}")
    opened_after_s = time.monotonic() - daemon.started

    assert refused_early
    assert opened_after_s >= 2.0
    assert connects(port)


def test_p2pool_stratum_port_zero_prints_port(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(P2POOL, *FAST_P2POOL)
    port = port_from(daemon.out, LISTENING)

    assert port > 0
    assert connects(port)


def test_p2pool_stratum_login_counts_worker(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(P2POOL, *FAST_P2POOL, "--workers", "2")
    port = port_from(daemon.out, LISTENING)
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as miner:
        login = {
            "id": 1,
            "jsonrpc": "2.0",
            "method": "login",
            "params": {"login": "rig42+50000", "pass": "x", "agent": "test"},
        }
        miner.sendall(json.dumps(login).encode() + b"\n")
        answer = json.loads(miner.makefile("rb").readline())
        local = f"127.0.0.1:{miner.getsockname()[1]}"
        start = len(daemon.out.lines)
        daemon.send("workers\n")
        end = daemon.out.wait_for("Total: 3 workers", start)
        workers = [
            e.fields()
            for e in parse(daemon.out.text(start, end + 1))
            if e.kind == "worker"
        ]

    assert answer["id"] == 1
    assert answer["result"]["status"] == "OK"
    assert answer["result"]["job"]["algo"] == "rx/0"
    assert len(answer["result"]["job"]["target"]) == 16
    assert {"address": local, "name": "rig42"} in [
        {"address": w["address"], "name": w["name"]} for w in workers
    ]


def test_p2pool_stratum_port_in_use_fails(spawn: Callable[..., Daemon]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        daemon = spawn(P2POOL, "--stratum-port", str(port))
        code = daemon.wait()

    assert code == 1
    errors = daemon.err.text().decode()
    assert f"failed to listen on tcp server socket 127.0.0.1:{port}" in errors
    assert "error EADDRINUSE" in errors
    assert "P2Pool can't continue execution: panic at" in errors


# -- P2Pool: data API, local console, log file ----------------------------------


def test_p2pool_data_api_files_have_shapes(
    spawn: Callable[..., Daemon], tmp_path: Path
) -> None:
    daemon = spawn(
        P2POOL,
        *FAST_P2POOL,
        "--data-api",
        str(tmp_path),
        "--local-api",
        "--data-api-interval",
        "0.2",
    )
    daemon.out.wait_for("listening on")
    names = (
        "network/stats",
        "pool/stats",
        "local/stratum",
        "local/p2p",
        "local/console",
    )
    wait_until(lambda: all((tmp_path / name).exists() for name in names))
    network = read_json(tmp_path / "network/stats")
    pool = read_json(tmp_path / "pool/stats")
    stratum = read_json(tmp_path / "local/stratum")
    p2p = read_json(tmp_path / "local/p2p")
    console = read_json(tmp_path / "local/console")

    for name in names:
        assert not (tmp_path / name).read_bytes().endswith(b"\n")
    assert set(network) == {"difficulty", "hash", "height", "reward", "timestamp"}
    assert re.fullmatch(r"[0-9a-f]{64}", network["hash"])
    assert pool["pool_list"] == ["pplns"]
    assert set(pool["pool_statistics"]) == {
        "hashRate",
        "miners",
        "totalHashes",
        "lastBlockFoundTime",
        "lastBlockFound",
        "totalBlocksFound",
        "pplnsWeight",
        "pplnsWindowSize",
        "sidechainDifficulty",
        "sidechainHeight",
    }
    assert set(stratum) >= {
        "hashrate_15m",
        "hashrate_1h",
        "hashrate_24h",
        "total_hashes",
        "total_stratum_shares",
        "last_share_found_time",
        "shares_found",
        "shares_failed",
        "average_effort",
        "current_effort",
        "connections",
        "incoming_connections",
        "block_reward_share_percent",
        "wallet",
        "workers",
    }
    assert stratum["connections"] == 8
    assert len(stratum["workers"]) == 8
    assert stratum["workers"][0].split(",")[-1] == "rig1"
    assert set(p2p) == {
        "connections",
        "incoming_connections",
        "peer_list_size",
        "peers",
        "uptime",
        "zmq_last_active",
    }
    assert len(p2p["peers"]) == p2p["connections"]
    assert console["mode"] == "pipe"
    assert len(console["cookie"]) == 20
    assert all(" " <= c <= "~" for c in console["cookie"])
    assert stat.S_IMODE((tmp_path / "local").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "local/stratum").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "pool/stats").stat().st_mode) == 0o644
    assert not any("." in path.name for path in tmp_path.rglob("*"))


def test_p2pool_data_api_writes_atomically(
    spawn: Callable[..., Daemon], tmp_path: Path
) -> None:
    daemon = spawn(
        P2POOL,
        *FAST_P2POOL,
        "--data-api",
        str(tmp_path),
        "--data-api-interval",
        "0.05",
    )
    daemon.out.wait_for("listening on")
    path = tmp_path / "pool/stats"
    wait_until(path.exists)
    heights = set()
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        # Every read must see a whole document.
        document = json.loads(path.read_bytes())
        heights.add(document["pool_statistics"]["sidechainHeight"])
    with path.open("rb") as opened_before:
        before = path.read_bytes()
        wait_until(lambda: path.read_bytes() != before)
        # A rename leaves the old file whole for a reader that has it open; an
        # in-place rewrite would change what it reads.
        kept = opened_before.read()

    assert len(heights) > 1
    assert kept == before
    leftovers = [p.name for p in path.parent.iterdir() if p.name != "stats"]
    assert leftovers == []


def test_p2pool_local_console_checks_cookie(
    spawn: Callable[..., Daemon], tmp_path: Path
) -> None:
    daemon = spawn(P2POOL, *FAST_P2POOL, "--data-api", str(tmp_path), "--local-api")
    daemon.out.wait_for("ConsoleCommands listening on")
    # P2Pool writes the file after it logs the listening port.
    wait_until((tmp_path / "local/console").exists)
    console = read_json(tmp_path / "local/console")
    start = len(daemon.out.lines)
    with socket.create_connection(("127.0.0.1", console["tcp_port"])) as client:
        client.sendall(b"X" * 20 + b"workers\n")
        client.sendall(console["cookie"].encode() + b"status\n")
        daemon.out.wait_for("Node health", start)
        time.sleep(0.5)

    assert not any("Total:" in line for line in daemon.out.lines[start:])
    assert daemon.alive()


def test_p2pool_log_file_has_level_words(
    spawn: Callable[..., Daemon], tmp_path: Path
) -> None:
    log = tmp_path / "p2pool.log"
    daemon = spawn(P2POOL, *FAST_P2POOL, "--colours", "--log-file", str(log))
    daemon.out.wait_for("listening on")
    daemon.send("bogus\n")
    daemon.err.wait_for("Unknown command bogus")
    daemon.send("exit\n")
    assert daemon.wait() == 0
    lines = log.read_text().splitlines()
    events = parse(log.read_bytes())

    assert "\x1b[0;36m" in daemon.out.text().decode()
    assert "\x1b[" not in log.read_text()
    assert lines[0].startswith("NOTICE  ")
    assert lines[0].endswith(" Log started")
    assert any(
        line.startswith("WARNING ") and "Unknown command bogus" in line
        for line in lines
    )
    assert lines[-1].startswith("NOTICE  ")
    assert lines[-1].endswith(" Log stopped")
    assert "warning" in kinds(events)


# -- P2Pool: faults --------------------------------------------------------------


def test_p2pool_crash_after_exits_with_code(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(P2POOL, *FAST_P2POOL, "--crash-after", "0.5", "--exit-code", "3")

    assert daemon.wait() == 3
    panic = "P2Pool can't continue execution: panic at src/sim.cpp:1"
    assert panic in daemon.err.text().decode()
    panics = [e for e in parse(daemon.err.text()) if e.kind == "panic"]
    assert [e.fields()["location"] for e in panics] == ["src/sim.cpp:1"]


def test_p2pool_hang_after_stops_responding(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(P2POOL, *FAST_P2POOL, "--hang-after", "1")
    port = port_from(daemon.out, LISTENING)
    time.sleep(1.5)
    mark = len(daemon.out.lines)
    daemon.send("status\n")
    with socket.create_connection(("127.0.0.1", port), timeout=1.0) as miner:
        miner.sendall(b'{"id":1,"method":"login","params":{"login":"x"}}\n')
        with pytest.raises(TimeoutError):
            miner.recv(1)
    daemon.signal(signal.SIGTERM)

    assert daemon.out.quiet_for(1.0, mark)
    assert daemon.alive()
    daemon.process.kill()
    assert daemon.wait() == -signal.SIGKILL


@pytest.mark.parametrize(
    ("option", "signum"),
    [("--ignore-sigterm", signal.SIGTERM), ("--ignore-sigint", signal.SIGINT)],
)
def test_p2pool_ignored_signal_needs_sigkill(
    spawn: Callable[..., Daemon], option: str, signum: int
) -> None:
    daemon = spawn(P2POOL, *FAST_P2POOL, option)
    start = daemon.out.wait_for("listening on")
    daemon.signal(signum)
    time.sleep(1.0)
    daemon.send("status\n")
    daemon.out.wait_for("Node health", start)

    assert daemon.alive()
    assert "caught" not in daemon.out.text().decode()
    daemon.process.kill()
    assert daemon.wait() == -signal.SIGKILL


def test_p2pool_exit_immediately_writes_nothing(
    spawn: Callable[..., Daemon],
) -> None:
    daemon = spawn(P2POOL, "--exit-immediately", "7")

    assert daemon.wait() == 7
    assert daemon.out.text() == b""
    assert daemon.err.text() == b""


def test_p2pool_missing_data_api_dir_fails(
    spawn: Callable[..., Daemon], tmp_path: Path
) -> None:
    daemon = spawn(P2POOL, *FAST_P2POOL, "--data-api", str(tmp_path / "absent"))

    assert daemon.wait() == 1
    assert "doesn't exist" in daemon.err.text().decode()
    assert daemon.out.lines[-1].rstrip("\n").endswith("Log stopped")


# -- XMRig -----------------------------------------------------------------------


def test_xmrig_startup_parses_into_kinds(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(XMRIG, "--print-time", "0.3", "--share-every", "0.1")
    daemon.out.wait_for("ABOUT")
    first_output_s = time.monotonic() - daemon.started
    daemon.out.wait_for("miner    speed")
    daemon.out.wait_for("cpu      accepted")
    events = parse(daemon.out.text())
    found = set(kinds(events))
    about = next(e for e in events if e.kind == "xmrig_about").fields()

    assert first_output_s < 1.5
    assert {
        "xmrig_about",
        "xmrig_use_pool",
        "xmrig_new_job",
        "xmrig_ready",
        "xmrig_speed",
        "xmrig_accepted",
    } <= found
    assert about["version"] == "6.22.2"
    assert " * POOL #1      pool.invalid:3333 algo auto\n" in daemon.out.lines


def test_xmrig_timestamps_are_local_time(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(XMRIG)
    index = daemon.out.wait_for("net      use pool")
    stamp = daemon.out.lines[index][1:24]
    printed = time.mktime(time.strptime(stamp[:19], "%Y-%m-%d %H:%M:%S"))

    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", stamp)
    assert abs(printed - time.time()) < NOW_TOLERANCE_S


def test_xmrig_http_summary_fields(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(
        XMRIG,
        "--http-port",
        "0",
        "--hashrate",
        "2500",
        "--warmup-scale",
        "0.02",
        "--share-every",
        "0.1",
    )
    port = port_from(daemon.out, HTTP_API)
    status, early = get(port, "/2/summary")
    daemon.out.wait_for("cpu      accepted")
    time.sleep(0.5)
    _, document = get(port, "/2/summary")

    assert status == 200
    assert early["hashrate"]["total"][2] is None
    for field in (
        "id",
        "worker_id",
        "uptime",
        "version",
        "ua",
        "algo",
        "hashrate",
        "results",
        "connection",
        "hugepages",
    ):
        assert field in document
    assert document["version"] == "6.22.2"
    assert document["algo"] == "rx/0"
    assert len(document["hashrate"]["total"]) == 3
    assert document["hashrate"]["total"][0] == pytest.approx(2500, rel=0.05)
    assert document["hashrate"]["highest"] >= document["hashrate"]["total"][0]
    results = document["results"]
    assert results["shares_good"] >= 1
    assert results["shares_total"] == results["shares_good"]
    assert results["hashes_total"] == 50001 * results["shares_good"]
    assert len(results["best"]) == 10
    connection = document["connection"]
    assert connection["pool"] == "pool.invalid:3333"
    assert connection["accepted"] == results["shares_good"]
    assert connection["failures"] == 0
    assert len(document["hugepages"]) == 2


def test_xmrig_http_versions_and_paths(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(XMRIG, "--http-port", "0")
    port = port_from(daemon.out, HTTP_API)
    _, version_1 = get(port, "/1/summary")
    _, legacy = get(port, "/api.json")
    _, version_2 = get(port, "/2/summary")
    missing, error = get(port, "/2/nothing")

    assert "threads" in version_1["hashrate"]
    assert "error_log" in version_1["results"]
    assert "threads" in legacy["hashrate"]
    assert "threads" not in version_2["hashrate"]
    assert "error_log" not in version_2["connection"]
    assert missing == 404
    assert error == {"status": 404, "error": "Not Found"}


def test_xmrig_http_access_token(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(XMRIG, "--http-port", "0", "--http-access-token", "s3cret")
    port = port_from(daemon.out, HTTP_API)

    assert get(port, "/2/summary")[0] == 401
    assert get(port, "/2/summary", token="wrong")[0] == 403
    assert get(port, "/2/summary", header="Basic s3cret")[0] == 403
    assert get(port, "/2/summary", token="s3cret")[0] == 200
    assert get(port, "/2/summary")[1] == {"status": 401, "error": "Unauthorized"}


def test_xmrig_http_header_without_token(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(XMRIG, "--http-port", "0")
    port = port_from(daemon.out, HTTP_API)

    assert get(port, "/2/summary")[0] == 200
    assert get(port, "/2/summary", token="anything")[0] == 401


def test_xmrig_http_opens_after_ready_delay(spawn: Callable[..., Daemon]) -> None:
    port = free_port()
    daemon = spawn(XMRIG, "--http-port", str(port), "--ready-delay", "2")
    daemon.out.wait_for("ABOUT")
    refused_early = not connects(port)
    daemon.out.wait_for(f" * HTTP API     127.0.0.1:{port}")
    opened_after_s = time.monotonic() - daemon.started

    assert refused_early
    assert opened_after_s >= 2.0
    assert get(port, "/2/summary")[0] == 200


def test_xmrig_zero_hashrate_reports_nothing(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(
        XMRIG,
        "--http-port",
        "0",
        "--hashrate",
        "0",
        "--warmup-scale",
        "0.01",
        "--print-time",
        "0.3",
        "--share-every",
        "0.05",
    )
    port = port_from(daemon.out, HTTP_API)
    index = daemon.out.wait_for("miner    speed")
    time.sleep(0.5)
    _, document = get(port, "/2/summary")

    assert "speed 10s/60s/15m n/a n/a n/a H/s max n/a H/s" in daemon.out.lines[index]
    assert document["hashrate"]["total"] == [None, None, None]
    assert document["hashrate"]["highest"] is None
    assert document["results"]["shares_good"] == 0
    assert not any("accepted" in line for line in daemon.out.lines)


def test_xmrig_console_keys(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(XMRIG, "--http-port", "0", "--share-every", "0.05")
    port = port_from(daemon.out, HTTP_API)
    daemon.out.wait_for("cpu      accepted")
    daemon.send("h")
    daemon.out.wait_for("miner    speed")
    daemon.send("p")
    daemon.out.wait_for("miner    paused, press  r  to resume")
    _, paused = get(port, "/2/summary")
    mark = len(daemon.out.lines)
    time.sleep(0.5)
    accepted_while_paused = [
        line for line in daemon.out.lines[mark:] if "accepted" in line
    ]
    daemon.send("r")
    daemon.out.wait_for("miner    resumed")
    _, resumed = get(port, "/2/summary")
    daemon.send("s")
    daemon.out.wait_for(" - RESULTS")
    daemon.out.wait_for(" * pool-side hashes")
    daemon.send("c")
    daemon.out.wait_for(" - CONNECTION")
    index = daemon.out.wait_for(" * pool address")

    assert paused["paused"] is True
    assert accepted_while_paused == []
    assert resumed["paused"] is False
    assert "pool.invalid:3333 (192.0.2.1)" in daemon.out.lines[index]


def test_xmrig_sigterm_exits_zero(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(XMRIG)
    daemon.out.wait_for("net      use pool")
    daemon.signal(signal.SIGTERM)

    assert daemon.wait() == 0
    signals = [e for e in parse(daemon.out.text()) if e.kind == "xmrig_signal"]
    assert [e.fields()["signal"] for e in signals] == ["SIGTERM"]


def test_xmrig_mines_to_p2pool_simulator(spawn: Callable[..., Daemon]) -> None:
    p2pool = spawn(P2POOL, *FAST_P2POOL, "--workers", "1")
    port = port_from(p2pool.out, LISTENING)
    xmrig = spawn(
        XMRIG, "-o", f"127.0.0.1:{port}", "-u", "rig7", "--share-every", "0.1"
    )
    xmrig.out.wait_for("cpu      accepted")
    start = len(p2pool.out.lines)
    p2pool.send("workers\n")
    end = p2pool.out.wait_for("Total: 2 workers", start)
    names = [
        e.fields()["name"]
        for e in parse(p2pool.out.text(start, end + 1))
        if e.kind == "worker"
    ]
    events = parse(xmrig.out.text())
    use_pool = next(e for e in events if e.kind == "xmrig_use_pool").fields()
    jobs = [e.fields() for e in events if e.kind == "xmrig_new_job"]

    assert names == ["rig1", "rig7"]
    assert use_pool["pool"] == f"127.0.0.1:{port}"
    assert use_pool["ip"] == "127.0.0.1"
    assert jobs[0]["diff"] == 50001
    assert jobs[0]["height"] > 0


def test_xmrig_retries_refused_pool(spawn: Callable[..., Daemon]) -> None:
    port = free_port()
    daemon = spawn(XMRIG, "-o", f"127.0.0.1:{port}", "--retry-pause", "0.2")
    first = daemon.out.wait_for("connect error")
    daemon.out.wait_for("connect error", first + 1)
    errors = [
        e.fields() for e in parse(daemon.out.text()) if e.kind == "xmrig_connect_error"
    ]

    assert errors[0]["pool"] == f"127.0.0.1:{port}"
    assert errors[0]["ip"] == "127.0.0.1"
    assert errors[0]["error"] == "connection refused"
    assert daemon.alive()


def test_xmrig_reconnects_after_pool_restart(spawn: Callable[..., Daemon]) -> None:
    port = free_port()
    pool_args = ("--stratum-port", str(port), "--lines-per-second", "20")
    first_pool = spawn(P2POOL, *pool_args)
    first_pool.out.wait_for("listening on")
    xmrig = spawn(XMRIG, "-o", f"127.0.0.1:{port}", "--retry-pause", "0.2")
    xmrig.out.wait_for("net      use pool")
    first_pool.send("exit\n")
    assert first_pool.wait() == 0
    lost = xmrig.out.wait_for('read error: "end of file"')
    xmrig.out.wait_for("no active pools, stop mining", lost)
    second_pool = spawn(P2POOL, *pool_args)
    second_pool.out.wait_for("listening on")
    xmrig.out.wait_for("net      use pool", lost)
    found = kinds(parse(xmrig.out.text()))

    assert "xmrig_read_error" in found
    assert "xmrig_no_active_pools" in found


def test_xmrig_rejects_remote_pool(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(XMRIG, "-o", "198.51.100.7:3333")

    assert daemon.wait() == 2
    assert "not a loopback IP address" in daemon.err.text().decode()


def test_xmrig_crash_after_exits_with_code(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(XMRIG, "--crash-after", "0.5", "--exit-code", "5")

    assert daemon.wait() == 5


def test_xmrig_hang_after_stops_responding(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(
        XMRIG, "--http-port", "0", "--hang-after", "1", "--print-time", "0.2"
    )
    port = port_from(daemon.out, HTTP_API)
    assert get(port, "/2/summary")[0] == 200
    time.sleep(1.5)
    mark = len(daemon.out.lines)
    with pytest.raises(TimeoutError):
        get(port, "/2/summary")
    daemon.send("h")
    daemon.signal(signal.SIGTERM)

    assert daemon.out.quiet_for(1.0, mark)
    assert daemon.alive()
    daemon.process.kill()
    assert daemon.wait() == -signal.SIGKILL


def test_xmrig_ignore_sigterm_needs_sigkill(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(XMRIG, "--ignore-sigterm")
    daemon.out.wait_for("net      use pool")
    daemon.signal(signal.SIGTERM)
    time.sleep(1.0)

    assert daemon.alive()
    assert "SIGTERM received" not in daemon.out.text().decode()
    daemon.process.kill()
    assert daemon.wait() == -signal.SIGKILL


def test_xmrig_exit_immediately_writes_nothing(spawn: Callable[..., Daemon]) -> None:
    daemon = spawn(XMRIG, "--exit-immediately", "4")

    assert daemon.wait() == 4
    assert daemon.out.text() == b""
