"""`python -m db4e.simulate.p2pool_daemon`: a simulated P2Pool for supervisor tests.

It behaves like P2Pool v4.18 toward a supervisor. Console records go to stdout
(info) and stderr (warnings and errors), stamped with the current UTC time. Console
commands come on stdin, the stratum port on 127.0.0.1 opens after `--ready-delay`,
and `--data-api` adds the data API files and the local console port. `exit`, SIGTERM
and SIGINT stop it cleanly. The records come from `db4e.simulate.Simulator`, held to
the wall clock, and every value is made up (see `db4e.simulate`).
"""

from __future__ import annotations

import argparse
import asyncio
import calendar
import errno
import json
import secrets
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from db4e.simulate import stratum
from db4e.simulate.config import SimConfig
from db4e.simulate.data_api import DataApi
from db4e.simulate.node import Simulator
from db4e.simulate.p2pool_console import (
    COOKIE_LENGTH,
    CommandSplitter,
    help_lines,
    mask_non_ascii,
    match_command,
)
from db4e.simulate.process import (
    Faults,
    add_process_options,
    check_exit_immediately,
    exit_now,
    install_signal_handlers,
    schedule_faults,
    start_stdin_reader,
    stdin_kind,
    write_all,
)
from db4e.simulate.text import (
    LEVEL_WORDS,
    TICKS_PER_SECOND,
    WALLET,
    Clock,
    Heads,
    strip_colours,
)

__all__ = ["P2PoolDaemon", "P2PoolOptions", "main"]

VERSION = "v4.18"
BUILD = "built with GCC/14.2.0 on Aug  5 2026"
#: Libraries the `version` command lists; made-up versions.
DEPENDENCIES = ("libuv 1.51.0", "libzmq 4.3.5", "libcurl 8.15.0", "RandomX 1.2.1")
#: Source location in the panic line of a simulated crash.
PANIC_LOCATION = "src/sim.cpp:1"
#: Exit status after a start-up failure (port in use, missing data API directory).
#: P2Pool aborts there; a plain status keeps test output free of core dumps.
STARTUP_FAILURE_EXIT = 1
#: Records of one sidechain block from a peer (add_block, verified, new chain tip,
#: new job), which turn `--lines-per-second` into a block interval.
LINES_PER_SIDECHAIN_BLOCK = 4
#: A Monero block comes every 12 sidechain blocks (120 s against mini's 10 s).
MAINCHAIN_PER_SIDECHAIN = 12
#: Hashrate credited to a real stratum connection, which sends no hashrate itself.
CONNECTED_WORKER_HS = 1000.0
#: Stratum difficulty of the jobs sent to real connections.
STRATUM_DIFFICULTY = 50001
#: Random ports P2Pool tries for the local console, and the range they come from.
CONSOLE_PORT_TRIES = 10
CONSOLE_PORTS = range(49152, 65536)
#: Bytes queued for a stratum client that does not read before it is dropped.
MAX_CLIENT_BACKLOG = 1 << 20


@dataclass(frozen=True, slots=True)
class P2PoolOptions:
    """Settings of one simulated P2Pool, from its command line."""

    stratum_port: int
    data_api: Path | None
    local_api: bool
    data_api_interval_s: float
    log_file: Path | None
    colours: bool
    lines_per_second: float
    share_every_s: float | None
    block_every_s: float | None
    errors_every_s: float | None
    workers: int
    wallet: str
    seed: int
    ready_delay_s: float
    faults: Faults

    def sim_config(self) -> SimConfig:
        """Return the simulator settings, its clock starting now."""
        sidechain_block_s = LINES_PER_SIDECHAIN_BLOCK / self.lines_per_second
        return SimConfig(
            start=time.time(),
            duration_s=float("inf"),
            seed=self.seed,
            console=True,
            # Records are generated coloured, because the colours carry the level
            # that picks the stream; `RecordOutput` strips them unless asked.
            colours=True,
            workers=self.workers,
            wallet=self.wallet,
            share_every_s=self.share_every_s,
            block_every_s=self.block_every_s,
            errors_every_s=self.errors_every_s,
            version=VERSION,
            build=BUILD,
            sidechain_block_s=sidechain_block_s,
            mainchain_block_s=sidechain_block_s * MAINCHAIN_PER_SIDECHAIN,
            min_gap_s=min(sidechain_block_s / 10, 1.0),
        )


def wall_ticks() -> int:
    """Return the current time in simulator ticks (100 µs)."""
    return int(time.time() * TICKS_PER_SECOND)


class RecordOutput:
    """Writes coloured console records as P2Pool's logger does: info to stdout,
    warnings and errors to stderr, optionally without colours, and the file form
    (level word, no colours) to the log file. Each record is stamped with the time
    it is written."""

    def __init__(self, heads: Heads, colours: bool, log_file: Path | None) -> None:
        self._heads = heads
        self._colours = colours
        self._clock = Clock()
        self._log: BinaryIO | None = None
        if log_file is not None:
            self._log = log_file.open("ab")
        self._closed = False

    def close(self) -> None:
        """Write nothing more, as after P2Pool's `Log stopped`."""
        self._closed = True
        if self._log is not None:
            self._log.close()

    def write(self, record: str) -> None:
        if self._closed:
            return
        record = self._heads.restamp(record, self._clock.text(wall_ticks()))
        level = self._heads.level(record)
        console = record if self._colours else strip_colours(record)
        write_all(1 if level == "NOTICE" else 2, console.encode())
        if self._log is not None:
            self._log.write((LEVEL_WORDS[level] + strip_colours(record)).encode())
            self._log.flush()

    def write_unstamped(self, line: str) -> None:
        """Write a line that bypasses the logger (the panic line) to stderr."""
        write_all(2, (line + "\n").encode())


def record_ticks(heads: Heads, record: str) -> int:
    """Return the simulated time of a record, read back from its timestamp."""
    text = heads.timestamp(record)
    seconds = calendar.timegm(time.strptime(text[:19], "%Y-%m-%d %H:%M:%S"))
    return seconds * TICKS_PER_SECOND + int(text[20:])


class P2PoolDaemon:
    """One simulated P2Pool process. All methods run on the event loop thread."""

    def __init__(self, options: P2PoolOptions) -> None:
        self.options = options
        self.sim = Simulator(options.sim_config(), None)
        self.output = RecordOutput(self.sim.heads, options.colours, options.log_file)
        self.stdin = CommandSplitter()
        #: Chatter records generated but not yet due.
        self.pending: deque[str] = deque()
        self.stratum_server: asyncio.Server | None = None
        self.console_server: asyncio.Server | None = None
        # Printable ASCII, 32 to 126, as P2Pool's cookie.
        self.cookie = "".join(
            chr(32 + secrets.randbelow(95)) for _ in range(COOKIE_LENGTH)
        )
        self.data_api: DataApi | None = None
        #: Writers of logged-in stratum clients, by `ip:port`.
        self.clients: dict[str, asyncio.StreamWriter] = {}
        self.job_id = 0
        self.stopping = False
        self.stopped = asyncio.Event()

    # -- records ---------------------------------------------------------------

    def flush(self) -> None:
        """Write the records the simulator has written so far (start-up, command
        output)."""
        for record in self.sim.records:
            self.output.write(record)
        self.sim.records.clear()

    def log(self, level: str, category: str, message: str, *extra: str) -> None:
        """Write one record that the daemon adds to the simulation, stamped now."""
        self.sim.write_record(level, category, message, extra)
        self.flush()

    def panic(self, code: int) -> None:
        """Stop as P2Pool's `panic_stop` does: the panic line, `Log stopped`, exit."""
        self.output.write_unstamped(
            f"P2Pool can't continue execution: panic at {PANIC_LOCATION}"
        )
        self.log("NOTICE", "Log", "stopped")
        exit_now(code)

    def crash(self) -> None:
        self.panic(self.options.faults.exit_code)

    # -- start and stop -------------------------------------------------------

    async def run(self) -> int:
        """Run until `exit` or a signal stops the daemon; return the exit status."""
        loop = asyncio.get_running_loop()
        install_signal_handlers(loop, self.options.faults, self.on_signal)
        schedule_faults(loop, self.options.faults, self.crash)
        self.sim.startup()
        self.flush()
        self.open_stdin(loop)
        self.open_data_api()
        if self.data_api is not None and self.options.local_api:
            await self.open_console()
        tasks = [
            asyncio.create_task(self.chatter()),
            asyncio.create_task(self.open_stratum_when_ready()),
        ]
        if self.data_api is not None:
            tasks.append(asyncio.create_task(self.refresh_data_api()))
        await self.stopped.wait()
        for task in tasks:
            task.cancel()
        return 0

    def open_stdin(self, loop: asyncio.AbstractEventLoop) -> None:
        """Read commands from stdin when it is a terminal or a pipe, as P2Pool does."""
        kind = stdin_kind()
        if kind is None:
            self.log("ERROR", "ConsoleCommands", "tty or named pipe is not available")
            return
        handle = "UV_TTY" if kind == "tty" else "UV_NAMED_PIPE"
        self.log("NOTICE", "ConsoleCommands", f"processing stdin as {handle}")
        start_stdin_reader(loop, self.on_stdin)

    def on_signal(self, signum: signal.Signals) -> None:
        self.log("NOTICE", "P2Pool", f"caught {signum.name}")
        self.stop()

    def stop(self) -> None:
        """Write the shut-down records, close every socket and end `run`."""
        if self.stopping:
            return
        self.stopping = True
        self.log("NOTICE", "P2Pool", "stopping")
        if self.stratum_server is not None:
            self.stratum_server.close()
            for writer in self.clients.values():
                writer.close()
            self.log("NOTICE", "StratumServer", "stopped")
        if self.console_server is not None:
            self.console_server.close()
        self.log("NOTICE", "ConsoleCommands", "stopped")
        self.log("NOTICE", "P2Pool", "uv_run exited, result = 0")
        self.log("NOTICE", "P2Pool", "stopped")
        self.log("NOTICE", "Log", "stopped")
        self.output.close()
        self.stopped.set()

    # -- chatter ---------------------------------------------------------------

    async def chatter(self) -> None:
        """Write the simulated records, each when the wall clock reaches its
        simulated time, and send a new stratum job after each sidechain block."""
        heads = self.sim.heads
        while True:
            if not self.pending:
                # Catch up after a stall so that records never queue up.
                self.sim.now = max(self.sim.now, wall_ticks())
                self.sim.step()
                self.pending.extend(self.sim.records)
                self.sim.records.clear()
            record = self.pending.popleft()
            delay = (record_ticks(heads, record) - wall_ticks()) / TICKS_PER_SECOND
            if delay > 0:
                await asyncio.sleep(delay)
            self.output.write(record)
            if not self.pending:
                self.send_jobs()

    # -- console commands -----------------------------------------------------

    def on_stdin(self, data: bytes) -> None:
        for line in self.stdin.feed(data):
            self.run_command(line)

    def run_command(self, line: str) -> None:
        """Run one console command line as P2Pool does."""
        match = match_command(line)
        if match is None:
            self.log(
                "WARNING", "ConsoleCommands", f"Unknown command {mask_non_ascii(line)}"
            )
            self.print_help()
            return
        command, argument = match
        if command.argument and not argument:
            self.log("WARNING", "ConsoleCommands", f"{command.name} requires arguments")
            self.print_help()
            return
        self.dispatch(command.name, argument)

    def dispatch(self, name: str, argument: str) -> None:
        if name == "help":
            self.print_help()
        elif name == "status":
            # NOTE: P2Pool omits the StratumServer record before its stratum server
            # is up; the simulator always writes every record.
            self.sim.write_status()
            self.flush()
        elif name == "workers":
            self.sim.write_workers()
            self.flush()
        elif name == "loglevel":
            # NOTE: the level is reported but does not filter the simulated records.
            level = min(max(_leading_int(argument), 0), 6)
            self.log("NOTICE", "ConsoleCommands", f"log level set to {level}")
        elif name in ("outpeers", "inpeers"):
            direction = "outgoing" if name == "outpeers" else "incoming"
            peers = _leading_int(argument)
            self.log(
                "NOTICE", "ConsoleCommands", f"max {direction} peers set to {peers}"
            )
        elif name == "version":
            dependencies = tuple(f" - {d}" for d in DEPENDENCIES)
            self.log(
                "NOTICE",
                "ConsoleCommands",
                f"P2Pool {VERSION} ({BUILD})",
                "",
                "Dependencies:",
                *dependencies,
            )
        elif name == "exit":
            self.stop()
        # The peer and host commands change nothing that the simulator models.

    def print_help(self) -> None:
        for line in help_lines():
            self.log("NOTICE", "ConsoleCommands", line)

    # -- stratum -------------------------------------------------------------

    async def open_stratum_when_ready(self) -> None:
        """Open the stratum port after the ready delay; a port in use is fatal."""
        await asyncio.sleep(self.options.ready_delay_s)
        address = f"127.0.0.1:{self.options.stratum_port}"
        try:
            self.stratum_server = await asyncio.start_server(
                self.serve_stratum, "127.0.0.1", self.options.stratum_port
            )
        except OSError as error:
            name = errno.errorcode.get(error.errno or 0, str(error.errno))
            self.log(
                "ERROR",
                "StratumServer",
                f"failed to listen on tcp server socket {address}, error {name}",
            )
            self.panic(STARTUP_FAILURE_EXIT)
            return
        port = self.stratum_server.sockets[0].getsockname()[1]
        self.log("NOTICE", "StratumServer", f"listening on 127.0.0.1:{port}")

    async def serve_stratum(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve one miner connection: respond to `login`, `submit` and
        `keepalived`, and count the connection as a worker while it is open."""
        host, port = writer.get_extra_info("peername")[:2]
        address = f"{host}:{port}"
        self.sim.add_worker("not logged in", address, CONNECTED_WORKER_HS)
        try:
            while line := await reader.readline():
                self.respond_stratum(address, line, writer)
        except (ValueError, ConnectionError):
            # An over-long line or a reset ends the connection, as in P2Pool.
            pass
        finally:
            self.sim.remove_worker(address)
            self.clients.pop(address, None)
            writer.close()

    def respond_stratum(
        self, address: str, line: bytes, writer: asyncio.StreamWriter
    ) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        method = message.get("method")
        request_id = message.get("id")
        if method == "login":
            params = message.get("params")
            login = params.get("login", "") if isinstance(params, dict) else ""
            name = _worker_name(str(login))
            self.sim.rename_worker(address, name)
            self.clients[address] = writer
            writer.write(
                stratum.login_result(request_id, f"{self.job_id:016x}", self.job())
            )
        elif method in ("submit", "keepalived"):
            status = "OK" if method == "submit" else "KEEPALIVED"
            reply = {"id": request_id, "jsonrpc": "2.0", "result": {"status": status}}
            writer.write(stratum.encode(reply))

    def job(self) -> dict[str, Any]:
        """Return a new job for the current Monero height."""
        self.job_id += 1
        chain = self.sim.chain
        return stratum.job(
            self.job_id, chain.main_height, STRATUM_DIFFICULTY, chain.seed_hash
        )

    def send_jobs(self) -> None:
        """Send a new job to every logged-in client; drop one that stopped reading."""
        if not self.clients:
            return
        notification = stratum.job_notification(self.job())
        for writer in list(self.clients.values()):
            if writer.transport.get_write_buffer_size() > MAX_CLIENT_BACKLOG:
                writer.close()
                continue
            writer.write(notification)

    # -- local console and data API -------------------------------------------

    async def open_console(self) -> None:
        """Open the local console port at a random port, as P2Pool does, and
        publish it with its cookie in `local/console`."""
        for _ in range(CONSOLE_PORT_TRIES):
            port = CONSOLE_PORTS[secrets.randbelow(len(CONSOLE_PORTS))]
            try:
                self.console_server = await asyncio.start_server(
                    self.serve_console, "127.0.0.1", port
                )
            except OSError:
                continue
            break
        if self.console_server is None or self.data_api is None:
            self.log("ERROR", "ConsoleCommands", "failed to listen on TCP port")
            self.panic(STARTUP_FAILURE_EXIT)
            return
        port = self.console_server.sockets[0].getsockname()[1]
        self.log("NOTICE", "ConsoleCommands", f"listening on 127.0.0.1:{port}")
        mode = "tty" if stdin_kind() == "tty" else "pipe"
        console = {"mode": mode, "tcp_port": port, "cookie": self.cookie}
        self.data_api.write("local/console", console)

    async def serve_console(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Run the commands of one console connection. A line must start with the
        cookie; P2Pool skips other lines with a message below the default log
        level, so they leave no trace."""
        splitter = CommandSplitter()
        try:
            while data := await reader.read(4096):
                for line in splitter.feed(data):
                    if len(line) > COOKIE_LENGTH and line.startswith(self.cookie):
                        self.run_command(line[COOKIE_LENGTH:])
        except ConnectionError:
            pass
        finally:
            writer.close()

    def open_data_api(self) -> None:
        """Create the data API directories; a missing directory is fatal."""
        root = self.options.data_api
        if root is None:
            return
        try:
            self.data_api = DataApi(root, self.options.local_api)
        except FileNotFoundError:
            self.log("ERROR", "P2Pool API", f"path {root} doesn't exist")
            self.panic(STARTUP_FAILURE_EXIT)
            return
        self.data_api.refresh(self.sim)

    async def refresh_data_api(self) -> None:
        assert self.data_api is not None
        while True:
            await asyncio.sleep(self.options.data_api_interval_s)
            try:
                self.data_api.refresh(self.sim)
            except OSError as error:
                self.log("WARNING", "P2Pool API", f"failed to write a file: {error}")


def _leading_int(text: str) -> int:
    """Parse the leading decimal digits of `text` as `strtol` does; 0 when none."""
    digits = ""
    for char in text.strip():
        if not char.isdigit():
            break
        digits += char
    return int(digits) if digits else 0


def _worker_name(login: str) -> str:
    """Return the worker name P2Pool shows for a stratum login: the text before
    the first `+` or `.`, at most 31 characters."""
    for separator in "+.":
        login = login.split(separator, 1)[0]
    return login[:31]


# -- command line --------------------------------------------------------------


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _wallet(text: str) -> str:
    if len(text) != 95:
        raise argparse.ArgumentTypeError(
            f"a Monero address has 95 characters, got {len(text)}"
        )
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m db4e.simulate.p2pool_daemon",
        description="Run a simulated P2Pool v4.18 node for supervisor tests.",
    )
    parser.add_argument(
        "--stratum-port",
        type=int,
        default=3333,
        metavar="PORT",
        help="stratum port on 127.0.0.1; 0 picks a free port, shown in the "
        "'listening on' line (default 3333)",
    )
    parser.add_argument(
        "--data-api",
        type=Path,
        metavar="DIR",
        help="write the data API files into this existing directory",
    )
    parser.add_argument(
        "--local-api",
        action="store_true",
        help="with --data-api, also write local/ and open the local console port",
    )
    parser.add_argument(
        "--data-api-interval",
        type=_positive,
        default=2.0,
        metavar="SECONDS",
        help="seconds between data API refreshes (default 2)",
    )
    parser.add_argument(
        "--log-file",
        type=Path,
        metavar="PATH",
        help="also append the records to this file, with level words",
    )
    parser.add_argument(
        "--colours", action="store_true", help="add ANSI colours to the console"
    )
    parser.add_argument(
        "--no-color",
        dest="colours",
        action="store_false",
        help="no colours on the console (the default)",
    )
    parser.add_argument(
        "--lines-per-second",
        type=_positive,
        default=1.0,
        metavar="N",
        help="average chatter lines per second (default 1)",
    )
    parser.add_argument(
        "--share-every",
        type=_positive,
        default=120.0,
        metavar="SECONDS",
        help="mean seconds between SHARE FOUND lines (default 120)",
    )
    parser.add_argument(
        "--block-every",
        type=_positive,
        default=1800.0,
        metavar="SECONDS",
        help="mean seconds between BLOCK FOUND records with their payout line "
        "(default 1800)",
    )
    parser.add_argument(
        "--errors-every",
        type=_positive,
        metavar="SECONDS",
        help="mean seconds between episodes of RPC or ZMQ errors (default: none); "
        "a ZMQ episode spans the 300 s it reports",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=8,
        metavar="N",
        help="simulated workers rig1 to rigN from 192.0.2.0/24 (default 8)",
    )
    parser.add_argument(
        "--wallet",
        type=_wallet,
        default=WALLET,
        help="wallet address in payout and status lines (default 4 and 94 A)",
    )
    add_process_options(parser)
    return parser


def parse_options(argv: list[str] | None = None) -> P2PoolOptions:
    args = build_parser().parse_args(argv)
    return P2PoolOptions(
        stratum_port=args.stratum_port,
        data_api=args.data_api,
        local_api=args.local_api,
        data_api_interval_s=args.data_api_interval,
        log_file=args.log_file,
        colours=args.colours,
        lines_per_second=args.lines_per_second,
        share_every_s=args.share_every,
        block_every_s=args.block_every,
        errors_every_s=args.errors_every,
        workers=args.workers,
        wallet=args.wallet,
        seed=args.seed,
        ready_delay_s=args.ready_delay,
        faults=Faults.from_args(args),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the simulated P2Pool and return its exit status."""
    options = parse_options(argv)
    check_exit_immediately(options.faults)

    async def run() -> int:
        return await P2PoolDaemon(options).run()

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
