"""The running supervisor's part of `db4e status`: asked over the status socket and
shown before what the store holds."""

from __future__ import annotations

import logging
from typing import Any

import anyio
from rich.console import Console
from rich.table import Table

from db4e.actors.status import SupervisorNotRunning, ask
from db4e.config import Config

__all__ = ["EXIT_NOT_RUNNING", "ask_supervisor", "print_supervisor"]

logger = logging.getLogger(__name__)

#: `db4e status`: daemons are configured but no `db4e run` listens on the socket.
EXIT_NOT_RUNNING = 2

#: Seconds `db4e status` waits for the supervisor's reply.
ASK_TIMEOUT = 5.0


def ask_supervisor(config: Config) -> dict[str, Any] | None:
    """Return the running supervisor's status document, or None when no `db4e run`
    listens on the configured socket."""
    path = config.supervisor.socket_path
    try:
        reply = anyio.run(ask, path, {"command": "status"}, ASK_TIMEOUT)
    except SupervisorNotRunning:
        return None
    except TimeoutError:
        logger.warning("status socket %s: no reply within %g s", path, ASK_TIMEOUT)
        return None
    except OSError as e:
        logger.warning("status socket %s failed: %s", path, e)
        return None
    return reply if reply.get("ok") else None


def _uptime(seconds: object) -> str:
    if not isinstance(seconds, int | float):
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h {minutes}m" if days else f"{hours}h {minutes}m {secs}s"


def _health(info: dict[str, Any]) -> str:
    keys = ("height", "synchronized", "hashrate_hs", "shares_found", "connections")
    parts = [f"{key} {info[key]}" for key in keys if info.get(key) is not None]
    return ", ".join(parts)


def print_supervisor(document: dict[str, Any]) -> None:
    """Print the supervisor line and a table of its daemons."""
    console = Console(highlight=False)
    sup = document["supervisor"]
    state = "healthy" if sup.get("healthy") else "degraded"
    uptime = _uptime(sup.get("uptime_seconds"))
    console.print(
        f"db4e run: {state}, pid {sup.get('pid')}, up {uptime}, "
        f"strategy {sup.get('strategy')}"
    )
    table = Table(title="Daemons", title_justify="left")
    for column in ("daemon", "state", "pid", "uptime", "restarts", "last exit"):
        table.add_column(column, overflow="fold")
    table.add_column("health", overflow="fold")
    for name, info in document.get("daemons", {}).items():
        table.add_row(
            name + (" (external)" if info.get("external") else ""),
            str(info.get("state", "")),
            str(info.get("pid") or ""),
            _uptime(info.get("uptime_seconds")),
            str(info.get("restarts", 0)),
            str(info.get("last_exit") or ""),
            _health(info),
        )
    console.print(table)
    console.print()
