"""Process behaviour shared by the simulated P2Pool and XMRig daemons.

Both run one asyncio event loop that does all their work, so blocking that loop is
a faithful hang. Output stops, sockets accept connections but send no response, and
the signals that the loop handles are never acted on. Output goes straight to the
file descriptors with `os.write`, so each record is flushed as it is written.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import ipaddress
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Bytes read from standard input at a time.
STDIN_CHUNK = 4096
#: libuv's texts for the socket errors the simulators report (`uv_strerror`).
UV_ERROR_MESSAGES = {
    errno.EACCES: "permission denied",
    errno.EADDRINUSE: "address already in use",
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by peer",
    errno.EHOSTUNREACH: "host is unreachable",
    errno.ENETUNREACH: "network is unreachable",
    errno.ETIMEDOUT: "connection timed out",
}


@dataclass(frozen=True, slots=True)
class Faults:
    """Failures a test can ask a simulated daemon for."""

    crash_after_s: float | None
    exit_code: int
    hang_after_s: float | None
    ignore_sigterm: bool
    ignore_sigint: bool
    exit_immediately: int | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Faults:
        return cls(
            crash_after_s=args.crash_after,
            exit_code=args.exit_code,
            hang_after_s=args.hang_after,
            ignore_sigterm=args.ignore_sigterm,
            ignore_sigint=args.ignore_sigint,
            exit_immediately=args.exit_immediately,
        )


def add_process_options(parser: argparse.ArgumentParser) -> None:
    """Add the options both simulators share: seed, readiness delay and faults."""
    parser.add_argument(
        "--seed", type=int, default=1, help="random seed of the simulation (default 1)"
    )
    parser.add_argument(
        "--ready-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="seconds before the listening port opens (default 0)",
    )
    faults = parser.add_argument_group("faults for tests")
    faults.add_argument(
        "--crash-after",
        type=float,
        metavar="SECONDS",
        help="crash this many seconds after the start, exiting with --exit-code",
    )
    faults.add_argument(
        "--exit-code",
        type=int,
        default=1,
        metavar="N",
        help="exit status of a --crash-after crash (default 1)",
    )
    faults.add_argument(
        "--hang-after",
        type=float,
        metavar="SECONDS",
        help="hang this many seconds after the start: no more output, no response "
        "to stdin or on any port, and SIGTERM and SIGINT are not acted on, as when "
        "the event loop is stuck; only SIGKILL ends the process",
    )
    faults.add_argument("--ignore-sigterm", action="store_true", help="ignore SIGTERM")
    faults.add_argument("--ignore-sigint", action="store_true", help="ignore SIGINT")
    faults.add_argument(
        "--exit-immediately",
        type=int,
        metavar="CODE",
        help="exit at once with this status, before writing anything",
    )


def check_exit_immediately(faults: Faults) -> None:
    """Exit now if the faults ask for it."""
    if faults.exit_immediately is not None:
        sys.exit(faults.exit_immediately)


def write_all(fd: int, data: bytes) -> bool:
    """Write all of `data` to `fd`; return False when the reader has gone.

    A daemon whose output pipe is closed keeps running, as P2Pool and XMRig do
    (libuv ignores SIGPIPE), so a broken pipe is reported, not raised.
    """
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BrokenPipeError:
            return False
        except OSError as error:
            if error.errno in (errno.EBADF, errno.EIO):
                return False
            raise
        view = view[written:]
    return True


def stdin_kind() -> str | None:
    """Return how P2Pool would read standard input: `tty`, `pipe` (a FIFO or a
    socket), or None when it is a regular file, `/dev/null` or closed."""
    try:
        mode = os.fstat(0).st_mode
    except OSError:
        return None
    if os.isatty(0):
        return "tty"
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return "pipe"
    return None


def start_stdin_reader(
    loop: asyncio.AbstractEventLoop, on_data: Callable[[bytes], None]
) -> None:
    """Read standard input on a thread and pass each chunk to `on_data` on the
    loop. End of input stops the reader and nothing else, because neither P2Pool
    nor XMRig exits when its input closes."""

    def read() -> None:
        while True:
            try:
                data = os.read(0, STDIN_CHUNK)
            except OSError:
                return
            if not data:
                return
            loop.call_soon_threadsafe(on_data, data)

    threading.Thread(target=read, name="stdin", daemon=True).start()


def install_signal_handlers(
    loop: asyncio.AbstractEventLoop,
    faults: Faults,
    on_signal: Callable[[signal.Signals], None],
) -> None:
    """Route SIGTERM, SIGINT and SIGHUP to `on_signal` on the loop, except the
    signals the faults ask to ignore."""
    ignored = {
        signal.SIGTERM: faults.ignore_sigterm,
        signal.SIGINT: faults.ignore_sigint,
        signal.SIGHUP: False,
    }
    for signum, ignore in ignored.items():
        if ignore:
            signal.signal(signum, signal.SIG_IGN)
        else:
            loop.add_signal_handler(signum, on_signal, signum)


def hang_forever() -> None:
    """Block the calling thread (the event loop) until the process is killed."""
    while True:
        time.sleep(3600)


def schedule_faults(
    loop: asyncio.AbstractEventLoop, faults: Faults, crash: Callable[[], None]
) -> None:
    """Arrange the timed faults: `crash` after --crash-after, a hang after
    --hang-after."""
    if faults.crash_after_s is not None:
        loop.call_later(faults.crash_after_s, crash)
    if faults.hang_after_s is not None:
        loop.call_later(faults.hang_after_s, hang_forever)


def exit_now(code: int) -> None:
    """End the process at once, as a crash does: no cleanup, no buffered output."""
    os._exit(code)


def check_loopback(host: str) -> str:
    """Return `host` if it is a loopback address; raise ValueError otherwise. The
    simulators talk to nothing but their own kind on this machine."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"{host} is not a loopback IP address; use 127.0.0.1")
    return host


def uv_error_message(error: OSError) -> str:
    """Return the libuv text for a socket error, as XMRig prints it."""
    if error.errno in UV_ERROR_MESSAGES:
        return UV_ERROR_MESSAGES[error.errno]
    return (error.strerror or str(error)).lower()
