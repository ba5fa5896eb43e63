"""The p2pool actor: ready when its stratum port accepts connections, alive while it
prints, asked for `status` and `workers` on an interval, and stopped with `exit`.

Console commands go to stdin, or, with `local_console`, to the local console port
that P2Pool v3.3+ opens with `--data-api DIR --local-api`: a TCP client on 127.0.0.1
sends the cookie from `DIR/local/console` followed by the command and a newline.
P2Pool prints its responses to its output and log, where the parser reads them.

With `data_api` set, the actor also reads the data API files `pool/stats`,
`network/stats`, `local/stratum` and `local/p2p` on the same interval and sends each
one as a `p2pool_data_api` fact {file, data} when its content changed. P2Pool
replaces these files atomically, but a file is missing until P2Pool first writes it,
so a missing or invalid file is skipped.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import anyio

from db4e.actors.daemon import DaemonActor, DaemonSink, StopUrgency
from db4e.actors.daemon_spec import DaemonSpec, split_host_port
from db4e.actors.orphans import OrphanRegistry

__all__ = ["DATA_API_FILES", "P2poolActor"]

logger = logging.getLogger(__name__)

DATA_API_FILES = ("pool/stats", "network/stats", "local/stratum", "local/p2p")
#: Seconds allowed for a TCP connection to the stratum or console port.
CONNECT_TIMEOUT = 2.0

#: Health facts taken from each data API file: (file, key path, health name).
_HEALTH_FIELDS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("pool/stats", ("pool_statistics", "hashRate"), "pool_hashrate"),
    ("pool/stats", ("pool_statistics", "miners"), "pool_miners"),
    ("pool/stats", ("pool_statistics", "sidechainHeight"), "sidechain_height"),
    ("network/stats", ("height",), "mainchain_height"),
    ("local/stratum", ("hashrate_15m",), "hashrate_15m"),
    ("local/stratum", ("connections",), "stratum_connections"),
    ("local/stratum", ("shares_found",), "shares_found"),
    ("local/stratum", ("shares_failed",), "shares_failed"),
    ("local/p2p", ("connections",), "p2p_connections"),
    ("local/p2p", ("zmq_last_active",), "zmq_last_active"),
)


def _lookup(data: object, path: tuple[str, ...]) -> object:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


class P2poolActor(DaemonActor):
    """Runs p2pool; see the module docstring."""

    output_is_progress: ClassVar[bool] = True
    progress_name: ClassVar[str] = "output"
    # `P2Pool v4.10.1 (built with …)`, the second record of every run.
    version_pattern: ClassVar[re.Pattern[bytes] | None] = re.compile(
        rb"P2Pool v(\d+\.\d+(?:\.\d+)*)"
    )

    def __init__(
        self,
        spec: DaemonSpec,
        sink: DaemonSink,
        urgency: StopUrgency | None = None,
        *,
        registry: OrphanRegistry | None = None,
    ) -> None:
        super().__init__(spec, sink, urgency, registry=registry)
        self._snapshots: dict[str, object] = {}
        #: Problems already logged, so that a file missing for hours logs once.
        self._reported: set[str] = set()

    # Readiness and health

    async def probe_ready(self) -> bool:
        return await self._stratum_accepts()

    async def _stratum_accepts(self) -> bool:
        host, port = split_host_port(self.spec.stratum)
        try:
            with anyio.fail_after(CONNECT_TIMEOUT):
                stream = await anyio.connect_tcp(host, port)
        except (OSError, TimeoutError) as error:
            self.not_ready_reason = (
                f"stratum port {self.spec.stratum} does not accept connections: "
                f"{error or type(error).__name__}"
            )
            self.update_health(stratum_ok=False)
            return False
        await stream.aclose()
        self.update_health(stratum_ok=True)
        return True

    async def monitor(self) -> None:
        while True:
            # An external p2pool's output goes to its log file, not to this actor,
            # so a stratum port that still accepts counts as progress instead.
            if self.spec.external and await self._stratum_accepts():
                self.note_progress()
            await self.send_console("status")
            await self.send_console("workers")
            await self.read_data_api()
            await anyio.sleep(self.spec.console_interval)

    # Console

    async def send_console(self, command: str) -> bool:
        """Send `command` to P2Pool's console; return whether it went out."""
        if self.spec.local_console and self.spec.data_api is not None:
            return await self._send_local_console(command)
        if self.spec.external:
            self._report_once(
                "no-console",
                "external p2pool has no console here: set local_console and data_api "
                "(P2Pool --data-api DIR --local-api) to send it commands",
            )
            return False
        return await self.send_stdin(command)

    async def _send_local_console(self, command: str) -> bool:
        assert self.spec.data_api is not None
        path = self.spec.data_api / "local" / "console"
        try:
            settings = json.loads(await anyio.Path(path).read_bytes())
            port = int(settings["tcp_port"])
            cookie = str(settings["cookie"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            self._report_once(
                "console-file",
                f"cannot read the local console port from {path}: {error}",
            )
            return False
        # The cookie goes only into the request, never into a log message.
        request = f"{cookie}{command}\n".encode()
        try:
            with anyio.fail_after(CONNECT_TIMEOUT):
                async with await anyio.connect_tcp("127.0.0.1", port) as stream:
                    await stream.send(request)
        except (OSError, TimeoutError, anyio.BrokenResourceError) as error:
            self._report_once(
                f"console-port-{port}",
                f"failed to send {command!r} to the local console on 127.0.0.1:{port}: "
                f"{error or type(error).__name__}",
            )
            return False
        return True

    # Data API

    async def read_data_api(self) -> None:
        """Read the data API files; send the changed ones as facts and health."""
        if self.spec.data_api is None:
            return
        for name in DATA_API_FILES:
            data = await self._read_json(self.spec.data_api / name)
            if data is None or self._snapshots.get(name) == data:
                continue
            self._snapshots[name] = data
            await self.sink.fact(
                self.spec.name, "p2pool_data_api", {"file": name, "data": data}
            )
            self.update_health(**_health_facts(name, data))

    async def _read_json(self, path: Path) -> object:
        try:
            return json.loads(await anyio.Path(path).read_bytes())
        except FileNotFoundError:
            # Normal until P2Pool writes the file (local/p2p first after 60 s).
            return None
        except (OSError, ValueError) as error:
            self._report_once(f"read-{path}", f"skipping data API file {path}: {error}")
            return None

    # Stopping

    async def send_stop_command(self) -> bool:
        sent = await self.send_console("exit")
        if sent:
            logger.info(
                "stopping %s (pid %s): sent exit to its console",
                self.spec.name,
                self.pid,
            )
        return sent

    def _report_once(self, key: str, message: str) -> None:
        if key in self._reported:
            return
        self._reported.add(key)
        logger.warning("%s (pid %s): %s", self.spec.name, self.pid, message)


def _health_facts(name: str, data: object) -> dict[str, object]:
    return {
        health_name: _lookup(data, path)
        for file, path, health_name in _HEALTH_FIELDS
        if file == name
    }
