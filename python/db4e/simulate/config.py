"""Simulator settings (`SimConfig`) and planted-event records (`PlantedEvent`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from db4e.simulate.text import WALLET


@dataclass(frozen=True, slots=True)
class PlantedEvent:
    """One event the parser must find in the generated output."""

    kind: str
    #: 1-based number of the record's first line in the file it was written to.
    line: int
    timestamp: str
    #: `NOTICE`, `WARNING` or `ERROR` in the file form, None in the console form.
    level: str | None
    category: str
    #: Key fields, with the names and JSON types of the parser's event.
    fields: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Settings of one simulated log. Intervals are in simulated seconds, and None turns
    a feature off."""

    #: Simulated time of the first record, as Unix seconds (UTC).
    start: float = 1_786_700_000.0
    #: Simulated span; generation also stops once `max_bytes` are written.
    duration_s: float = 3600.0
    max_bytes: int | None = None
    seed: int = 1
    #: Console form: no level word. `colours` adds P2Pool's ANSI colour codes.
    console: bool = False
    colours: bool = False
    workers: int = 8
    #: The farm's wallet address in payout and status lines.
    wallet: str = WALLET
    #: Mean interval between SHARE FOUND lines of the whole farm.
    share_every_s: float | None = 1800.0
    #: Mean interval between Monero blocks found by the pool (BLOCK FOUND and payout).
    block_every_s: float | None = 6 * 3600.0
    #: Mean interval between ZMQ or RPC error episodes.
    errors_every_s: float | None = 4 * 3600.0
    #: Interval between `status` command outputs (SideChain, StratumServer, P2PServer,
    #: Util and Node health records).
    status_every_s: float | None = None
    #: Interval between `workers` command outputs (header, one line per worker, Total).
    workers_every_s: float | None = None
    #: Start with `Log started`, the version line and the sidechain configuration.
    startup: bool = True
    #: The version line's version and build text.
    version: str = "v4.17"
    build: str = "built with GCC/14.2.0 on Aug  5 2026"
    #: Mean gap between sidechain blocks and between Monero blocks.
    sidechain_block_s: float = 10.0
    mainchain_block_s: float = 120.0
    #: Shortest gap between two scheduled events (blocks, shares, errors). A live
    #: node with sidechain blocks closer than a second lowers it.
    min_gap_s: float = 1.0
