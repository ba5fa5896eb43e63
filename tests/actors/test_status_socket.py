"""The status server on a real UNIX socket: modes, requests, stale sockets."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import pytest

from db4e.actors.status import (
    AlreadyRunningError,
    StatusServer,
    SupervisorNotRunning,
    ask,
    prepare_socket_path,
)

pytestmark = pytest.mark.anyio


async def handler(request: Mapping[str, Any]) -> dict[str, Any]:
    if request["command"] == "status":
        return {"ok": True, "daemons": {"p2pool": {"state": "ready"}}}
    if request["command"] == "restart":
        raise KeyError(f"no child named {request.get('daemon')!r}")
    raise ValueError(f"unknown command {request['command']!r}")


async def serve_and(path: Path, body: Any) -> Any:
    async with anyio.create_task_group() as tg:
        ready = anyio.Event()
        tg.start_soon(StatusServer(path, handler).run, ready.set)
        await ready.wait()
        result = await body()
        tg.cancel_scope.cancel()
    return result


async def test_status_request_answered(tmp_path: Path) -> None:
    path = tmp_path / "run" / "db4e.sock"
    reply = await serve_and(path, lambda: ask(path, {"command": "status"}))
    assert reply == {"ok": True, "daemons": {"p2pool": {"state": "ready"}}}


async def test_socket_and_folder_private(tmp_path: Path) -> None:
    path = tmp_path / "run" / "db4e.sock"

    async def modes() -> tuple[int, int]:
        return (
            stat.S_IMODE(path.stat().st_mode),
            stat.S_IMODE(path.parent.stat().st_mode),
        )

    socket_mode, folder_mode = await serve_and(path, modes)
    assert socket_mode == 0o600
    assert folder_mode == 0o700
    assert not path.exists()


async def test_handler_errors_become_replies(tmp_path: Path) -> None:
    path = tmp_path / "db4e.sock"

    async def requests() -> list[dict[str, Any]]:
        return [
            await ask(path, {"command": "restart", "daemon": "minerd"}),
            await ask(path, {"command": "dance"}),
            await ask(path, {"cmd": "status"}),
        ]

    replies = await serve_and(path, requests)
    assert replies[0] == {"ok": False, "error": "no child named 'minerd'"}
    assert replies[1] == {"ok": False, "error": "unknown command 'dance'"}
    assert replies[2]["error"].startswith("invalid request")


async def test_ask_without_server(tmp_path: Path) -> None:
    with pytest.raises(SupervisorNotRunning, match="db4e run is not running"):
        await ask(tmp_path / "db4e.sock", {"command": "status"})


def test_stale_socket_removed(tmp_path: Path) -> None:
    path = tmp_path / "db4e.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(path))
    prepare_socket_path(path)
    assert not path.exists()


async def test_second_server_refused(tmp_path: Path) -> None:
    path = tmp_path / "db4e.sock"

    async def second() -> str:
        with pytest.raises(AlreadyRunningError) as caught:
            prepare_socket_path(path)
        return str(caught.value)

    message = await serve_and(path, second)
    assert message.startswith("db4e run is already running")


@pytest.mark.skipif(os.getuid() != 0, reason="giving a folder away needs root")
def test_runtime_folder_of_other_user_refused(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    with pytest.raises(PermissionError, match="owned by uid 65534"):
        prepare_socket_path(folder / "db4e.sock")
