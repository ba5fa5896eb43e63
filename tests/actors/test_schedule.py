"""The daily restart: next run times across days and DST, and the recorded outcome."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from db4e.actors.schedule import DailyRestart, next_run

BERLIN = ZoneInfo("Europe/Berlin")


def test_next_run_later_today() -> None:
    now = datetime(2026, 12, 4, 3, 0, tzinfo=BERLIN)
    assert next_run(now, time(4, 30)) == datetime(2026, 12, 4, 4, 30, tzinfo=BERLIN)


def test_next_run_tomorrow_when_passed() -> None:
    now = datetime(2026, 12, 4, 4, 30, tzinfo=BERLIN)
    assert next_run(now, time(4, 30)) == datetime(2026, 12, 5, 4, 30, tzinfo=BERLIN)


def test_next_run_in_dst_gap_moves_past_it() -> None:
    # On 2026-03-29 Berlin clocks jump from 02:00 to 03:00.
    now = datetime(2026, 3, 29, 1, 0, tzinfo=BERLIN)
    due = next_run(now, time(2, 30))
    assert due.utcoffset() is not None
    assert due.hour == 3
    assert due.minute == 30


@pytest.mark.anyio
async def test_restart_once_records_outcome() -> None:
    calls: list[tuple[list[str], str]] = []
    recorded: list[dict[str, object]] = []

    async def chain(names: list[str], reason: str) -> dict[str, bool]:
        calls.append((names, reason))
        return {"monerod": True, "p2pool": False}

    async def record(outcome: dict[str, object]) -> None:
        recorded.append(outcome)

    job = DailyRestart(time(4, 30), ["monerod", "p2pool"], chain, record, BERLIN)
    outcome = await job.restart_once()
    assert calls == [(["monerod", "p2pool"], "daily restart")]
    assert outcome["outcome"] == "failed"
    assert outcome["failed"] == ["p2pool"]
    assert outcome["ready"] == ["monerod"]
    assert recorded == [outcome]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
