"""The monerod actor: ready when its JSON-RPC `get_info` reports a synchronized node,
alive while the RPC responds, and stopped by RPC `stop_daemon` or `exit` on stdin.

Facts it sends besides the lifecycle ones: `monerod_info`, a subset of `get_info`
(height, target_height, synchronized, busy_syncing, nettype, difficulty,
outgoing_connections_count, incoming_connections_count), each time the subset changes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import ClassVar, Literal

import anyio
import httpx

from db4e.actors.daemon import DaemonActor, DaemonSink, StopUrgency, http_client
from db4e.actors.daemon_spec import DaemonSpec
from db4e.actors.orphans import OrphanRegistry

__all__ = ["INFO_FIELDS", "MonerodActor"]

logger = logging.getLogger(__name__)

#: The `get_info` fields sent as the `monerod_info` fact and kept as health.
INFO_FIELDS = (
    "height",
    "target_height",
    "synchronized",
    "busy_syncing",
    "nettype",
    "difficulty",
    "outgoing_connections_count",
    "incoming_connections_count",
)


class MonerodActor(DaemonActor):
    """Runs monerod; see the module docstring."""

    # monerod at log level 0 prints little, so only RPC responses count as progress.
    output_is_progress: ClassVar[bool] = False
    progress_name: ClassVar[str] = "response to JSON-RPC get_info"
    # The start banner: `Monero 'Fluorine Fermi' (v0.18.0.0-unknown)`.
    version_pattern: ClassVar[re.Pattern[bytes] | None] = re.compile(
        rb"Monero '[^'\r\n]*' \(v(\d[^)\s]*)\)"
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
        self.rpc_url = spec.rpc_url.rstrip("/")
        self.stop_via: Literal["stdin", "rpc"] = spec.stop_via or (
            "rpc" if "--non-interactive" in spec.args else "stdin"
        )
        self._client: httpx.AsyncClient | None = None
        self._last_info: dict[str, object] | None = None
        self._rpc_failures = 0

    async def run(self, ready: Callable[[], None]) -> None:
        client = http_client()
        self._client = client
        try:
            await super().run(ready)
        finally:
            with anyio.CancelScope(shield=True):
                await client.aclose()

    # JSON-RPC

    async def get_info(self) -> dict[str, object] | None:
        """Return the `get_info` result, or None when the RPC failed (the reason is
        then in `not_ready_reason` and logged once per run of failures)."""
        assert self._client is not None
        request = {"jsonrpc": "2.0", "id": "0", "method": "get_info"}
        try:
            response = await self._client.post(f"{self.rpc_url}/json_rpc", json=request)
            response.raise_for_status()
            result = response.json()["result"]
            if not isinstance(result, dict):
                raise TypeError(f"result is {type(result).__name__}, not an object")
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            self._note_rpc_failure(error)
            return None
        self._note_rpc_success()
        return result

    def _note_rpc_failure(self, error: Exception) -> None:
        self.not_ready_reason = (
            f"get_info at {self.rpc_url} failed: {type(error).__name__}: {error}"
        )
        self._rpc_failures += 1
        # Once per run of failures, because the RPC port rejects connections for a
        # while during start-up.
        if self._rpc_failures == 1:
            logger.info(
                "%s (pid %s): %s", self.spec.name, self.pid, self.not_ready_reason
            )
        self.update_health(rpc_ok=False)

    def _note_rpc_success(self) -> None:
        if self._rpc_failures > 1:
            logger.info(
                "%s (pid %s): get_info responds again after %d failures",
                self.spec.name,
                self.pid,
                self._rpc_failures,
            )
        self._rpc_failures = 0
        self.note_progress()

    # Readiness and health

    async def probe_ready(self) -> bool:
        info = await self.get_info()
        if info is None:
            return False
        await self._record_info(info)
        if info.get("status") != "OK":
            self.not_ready_reason = f"get_info status is {info.get('status')!r}"
            return False
        if not info.get("synchronized") or info.get("busy_syncing"):
            self.not_ready_reason = (
                f"not synchronized: height {info.get('height')} of target "
                f"{info.get('target_height')}"
            )
            return False
        return True

    async def monitor(self) -> None:
        while True:
            await anyio.sleep(self.spec.rpc_interval)
            info = await self.get_info()
            if info is not None:
                await self._record_info(info)

    async def _record_info(self, info: Mapping[str, object]) -> None:
        """Update health and send a `monerod_info` fact when the subset changed."""
        subset = {key: info.get(key) for key in INFO_FIELDS}
        version = info.get("version")
        if self.version is None and isinstance(version, str) and version:
            self.version = version
        self.update_health(rpc_ok=True, version=self.version, **subset)
        if subset == self._last_info:
            return
        self._last_info = subset
        await self.sink.fact(self.spec.name, "monerod_info", subset)

    # Stopping

    async def send_stop_command(self) -> bool:
        if self.stop_via == "stdin":
            sent = await self.send_stdin("exit")
        else:
            sent = await self._rpc_stop_daemon()
        if sent:
            how = "exit on stdin" if self.stop_via == "stdin" else "RPC stop_daemon"
            logger.info("stopping %s (pid %s): sent %s", self.spec.name, self.pid, how)
        return sent

    async def _rpc_stop_daemon(self) -> bool:
        assert self._client is not None
        try:
            response = await self._client.post(f"{self.rpc_url}/stop_daemon")
            response.raise_for_status()
            status = response.json().get("status")
        except (httpx.HTTPError, ValueError, AttributeError) as error:
            logger.warning(
                "%s (pid %s): stop_daemon at %s failed: %s",
                self.spec.name,
                self.pid,
                self.rpc_url,
                error,
            )
            return False
        if status != "OK":
            logger.warning(
                "%s (pid %s): stop_daemon returned status %r",
                self.spec.name,
                self.pid,
                status,
            )
            return False
        return True
