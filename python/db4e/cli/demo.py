"""`db4e demo`: the whole first slice on real and generated input, in a new folder."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import anyio
import click

from db4e.cli import pass_config
from db4e.cli.farm_status import print_supervisor
from db4e.cli.report import show_status
from db4e.config import Config
from db4e.demo_farm import demo_config, run_demo_farm
from db4e.follow import FollowResult, follow
from db4e.importer import FileImport, import_file
from db4e.parser import ParserStats
from db4e.reports import SqliteReportSource, export_csv, last_days_window, zone_for
from db4e.simulate import LiveFile, SimConfig, append_live, write_log
from db4e.store import open_store
from db4e.store.sqlite import now_micros

__all__ = ["COMMANDS", "demo"]

#: One simulated day of a farm of eight rigs, with a `status` and a `workers` listing
#: every minute, as `db4e run` will request them.
DAY_SECONDS = 86_400.0


def sample_logs() -> list[Path]:
    """Return the real P2Pool, XMRig and monerod excerpts shipped with db4e."""
    root = Path(str(resources.files("db4e") / "samples"))
    return sorted(root.glob("*/*.log"))


def _new_folder(folder: Path | None) -> Path:
    if folder is None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        folder = Path.cwd() / f"db4e-demo-{stamp}"
    if folder.exists() and any(folder.iterdir()):
        raise click.UsageError(
            f"{folder} exists and is not empty; pass --dir with a new folder"
        )
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    return folder


def _generate_day(logs: Path, end: float) -> Path:
    path = logs / "p2pool-yesterday.log"
    config = SimConfig(
        start=end - DAY_SECONDS,
        duration_s=DAY_SECONDS,
        seed=2026,
        status_every_s=60.0,
        workers_every_s=60.0,
    )
    write_log(path, config)
    return path


def _live_config(now: float) -> SimConfig:
    # A busy, fast farm so that a few seconds of following show shares, blocks, payouts
    # and status output: one side-chain block a second instead of one every ten.
    return SimConfig(
        start=now,
        duration_s=float("inf"),
        seed=4242,
        sidechain_block_s=1.0,
        mainchain_block_s=12.0,
        share_every_s=2.0,
        block_every_s=5.0,
        status_every_s=3.0,
        workers_every_s=3.0,
        startup=True,
    )


def _summary(results: list[FileImport]) -> str:
    stats = ParserStats()
    for result in results:
        stats.merge(result.stats)
    new = sum(r.new for r in results)
    duplicates = sum(r.duplicates for r in results)
    return (
        f"{len(results)} files, {stats.lines:,} lines: {new:,} events stored, "
        f"{duplicates:,} already stored, "
        f"{sum(stats.unrecognised_records.values()):,} records of no event kind"
    )


async def _import(config: Config, files: list[Path]) -> list[FileImport]:
    async with open_store(config) as store:
        return [await import_file(store, path) for path in files]


async def _follow_live(config: Config, path: Path, seconds: float) -> FollowResult:
    files: list[LiveFile] = []

    def write() -> None:
        files.extend(
            append_live(
                path,
                seconds,
                config=_live_config(time.time()),
                rotate_every_s=seconds / 2,
                realtime=True,
            )
        )

    writer = threading.Thread(target=write, name="demo-live-writer", daemon=True)
    path.touch()
    writer.start()
    async with open_store(config) as store:
        # Follow a little longer than the writer writes, so the last records and the
        # rotation are read before the demo goes on.
        result = await follow(store, path, interval=0.1, duration=seconds + 1.5)
    await anyio.to_thread.run_sync(writer.join)
    return result


@click.command()
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    help="Create the demo in this new or empty folder "
    "[default: ./db4e-demo-YYYYMMDD-HHMMSS].",
)
@click.option(
    "--live-seconds",
    type=click.FloatRange(min=1.0, max=120.0),
    default=8.0,
    show_default=True,
    help="Set how long, in seconds, the generated live log is written and followed.",
)
@click.option(
    "--farm-seconds",
    type=click.FloatRange(min=1.0, max=300.0),
    default=8.0,
    show_default=True,
    help="Set how long, in seconds, the supervised farm runs after its restart.",
)
@pass_config
def demo(
    config: Config, folder: Path | None, live_seconds: float, farm_seconds: float
) -> None:
    """Show db4e on real and generated P2Pool output, without touching your data.

    Creates a new folder with its own store, imports the real sample logs shipped with
    db4e and a generated day of P2Pool output, and follows a generated live log
    (rotated once) for a few seconds. Then it runs the real supervisor over monerod in
    regtest (when the monero package is installed) and the simulated P2Pool and
    XMRig, kills P2Pool once to show the restart, stops them, prints the status and
    writes the daily CSV files. The global --db option, the configured store and the
    configured daemons are not used.
    """
    started = time.monotonic()
    folder = _new_folder(folder)
    config = replace(config, store_path=folder / "db4e.sqlite3")
    logs = folder / "logs"

    click.echo(f"== Importing the real sample logs shipped with db4e into {folder}")
    click.echo(_summary(anyio.run(_import, config, sample_logs())))
    click.echo("== Importing them again: every event is already stored")
    click.echo(_summary(anyio.run(_import, config, sample_logs())))
    click.echo("== Generating and importing a day of P2Pool output (8 rigs)")
    day = _generate_day(logs, time.time() - 2 * live_seconds)
    click.echo(f"{day}: " + _summary(anyio.run(_import, config, [day])))

    live = logs / "p2pool.log"
    click.echo(f"== Following {live} for {live_seconds:g} s while it is written")
    followed = anyio.run(_follow_live, config, live, live_seconds)
    click.echo(
        f"{live}: {followed.new:,} events stored live, "
        f"{followed.stats.lines:,} lines read across one rotation"
    )

    click.echo(f"== Running the farm under the supervisor for {farm_seconds:g} s")
    farm_config = demo_config(config, folder)
    if not any(d.name == "monerod" for d in farm_config.daemons):
        click.echo("(monerod is not installed: install Debian's monero package to")
        click.echo(" see it run in regtest; the demo goes on without it)")
    document = anyio.run(run_demo_farm, farm_config, farm_seconds, click.echo)

    click.echo("== db4e status (the supervisor part as it was just before the stop)")
    print_supervisor(document)
    show_status(config)
    csv_dir = folder / "csv"
    click.echo(f"== Writing the daily CSV files of the last 30 days into {csv_dir}")
    # The samples date back to 2020; an all-time export would be years of zero rows.
    zone = zone_for(config.export_timezone)
    window = last_days_window(30, zone, now_micros())
    with SqliteReportSource.open(config.store_path, config.farm) as source:
        written = export_csv(source, window, csv_dir)
    for path in written:
        click.echo(f"  {path.name}")

    click.echo(f"== Done in {time.monotonic() - started:.1f} s. Try:")
    db = config.store_path
    click.echo(f"  db4e --db {db} status")
    click.echo(f"  db4e --db {db} status --json")
    click.echo(f"  db4e --db {db} export --out {folder / 'csv-all'}")
    click.echo(f"  db4e parse {live} | head")


COMMANDS = [demo]
