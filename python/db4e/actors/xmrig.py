"""The xmrig actor: ready when its HTTP API responds to `/2/summary`, alive while its
10-second hashrate is above zero, stopped with SIGTERM (XMRig has no stop command).

Facts it sends besides the lifecycle ones: `xmrig_summary` {hashrate_10s,
hashrate_60s, hashrate_15m (H/s, None until measured), shares_good, shares_total,
accepted, rejected, uptime (s)} on every `api_interval`.

The API token is sent only in the Authorization header. It is never logged: XMRig
rejects a wrong token with 401 or 403, and the messages say only that.

NOTE: XMRig's hashrate also drops to zero when its pool (p2pool) is down, and then
the liveness check restarts XMRig although that cannot help; the supervisor's
restart budget bounds those restarts.
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

__all__ = ["XmrigActor", "summarize"]

logger = logging.getLogger(__name__)


def _number(value: object) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _section(summary: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = summary.get(key)
    return value if isinstance(value, Mapping) else {}


def summarize(summary: Mapping[str, object]) -> dict[str, object]:
    """Return the `xmrig_summary` fact fields of a `/2/summary` response; fields
    that are missing or not numbers are None."""
    total = _section(summary, "hashrate").get("total")
    rates = list(total) if isinstance(total, list) else []
    rates += [None] * (3 - len(rates))
    results = _section(summary, "results")
    connection = _section(summary, "connection")
    return {
        "hashrate_10s": _number(rates[0]),
        "hashrate_60s": _number(rates[1]),
        "hashrate_15m": _number(rates[2]),
        "shares_good": _number(results.get("shares_good")),
        "shares_total": _number(results.get("shares_total")),
        "accepted": _number(connection.get("accepted")),
        "rejected": _number(connection.get("rejected")),
        "uptime": _number(summary.get("uptime")),
    }


class XmrigActor(DaemonActor):
    """Runs xmrig; see the module docstring."""

    output_is_progress: ClassVar[bool] = False
    # The hashrate is zero while XMRig builds its RandomX dataset, so the liveness
    # clock starts only once the API responds.
    liveness_from: ClassVar[Literal["spawn", "ready"]] = "ready"
    progress_name: ClassVar[str] = "10-second hashrate above zero"
    # The banner: ` * ABOUT        XMRig/6.21.0 gcc/13.2.0`.
    version_pattern: ClassVar[re.Pattern[bytes] | None] = re.compile(
        rb"XMRig/(\d+\.\d+\.\d+[^\s]*)"
    )

    def __init__(
        self,
        spec: DaemonSpec,
        sink: DaemonSink,
        urgency: StopUrgency | None = None,
        *,
        registry: OrphanRegistry | None = None,
    ) -> None:
        if spec.api_url is None:
            raise ValueError(
                "xmrig: api_url is not set; enable XMRig's HTTP API with "
                "--http-port=PORT and set api_url to http://127.0.0.1:PORT"
            )
        super().__init__(spec, sink, urgency, registry=registry)
        self.summary_url = spec.api_url.rstrip("/") + "/2/summary"
        self._headers = (
            {"Authorization": f"Bearer {spec.api_token}"} if spec.api_token else {}
        )
        self._client: httpx.AsyncClient | None = None
        self._api_failures = 0

    async def run(self, ready: Callable[[], None]) -> None:
        client = http_client()
        self._client = client
        try:
            await super().run(ready)
        finally:
            with anyio.CancelScope(shield=True):
                await client.aclose()

    async def get_summary(self) -> dict[str, object] | None:
        """Return the `/2/summary` response, or None when the request failed (the
        reason is then in `not_ready_reason`)."""
        response = await self._fetch_summary()
        if isinstance(response, str):
            self._note_failure(response)
            return None
        self._api_failures = 0
        return response

    async def _fetch_summary(self) -> dict[str, object] | str:
        """Return the `/2/summary` response, or why the request failed."""
        assert self._client is not None
        try:
            response = await self._client.get(self.summary_url, headers=self._headers)
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"
        if response.status_code in (401, 403):
            return (
                f"HTTP {response.status_code}: XMRig rejected the request; check that "
                "api_token matches XMRig's --http-access-token"
            )
        try:
            response.raise_for_status()
            summary = response.json()
        except (httpx.HTTPError, ValueError) as error:
            return str(error)
        if not isinstance(summary, dict):
            return "the response is not a JSON object"
        return summary

    def _note_failure(self, reason: str) -> None:
        self.not_ready_reason = f"GET {self.summary_url} failed: {reason}"
        self._api_failures += 1
        # Once per run of failures, because the API rejects connections until XMRig
        # has started it.
        if self._api_failures == 1:
            # A rejected token is a configuration error, not a start-up delay.
            rejected = reason.startswith(("HTTP 401", "HTTP 403"))
            level = logging.WARNING if rejected else logging.INFO
            logger.log(
                level,
                "%s (pid %s): %s",
                self.spec.name,
                self.pid,
                self.not_ready_reason,
            )
        self.update_health(api_ok=False, api_error=self.not_ready_reason)

    async def probe_ready(self) -> bool:
        summary = await self.get_summary()
        if summary is None:
            return False
        version = summary.get("version")
        if self.version is None and isinstance(version, str):
            self.version = version
        return True

    async def monitor(self) -> None:
        while True:
            summary = await self.get_summary()
            if summary is not None:
                await self._record(summary)
            await anyio.sleep(self.spec.api_interval)

    async def _record(self, summary: Mapping[str, object]) -> None:
        fields = summarize(summary)
        rate = fields["hashrate_10s"]
        if isinstance(rate, int | float) and rate > 0:
            self.note_progress()
        self.update_health(api_ok=True, api_error=None, **fields)
        await self.sink.fact(self.spec.name, "xmrig_summary", fields)
