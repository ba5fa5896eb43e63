"""`db4e status` and `db4e export`: reports over the event store."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from db4e.cli import EXIT_ERROR, EXIT_OK, EXIT_STALE, USER_ERRORS, fail, pass_config
from db4e.cli.farm_status import EXIT_NOT_RUNNING, ask_supervisor, print_supervisor
from db4e.config import Config
from db4e.reports import (
    SqliteReportSource,
    StoreQueryError,
    all_time_window,
    build_status,
    export_csv,
    last_days_window,
    micros_since_epoch,
    status_document,
    zone_for,
)
from db4e.store import NotAStoreError, SchemaTooNewError
from db4e.store.sqlite import now_micros

__all__ = ["COMMANDS", "export", "show_status", "status"]

USER_ERRORS.extend(
    error
    for error in (NotAStoreError, SchemaTooNewError, StoreQueryError)
    if error not in USER_ERRORS
)


def _missing_store(path: Path, code: int) -> None:
    if not path.exists():
        fail(f"no store at {path}; run db4e import or db4e demo first", code)


def _parse_now(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> int | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"invalid time {value!r}; use ISO 8601 such as 2026-08-16T10:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return micros_since_epoch(moment)


def _check_zone(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    if value is None:
        return None
    try:
        zone_for(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f'unknown time zone {value!r}; use an IANA name such as "Europe/Berlin", '
            '"UTC" or "local"'
        ) from None
    return value


_NOW_OPTION = click.option(
    "--now",
    hidden=True,
    callback=_parse_now,
    help="Report as if the time were this ISO 8601 instant (for tests).",
)


@click.command()
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON document instead of tables; docs/reports.md lists its keys.",
)
@_NOW_OPTION
@pass_config
def status(config: Config, as_json: bool, now: int | None) -> None:
    """Show the newest share, block and payout, totals, hashrates, workers and
    parser counters of the store.

    Exits 0 when the newest event is at most [status] stale_after_seconds old, and 1
    when it is older, when the store is empty or when there is no store file.
    """
    supervisor = ask_supervisor(config)
    not_running = EXIT_NOT_RUNNING if config.daemons else EXIT_STALE
    if supervisor is None and config.daemons:
        click.echo(
            f"db4e: db4e run is not running (no answer on "
            f"{config.supervisor.socket_path}); showing the store only",
            err=True,
        )
    if supervisor is None:
        _missing_store(config.store_path, not_running)
    elif not as_json:
        print_supervisor(supervisor)
    code = EXIT_STALE
    if config.store_path.exists():
        code = show_status(config, as_json, now, supervisor)
    elif as_json:
        click.echo(json.dumps({"supervisor": supervisor}, indent=2))
    if supervisor is not None:
        code = EXIT_OK if supervisor["supervisor"].get("healthy") else EXIT_STALE
    elif config.daemons:
        code = EXIT_NOT_RUNNING
    sys.exit(code)


def show_status(
    config: Config,
    as_json: bool = False,
    now: int | None = None,
    supervisor: dict[str, Any] | None = None,
) -> int:
    """Print the status of the store at `config.store_path` and return the exit code:
    `EXIT_OK` when its data is fresh, `EXIT_STALE` otherwise. With `as_json`, the
    running supervisor's document goes under the `supervisor` key."""
    with SqliteReportSource.open(config.store_path, config.farm) as source:
        report = build_status(
            source,
            farm=config.farm,
            timezone=config.export_timezone,
            stale_after_seconds=config.stale_after_seconds,
            now_micros=now_micros() if now is None else now,
        )
    document = status_document(report)
    if supervisor is not None:
        document["supervisor"] = supervisor
    if as_json:
        click.echo(json.dumps(document, indent=2))
    else:
        _print_status(document)
    return EXIT_OK if report.freshness.state == "fresh" else EXIT_STALE


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIR",
    help="Write the CSV files into this folder, created if missing "
    "[default: out in the [export] table of the config].",
)
@click.option(
    "--days",
    type=click.IntRange(min=1),
    metavar="N",
    help="Export the last N calendar days, today included "
    "[default: every day from the oldest to the newest event].",
)
@click.option(
    "--tz",
    "timezone",
    metavar="ZONE",
    callback=_check_zone,
    help="Start each day at midnight in this IANA time zone, or `local` "
    "[default: timezone in the [export] table of the config, else UTC].",
)
@_NOW_OPTION
@pass_config
def export(
    config: Config,
    out_dir: Path | None,
    days: int | None,
    timezone: str | None,
    now: int | None,
) -> None:
    """Write daily CSV files of blocks, shares, shares per worker and payouts, and
    hourly hashrates, then print the paths written."""
    out_dir = out_dir or config.export_dir
    if out_dir is None:
        raise click.UsageError(
            "missing --out; pass --out DIR or set out in the [export] table of the "
            "config"
        )
    _missing_store(config.store_path, EXIT_ERROR)
    zone = zone_for(timezone or config.export_timezone)
    with SqliteReportSource.open(config.store_path, config.farm) as source:
        if days is None:
            window = all_time_window(source, zone)
        else:
            now = now_micros() if now is None else now
            window = last_days_window(days, zone, now)
        written = export_csv(source, window, out_dir)
    for path in written:
        click.echo(str(path))


COMMANDS = [status, export]


# Human-readable status


def _format_hashrate(hs: int | None) -> str:
    if hs is None:
        return "-"
    for unit, size in (("GH/s", 10**9), ("MH/s", 10**6), ("kH/s", 10**3)):
        if hs >= size:
            return f"{hs / size:.3f} {unit}"
    return f"{hs} H/s"


def _format_age(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 0:
        return f"{-seconds} s in the future"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if days:
        return f"{days} d {hours % 24} h ago"
    if hours:
        return f"{hours} h {minutes % 60} min ago"
    if minutes:
        return f"{minutes} min ago"
    return f"{seconds} s ago"


def _format_size(size: int | None) -> str:
    if size is None:
        return "unknown size"
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def _when(item: dict[str, Any]) -> list[Text]:
    """Return the time (to the second) and age cells of a status item."""
    at = item["at"]
    time_text = "-" if at is None else at[:19].replace("T", " ")
    return [Text(time_text), Text(_format_age(item["age_seconds"]))]


def _freshness_line(document: dict[str, Any]) -> Text:
    fresh = document["freshness"]
    limit = _format_age(fresh["stale_after_seconds"]).removesuffix(" ago")
    if fresh["state"] == "empty":
        return Text("empty: the store holds no events of this farm", style="bold red")
    newest = f"newest event {_format_age(fresh['age_seconds'])}"
    style = "bold green" if fresh["state"] == "fresh" else "bold red"
    return Text(f"{fresh['state']}: {newest} (stale after {limit})", style=style)


def _header_lines(document: dict[str, Any]) -> list[Text]:
    store = document["store"]
    return [
        _freshness_line(document),
        Text(
            f"farm {document['farm']}, store {store['path']} "
            f"({_format_size(store['size_bytes'])}, {store['events']:,} events)"
        ),
    ]


def _last_events_table(document: dict[str, Any]) -> Table:
    table = Table(title="Newest events", title_justify="left")
    for column in ("event", "at (UTC)", "age", "details"):
        table.add_column(column)
    share, block, payout = (
        document["last_share"],
        document["last_block"],
        document["last_payout"],
    )
    if share:
        details = f"worker {share['worker']}, height {share['mainchain_height']}"
        table.add_row("share", *_when(share), Text(details))
    if block:
        details = f"height {block['height']}, mined by {block['mined_by']}"
        table.add_row("block", *_when(block), Text(details))
    if payout:
        details = f"{payout['xmr']} XMR in block {payout['block_height']}"
        table.add_row("payout", *_when(payout), Text(details))
    return table


def _totals_table(document: dict[str, Any]) -> Table:
    periods = [
        ("all time", document["totals"]),
        (f"today ({document['timezone']})", document["today"]),
        ("last 7 days", document["last_7_days"]),
    ]
    table = Table(title="Totals", title_justify="left")
    table.add_column("")
    for name, _ in periods:
        table.add_column(name, justify="right")
    for key, label in (
        ("shares", "shares"),
        ("pool_blocks", "pool blocks"),
        ("your_blocks", "your blocks"),
        ("payouts", "payouts"),
        ("payouts_xmr", "XMR paid"),
    ):
        table.add_row(label, *(str(period[key]) for _, period in periods))
    return table


def _hashrate_rows(hashrates: dict[str, Any]) -> list[list[Text]]:
    rows = []
    pool, stratum = hashrates["pool"], hashrates["stratum"]
    if pool:
        for key, label in (
            ("pool_side_hs", "pool-side"),
            ("sidechain_hs", "side chain"),
            ("mainchain_hs", "main chain"),
        ):
            rows.append([Text(label), Text(_format_hashrate(pool[key])), *_when(pool)])
    if stratum:
        for key, label in (
            ("hashrate_15m_hs", "stratum 15m"),
            ("hashrate_1h_hs", "stratum 1h"),
            ("hashrate_24h_hs", "stratum 24h"),
        ):
            rows.append(
                [Text(label), Text(_format_hashrate(stratum[key])), *_when(stratum)]
            )
    for speed in hashrates["xmrig"]:
        rate = _format_hashrate(speed["h60s_hs"] or speed["h10s_hs"])
        name = Path(speed["origin"] or "").name or "-"
        rows.append([Text(f"xmrig {name}"), Text(rate), *_when(speed)])
    return rows


def _hashrates_table(document: dict[str, Any]) -> Table:
    table = Table(title="Hashrates", title_justify="left")
    for column in ("source", "hashrate", "at (UTC)", "age"):
        table.add_column(column)
    for row in _hashrate_rows(document["hashrates"]):
        table.add_row(*row)
    return table


def _workers_table(document: dict[str, Any]) -> Table:
    table = Table(title="Workers seen in the last hour", title_justify="left")
    for column in ("name", "hashrate", "last seen (UTC)", "age"):
        table.add_column(column)
    for worker in document["workers"]:
        table.add_row(
            Text(worker["name"]),
            Text(_format_hashrate(worker["hashrate_hs"])),
            *_when(worker),
        )
    return table


_COUNTER_KEYS = (
    "new_events",
    "duplicate_events",
    "lines",
    "unrecognised_records",
    "unrecognised_lines",
    "oversized_lines",
)


#: Log files listed in the parser counters table, newest first; `--json` has them all.
_INGEST_ROWS = 8


def _ingest_table(document: dict[str, Any]) -> Table:
    table = Table(
        title="Parser counters (newest run per log file)", title_justify="left"
    )
    table.add_column("log file", overflow="fold")
    table.add_column("run")
    # Records of no known kind come first: a format change of P2Pool shows there.
    for column in (
        "new",
        "duplicate",
        "lines",
        "unrecognised records",
        "unrecognised lines",
        "oversized",
    ):
        table.add_column(column, justify="right")
    ingest = document["ingest"]
    runs = sorted(ingest["latest_runs"], key=lambda r: r["started_at"], reverse=True)
    for run in runs[:_INGEST_ROWS]:
        state = " (running)" if run["finished_at"] is None else ""
        table.add_row(
            Text(Path(run["origin"]).name),
            Text(run["command"] + state),
            *(str(run[key]) for key in _COUNTER_KEYS),
        )
    if len(runs) > _INGEST_ROWS:
        hidden = len(runs) - _INGEST_ROWS
        table.caption = f"{hidden} older log files not shown; --json lists them all"
    totals = ingest["totals"]
    table.add_row(
        "all runs",
        f"{totals['runs']} runs",
        *(str(totals[key]) for key in _COUNTER_KEYS),
    )
    return table


def _print_status(document: dict[str, Any]) -> None:
    console = Console(highlight=False)
    for line in _header_lines(document):
        console.print(line)
    for table in (
        _last_events_table(document),
        _totals_table(document),
        _hashrates_table(document),
        _workers_table(document),
        _ingest_table(document),
    ):
        console.print()
        console.print(table)
