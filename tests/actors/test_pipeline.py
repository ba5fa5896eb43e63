"""Mailbox, ingest actor and store actor, wired as in `db4e run`, on a real store."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from db4e.actors.ingest import IngestActor, IngestState, Output
from db4e.actors.mailbox import Mailbox
from db4e.actors.store import StoreActor, StoreStats, StoreWrite
from db4e.config import Config
from db4e.events import fact_event
from db4e.parser import Event

pytestmark = pytest.mark.anyio

SHARE = (
    b"2026-08-14 09:15:02.4821 StratumServer SHARE FOUND: mainchain height 3745120, "
    b"sidechain height 14560233, diff 251004117, client 192.0.2.15:50123, user rig1, "
    b"effort 87.412%\n"
)
STATUS = (
    b"2026-08-14 09:16:00.0000 StratumServer status\n"
    b"Hashrate (15m est)   = 11.680 kH/s\n"
    b"Hashrate (1h  est)   = 11.592 kH/s\n"
)


def output(data: bytes, stream: str = "stdout") -> Output:
    return Output("p2pool", stream, data, time.monotonic_ns())


def stored_kinds(path: Path) -> list[str]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT kind FROM events ORDER BY ts_utc, id").fetchall()
    return [kind for (kind,) in rows]


async def wait_for_kinds(path: Path, count: int) -> list[str]:
    with anyio.fail_after(5):
        while True:
            try:
                kinds = stored_kinds(path)
            except sqlite3.OperationalError:
                # The store actor has not created the file or its tables yet.
                kinds = []
            if len(kinds) >= count:
                return kinds
            await anyio.sleep(0.02)


def test_mailbox_redelivers_unacknowledged() -> None:
    async def main() -> None:
        box: Mailbox[int] = Mailbox("test", 10)
        with box:
            await check(box)

    async def check(box: Mailbox[int]) -> None:
        for n in (1, 2, 3):
            await box.send(n)
        assert await box.receive() == 1
        assert box.receive_nowait() == 2
        box.recover()
        assert await box.receive() == 1
        assert await box.receive() == 2
        box.ack()
        assert await box.receive() == 3
        box.ack()
        assert box.receive_nowait() is None
        assert box.depth() == 0

    anyio.run(main)


def test_mailbox_try_send_when_full() -> None:
    with Mailbox[int]("test", 1) as box:
        assert box.try_send(1)
        assert not box.try_send(2)
        assert box.depth() == 1


def test_mailbox_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="size must be at least 1, got 0"):
        Mailbox[int]("bad", 0)


async def test_pipeline_stores_live_output(tmp_path: Path) -> None:
    config = replace(Config(), store_path=tmp_path / "db4e.sqlite3")
    outputs: Mailbox[Output] = Mailbox("ingest", 100)
    writes: Mailbox[StoreWrite] = Mailbox("store", 100)
    state, stats = IngestState(), StoreStats()
    with outputs, writes:
        kinds = await run_share_and_status(config, outputs, writes, state, stats)
    assert kinds == ["share_found", "stratum_status"]
    assert stats.new == 2
    assert stats.latency_percentile(0.5) is not None
    assert state.stats()["p2pool:stdout"].events == 2


async def run_share_and_status(
    config: Config,
    outputs: Mailbox[Output],
    writes: Mailbox[StoreWrite],
    state: IngestState,
    stats: StoreStats,
) -> list[str]:
    async with anyio.create_task_group() as tg:
        tg.start_soon(StoreActor(config, writes, stats).run, lambda: None)
        tg.start_soon(IngestActor(outputs, writes, state, quiet=0.05).run, lambda: None)
        # A line split across two chunks, then a status block that only ends when the
        # stream goes quiet.
        await outputs.send(output(SHARE[:40]))
        await outputs.send(output(SHARE[40:] + STATUS))
        kinds = await wait_for_kinds(config.store_path, 2)
        tg.cancel_scope.cancel()
    return kinds


async def test_pipeline_streams_parsed_apart(tmp_path: Path) -> None:
    config = replace(Config(), store_path=tmp_path / "db4e.sqlite3")
    outputs: Mailbox[Output] = Mailbox("ingest", 100)
    writes: Mailbox[StoreWrite] = Mailbox("store", 100)
    state = IngestState()
    with outputs, writes:
        kinds = await run_two_streams(config, outputs, writes, state)
    assert sorted(kinds) == ["monerod_lagging", "share_found"]
    assert set(state.stats()) == {"p2pool:stdout", "p2pool:stderr"}


async def run_two_streams(
    config: Config,
    outputs: Mailbox[Output],
    writes: Mailbox[StoreWrite],
    state: IngestState,
) -> list[str]:
    warning = b"2026-08-14 09:15:03.0000 P2PServer peer 198.51.100.1:37888 is ahead"
    warning += b" on mainchain (height 3745121, your height 3745120). Is your monerod"
    warning += b" stuck or lagging?\n"
    async with anyio.create_task_group() as tg:
        tg.start_soon(StoreActor(config, writes, StoreStats()).run, lambda: None)
        tg.start_soon(IngestActor(outputs, writes, state, quiet=0.05).run, lambda: None)
        await outputs.send(output(SHARE[:30]))
        await outputs.send(output(warning, "stderr"))
        await outputs.send(output(SHARE[30:]))
        kinds = await wait_for_kinds(config.store_path, 2)
        tg.cancel_scope.cancel()
    return kinds


async def test_store_actor_writes_facts_once(tmp_path: Path) -> None:
    config = replace(Config(), store_path=tmp_path / "db4e.sqlite3")
    stats = StoreStats()
    fact = fact_event("daemon_started", "p2pool", {"pid": 4242}, at_micros=1)
    with Mailbox[StoreWrite]("store", 100) as writes:
        await write_twice(config, writes, stats, fact)
    assert stats.new == 1
    assert stats.duplicates == 1
    assert stored_kinds(config.store_path) == ["daemon_started"]


async def write_twice(
    config: Config, writes: Mailbox[StoreWrite], stats: StoreStats, fact: Event
) -> None:
    async with anyio.create_task_group() as tg:
        tg.start_soon(StoreActor(config, writes, stats).run, lambda: None)
        for _ in range(2):
            await writes.send(StoreWrite((fact,), "db4e", time.monotonic_ns()))
        with anyio.fail_after(5):
            while stats.new + stats.duplicates < 2:
                await anyio.sleep(0.02)
        tg.cancel_scope.cancel()
