"""Reports over the event store: the `db4e status` summary and the daily CSV files.

A backend supplies small aggregates through `ReportSource`. `SqliteReportSource`
contains every SQL statement of the reports, so a MongoDB backend only has to
implement that protocol. Everything else works on backend-neutral values: calendar
days and hours in any time zone, exact XMR sums in piconero, the status document and
the CSV text.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from db4e.config import resolve_zone
from db4e.store import StoredEvent, local_zone
from db4e.store.sqlite import connect

__all__ = [
    "BUCKET_MICROS",
    "CSV_HEADERS",
    "Block",
    "DailyReport",
    "DayTotals",
    "DayWindow",
    "Freshness",
    "HashrateBucket",
    "HourHashrate",
    "IngestRun",
    "IngestTotals",
    "Payout",
    "PeriodTotals",
    "ReportSource",
    "ShareBucket",
    "SqliteReportSource",
    "StatusReport",
    "StoreInfo",
    "StoreQueryError",
    "WorkerSeen",
    "all_time_window",
    "build_daily_report",
    "build_hourly_hashrates",
    "build_status",
    "day_start_micros",
    "export_csv",
    "format_xmr",
    "hashrate_to_hs",
    "iso_utc",
    "last_days_window",
    "local_date",
    "micros_since_epoch",
    "parse_xmr",
    "render_csv_files",
    "status_document",
    "utc_datetime",
    "write_atomic",
    "zone_for",
]

logger = logging.getLogger(__name__)

MICROS_PER_SECOND = 1_000_000
#: Width of the UTC buckets that backends aggregate into. Every UTC offset in use since
#: the 1970s is a multiple of 15 minutes, so a bucket never straddles a local midnight
#: or the start of a local hour.
BUCKET_MICROS = 15 * 60 * MICROS_PER_SECOND
PICO_PER_XMR = 10**12
XMR_DECIMALS = 12
#: Look-back of the worker and XMRig sections of `db4e status`.
RECENT_SECONDS = 3600
#: Length of the status period `last_7_days`, today included.
WEEK_DAYS = 7
#: Version of the `db4e status --json` document; raised when a key changes meaning or
#: disappears (new keys keep the version).
STATUS_VERSION = 1

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Multipliers to H/s of the units P2Pool and XMRig print.
_HASHRATE_UNITS = {
    "H/s": 1,
    "kH/s": 10**3,
    "KH/s": 10**3,
    "MH/s": 10**6,
    "GH/s": 10**9,
    "TH/s": 10**12,
    "PH/s": 10**15,
    "EH/s": 10**18,
}


# Exact amounts, hashrates and times


def format_xmr(pico: int) -> str:
    """Format an amount in piconero as XMR with exactly 12 decimals."""
    whole, fraction = divmod(pico, PICO_PER_XMR)
    return f"{whole}.{fraction:0{XMR_DECIMALS}d}"


def parse_xmr(text: str) -> int:
    """Convert a decimal XMR amount such as "0.000412345678" to piconero, exactly.

    Raises ValueError for anything but digits with at most 12 decimals.
    """
    whole, _, fraction = text.partition(".")
    if (
        not whole.isdigit()
        or (fraction and not fraction.isdigit())
        or len(fraction) > XMR_DECIMALS
    ):
        raise ValueError(
            f"invalid XMR amount {text!r}: expected digits with at most "
            f"{XMR_DECIMALS} decimals"
        )
    return int(whole) * PICO_PER_XMR + int(fraction.ljust(XMR_DECIMALS, "0"))


def hashrate_to_hs(value: str | None, unit: str | None) -> int | None:
    """Convert a printed hashrate and unit ("879.1", "H/s") to whole H/s.

    The product is exact and rounded half to even. Returns None for `n/a` values
    (None) and unknown units.
    """
    if value is None or unit not in _HASHRATE_UNITS:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return round(number * _HASHRATE_UNITS[unit])


def _average(total: int, count: int) -> int | None:
    """Return total / count rounded half up, in integers, or None when count is 0."""
    if count == 0:
        return None
    return (2 * total + count) // (2 * count)


def zone_for(name: str) -> tzinfo:
    """Return the time zone called `name`; `local` is this machine's zone.

    Raises `zoneinfo.ZoneInfoNotFoundError` or ValueError for an unknown name.
    """
    return resolve_zone(name) or local_zone()


def utc_datetime(micros: int) -> datetime:
    """Return the aware UTC datetime of a time in microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=micros)


def micros_since_epoch(moment: datetime) -> int:
    """Return an aware datetime as microseconds since the epoch."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def iso_utc(micros: int) -> str:
    """Format a time as ISO 8601 UTC with microseconds: 2026-08-16T10:34:27.666700Z."""
    return utc_datetime(micros).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def local_date(micros: int, zone: tzinfo) -> date:
    """Return the calendar date in `zone` of a time in microseconds since the epoch."""
    return utc_datetime(micros).astimezone(zone).date()


def day_start_micros(day: date, zone: tzinfo) -> int:
    """Return the first instant of `day` in `zone`, in microseconds since the epoch.

    A midnight skipped by a DST change resolves with `fold=0` to the offset before the
    change, which gives the transition instant: the first instant of that day.
    """
    return micros_since_epoch(datetime.combine(day, time(), tzinfo=zone))


@dataclass(frozen=True)
class DayWindow:
    """Calendar days `first` to `last`, both included, in `zone`."""

    first: date
    last: date
    zone: tzinfo

    def days(self) -> list[date]:
        count = (self.last - self.first).days + 1
        return [self.first + timedelta(days=i) for i in range(count)]

    @property
    def start_micros(self) -> int:
        return day_start_micros(self.first, self.zone)

    @property
    def end_micros(self) -> int:
        """First instant after the window."""
        return day_start_micros(self.last + timedelta(days=1), self.zone)


def last_days_window(days: int, zone: tzinfo, now_micros: int) -> DayWindow:
    """Return the window of the last `days` calendar days in `zone`, today included."""
    if days < 1:
        raise ValueError(f"invalid number of days {days}: must be 1 or more")
    today = local_date(now_micros, zone)
    return DayWindow(today - timedelta(days=days - 1), today, zone)


# Backend-neutral results


@dataclass(frozen=True)
class StoreInfo:
    """Location, size and event counts of a store."""

    #: File path, or a redacted URI for a database server.
    location: str
    #: Bytes on disk (SQLite: the file plus its WAL), None when unknown.
    size_bytes: int | None
    #: Events of every farm in the store.
    events: int
    events_by_kind: dict[str, int]


@dataclass(frozen=True)
class Block:
    """A Monero block found by the pool, counted once per height."""

    height: int | None
    #: Time of the first BLOCK FOUND record for this height, None without a timestamp.
    ts_micros: int | None
    #: `mined_by` of that record: `you`, `someone else in this p2pool`, or `this p2pool`
    #: (P2Pool before v3.4, which did not tell whose share it was).
    mined_by: str | None

    @property
    def yours(self) -> bool:
        return self.mined_by == "you"


@dataclass(frozen=True)
class Payout:
    """A payout to one wallet in one block, counted once per block and wallet."""

    block_height: int | None
    ts_micros: int | None
    amount_pico: int


Timed = TypeVar("Timed", Block, Payout)


@dataclass(frozen=True)
class ShareBucket:
    """Shares found by one worker in one UTC quarter hour."""

    #: Start of the quarter hour as `ts_micros // BUCKET_MICROS`.
    bucket: int
    #: The share's user name; None when P2Pool printed none.
    worker: str | None
    shares: int


@dataclass(frozen=True)
class HashrateBucket:
    """Sums of the sidechain status hashrates in one UTC quarter hour, in H/s."""

    bucket: int
    #: sidechain_status records in the bucket.
    samples: int
    #: Sum of the pool-side hashrates; a record without that line counts 0 H/s, because
    #: P2Pool prints the line only when the value is not zero.
    pool_side_sum: int
    sidechain_sum: int
    #: Records that carried a side chain hashrate.
    sidechain_samples: int
    mainchain_sum: int
    mainchain_samples: int


@dataclass(frozen=True)
class WorkerSeen:
    """The newest `workers` line of one worker name."""

    name: str
    hashrate_hs: int | None
    last_seen_micros: int


@dataclass(frozen=True)
class IngestRun:
    """One `db4e import` or `watch` run over one log file."""

    command: str
    origin: str
    started_micros: int
    finished_micros: int | None
    new_events: int
    duplicate_events: int
    #: `ParserStats.as_dict()` of the run.
    stats: dict[str, Any]


@dataclass(frozen=True)
class IngestTotals:
    """Parser counters summed over every ingest run."""

    runs: int = 0
    lines: int = 0
    new_events: int = 0
    duplicate_events: int = 0
    unrecognised_lines: int = 0
    unrecognised_records: int = 0
    oversized_lines: int = 0


class ReportSource(Protocol):
    """Aggregates of one farm's events that a store backend provides to the reports.

    Times are microseconds since the epoch (UTC). Ranges include `start` and exclude
    `end`. Events without a timestamp are left out of every time-based query.
    """

    def store_info(self) -> StoreInfo: ...

    def event_time_range(self) -> tuple[int, int] | None:
        """Return the oldest and newest event time, None when there is no event."""
        ...

    def count_kind(self, kind: str) -> int: ...

    def latest_event(self, kind: str) -> StoredEvent | None: ...

    def latest_per_origin(self, kind: str, since_micros: int) -> list[StoredEvent]:
        """Return the newest event of `kind` of each origin since `since_micros`,
        ordered by origin."""
        ...

    def recent_workers(self, since_micros: int) -> list[WorkerSeen]:
        """Return the newest `worker` event of each name since `since_micros`,
        ordered by name."""
        ...

    def blocks(self) -> list[Block]:
        """Return every block found, one per height, ordered by time."""
        ...

    def payouts(self) -> list[Payout]:
        """Return every payout, one per block height and wallet, ordered by time."""
        ...

    def share_buckets(self, start: int, end: int) -> list[ShareBucket]: ...

    def hashrate_buckets(self, start: int, end: int) -> list[HashrateBucket]: ...

    def latest_ingest_runs(self) -> list[IngestRun]:
        """Return the newest ingest run of each origin, ordered by origin."""
        ...

    def ingest_totals(self) -> IngestTotals: ...


# SQLite: every SQL statement of the reports

_SELECT_STORED_EVENT = """SELECT kind, source, farm, ts_utc, ts_text, height,
  amount_pico, hashrate_hs, worker, data, origin, line, stored_at FROM events"""

# With exactly one min() or max() in an aggregate query, SQLite takes the other (bare)
# columns from the row that has that minimum or maximum. SQLite's own test
# minmax4.test checks this, and the queries below rely on it.
_SQL = {
    "time_first": "SELECT ts_utc FROM events WHERE farm = ? AND ts_utc IS NOT NULL "
    "ORDER BY ts_utc LIMIT 1",
    "time_last": "SELECT ts_utc FROM events WHERE farm = ? AND ts_utc IS NOT NULL "
    "ORDER BY ts_utc DESC LIMIT 1",
    "count_by_kind": "SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind",
    "count_kind": "SELECT count(*) FROM events WHERE kind = ? AND farm = ?",
    "latest_event": _SELECT_STORED_EVENT
    + " WHERE kind = ? AND farm = ? AND ts_utc IS NOT NULL"
    " ORDER BY ts_utc DESC, id DESC LIMIT 1",
    "latest_per_origin": """SELECT kind, source, farm, max(ts_utc), ts_text, height,
  amount_pico, hashrate_hs, worker, data, origin, line, stored_at FROM events
  WHERE kind = ? AND farm = ? AND ts_utc >= ? GROUP BY origin ORDER BY origin""",
    "recent_workers": """SELECT worker, hashrate_hs, max(ts_utc) FROM events
  WHERE kind = 'worker' AND farm = ? AND ts_utc >= ? AND worker IS NOT NULL
  GROUP BY worker ORDER BY worker""",
    # A second P2Pool node with the same wallet logs the same block and payout again,
    # so blocks count once per height and payouts once per block height and wallet.
    # The fallback -id keeps rows without a height apart.
    "blocks": """SELECT coalesce(height, json_extract(data, '$.mainchain_height')) AS h,
  min(ts_utc), json_extract(data, '$.mined_by') FROM events
  WHERE kind = 'block_found' AND farm = ?
  GROUP BY coalesce(h, -id) ORDER BY 2, 1""",
    "payouts": """SELECT coalesce(height, json_extract(data, '$.block_height')) AS h,
  min(ts_utc), amount_pico, json_extract(data, '$.amount_xmr') FROM events
  WHERE kind = 'payout' AND farm = ?
  GROUP BY coalesce(h, -id), json_extract(data, '$.wallet') ORDER BY 2, 1""",
    "share_buckets": """SELECT ts_utc / ? AS bucket, worker, count(*) FROM events
  WHERE kind = 'share_found' AND farm = ? AND ts_utc >= ? AND ts_utc < ?
  GROUP BY bucket, worker ORDER BY bucket, worker""",
    # LIMIT -1 keeps SQLite from flattening the subquery into the aggregates. Flattened,
    # each json_extract() would run once per aggregate that uses it, not once per row.
    "hashrate_buckets": """SELECT bucket, count(*), sum(pool_side), sum(sidechain),
  count(sidechain), sum(mainchain), count(mainchain) FROM (
    SELECT ts_utc / ? AS bucket,
      coalesce(hashrate_hs, json_extract(data, '$.pool_side_hashrate.hs'), 0)
        AS pool_side,
      json_extract(data, '$.sidechain_hashrate.hs') AS sidechain,
      json_extract(data, '$.mainchain_hashrate.hs') AS mainchain
    FROM events
    WHERE kind = 'sidechain_status' AND farm = ? AND ts_utc >= ? AND ts_utc < ?
    LIMIT -1)
  GROUP BY bucket ORDER BY bucket""",
    "latest_ingest_runs": """SELECT command, origin, started_at, finished_at,
  new_events, duplicate_events, stats FROM ingest_runs
  WHERE id IN (SELECT max(id) FROM ingest_runs GROUP BY origin) ORDER BY origin""",
    "ingest_totals": """SELECT count(*), sum(json_extract(stats, '$.lines')),
  sum(new_events), sum(duplicate_events),
  sum(json_extract(stats, '$.unrecognised_lines')),
  sum(json_extract(stats, '$.oversized_lines')) FROM ingest_runs""",
    "unrecognised_records": """SELECT sum(r.value) FROM ingest_runs,
  json_each(ingest_runs.stats, '$.unrecognised_records') AS r""",
}


class StoreQueryError(RuntimeError):
    """Raised when a report query fails on a store that opened fine."""

    def __init__(self, location: str, error: sqlite3.Error) -> None:
        super().__init__(
            f"{location}: report query failed ({error}); check the store with "
            "`sqlite3 FILE 'PRAGMA integrity_check'`"
        )
        self.location = location


class SqliteReportSource:
    """`ReportSource` over an SQLite store file, for the events of one farm.

    Events of every farm count only in `store_info`, the description of the file.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, farm: str) -> None:
        self._conn = conn
        self.path = path
        self.farm = farm

    @classmethod
    @contextmanager
    def open(cls, path: Path, farm: str) -> Iterator[SqliteReportSource]:
        """Open an existing store (migrating its schema if older) and close it after.

        Raises FileNotFoundError when `path` does not exist, and the errors of
        `db4e.store.sqlite.connect`.
        """
        conn = connect(path, create=False)
        try:
            yield cls(conn, path, farm)
        finally:
            conn.close()

    def _rows(self, name: str, *params: Any) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(_SQL[name], params).fetchall()
        except sqlite3.Error as e:
            raise StoreQueryError(str(self.path), e) from e

    def store_info(self) -> StoreInfo:
        size = 0
        for suffix in ("", "-wal"):
            try:
                size += os.stat(f"{self.path}{suffix}").st_size
            except FileNotFoundError:
                continue
        by_kind = {kind: count for kind, count in self._rows("count_by_kind")}
        return StoreInfo(str(self.path), size, sum(by_kind.values()), by_kind)

    def event_time_range(self) -> tuple[int, int] | None:
        first = self._rows("time_first", self.farm)
        last = self._rows("time_last", self.farm)
        if not first or not last:
            return None
        return int(first[0][0]), int(last[0][0])

    def count_kind(self, kind: str) -> int:
        return int(self._rows("count_kind", kind, self.farm)[0][0])

    def latest_event(self, kind: str) -> StoredEvent | None:
        rows = self._rows("latest_event", kind, self.farm)
        return StoredEvent(*rows[0]) if rows else None

    def latest_per_origin(self, kind: str, since_micros: int) -> list[StoredEvent]:
        rows = self._rows("latest_per_origin", kind, self.farm, since_micros)
        return [StoredEvent(*row) for row in rows]

    def recent_workers(self, since_micros: int) -> list[WorkerSeen]:
        rows = self._rows("recent_workers", self.farm, since_micros)
        return [WorkerSeen(name, hashrate, seen) for name, hashrate, seen in rows]

    def blocks(self) -> list[Block]:
        rows = self._rows("blocks", self.farm)
        return [Block(height, ts, mined_by) for height, ts, mined_by in rows]

    def payouts(self) -> list[Payout]:
        payouts = []
        for height, ts, amount_pico, amount_xmr in self._rows("payouts", self.farm):
            if amount_pico is None:
                amount_pico = parse_xmr(amount_xmr)
            payouts.append(Payout(height, ts, amount_pico))
        return payouts

    def share_buckets(self, start: int, end: int) -> list[ShareBucket]:
        rows = self._rows("share_buckets", BUCKET_MICROS, self.farm, start, end)
        return [ShareBucket(bucket, worker, n) for bucket, worker, n in rows]

    def hashrate_buckets(self, start: int, end: int) -> list[HashrateBucket]:
        rows = self._rows("hashrate_buckets", BUCKET_MICROS, self.farm, start, end)
        return [
            HashrateBucket(b, n, pool or 0, side or 0, n_side, main or 0, n_main)
            for b, n, pool, side, n_side, main, n_main in rows
        ]

    def latest_ingest_runs(self) -> list[IngestRun]:
        runs = []
        for row in self._rows("latest_ingest_runs"):
            command, origin, started, finished, new, duplicates, stats = row
            runs.append(
                IngestRun(
                    command, origin, started, finished, new, duplicates, _json(stats)
                )
            )
        return runs

    def ingest_totals(self) -> IngestTotals:
        counts = [value or 0 for value in self._rows("ingest_totals")[0]]
        unrecognised_records = self._rows("unrecognised_records")[0][0] or 0
        runs, lines, new, duplicates, unrecognised, oversized = counts
        return IngestTotals(
            runs, lines, new, duplicates, unrecognised, unrecognised_records, oversized
        )


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# Days and hours


@dataclass(frozen=True)
class DayTotals:
    """Shares, blocks and payouts of one calendar day."""

    day: date
    shares: int = 0
    pool_blocks: int = 0
    your_blocks: int = 0
    payouts: int = 0
    payout_pico: int = 0


@dataclass(frozen=True)
class DailyReport:
    """Per-day totals of a window, every day present."""

    days: list[DayTotals]
    #: `(day, worker, shares)` for every day and every worker with a share in the
    #: window, ordered by day and worker (None first).
    worker_shares: list[tuple[date, str | None, int]]
    #: Piconero paid before the first day, the start of the cumulative column.
    paid_before_pico: int


@dataclass(frozen=True)
class HourHashrate:
    """Averages of the sidechain status hashrates in one local hour, in H/s."""

    #: Start of the hour in local time, aware, with the UTC offset of that hour.
    start: datetime
    samples: int
    pool_side_hs: int | None
    sidechain_hs: int | None
    mainchain_hs: int | None


def all_time_window(source: ReportSource, zone: tzinfo) -> DayWindow | None:
    """Return the days from the oldest to the newest event, None for an empty store.

    The window depends only on the stored data, so that identical data exports to
    identical files on any later day.
    """
    # NOTE: one event with a far-off timestamp (a wrong clock) stretches the window
    # and the hourly file to its day. Pass `--days` to bound the window.
    time_range = source.event_time_range()
    if time_range is None:
        return None
    first, last = time_range
    return DayWindow(local_date(first, zone), local_date(last, zone), zone)


def _day_in(
    ts_micros: int | None, window: DayWindow, bounds: tuple[int, int]
) -> date | None:
    """Return the local day of a time inside `bounds`, None for a time outside or
    none."""
    if ts_micros is None or not bounds[0] <= ts_micros < bounds[1]:
        return None
    return local_date(ts_micros, window.zone)


def build_daily_report(source: ReportSource, window: DayWindow | None) -> DailyReport:
    """Count shares, blocks and payouts per calendar day of `window`."""
    if window is None:
        return DailyReport([], [], 0)
    bounds = (window.start_micros, window.end_micros)

    # Shares arrive in UTC quarter hours, each inside one local day.
    shares: Counter[date] = Counter()
    worker_shares: Counter[tuple[date, str | None]] = Counter()
    for bucket in source.share_buckets(*bounds):
        day = local_date(bucket.bucket * BUCKET_MICROS, window.zone)
        shares[day] += bucket.shares
        worker_shares[day, bucket.worker] += bucket.shares

    pool_blocks: Counter[date] = Counter()
    your_blocks: Counter[date] = Counter()
    for block in source.blocks():
        block_day = _day_in(block.ts_micros, window, bounds)
        if block_day is not None:
            pool_blocks[block_day] += 1
            your_blocks[block_day] += block.yours

    payouts: Counter[date] = Counter()
    paid: Counter[date] = Counter()
    paid_before = 0
    for payout in source.payouts():
        payout_day = _day_in(payout.ts_micros, window, bounds)
        if payout_day is not None:
            payouts[payout_day] += 1
            paid[payout_day] += payout.amount_pico
        elif payout.ts_micros is not None and payout.ts_micros < bounds[0]:
            paid_before += payout.amount_pico

    days = [
        DayTotals(
            day,
            shares[day],
            pool_blocks[day],
            your_blocks[day],
            payouts[day],
            paid[day],
        )
        for day in window.days()
    ]
    return DailyReport(days, _worker_grid(window, worker_shares), paid_before)


def _worker_key(worker: str | None) -> tuple[bool, str]:
    return (worker is not None, worker or "")


def _worker_grid(
    window: DayWindow, counts: Counter[tuple[date, str | None]]
) -> list[tuple[date, str | None, int]]:
    workers = sorted({worker for _, worker in counts}, key=_worker_key)
    return [
        (day, worker, counts[day, worker])
        for day in window.days()
        for worker in workers
    ]


def build_hourly_hashrates(
    source: ReportSource, window: DayWindow | None
) -> list[HourHashrate]:
    """Average the sidechain status hashrates per local hour of `window`.

    Every hour of the window is present: a DST day has 23 or 25 of them, and an hour
    without samples has `samples` 0 and None averages.
    """
    if window is None:
        return []
    start, end = window.start_micros, window.end_micros
    buckets = {b.bucket: b for b in source.hashrate_buckets(start, end)}

    # Group the quarter hours by local hour. The key keeps the UTC offset, because
    # the hour repeated when DST ends is two different hours with the same face value.
    hours: dict[tuple[datetime, timedelta | None], list[HashrateBucket]] = {}
    for index in range(start // BUCKET_MICROS, -(-end // BUCKET_MICROS)):
        local = utc_datetime(index * BUCKET_MICROS).astimezone(window.zone)
        hour = local.replace(minute=0, second=0, microsecond=0)
        members = hours.setdefault((hour.replace(tzinfo=None), hour.utcoffset()), [])
        if index in buckets:
            members.append(buckets[index])

    result = []
    for (naive, offset), members in hours.items():
        zone = window.zone if offset is None else timezone(offset)
        samples = sum(b.samples for b in members)
        result.append(
            HourHashrate(
                naive.replace(tzinfo=zone),
                samples,
                _average(sum(b.pool_side_sum for b in members), samples),
                _average(
                    sum(b.sidechain_sum for b in members),
                    sum(b.sidechain_samples for b in members),
                ),
                _average(
                    sum(b.mainchain_sum for b in members),
                    sum(b.mainchain_samples for b in members),
                ),
            )
        )
    return result


# CSV files

#: File name → header of every file `db4e export` writes.
CSV_HEADERS: dict[str, tuple[str, ...]] = {
    "blocks-found.csv": ("date", "pool_blocks", "your_blocks"),
    "shares-found.csv": ("date", "shares"),
    "shares-by-worker.csv": ("date", "worker", "shares"),
    "payouts.csv": ("date", "payouts", "xmr", "cumulative_xmr"),
    "hashrate-hourly.csv": (
        "hour",
        "samples",
        "pool_side_hs",
        "sidechain_hs",
        "mainchain_hs",
    ),
}


def _csv_text(name: str, rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADERS[name])
    writer.writerows(rows)
    return buffer.getvalue()


def _optional(value: int | None) -> object:
    return "" if value is None else value


def render_csv_files(daily: DailyReport, hours: list[HourHashrate]) -> dict[str, str]:
    """Return the text of every CSV file, keyed by file name.

    Equal reports give equal text: rows are in a fixed order and nothing depends on
    the time of the export.
    """
    cumulative = daily.paid_before_pico
    payout_rows: list[Sequence[object]] = []
    for totals in daily.days:
        cumulative += totals.payout_pico
        payout_rows.append(
            (
                totals.day.isoformat(),
                totals.payouts,
                format_xmr(totals.payout_pico),
                format_xmr(cumulative),
            )
        )
    rows: dict[str, list[Sequence[object]]] = {
        "blocks-found.csv": [
            (t.day.isoformat(), t.pool_blocks, t.your_blocks) for t in daily.days
        ],
        "shares-found.csv": [(t.day.isoformat(), t.shares) for t in daily.days],
        "shares-by-worker.csv": [
            (day.isoformat(), worker or "", shares)
            for day, worker, shares in daily.worker_shares
        ],
        "payouts.csv": payout_rows,
        "hashrate-hourly.csv": [
            (
                hour.start.isoformat(),
                hour.samples,
                _optional(hour.pool_side_hs),
                _optional(hour.sidechain_hs),
                _optional(hour.mainchain_hs),
            )
            for hour in hours
        ],
    }
    return {name: _csv_text(name, rows[name]) for name in CSV_HEADERS}


def write_atomic(path: Path, text: str) -> None:
    """Write `text` as UTF-8 to `path` through a temporary file in the same folder and
    a rename, so a reader sees the old file or the new one, never a part."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode())
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def export_csv(
    source: ReportSource, window: DayWindow | None, out_dir: Path
) -> list[Path]:
    """Write every CSV file of `window` into `out_dir` (created if missing) and return
    their paths in the order of `CSV_HEADERS`."""
    daily = build_daily_report(source, window)
    hours = build_hourly_hashrates(source, window)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_csv_files(daily, hours).items():
        path = out_dir / name
        write_atomic(path, text)
        logger.info("wrote %s (%d bytes)", path, len(text))
        written.append(path)
    return written


# Status


@dataclass(frozen=True)
class Freshness:
    """Age of the newest event against the `stale_after_seconds` limit."""

    state: Literal["fresh", "stale", "empty"]
    newest_micros: int | None
    age_seconds: int | None
    limit_seconds: int


@dataclass(frozen=True)
class PeriodTotals:
    """Shares, blocks and payouts of a span of calendar days (all time: no days)."""

    first: date | None
    last: date | None
    shares: int
    pool_blocks: int
    your_blocks: int
    payouts: int
    payout_pico: int


@dataclass(frozen=True)
class StatusReport:
    """Everything `db4e status` shows."""

    now_micros: int
    farm: str
    timezone: str
    store: StoreInfo
    freshness: Freshness
    last_share: StoredEvent | None
    last_block: Block | None
    last_payout: Payout | None
    totals: PeriodTotals
    today: PeriodTotals
    last_7_days: PeriodTotals
    sidechain_status: StoredEvent | None
    stratum_status: StoredEvent | None
    xmrig_speeds: list[StoredEvent]
    workers: list[WorkerSeen]
    ingest_runs: list[IngestRun]
    ingest_totals: IngestTotals


def _freshness(
    time_range: tuple[int, int] | None, now_micros: int, limit_seconds: int
) -> Freshness:
    if time_range is None:
        return Freshness("empty", None, None, limit_seconds)
    newest = time_range[1]
    age = now_micros - newest
    state: Literal["fresh", "stale"] = (
        "fresh" if age <= limit_seconds * MICROS_PER_SECOND else "stale"
    )
    return Freshness(state, newest, age // MICROS_PER_SECOND, limit_seconds)


def _period(days: Sequence[DayTotals]) -> PeriodTotals:
    return PeriodTotals(
        days[0].day if days else None,
        days[-1].day if days else None,
        sum(t.shares for t in days),
        sum(t.pool_blocks for t in days),
        sum(t.your_blocks for t in days),
        sum(t.payouts for t in days),
        sum(t.payout_pico for t in days),
    )


def _newest(items: Sequence[Timed]) -> Timed | None:
    timed = [item for item in items if item.ts_micros is not None]
    return max(timed, key=lambda item: item.ts_micros or 0) if timed else None


def _xmrig_speeds(source: ReportSource, since_micros: int) -> list[StoredEvent]:
    speeds = source.latest_per_origin("xmrig_speed", since_micros)
    if speeds:
        return speeds
    latest = source.latest_event("xmrig_speed")
    return [latest] if latest is not None else []


def build_status(
    source: ReportSource,
    *,
    farm: str,
    timezone: str,
    stale_after_seconds: int,
    now_micros: int,
) -> StatusReport:
    """Collect the status of `farm` at `now_micros`; days start at midnight in the
    zone named `timezone`."""
    zone = zone_for(timezone)
    blocks = source.blocks()
    payouts = source.payouts()
    week = build_daily_report(source, last_days_window(WEEK_DAYS, zone, now_micros))
    since = now_micros - RECENT_SECONDS * MICROS_PER_SECOND
    return StatusReport(
        now_micros=now_micros,
        farm=farm,
        timezone=timezone,
        store=source.store_info(),
        freshness=_freshness(
            source.event_time_range(), now_micros, stale_after_seconds
        ),
        last_share=source.latest_event("share_found"),
        last_block=_newest(blocks),
        last_payout=_newest(payouts),
        totals=PeriodTotals(
            None,
            None,
            source.count_kind("share_found"),
            len(blocks),
            sum(block.yours for block in blocks),
            len(payouts),
            sum(payout.amount_pico for payout in payouts),
        ),
        today=_period(week.days[-1:]),
        last_7_days=_period(week.days),
        sidechain_status=source.latest_event("sidechain_status"),
        stratum_status=source.latest_event("stratum_status"),
        xmrig_speeds=_xmrig_speeds(source, since),
        workers=source.recent_workers(since),
        ingest_runs=source.latest_ingest_runs(),
        ingest_totals=source.ingest_totals(),
    )


# The status document: JSON-ready, every key documented in docs/reports.md


def _when(micros: int | None, now_micros: int) -> dict[str, Any]:
    if micros is None:
        return {"at": None, "age_seconds": None}
    return {"at": iso_utc(micros), "age_seconds": (now_micros - micros) // 10**6}


def _fields(event: StoredEvent) -> dict[str, Any]:
    return _json(event.data)


def _hs(fields: dict[str, Any], name: str) -> int | None:
    value = fields.get(name)
    if isinstance(value, dict) and isinstance(value.get("hs"), int):
        return int(value["hs"])
    return None


def _period_document(period: PeriodTotals) -> dict[str, Any]:
    document: dict[str, Any] = {}
    if period.first is not None and period.last is not None:
        document["first_day"] = period.first.isoformat()
        document["last_day"] = period.last.isoformat()
    document.update(
        shares=period.shares,
        pool_blocks=period.pool_blocks,
        your_blocks=period.your_blocks,
        payouts=period.payouts,
        payouts_xmr=format_xmr(period.payout_pico),
    )
    return document


def _last_share(event: StoredEvent | None, now: int) -> dict[str, Any] | None:
    if event is None:
        return None
    fields = _fields(event)
    return {
        **_when(event.ts_utc, now),
        "worker": event.worker,
        "mainchain_height": fields.get("mainchain_height"),
        "sidechain_height": fields.get("sidechain_height"),
        "effort_percent": fields.get("effort_percent"),
    }


def _last_block(block: Block | None, now: int) -> dict[str, Any] | None:
    if block is None:
        return None
    return {
        **_when(block.ts_micros, now),
        "height": block.height,
        "mined_by": block.mined_by,
    }


def _last_payout(payout: Payout | None, now: int) -> dict[str, Any] | None:
    if payout is None:
        return None
    return {
        **_when(payout.ts_micros, now),
        "block_height": payout.block_height,
        "xmr": format_xmr(payout.amount_pico),
    }


def _hashrates_document(report: StatusReport) -> dict[str, Any]:
    now = report.now_micros
    pool = None
    if report.sidechain_status is not None:
        fields = _fields(report.sidechain_status)
        pool = {
            **_when(report.sidechain_status.ts_utc, now),
            "pool_side_hs": _hs(fields, "pool_side_hashrate") or 0,
            "sidechain_hs": _hs(fields, "sidechain_hashrate"),
            "mainchain_hs": _hs(fields, "mainchain_hashrate"),
        }
    stratum = None
    if report.stratum_status is not None:
        fields = _fields(report.stratum_status)
        stratum = {
            **_when(report.stratum_status.ts_utc, now),
            "hashrate_15m_hs": _hs(fields, "hashrate_15m"),
            "hashrate_1h_hs": _hs(fields, "hashrate_1h"),
            "hashrate_24h_hs": _hs(fields, "hashrate_24h"),
        }
    xmrig = []
    for event in report.xmrig_speeds:
        fields = _fields(event)
        unit = fields.get("unit")
        xmrig.append(
            {
                "origin": event.origin,
                **_when(event.ts_utc, now),
                "h10s_hs": hashrate_to_hs(fields.get("h10s"), unit),
                "h60s_hs": hashrate_to_hs(fields.get("h60s"), unit),
                "h15m_hs": hashrate_to_hs(fields.get("h15m"), unit),
            }
        )
    return {"pool": pool, "stratum": stratum, "xmrig": xmrig}


def _run_document(run: IngestRun) -> dict[str, Any]:
    stats = run.stats
    records = stats.get("unrecognised_records", {})
    return {
        "origin": run.origin,
        "command": run.command,
        "started_at": iso_utc(run.started_micros),
        "finished_at": (
            None if run.finished_micros is None else iso_utc(run.finished_micros)
        ),
        "new_events": run.new_events,
        "duplicate_events": run.duplicate_events,
        "lines": stats.get("lines", 0),
        "unrecognised_lines": stats.get("unrecognised_lines", 0),
        "unrecognised_records": sum(records.values())
        if isinstance(records, dict)
        else 0,
        "oversized_lines": stats.get("oversized_lines", 0),
    }


def status_document(report: StatusReport) -> dict[str, Any]:
    """Return the status as the stable JSON document of `db4e status --json`.

    XMR amounts are strings with 12 decimals, hashrates integers in H/s, times ISO
    8601 UTC strings, ages whole seconds (negative for a time after `now`).
    """
    now = report.now_micros
    fresh = report.freshness
    totals = report.ingest_totals
    return {
        "version": STATUS_VERSION,
        "generated_at": iso_utc(now),
        "farm": report.farm,
        "timezone": report.timezone,
        "store": {
            "path": report.store.location,
            "size_bytes": report.store.size_bytes,
            "events": report.store.events,
            "events_by_kind": report.store.events_by_kind,
        },
        "freshness": {
            "state": fresh.state,
            "newest_event_at": (
                None if fresh.newest_micros is None else iso_utc(fresh.newest_micros)
            ),
            "age_seconds": fresh.age_seconds,
            "stale_after_seconds": fresh.limit_seconds,
        },
        "last_share": _last_share(report.last_share, now),
        "last_block": _last_block(report.last_block, now),
        "last_payout": _last_payout(report.last_payout, now),
        "totals": _period_document(report.totals),
        "today": _period_document(report.today),
        "last_7_days": _period_document(report.last_7_days),
        "hashrates": _hashrates_document(report),
        "workers": [
            {
                "name": worker.name,
                "hashrate_hs": worker.hashrate_hs,
                **_when(worker.last_seen_micros, now),
            }
            for worker in report.workers
        ],
        "ingest": {
            "latest_runs": [_run_document(run) for run in report.ingest_runs],
            "totals": {
                "runs": totals.runs,
                "lines": totals.lines,
                "new_events": totals.new_events,
                "duplicate_events": totals.duplicate_events,
                "unrecognised_lines": totals.unrecognised_lines,
                "unrecognised_records": totals.unrecognised_records,
                "oversized_lines": totals.oversized_lines,
            },
        },
    }
