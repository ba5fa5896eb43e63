"""`python -m db4e.simulate.xmrig_daemon`: a simulated XMRig v6 for supervisor tests.

It writes XMRig's start banner and its timestamped lines (local time) to stdout. It
mines to the stratum server given with `-o` (the simulated P2Pool), or to a built-in
pool that needs no socket. It serves the HTTP API summary on 127.0.0.1 after
`--ready-delay`, takes XMRig's console keys on stdin and exits on SIGTERM or SIGINT.
Hashrates, results and the machine it describes are made up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from db4e.simulate import stratum
from db4e.simulate.process import (
    Faults,
    add_process_options,
    check_exit_immediately,
    check_loopback,
    exit_now,
    install_signal_handlers,
    schedule_faults,
    start_stdin_reader,
    uv_error_message,
    write_all,
)
from db4e.simulate.xmrig_http import ApiServer
from db4e.simulate.xmrig_miner import (
    COMPILER,
    USER_AGENT,
    VERSION,
    HashrateMeter,
    MinerIdentity,
    PoolState,
    scale_difficulty,
    speed_message,
    summary,
)

__all__ = ["XMRigDaemon", "XMRigOptions", "main"]

#: The built-in pool used without `-o`: a reserved name and a documentation address,
#: so that nothing is ever contacted.
BUILTIN_POOL = ("pool.invalid", 3333)
BUILTIN_POOL_IP = "192.0.2.1"
#: Job difficulty, first height and seconds between jobs of the built-in pool.
BUILTIN_DIFFICULTY = 50001
BUILTIN_HEIGHT = 3745120
BUILTIN_JOB_INTERVAL_S = 10.0
#: Seconds XMRig waits for the response to its login before it closes the
#: connection.
LOGIN_TIMEOUT_S = 20.0


@dataclass(frozen=True, slots=True)
class XMRigOptions:
    """Settings of one simulated XMRig, from its command line."""

    pool_host: str | None
    pool_port: int
    user: str
    http_port: int | None
    http_access_token: str | None
    hashrate_hs: float
    share_every_s: float
    print_time_s: float
    retry_pause_s: float
    warmup_scale: float
    threads: int
    worker_id: str
    log_file: Path | None
    seed: int
    ready_delay_s: float
    faults: Faults

    @property
    def pool_address(self) -> str:
        host = self.pool_host or BUILTIN_POOL[0]
        port = self.pool_port if self.pool_host else BUILTIN_POOL[1]
        return f"{host}:{port}"


class XMRigDaemon:
    """One simulated XMRig process. All methods run on the event loop thread."""

    def __init__(self, options: XMRigOptions) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        self.started = time.monotonic()
        self.meter = HashrateMeter(options.hashrate_hs, options.warmup_scale, self.rng)
        self.pool = PoolState(pool=options.pool_address)
        self.identity = MinerIdentity(
            api_id=f"{self.rng.getrandbits(64):016x}",
            worker_id=options.worker_id,
            threads=options.threads,
        )
        self.paused = False
        self.stopping = False
        self.job: dict[str, Any] | None = None
        self.first_job = asyncio.Event()
        #: The pool connection's writer, None while disconnected or with the
        #: built-in pool.
        self.pool_writer: asyncio.StreamWriter | None = None
        #: Results awaiting the pool's response: request id → (difficulty, actual
        #: difficulty, monotonic send time).
        self.submitted: dict[int, tuple[int, int, float]] = {}
        self.request_id = 1
        self.http_server: asyncio.Server | None = None
        self.stopped = asyncio.Event()
        self._log: BinaryIO | None = None
        if options.log_file is not None:
            self._log = options.log_file.open("ab")

    # -- output ------------------------------------------------------------------

    def emit(self, line: str) -> None:
        if self.stopping:
            return
        data = (line + "\n").encode()
        write_all(1, data)
        if self._log is not None:
            self._log.write(data)
            self._log.flush()

    def log(self, tag: str | None, message: str) -> None:
        """Write one timestamped line (local time, as XMRig prints it)."""
        now = datetime.now()
        stamp = now.strftime("%Y-%m-%d %H:%M:%S") + f".{now.microsecond // 1000:03d}"
        if tag is None:
            self.emit(f"[{stamp}] {message}")
        else:
            self.emit(f"[{stamp}]  {tag:<8} {message}")

    def banner(self) -> None:
        threads = self.options.threads
        rows = (
            ("ABOUT", f"XMRig/{VERSION} {COMPILER}"),
            ("LIBS", "libuv/1.48.0 OpenSSL/3.0.13 hwloc/2.10.0"),
            ("HUGE PAGES", "supported"),
            ("1GB PAGES", "disabled"),
            ("CPU", "Simulated CPU (1) 64-bit AES"),
            (None, f"L2:2.0 MB L3:8.0 MB {threads}C/{threads}T NUMA:1"),
            ("MEMORY", "3.5/15.5 GB (22%)"),
            ("DONATE", "0%"),
            ("ASSEMBLY", "auto:intel"),
            ("POOL #1", f"{self.options.pool_address} algo auto"),
            ("COMMANDS", "hashrate, pause, resume, results, connection"),
        )
        for label, value in rows:
            self.emit(f" * {label:<13}{value}" if label else f"{'':<16}{value}")

    # -- start and stop -------------------------------------------------------

    async def run(self) -> int:
        """Run until a signal or Ctrl+C stops the miner; return the exit status."""
        loop = asyncio.get_running_loop()
        install_signal_handlers(loop, self.options.faults, self.on_signal)
        schedule_faults(loop, self.options.faults, self.crash)
        self.banner()
        start_stdin_reader(loop, self.on_stdin)
        if self.options.pool_host is None:
            pool_task = self.mine_builtin_pool()
        else:
            pool_task = self.mine_pool(self.options.pool_host)
        tasks = [
            asyncio.create_task(pool_task),
            asyncio.create_task(self.print_speed()),
            asyncio.create_task(self.find_results()),
        ]
        if self.options.http_port is not None:
            tasks.append(asyncio.create_task(self.open_http_when_ready()))
        await self.stopped.wait()
        for task in tasks:
            task.cancel()
        return 0

    def crash(self) -> None:
        # XMRig writes nothing when it crashes.
        exit_now(self.options.faults.exit_code)

    def on_signal(self, signum: signal.Signals) -> None:
        self.log("signal", f"{signum.name} received, exiting")
        self.stop()

    def stop(self) -> None:
        """Close every socket and end `run`; the exit line is the last output."""
        self.stopping = True
        if self.http_server is not None:
            self.http_server.close()
        if self.pool_writer is not None:
            self.pool_writer.close()
        self.stopped.set()

    # -- console keys ----------------------------------------------------------

    def on_stdin(self, data: bytes) -> None:
        # NOTE: XMRig reads keys only from a terminal; the simulator also reads them
        # from a pipe, so that a test or supervisor can press them.
        for key in data.decode("latin-1"):
            self.press(key)

    def press(self, key: str) -> None:
        """Act on one console key as XMRig does; other keys are ignored."""
        now = time.monotonic()
        lowered = key.lower()
        if key == "\x03":
            self.log("signal", "Ctrl+C received, exiting")
            self.stop()
        elif lowered == "h":
            self.log("miner", speed_message(self.meter.rates(now), self.meter.highest))
        elif lowered == "p" and not self.paused:
            self.paused = True
            self.log("miner", "paused, press  r  to resume")
            self.update_mining()
        elif lowered == "r" and self.paused:
            self.paused = False
            self.log("miner", "resumed")
            self.update_mining()
        elif lowered == "s":
            self.print_lines(self.pool.results_lines(now), "No results yet")
        elif lowered == "c":
            self.print_lines(self.pool.connection_lines(now), "no active connection")

    def print_lines(self, lines: list[str], empty: str) -> None:
        if not lines:
            self.log(None, empty)
        for line in lines:
            self.emit(line)

    # -- mining ------------------------------------------------------------------

    def update_mining(self) -> None:
        """Mine while there is a job from an active pool and the miner is not
        paused."""
        now = time.monotonic()
        if self.job is not None and self.pool.active and not self.paused:
            self.meter.start(now)
        else:
            self.meter.stop(now)

    def set_job(self, params: dict[str, Any]) -> None:
        """Take a new job: log it, and get ready to mine on the first one."""
        difficulty = stratum.difficulty_of(str(params.get("target", "")))
        algorithm = str(params.get("algo", stratum.ALGORITHM))
        message = (
            f"new job from {self.options.pool_address} diff "
            f"{scale_difficulty(difficulty)} algo {algorithm}"
        )
        height = params.get("height")
        if isinstance(height, int) and height > 0:
            message += f" height {height}"
        self.log("net", message)
        self.pool.difficulty = difficulty
        self.pool.algorithm = algorithm
        if self.job is None:
            self.log_ready(str(params.get("seed_hash", "0" * 64)))
        self.job = params
        self.first_job.set()
        self.update_mining()

    def log_ready(self, seed_hash: str) -> None:
        threads = self.options.threads
        self.log(
            "randomx",
            f"init dataset algo rx/0 ({threads} threads) seed {seed_hash[:16]}...",
        )
        self.log("randomx", "dataset ready (1 ms)")
        self.log(
            "cpu",
            f"READY threads {threads}/{threads} ({threads}) huge pages 100% "
            f"{threads}/{threads} memory {threads * 2048} KB (1 ms)",
        )

    async def print_speed(self) -> None:
        """Print the speed line every `--print-time` seconds from the first job on,
        as XMRig's miner timer does."""
        await self.first_job.wait()
        while True:
            await asyncio.sleep(self.options.print_time_s)
            rates = self.meter.rates(time.monotonic())
            self.log("miner", speed_message(rates, self.meter.highest))

    async def find_results(self) -> None:
        """Find a result every `--share-every` seconds on average while mining,
        and submit it to the pool."""
        mean = self.options.share_every_s
        while True:
            await asyncio.sleep(self.rng.expovariate(1.0 / mean))
            if not self.meter.mining or self.options.hashrate_hs <= 0:
                continue
            difficulty = self.pool.difficulty
            # A hash beats the job's difficulty by a heavy-tailed factor.
            actual = int(difficulty / (1.0 - self.rng.random()))
            self.submit(difficulty, actual)

    def submit(self, difficulty: int, actual: int) -> None:
        if self.pool_writer is None:
            self.record_result(difficulty, actual, self.rng.randint(1, 5), None)
            return
        self.request_id += 1
        self.submitted[self.request_id] = (difficulty, actual, time.monotonic())
        job_id = self.job.get("job_id", "") if self.job else ""
        params = {
            "id": "0",
            "job_id": job_id,
            "nonce": f"{self.rng.getrandbits(32):08x}",
            "result": f"{self.rng.getrandbits(256):064x}",
            "algo": stratum.ALGORITHM,
        }
        request = {
            "id": self.request_id,
            "jsonrpc": "2.0",
            "method": "submit",
            "params": params,
        }
        self.pool_writer.write(stratum.encode(request))

    def record_result(
        self, difficulty: int, actual: int, elapsed_ms: int, error: str | None
    ) -> None:
        """Count a result after the pool's response and log it."""
        self.pool.add_result(difficulty, actual, elapsed_ms, error)
        counts = f"({self.pool.accepted}/{self.pool.rejected})"
        shown = scale_difficulty(difficulty)
        if error is None:
            self.log("cpu", f"accepted {counts} diff {shown} ({elapsed_ms} ms)")
        else:
            self.log(
                "cpu", f'rejected {counts} diff {shown} "{error}" ({elapsed_ms} ms)'
            )

    # -- pools -------------------------------------------------------------------

    async def mine_builtin_pool(self) -> None:
        """Mine to the built-in pool: connected at once, a new job every
        `BUILTIN_JOB_INTERVAL_S`, a new height every twelfth job."""
        self.pool.connect(BUILTIN_POOL_IP, time.monotonic())
        host, port = BUILTIN_POOL
        self.log("net", f"use pool {host}:{port}  {BUILTIN_POOL_IP}")
        seed_hash = f"{self.rng.getrandbits(256):064x}"
        for job_id in range(1, sys.maxsize):
            height = BUILTIN_HEIGHT + job_id // 12
            self.set_job(stratum.job(job_id, height, BUILTIN_DIFFICULTY, seed_hash))
            await asyncio.sleep(BUILTIN_JOB_INTERVAL_S)

    async def mine_pool(self, host: str) -> None:
        """Keep a connection to the stratum server, retrying after
        `--retry-pause` seconds as XMRig does."""
        port = self.options.pool_port
        while True:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError as error:
                message = uv_error_message(error)
                self.log("net", f'{host}:{port} {host} connect error: "{message}"')
            else:
                await self.talk_to_pool(reader, writer)
            await asyncio.sleep(self.options.retry_pause_s)

    async def talk_to_pool(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Log in, then take jobs and responses to results until the pool goes
        away."""
        host, port = self.options.pool_host, self.options.pool_port
        ip = str(writer.get_extra_info("peername")[0])
        writer.write(
            stratum.encode(stratum.login_request(self.options.user, USER_AGENT))
        )
        self.pool_writer = writer

        error = "end of file"
        try:
            line = await asyncio.wait_for(reader.readline(), LOGIN_TIMEOUT_S)
            while line:
                self.on_pool_message(line, ip)
                line = await reader.readline()
        except TimeoutError:
            error = "connection timed out"
        except ConnectionError as failure:
            error = uv_error_message(failure)
        except ValueError:
            # The line was longer than the reader's limit.
            error = "message too long"
        finally:
            self.pool_writer = None
            writer.close()

        self.log("net", f'{host}:{port} read error: "{error}"')
        if self.pool.active:
            self.pool.disconnect()
            self.log("net", "no active pools, stop mining")
        self.job = None
        self.submitted.clear()
        self.update_mining()

    def on_pool_message(self, line: bytes, ip: str) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        request_id = message.get("id")
        pending = None
        if isinstance(request_id, int):
            pending = self.submitted.pop(request_id, None)
        if pending is not None:
            self.handle_result_response(pending, message)
            return
        params = stratum.job_of(message)
        if params is None:
            return
        if not self.pool.active:
            self.pool.connect(ip, time.monotonic())
            self.log("net", f"use pool {self.options.pool_address}  {ip}")
        self.set_job(params)

    def handle_result_response(
        self, pending: tuple[int, int, float], message: dict[str, Any]
    ) -> None:
        difficulty, actual, sent = pending
        elapsed_ms = int((time.monotonic() - sent) * 1000)
        error = message.get("error")
        reason = None
        if isinstance(error, dict):
            reason = str(error.get("message", "rejected"))
        self.record_result(difficulty, actual, elapsed_ms, reason)

    # -- HTTP API --------------------------------------------------------------

    async def open_http_when_ready(self) -> None:
        """Open the HTTP API after the ready delay and show its address as XMRig's
        banner does, with libuv's error text when the port is taken."""
        await asyncio.sleep(self.options.ready_delay_s)
        port = self.options.http_port or 0
        api = ApiServer(self.options.http_access_token, self.summary)
        try:
            self.http_server = await asyncio.start_server(api.serve, "127.0.0.1", port)
        except OSError as error:
            self.emit(f" * {'HTTP API':<13}127.0.0.1:{port} {uv_error_message(error)}")
            return
        port = self.http_server.sockets[0].getsockname()[1]
        self.emit(f" * {'HTTP API':<13}127.0.0.1:{port} ")

    def summary(self, api_version: int) -> dict[str, Any]:
        now = time.monotonic()
        uptime = int(now - self.started)
        return summary(
            api_version, self.identity, uptime, self.meter, self.pool, self.paused, now
        )


# -- command line --------------------------------------------------------------


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _not_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _pool_url(text: str) -> tuple[str, int]:
    """Parse `-o`: `[stratum+tcp://]HOST:PORT` with a loopback IP as HOST."""
    address = text.removeprefix("stratum+tcp://")
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    try:
        return check_loopback(host), int(port)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"invalid pool {text!r}: expected 127.0.0.1:PORT ({error})"
        ) from error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m db4e.simulate.xmrig_daemon",
        description=f"Run a simulated XMRig {VERSION} miner for supervisor tests.",
    )
    parser.add_argument(
        "-o",
        "--url",
        type=_pool_url,
        metavar="HOST:PORT",
        help="stratum server to mine to, on a loopback IP such as 127.0.0.1; "
        "without it the miner uses a built-in pool and opens no connection",
    )
    parser.add_argument(
        "-u", "--user", default="x", help="stratum login, the worker name (default x)"
    )
    parser.add_argument(
        "--http-port",
        type=int,
        metavar="PORT",
        help="HTTP API port on 127.0.0.1; 0 picks a free port, shown in the "
        "' * HTTP API' line (default: no API)",
    )
    parser.add_argument(
        "--http-access-token",
        metavar="TOKEN",
        help="require 'Authorization: Bearer TOKEN' on the HTTP API",
    )
    parser.add_argument(
        "--hashrate",
        type=_not_negative,
        default=1000.0,
        metavar="H/S",
        help="simulated hashrate in H/s; 0 mines nothing (default 1000)",
    )
    parser.add_argument(
        "--share-every",
        type=_positive,
        default=30.0,
        metavar="SECONDS",
        help="mean seconds between results sent to the pool (default 30)",
    )
    parser.add_argument(
        "--print-time",
        type=_positive,
        default=60.0,
        metavar="SECONDS",
        help="seconds between speed lines (default 60)",
    )
    parser.add_argument(
        "--retry-pause",
        type=_not_negative,
        default=5.0,
        metavar="SECONDS",
        help="seconds between connection attempts to the pool (default 5)",
    )
    parser.add_argument(
        "--warmup-scale",
        type=_positive,
        default=1.0,
        metavar="FACTOR",
        help="multiply the 10 s, 60 s and 15 min hashrate windows by FACTOR, so "
        "that tests see measured values sooner (default 1)",
    )
    parser.add_argument(
        "-t", "--threads", type=int, default=4, help="mining threads (default 4)"
    )
    parser.add_argument(
        "--api-worker-id",
        default="sim-rig",
        metavar="ID",
        help="worker_id in the HTTP API (default sim-rig)",
    )
    parser.add_argument(
        "-l",
        "--log-file",
        type=Path,
        metavar="PATH",
        help="also append the output to this file",
    )
    parser.add_argument(
        "--no-color",
        action="store_true",
        help="accepted for XMRig compatibility; the output never has colours",
    )
    add_process_options(parser)
    return parser


def parse_options(argv: list[str] | None = None) -> XMRigOptions:
    args = build_parser().parse_args(argv)
    host, port = args.url if args.url else (None, 0)
    return XMRigOptions(
        pool_host=host,
        pool_port=port,
        user=args.user,
        http_port=args.http_port,
        http_access_token=args.http_access_token,
        hashrate_hs=args.hashrate,
        share_every_s=args.share_every,
        print_time_s=args.print_time,
        retry_pause_s=args.retry_pause,
        warmup_scale=args.warmup_scale,
        threads=args.threads,
        worker_id=args.api_worker_id,
        log_file=args.log_file,
        seed=args.seed,
        ready_delay_s=args.ready_delay,
        faults=Faults.from_args(args),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the simulated XMRig and return its exit status."""
    options = parse_options(argv)
    check_exit_immediately(options.faults)

    async def run() -> int:
        return await XMRigDaemon(options).run()

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
