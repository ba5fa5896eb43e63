"""Events that db4e itself produces: daemon lifecycle, API snapshots, scheduled jobs.

They have the shape of the events the log parser returns, so the store treats them
alike."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from db4e.parser import Event

__all__ = ["SOURCE", "fact_event", "now_micros"]

#: Source name of events db4e produces itself.
SOURCE = "db4e"


def now_micros() -> int:
    """Return the current UTC time in microseconds since the epoch."""
    return time.time_ns() // 1000


def _timestamp(micros: int) -> str:
    moment = datetime.fromtimestamp(micros / 1_000_000, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def fact_event(
    kind: str,
    daemon: str | None,
    fields: Mapping[str, object],
    at_micros: int | None = None,
) -> Event:
    """Build the event of one fact about `daemon` (or about db4e when None).

    The timestamp is the UTC time of the fact with microseconds. The identity hashes
    the kind, the daemon, the time and the fields, so the same fact stored twice (a
    retried batch) is stored once, while two facts are never merged.
    """
    micros = now_micros() if at_micros is None else at_micros
    timestamp = _timestamp(micros)
    document: dict[str, object] = {
        "line": None,
        "kind": kind,
        "source": SOURCE,
        "timestamp": timestamp,
        "daemon": daemon,
    }
    document.update(fields)
    text = json.dumps(document, separators=(",", ":"), default=str)
    canonical = json.dumps(document, sort_keys=True, default=str).encode()
    identity = hashlib.blake2b(canonical, digest_size=16).digest()
    height = fields.get("height")
    return Event(
        kind=kind,
        source=SOURCE,
        line=0,
        offset=0,
        timestamp=timestamp,
        ts_micros=micros,
        identity=identity,
        json=text,
        height=height if isinstance(height, int) else None,
        amount_pico=None,
        hashrate_hs=None,
        worker=None,
    )
