"""Reports over real SQLite store files: daily CSV files and the status document.

Events are synthesised P2Pool and XMRig lines, parsed by the real parser and stored
through the real store, so the reports read exactly what ingestion writes.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

from db4e.parser import Parser
from db4e.reports import (
    CSV_HEADERS,
    SqliteReportSource,
    StoreQueryError,
    all_time_window,
    build_status,
    export_csv,
    format_xmr,
    hashrate_to_hs,
    last_days_window,
    micros_since_epoch,
    parse_xmr,
    status_document,
    write_atomic,
    zone_for,
)
from db4e.store.sqlite import SqliteStore, connect

pytestmark = pytest.mark.timeout(60)

WALLET = "4" + "A" * 94
OTHER_WALLET = "4" + "B" * 94


# Synthesised log lines (P2Pool v4.17 file form, XMRig v6)


def p2pool(ts: str, category: str, message: str) -> str:
    return f"NOTICE  {ts} {category} {message}\n"


def share(ts: str, n: int, worker: str | None = "rig1") -> str:
    """A SHARE FOUND line, unique through its sidechain height `n`."""
    user = f", user {worker}" if worker is not None else ""
    return p2pool(
        ts,
        "StratumServer",
        f"SHARE FOUND: mainchain height 3745120, sidechain height {14560000 + n}, "
        f"diff 251004117, client 192.0.2.15:50123{user}, effort 87.412%",
    )


def block(ts: str, height: int, mined_by: str = "you", category: str = "P2Pool") -> str:
    return p2pool(
        ts,
        category,
        f"BLOCK FOUND: main chain block at height {height} was mined by {mined_by}",
    )


def payout(ts: str, xmr: str, height: int, wallet: str = WALLET) -> str:
    return p2pool(
        ts,
        "P2Pool",
        f"Your wallet {wallet} got a payout of {xmr} XMR in block {height}",
    )


def sidechain_status(
    ts: str,
    pool: str | None = "11.402 kH/s",
    side: str = "24.807 MH/s",
    main: str = "5.612 GH/s",
) -> str:
    lines = [
        p2pool(ts, "SideChain", "status"),
        "Main chain height         = 3745190\n",
        f"Main chain hashrate       = {main}\n",
        "Side chain ID             = mini\n",
        "Side chain height         = 14561000\n",
        f"Side chain hashrate       = {side}\n",
    ]
    if pool is not None:
        lines.append(f"Your hashrate (pool-side) = {pool}\n")
    lines.append("PPLNS window              = 2160 blocks (+61 uncles, 0 orphans)\n")
    return "".join(lines)


def stratum_status(ts: str) -> str:
    return (
        p2pool(ts, "StratumServer", "status")
        + "Hashrate (15m est)   = 11.680 kH/s\n"
        + "Hashrate (1h  est)   = 11.592 kH/s\n"
        + "Hashrate (24h est)   = 11.184 kH/s\n"
    )


def workers(ts: str, rows: list[tuple[str, str]]) -> str:
    """A `workers` listing of (name, hashrate column) rows."""
    header = (
        "IP:port                    TLS    uptime              difficulty          "
        "hashrate       shares      name"
    )
    lines = [p2pool(ts, "StratumServer", header)]
    for i, (name, hashrate) in enumerate(rows):
        address = f"192.0.2.{21 + i}:40112".ljust(27)
        lines.append(
            p2pool(
                ts,
                "StratumServer",
                f"{address}no     2d 3h 4m 5s         120031              "
                f"{hashrate.ljust(15)}3/5120      {name}",
            )
        )
    lines.append(p2pool(ts, "StratumServer", f"Total: {len(rows)} workers"))
    return "".join(lines)


def xmrig_speed(ts: str, h10s: str, h60s: str) -> str:
    return f"[{ts}]  miner    speed 10s/60s/15m {h10s} {h60s} n/a H/s max {h10s} H/s\n"


# Store and report helpers


def store_text(
    path: Path,
    text: str,
    *,
    farm: str = "default",
    origin: str = "/var/log/p2pool/p2pool.log",
) -> tuple[int, int]:
    """Store the events of `text` as one `import` run; return (new, duplicates)."""

    async def insert() -> tuple[int, int]:
        store = await SqliteStore.open(path, farm=farm, xmrig_zone="UTC")
        try:
            parser = Parser()
            events = parser.feed(text.encode()) + parser.finish()
            run_id = await store.start_run("import", origin)
            new, duplicates = await store.insert(events, origin)
            await store.finish_run(run_id, new, duplicates, parser.stats())
            return new, duplicates
        finally:
            await store.aclose()

    return anyio.run(insert)


def at(text: str) -> int:
    """Microseconds since the epoch of an ISO 8601 time with its offset."""
    return micros_since_epoch(datetime.fromisoformat(text))


@contextmanager
def report_source(path: Path, farm: str = "default") -> Iterator[SqliteReportSource]:
    with SqliteReportSource.open(path, farm) as source:
        yield source


def export(
    path: Path,
    out: Path,
    zone: str = "UTC",
    days: int | None = None,
    now: str | None = None,
) -> dict[str, list[list[str]]]:
    """Export to `out` and return every file's rows, header included."""
    with report_source(path) as source:
        if days is None:
            window = all_time_window(source, zone_for(zone))
        else:
            assert now is not None
            window = last_days_window(days, zone_for(zone), at(now))
        written = export_csv(source, window, out)
    assert [p.name for p in written] == list(CSV_HEADERS)
    return {
        p.name: list(csv.reader(io.StringIO(p.read_text(), newline="")))
        for p in written
    }


def status(
    path: Path,
    now: str,
    *,
    timezone: str = "UTC",
    stale_after_seconds: int = 900,
    farm: str = "default",
) -> dict[str, Any]:
    with report_source(path, farm) as source:
        report = build_status(
            source,
            farm=farm,
            timezone=timezone,
            stale_after_seconds=stale_after_seconds,
            now_micros=at(now),
        )
    return status_document(report)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


# Exact amounts and hashrates


def test_format_xmr_exact() -> None:
    assert format_xmr(0) == "0.000000000000"
    assert format_xmr(412345678) == "0.000412345678"
    assert format_xmr(3898599545827474) == "3898.599545827474"
    assert format_xmr(10**12) == "1.000000000000"


@pytest.mark.parametrize(
    ("text", "pico"),
    [
        ("0.000412345678", 412345678),
        ("1", 10**12),
        ("2.5", 2_500_000_000_000),
        ("3898.599545827474", 3898599545827474),
    ],
)
def test_parse_xmr_exact(text: str, pico: int) -> None:
    assert parse_xmr(text) == pico


@pytest.mark.parametrize("text", ["", "-1.0", "1.0000000000001", "1e-3", "0.1.2", "x"])
def test_parse_xmr_rejects_invalid(text: str) -> None:
    with pytest.raises(ValueError, match="invalid XMR amount"):
        parse_xmr(text)


@pytest.mark.parametrize(
    ("value", "unit", "hs"),
    [
        ("879.1", "H/s", 879),
        ("999.5", "H/s", 1000),
        ("1000.5", "H/s", 1000),
        ("1.234", "MH/s", 1234000),
        ("11.402", "kH/s", 11402),
        (None, "H/s", None),
        ("12.0", "furlongs", None),
        ("n/a", "H/s", None),
    ],
)
def test_hashrate_to_hs_units(value: str | None, unit: str, hs: int | None) -> None:
    assert hashrate_to_hs(value, unit) == hs


# Export: days, zones and DST


def test_export_headers_every_file(db: Path, tmp_path: Path) -> None:
    store_text(db, share("2026-08-14 09:15:02.4821", 1))
    files = export(db, tmp_path / "out")
    for name, header in CSV_HEADERS.items():
        assert files[name][0] == list(header)


def test_export_zero_fills_days(db: Path, tmp_path: Path) -> None:
    store_text(
        db,
        share("2026-08-11 10:00:00.0000", 1)
        + share("2026-08-11 11:00:00.0000", 2)
        + share("2026-08-14 09:00:00.0000", 3),
    )
    files = export(db, tmp_path / "out")
    assert files["shares-found.csv"][1:] == [
        ["2026-08-11", "2"],
        ["2026-08-12", "0"],
        ["2026-08-13", "0"],
        ["2026-08-14", "1"],
    ]
    assert [row[0] for row in files["blocks-found.csv"][1:]] == [
        "2026-08-11",
        "2026-08-12",
        "2026-08-13",
        "2026-08-14",
    ]
    assert files["payouts.csv"][2] == [
        "2026-08-12",
        "0",
        "0.000000000000",
        "0.000000000000",
    ]
    assert len(files["hashrate-hourly.csv"]) == 1 + 4 * 24


def test_export_day_boundary_in_zone(db: Path, tmp_path: Path) -> None:
    # 22:30 UTC on 14 August is 00:30 on 15 August in Berlin (CEST, UTC+2).
    store_text(
        db, share("2026-08-14 21:59:59.9999", 1) + share("2026-08-14 22:30:00.0000", 2)
    )
    utc = export(db, tmp_path / "utc", zone="UTC")
    berlin = export(db, tmp_path / "berlin", zone="Europe/Berlin")
    assert utc["shares-found.csv"][1:] == [["2026-08-14", "2"]]
    assert berlin["shares-found.csv"][1:] == [["2026-08-14", "1"], ["2026-08-15", "1"]]


def test_export_quarter_hour_zone(db: Path, tmp_path: Path) -> None:
    # Kathmandu is UTC+5:45, so its midnight is 18:15 UTC.
    store_text(
        db, share("2026-08-14 18:14:59.9999", 1) + share("2026-08-14 18:15:00.0000", 2)
    )
    files = export(db, tmp_path / "out", zone="Asia/Kathmandu")
    assert files["shares-found.csv"][1:] == [["2026-08-14", "1"], ["2026-08-15", "1"]]
    hours = files["hashrate-hourly.csv"][1:]
    assert hours[0][0] == "2026-08-14T00:00:00+05:45"
    assert len(hours) == 48


def test_export_dst_spring_day(db: Path, tmp_path: Path) -> None:
    # Berlin moves from UTC+1 to UTC+2 at 01:00 UTC on 29 March 2026: a 23-hour day.
    store_text(
        db,
        share("2026-03-28 22:59:59.9999", 1)  # 23:59:59 CET on the 28th
        + share("2026-03-28 23:00:00.0000", 2)  # 00:00 CET on the 29th
        + share("2026-03-29 21:59:59.9999", 3)  # 23:59:59 CEST on the 29th
        + share("2026-03-29 22:00:00.0000", 4)  # 00:00 CEST on the 30th
        + sidechain_status("2026-03-29 00:30:00.0000", pool="1.000 kH/s")
        + sidechain_status("2026-03-29 01:30:00.0000", pool="3.000 kH/s"),
    )
    files = export(db, tmp_path / "out", zone="Europe/Berlin")
    assert files["shares-found.csv"][1:] == [
        ["2026-03-28", "1"],
        ["2026-03-29", "2"],
        ["2026-03-30", "1"],
    ]
    hours = [row for row in files["hashrate-hourly.csv"][1:] if "2026-03-29T" in row[0]]
    assert len(hours) == 23
    labels = [row[0] for row in hours]
    assert "2026-03-29T01:00:00+01:00" in labels
    assert "2026-03-29T02:00:00+01:00" not in labels
    assert "2026-03-29T02:00:00+02:00" not in labels
    assert "2026-03-29T03:00:00+02:00" in labels
    by_label = {row[0]: row for row in hours}
    assert by_label["2026-03-29T01:00:00+01:00"][1:3] == ["1", "1000"]
    assert by_label["2026-03-29T03:00:00+02:00"][1:3] == ["1", "3000"]


def test_export_dst_autumn_day(db: Path, tmp_path: Path) -> None:
    # Berlin moves from UTC+2 back to UTC+1 at 01:00 UTC on 25 October 2026: the hour
    # 02:00 to 03:00 happens twice and the day has 25 hours.
    store_text(
        db,
        share("2026-10-24 21:59:59.9999", 1)  # 23:59:59 CEST on the 24th
        + share("2026-10-24 22:00:00.0000", 2)  # 00:00 CEST on the 25th
        + share("2026-10-25 22:59:59.9999", 3)  # 23:59:59 CET on the 25th
        + share("2026-10-25 23:00:00.0000", 4)  # 00:00 CET on the 26th
        + sidechain_status("2026-10-25 00:10:00.0000", pool="2.000 kH/s")
        + sidechain_status("2026-10-25 01:10:00.0000", pool="4.000 kH/s"),
    )
    files = export(db, tmp_path / "out", zone="Europe/Berlin")
    assert files["shares-found.csv"][1:] == [
        ["2026-10-24", "1"],
        ["2026-10-25", "2"],
        ["2026-10-26", "1"],
    ]
    hours = [row for row in files["hashrate-hourly.csv"][1:] if "2026-10-25T" in row[0]]
    assert len(hours) == 25
    by_label = {row[0]: row for row in hours}
    assert by_label["2026-10-25T02:00:00+02:00"][1:3] == ["1", "2000"]
    assert by_label["2026-10-25T02:00:00+01:00"][1:3] == ["1", "4000"]
    assert [row[0] for row in hours].index("2026-10-25T02:00:00+01:00") == 3


def test_export_dst_at_midnight(db: Path, tmp_path: Path) -> None:
    # Santiago skips from 00:00 (UTC-4) to 01:00 (UTC-3) on 6 September 2026, so
    # that day starts at 01:00 local time, which is 04:00 UTC.
    store_text(
        db,
        share("2026-09-06 03:59:59.9999", 1) + share("2026-09-06 04:00:00.0000", 2),
    )
    files = export(db, tmp_path / "out", zone="America/Santiago")
    assert files["shares-found.csv"][1:] == [["2026-09-05", "1"], ["2026-09-06", "1"]]
    hours = [row[0] for row in files["hashrate-hourly.csv"][1:]]
    september_6 = [hour for hour in hours if hour.startswith("2026-09-06T")]
    assert len(september_6) == 23
    assert september_6[0] == "2026-09-06T01:00:00-03:00"


def test_export_last_days_window(db: Path, tmp_path: Path) -> None:
    store_text(
        db, share("2026-08-01 10:00:00.0000", 1) + share("2026-08-15 10:00:00.0000", 2)
    )
    files = export(db, tmp_path / "out", days=3, now="2026-08-16T08:00:00+00:00")
    assert files["shares-found.csv"][1:] == [
        ["2026-08-14", "0"],
        ["2026-08-15", "1"],
        ["2026-08-16", "0"],
    ]
    assert len(files["hashrate-hourly.csv"]) == 1 + 3 * 24


def test_export_empty_store_all_time(db: Path, tmp_path: Path) -> None:
    connect(db).close()
    files = export(db, tmp_path / "out")
    for name, header in CSV_HEADERS.items():
        assert files[name] == [list(header)]


def test_export_empty_store_last_days(db: Path, tmp_path: Path) -> None:
    connect(db).close()
    files = export(db, tmp_path / "out", days=2, now="2026-08-16T08:00:00+00:00")
    assert files["shares-found.csv"][1:] == [["2026-08-15", "0"], ["2026-08-16", "0"]]
    assert files["shares-by-worker.csv"][1:] == []


def test_export_byte_identical(db: Path, tmp_path: Path) -> None:
    store_text(
        db,
        share("2026-08-14 09:00:00.0000", 1, "rig 2")
        + block("2026-08-14 09:31:40.0127", 3745131)
        + payout("2026-08-14 09:31:40.0133", "0.000412345678", 3745131)
        + sidechain_status("2026-08-14 10:00:00.1000"),
    )
    first = tmp_path / "first"
    second = tmp_path / "second"
    export(db, first, zone="Europe/Berlin")
    export(db, second, zone="Europe/Berlin")
    export(db, first, zone="Europe/Berlin")
    for name in CSV_HEADERS:
        data = (first / name).read_bytes()
        assert data == (second / name).read_bytes()
        assert b"\r" not in data
        assert data.endswith(b"\n")
    assert sorted(p.name for p in first.iterdir()) == sorted(CSV_HEADERS)


# Export: shares per worker, blocks, payouts, hashrates


def test_shares_by_worker_grid(db: Path, tmp_path: Path) -> None:
    store_text(
        db,
        share("2026-08-14 09:00:00.0000", 1, "rig2")
        + share("2026-08-14 10:00:00.0000", 2, "rig1")
        + share("2026-08-14 11:00:00.0000", 3, "rig1")
        + share("2026-08-16 09:00:00.0000", 4, None)
        + share("2026-08-16 09:30:00.0000", 5, "rig 3"),
    )
    files = export(db, tmp_path / "out")
    assert files["shares-by-worker.csv"][1:] == [
        ["2026-08-14", "", "0"],
        ["2026-08-14", "rig 3", "0"],
        ["2026-08-14", "rig1", "2"],
        ["2026-08-14", "rig2", "1"],
        ["2026-08-15", "", "0"],
        ["2026-08-15", "rig 3", "0"],
        ["2026-08-15", "rig1", "0"],
        ["2026-08-15", "rig2", "0"],
        ["2026-08-16", "", "1"],
        ["2026-08-16", "rig 3", "1"],
        ["2026-08-16", "rig1", "0"],
        ["2026-08-16", "rig2", "0"],
    ]


def test_blocks_counted_once_per_height(db: Path, tmp_path: Path) -> None:
    store_text(
        db,
        block("2026-08-14 09:31:40.0127", 3745131, "you")
        + block("2026-08-14 09:40:00.0000", 3745135, "someone else in this p2pool")
        + block("2026-08-15 01:00:00.0000", 3745500, "this p2pool"),
    )
    # A second node with the same wallet logs the first block again, later.
    store_text(
        db,
        block("2026-08-14 09:31:41.0000", 3745131, "you", category="SideChain"),
        origin="/var/log/p2pool-2/p2pool.log",
    )
    files = export(db, tmp_path / "out")
    assert files["blocks-found.csv"][1:] == [
        ["2026-08-14", "2", "1"],
        ["2026-08-15", "1", "0"],
    ]
    document = status(db, "2026-08-15T02:00:00Z")
    assert document["totals"]["pool_blocks"] == 3
    assert document["totals"]["your_blocks"] == 1
    assert document["last_block"]["height"] == 3745500
    assert document["last_block"]["mined_by"] == "this p2pool"


def test_payouts_exact_sum(db: Path, tmp_path: Path) -> None:
    amounts = ["3898.599545827474", "2136.522284859645", "9516.666001375193"]
    float_sum = f"{sum(float(a) for a in amounts):.12f}"
    exact_sum = str(sum(Decimal(a) for a in amounts))
    assert float_sum != exact_sum  # the case is only useful if floats get it wrong
    store_text(
        db,
        "".join(
            payout(f"2026-08-14 0{i}:00:00.0000", amount, 3745000 + i)
            for i, amount in enumerate(amounts)
        ),
    )
    files = export(db, tmp_path / "out")
    assert files["payouts.csv"][1:] == [["2026-08-14", "3", exact_sum, exact_sum]]
    document = status(db, "2026-08-14T12:00:00Z")
    assert document["totals"]["payouts"] == 3
    assert document["totals"]["payouts_xmr"] == exact_sum
    assert document["today"]["payouts_xmr"] == exact_sum


def test_payouts_cumulative_column(db: Path, tmp_path: Path) -> None:
    store_text(
        db,
        payout("2026-08-01 10:00:00.0000", "0.100000000001", 3740000)
        + payout("2026-08-14 10:00:00.0000", "0.000000000002", 3745000)
        + payout("2026-08-14 11:00:00.0000", "0.000000000003", 3745010)
        + payout("2026-08-16 10:00:00.0000", "0.200000000000", 3745500),
    )
    files = export(db, tmp_path / "out", days=3, now="2026-08-16T12:00:00Z")
    assert files["payouts.csv"][1:] == [
        ["2026-08-14", "2", "0.000000000005", "0.100000000006"],
        ["2026-08-15", "0", "0.000000000000", "0.100000000006"],
        ["2026-08-16", "1", "0.200000000000", "0.300000000006"],
    ]


def test_payouts_counted_once_per_wallet(db: Path, tmp_path: Path) -> None:
    store_text(
        db,
        payout("2026-08-14 09:31:40.0133", "0.000412345678", 3745131)
        + payout("2026-08-14 09:31:40.0134", "0.000100000000", 3745131, OTHER_WALLET),
    )
    store_text(
        db,
        payout("2026-08-14 09:31:41.0000", "0.000412345678", 3745131),
        origin="/var/log/p2pool-2/p2pool.log",
    )
    files = export(db, tmp_path / "out")
    assert files["payouts.csv"][1:] == [
        ["2026-08-14", "2", "0.000512345678", "0.000512345678"]
    ]


def test_hourly_hashrate_average(db: Path, tmp_path: Path) -> None:
    store_text(
        db,
        sidechain_status("2026-08-14 10:00:00.0000", "1.000 kH/s", "20.000 MH/s")
        + sidechain_status("2026-08-14 10:20:00.0000", "2.001 kH/s", "21.000 MH/s")
        + sidechain_status("2026-08-14 10:59:59.9999", None, "22.000 MH/s")
        + sidechain_status("2026-08-14 12:05:00.0000", "999 H/s"),
    )
    files = export(db, tmp_path / "out")
    hours = {row[0]: row[1:] for row in files["hashrate-hourly.csv"][1:]}
    # (1000 + 2001 + 0) / 3 = 1000.33 rounds to 1000; a record without the pool-side
    # line counts 0 H/s.
    assert hours["2026-08-14T10:00:00+00:00"] == ["3", "1000", "21000000", "5612000000"]
    assert hours["2026-08-14T11:00:00+00:00"] == ["0", "", "", ""]
    assert hours["2026-08-14T12:00:00+00:00"] == ["1", "999", "24807000", "5612000000"]


# Status


def farm_log() -> str:
    return (
        share("2026-08-16 09:50:00.0000", 1, "rig1")
        + block("2026-08-16 09:31:40.0127", 3745131, "you")
        + payout("2026-08-16 09:31:40.0133", "0.000412345678", 3745131)
        + sidechain_status("2026-08-16 10:00:00.1000")
        + stratum_status("2026-08-16 10:00:00.1001")
        + workers(
            "2026-08-16 08:00:00.0000", [("rig1", "1.000 kH/s"), ("old", "5 H/s")]
        )
        + workers("2026-08-16 10:00:00.2000", [("rig1", "4.001 kH/s"), ("rig 2", "")])
    )


def store_farm(db: Path) -> None:
    """Store the P2Pool log of `farm_log` and one XMRig log."""
    store_text(db, farm_log())
    store_text(
        db,
        xmrig_speed("2026-08-16 10:00:01.000", "1000.0", "999.5"),
        origin="/var/log/xmrig/rig1.log",
    )


def test_status_document_values(db: Path) -> None:
    store_farm(db)
    document = status(db, "2026-08-16T10:05:00Z")

    assert document["version"] == 1
    assert document["generated_at"] == "2026-08-16T10:05:00.000000Z"
    assert document["farm"] == "default"
    assert document["store"]["path"] == str(db)
    assert document["store"]["size_bytes"] > 0
    assert document["store"]["events_by_kind"]["worker"] == 4
    assert document["freshness"] == {
        "state": "fresh",
        "newest_event_at": "2026-08-16T10:00:01.000000Z",
        "age_seconds": 299,
        "stale_after_seconds": 900,
    }
    assert document["last_share"] == {
        "at": "2026-08-16T09:50:00.000000Z",
        "age_seconds": 900,
        "worker": "rig1",
        "mainchain_height": 3745120,
        "sidechain_height": 14560001,
        "effort_percent": "87.412",
    }
    assert document["last_block"] == {
        "at": "2026-08-16T09:31:40.012700Z",
        "age_seconds": 1999,
        "height": 3745131,
        "mined_by": "you",
    }
    assert document["last_payout"]["xmr"] == "0.000412345678"
    assert document["last_payout"]["block_height"] == 3745131
    assert document["totals"] == {
        "shares": 1,
        "pool_blocks": 1,
        "your_blocks": 1,
        "payouts": 1,
        "payouts_xmr": "0.000412345678",
    }


def test_status_hashrates(db: Path) -> None:
    store_farm(db)
    hashrates = status(db, "2026-08-16T10:05:00Z")["hashrates"]

    assert hashrates["pool"] == {
        "at": "2026-08-16T10:00:00.100000Z",
        "age_seconds": 299,
        "pool_side_hs": 11402,
        "sidechain_hs": 24807000,
        "mainchain_hs": 5612000000,
    }
    assert hashrates["stratum"]["hashrate_15m_hs"] == 11680
    assert hashrates["stratum"]["hashrate_1h_hs"] == 11592
    assert hashrates["stratum"]["hashrate_24h_hs"] == 11184
    assert hashrates["xmrig"] == [
        {
            "origin": "/var/log/xmrig/rig1.log",
            "at": "2026-08-16T10:00:01.000000Z",
            "age_seconds": 299,
            "h10s_hs": 1000,
            "h60s_hs": 1000,
            "h15m_hs": None,
        }
    ]


def test_status_xmrig_per_log_file(db: Path) -> None:
    for rig, rate in (("rig1", "1000.0"), ("rig2", "2000.0")):
        store_text(
            db,
            xmrig_speed("2026-08-16 09:00:00.000", "1.0", "1.0")
            + xmrig_speed("2026-08-16 10:00:00.000", rate, rate),
            origin=f"/var/log/xmrig/{rig}.log",
        )
    recent = status(db, "2026-08-16T10:30:00Z")["hashrates"]["xmrig"]
    assert [speed["origin"] for speed in recent] == [
        "/var/log/xmrig/rig1.log",
        "/var/log/xmrig/rig2.log",
    ]
    assert [speed["h60s_hs"] for speed in recent] == [1000, 2000]

    # With no speed line in the last hour, the newest one of any log is shown.
    late = status(db, "2026-08-16T12:00:00Z")["hashrates"]["xmrig"]
    assert len(late) == 1
    assert late[0]["at"] == "2026-08-16T10:00:00.000000Z"
    assert late[0]["age_seconds"] == 7200


def test_status_malformed_run_stats(db: Path) -> None:
    store_farm(db)
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO ingest_runs (command, origin, started_at, stats) "
        "VALUES ('import', 'x.log', 0, 'not JSON')"
    )
    conn.commit()
    conn.close()
    with pytest.raises(StoreQueryError, match=f"{db}: report query failed"):
        status(db, "2026-08-16T10:05:00Z")


def test_status_workers_last_hour(db: Path) -> None:
    store_text(db, farm_log())
    workers_seen = status(db, "2026-08-16T10:05:00Z")["workers"]
    assert workers_seen == [
        {
            "name": "rig 2",
            "hashrate_hs": None,
            "at": "2026-08-16T10:00:00.200000Z",
            "age_seconds": 299,
        },
        {
            "name": "rig1",
            "hashrate_hs": 4001,
            "at": "2026-08-16T10:00:00.200000Z",
            "age_seconds": 299,
        },
    ]


def test_status_ingest_counters(db: Path) -> None:
    store_text(db, farm_log() + "NOTICE  2026-08-16 10:00:02.0000 P2Pool something\n")
    new, duplicates = store_text(db, farm_log())
    assert new == 0
    assert duplicates > 0
    ingest = status(db, "2026-08-16T10:05:00Z")["ingest"]

    assert len(ingest["latest_runs"]) == 1
    run = ingest["latest_runs"][0]
    assert run["origin"] == "/var/log/p2pool/p2pool.log"
    assert run["command"] == "import"
    assert run["new_events"] == 0
    assert run["duplicate_events"] == duplicates
    assert run["finished_at"] is not None
    assert ingest["totals"]["runs"] == 2
    assert ingest["totals"]["duplicate_events"] == duplicates
    assert ingest["totals"]["unrecognised_records"] >= 1
    assert ingest["totals"]["lines"] == 2 * run["lines"] + 1


@pytest.mark.parametrize(
    ("now", "state", "age"),
    [
        ("2026-08-16T10:15:01Z", "fresh", 900),
        ("2026-08-16T10:15:01.000001Z", "stale", 900),
        ("2026-08-16T12:00:00Z", "stale", 7199),
        ("2026-08-16T09:00:00Z", "fresh", -3601),
    ],
)
def test_status_freshness_states(db: Path, now: str, state: str, age: int) -> None:
    store_farm(db)
    freshness = status(db, now)["freshness"]
    assert freshness["state"] == state
    assert freshness["age_seconds"] == age


def test_status_empty_store(db: Path) -> None:
    connect(db).close()
    document = status(db, "2026-08-16T10:05:00Z")
    assert document["freshness"]["state"] == "empty"
    assert document["freshness"]["newest_event_at"] is None
    assert document["last_share"] is None
    assert document["last_block"] is None
    assert document["last_payout"] is None
    assert document["hashrates"] == {"pool": None, "stratum": None, "xmrig": []}
    assert document["workers"] == []
    assert document["totals"]["payouts_xmr"] == "0.000000000000"
    assert document["store"]["events"] == 0


def test_status_today_and_week_in_zone(db: Path) -> None:
    store_text(
        db,
        share("2026-08-09 21:59:00.0000", 1)  # 9 Aug in Berlin: outside the 7 days
        + share("2026-08-09 22:01:00.0000", 2)  # 10 Aug in Berlin
        + share("2026-08-15 22:30:00.0000", 3)  # 16 Aug in Berlin: today
        + payout("2026-08-15 23:00:00.0000", "0.000000000007", 3745000),
    )
    document = status(db, "2026-08-16T10:00:00Z", timezone="Europe/Berlin")
    assert document["timezone"] == "Europe/Berlin"
    assert document["today"] == {
        "first_day": "2026-08-16",
        "last_day": "2026-08-16",
        "shares": 1,
        "pool_blocks": 0,
        "your_blocks": 0,
        "payouts": 1,
        "payouts_xmr": "0.000000000007",
    }
    assert document["last_7_days"]["first_day"] == "2026-08-10"
    assert document["last_7_days"]["shares"] == 2
    assert document["totals"]["shares"] == 3


def test_status_other_farm_excluded(db: Path) -> None:
    store_farm(db)
    store_text(
        db,
        share("2026-08-16 11:00:00.0000", 99, "far")
        + payout("2026-08-16 11:00:00.0001", "1.000000000000", 3745999),
        farm="cabin",
        origin="/srv/cabin/p2pool.log",
    )
    document = status(db, "2026-08-16T10:05:00Z")
    assert document["totals"]["shares"] == 1
    assert document["totals"]["payouts_xmr"] == "0.000412345678"
    assert document["freshness"]["newest_event_at"] == "2026-08-16T10:00:01.000000Z"
    assert document["store"]["events_by_kind"]["share_found"] == 2
    cabin = status(db, "2026-08-16T11:05:00Z", farm="cabin")
    assert cabin["totals"]["shares"] == 1
    assert cabin["totals"]["payouts_xmr"] == "1.000000000000"


# Files


def test_write_atomic_replaces_file(tmp_path: Path) -> None:
    target = tmp_path / "blocks-found.csv"
    target.write_text("old\n")
    write_atomic(target, "date,pool_blocks,your_blocks\n")
    assert target.read_text() == "date,pool_blocks,your_blocks\n"
    assert [p.name for p in tmp_path.iterdir()] == ["blocks-found.csv"]


def test_last_days_window_rejects_zero() -> None:
    with pytest.raises(ValueError, match="invalid number of days 0"):
        last_days_window(0, zone_for("UTC"), 0)


def test_window_days_span() -> None:
    window = last_days_window(7, zone_for("Europe/Berlin"), at("2026-08-16T10:00:00Z"))
    assert window.days()[0] == date(2026, 8, 10)
    assert window.days()[-1] == date(2026, 8, 16)
    assert window.start_micros == at("2026-08-10T00:00:00+02:00")
    assert window.end_micros == at("2026-08-17T00:00:00+02:00")
