"""Deterministic generator of realistic P2Pool output for tests, demos and benchmarks.

The generator models a mini-sidechain P2Pool node (v4.17 line shapes) serving a farm of
named workers: the chatter P2Pool logs at levels 2 and 3 (sidechain blocks every ~10 s,
Monero blocks every ~120 s with their `new miner data` records, stratum jobs, peers that
are ahead), SHARE FOUND lines, rare BLOCK FOUND records with their payout lines,
occasional ZMQ and RPC errors, and optionally the output of the `status` and `workers`
console commands at fixed intervals. Lines sent to stderr on a console (warnings and
errors) are interleaved with stdout, as in a capture of both.

Output is either the log-file form (8-byte level word) or the console form (no level
word, optionally with ANSI colours). The same seed and configuration give the same
bytes. Every value is made up: the wallet is `4` followed by 94 `A`, addresses come from
192.0.2.0/24 (workers) and 198.51.100.0/24 (peers), workers are named `rig1` to `rigN`.

Every record that should yield a parser event is also recorded as a `PlantedEvent`
(kind, first line, timestamp, key fields, named and typed as in the parser's JSON), so
tests can check that the parser finds exactly what was written.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

from db4e.simulate.config import PlantedEvent, SimConfig
from db4e.simulate.live import LiveFile, append_live
from db4e.simulate.node import Simulator
from db4e.simulate.text import BLOCK_FOUND_BANNER, WALLET

__all__ = [
    "BLOCK_FOUND_BANNER",
    "RECORDS_PER_CHUNK",
    "WALLET",
    "LiveFile",
    "PlantedEvent",
    "SimConfig",
    "append_live",
    "generate",
    "write_log",
]

#: Records joined into one chunk before it is encoded and yielded.
RECORDS_PER_CHUNK = 8192


def generate(
    config: SimConfig, planted: list[PlantedEvent] | None = None
) -> Iterator[bytes]:
    """Yield the simulated log as chunks of about a megabyte, ending on whole records.

    Planted events are appended to `planted` as their records are generated, so a
    caller that stops early gets only the events of the chunks it received (plus at
    most one chunk more). Generation ends when the simulated time reaches
    `config.duration_s` or, first, when `config.max_bytes` have been yielded.
    """
    sim = Simulator(config, planted)
    if config.startup:
        sim.startup()
    written = 0
    limit = config.max_bytes
    while not sim.done():
        sim.step()
        if len(sim.records) < RECORDS_PER_CHUNK:
            continue
        chunk = "".join(sim.records).encode()
        sim.records.clear()
        written += len(chunk)
        yield chunk
        if limit is not None and written >= limit:
            return
    if sim.records:
        yield "".join(sim.records).encode()


def write_log(
    target: str | os.PathLike[str] | BinaryIO,
    config: SimConfig,
    planted: list[PlantedEvent] | None = None,
) -> int:
    """Write the simulated log to a path or a binary file object and return its size
    in bytes."""
    if isinstance(target, str | os.PathLike):
        with open(target, "wb") as out:
            return write_log(out, config, planted)
    written = 0
    for chunk in generate(config, planted):
        target.write(chunk)
        written += len(chunk)
    return written
