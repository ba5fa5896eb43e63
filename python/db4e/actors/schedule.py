"""The daily restart that cron used to do, as an actor of the supervisor.

At the configured local time it stops xmrig, p2pool and monerod (newest first) and
starts them again in order, each once the one before it is ready, and records the job
and its outcome as one `daily_restart` event.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta, tzinfo

import anyio

__all__ = ["DailyRestart", "next_run"]

logger = logging.getLogger(__name__)

RestartChain = Callable[[list[str], str], Awaitable[dict[str, bool]]]
Record = Callable[[dict[str, object]], Awaitable[None]]


def next_run(now: datetime, at: time) -> datetime:
    """Return the next moment after `now` whose local wall time is `at`. On a day that
    skips `at` (DST starts), the run happens at the first moment after the gap."""
    zone = now.tzinfo
    day = now.date()
    for offset in range(0, 3):
        candidate = datetime.combine(day + timedelta(days=offset), at, zone)
        # Round-trip through UTC so a wall time inside a DST gap moves past it
        # (astimezone to the same zone object returns the datetime unchanged).
        if zone is not None:
            candidate = candidate.astimezone(UTC).astimezone(zone)
        if candidate > now:
            return candidate
    raise AssertionError(f"no next run found after {now} for {at}")


class DailyRestart:
    """Sleeps until the restart time, runs the restart chain, records it, repeats."""

    def __init__(
        self,
        at: time,
        daemons: list[str],
        restart_chain: RestartChain,
        record: Record,
        zone: tzinfo | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.at = at
        self.daemons = daemons
        self.restart_chain = restart_chain
        self.record = record
        self.zone = zone
        self.clock = clock or (lambda: datetime.now(self.zone).astimezone())

    async def run(self, ready: Callable[[], None]) -> None:
        ready()
        while True:
            now = self.clock()
            due = next_run(now, self.at)
            logger.info("next daily restart of %s at %s", ", ".join(self.daemons), due)
            await anyio.sleep((due - now).total_seconds())
            await self.restart_once()

    async def restart_once(self) -> dict[str, object]:
        """Run the restart chain now and record its outcome."""
        started = anyio.current_time()
        logger.info("daily restart of %s", ", ".join(self.daemons))
        results = await self.restart_chain(self.daemons, "daily restart")
        failed = [name for name, ok in results.items() if not ok]
        outcome: dict[str, object] = {
            "daemons": list(self.daemons),
            "ready": [name for name, ok in results.items() if ok],
            "outcome": "ok" if not failed else "failed",
            "failed": failed,
            "seconds": round(anyio.current_time() - started, 3),
        }
        if failed:
            logger.error(
                "daily restart: %s not ready; the supervisor keeps restarting it",
                failed[0],
            )
        await self.record(outcome)
        return outcome
