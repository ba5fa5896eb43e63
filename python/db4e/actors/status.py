"""The status server: a local UNIX socket through which `db4e status`, `db4e stop` and
`db4e restart` talk to the running supervisor.

One JSON object per line in each direction. Requests: `{"command": "status"}`,
`{"command": "stop", "now": false}`, `{"command": "restart", "daemon": "p2pool"}`.
Replies: `{"ok": true, ...}` or `{"ok": false, "error": "..."}`. The socket lives in a
folder of mode 0700 and has mode 0600, so only the user running db4e can use it.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import stat
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import SocketStream

__all__ = [
    "AlreadyRunningError",
    "StatusServer",
    "SupervisorNotRunning",
    "ask",
    "prepare_socket_path",
]

logger = logging.getLogger(__name__)

#: Maximum length of a request line; a request is a few dozen bytes.
MAX_REQUEST = 4096
#: Seconds a client has to send its request.
REQUEST_TIMEOUT = 5.0

Handler = Callable[[Mapping[str, Any]], Awaitable[dict[str, Any]]]


class AlreadyRunningError(RuntimeError):
    """Raised when another `db4e run` listens on the status socket."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"db4e run is already running: {path} answers; stop it with db4e stop"
        )
        self.path = path


class SupervisorNotRunning(ConnectionError):
    """Raised by `ask` when no `db4e run` listens on the status socket."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"db4e run is not running ({path}: {reason})")
        self.path = path


def _make_private_dir(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = folder.lstat()
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid():
        # Another user's folder could hold a socket or registry of theirs.
        raise PermissionError(
            errno.EPERM,
            f"runtime folder is a symlink or owned by uid {info.st_uid}, not "
            f"{os.getuid()}; set [supervisor] runtime_dir to a folder of your own",
            str(folder),
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(folder, 0o700)


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def prepare_socket_path(path: Path) -> None:
    """Create the socket's private folder and remove a socket left by a killed run.
    Raises `AlreadyRunningError` when a running db4e listens on it."""
    _make_private_dir(path.parent)
    if not path.exists() and not path.is_symlink():
        return
    if _answers(path):
        raise AlreadyRunningError(path)
    logger.info("removing stale status socket %s left by an earlier run", path)
    path.unlink()


class StatusServer:
    """Serves requests on the socket with `handler` until cancelled."""

    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self.handler = handler

    async def run(self, ready: Callable[[], None]) -> None:
        prepare_socket_path(self.path)
        old_umask = os.umask(0o177)
        try:
            listener = await anyio.create_unix_listener(self.path)
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)
        logger.info("status socket listening on %s", self.path)
        try:
            async with listener:
                ready()
                await listener.serve(self._serve)
        finally:
            self.path.unlink(missing_ok=True)

    async def _serve(self, client: SocketStream) -> None:
        async with client:
            try:
                with anyio.fail_after(REQUEST_TIMEOUT):
                    request = await _read_line(client)
                reply = await self._reply(request)
            except TimeoutError:
                reply = {"ok": False, "error": "no request within 5 s"}
            except ValueError as e:
                reply = {"ok": False, "error": str(e)}
            try:
                await client.send(json.dumps(reply).encode() + b"\n")
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                logger.info("status client left before the reply")

    async def _reply(self, request: bytes) -> dict[str, Any]:
        try:
            message = json.loads(request)
        except json.JSONDecodeError as e:
            raise ValueError(f"invalid request: not JSON ({e})") from None
        if not isinstance(message, dict) or not isinstance(message.get("command"), str):
            raise ValueError('invalid request: expected {"command": "..."}')
        try:
            return await self.handler(message)
        except (KeyError, ValueError) as e:
            message_text = e.args[0] if e.args else str(e)
            return {"ok": False, "error": str(message_text)}


async def _read_line(stream: SocketStream) -> bytes:
    data = b""
    while b"\n" not in data:
        try:
            chunk = await stream.receive(MAX_REQUEST)
        except anyio.EndOfStream:
            break
        data += chunk
        if len(data) > MAX_REQUEST:
            raise ValueError(f"invalid request: longer than {MAX_REQUEST} bytes")
    return data.split(b"\n", 1)[0]


async def ask(
    path: Path, request: Mapping[str, Any], timeout: float = 10.0
) -> dict[str, Any]:
    """Send one request to the running supervisor and return its reply. Raises
    `SupervisorNotRunning` when nothing listens on `path`."""
    try:
        stream = await anyio.connect_unix(path)
    except (FileNotFoundError, ConnectionRefusedError) as e:
        raise SupervisorNotRunning(path, e.strerror or str(e)) from None
    async with stream:
        with anyio.fail_after(timeout):
            await stream.send(json.dumps(dict(request)).encode() + b"\n")
            data = b""
            while b"\n" not in data:
                try:
                    data += await stream.receive()
                except anyio.EndOfStream:
                    break
    reply: dict[str, Any] = json.loads(data.split(b"\n", 1)[0])
    return reply
