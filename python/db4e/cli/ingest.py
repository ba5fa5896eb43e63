"""`db4e import` and `db4e watch`: store the events of log files."""

from __future__ import annotations

import logging
import signal
import sys
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import anyio
import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from db4e.cli import EXIT_ERROR, USER_ERRORS, pass_config
from db4e.config import Config
from db4e.follow import CompressedLogError, FollowResult, follow
from db4e.importer import FileImport, ProgressCallback, import_file, import_stdin
from db4e.parser import ParserStats
from db4e.store import (
    NotAStoreError,
    SchemaTooNewError,
    StoreLockedError,
    open_store,
)

__all__ = ["COMMANDS", "import_cmd", "watch"]

logger = logging.getLogger(__name__)

USER_ERRORS.extend(
    [SchemaTooNewError, NotAStoreError, StoreLockedError, CompressedLogError]
)


# Output


def _file_error_reason(origin: str, error: BaseException) -> str:
    """Describe why a file could not be imported, without its path."""
    if isinstance(error, OSError):
        return str(error.strerror or error)
    if isinstance(error, EOFError):
        return f"compressed file is truncated ({error}); the rest is missing"
    if isinstance(error, zlib.error):
        return f"compressed file is damaged ({error})"
    return str(error).removeprefix(f"{origin}: ")


def _describe_stats(stats: ParserStats) -> str:
    kinds = ", ".join(
        f"{kind} {n:,}" for kind, n in stats.as_dict()["events_by_kind"].items()
    )
    unrecognised = sum(stats.unrecognised_records.values())
    text = f"{stats.lines:,} lines, {stats.events:,} events"
    if kinds:
        text += f" ({kinds})"
    return (
        f"{text}; {unrecognised:,} unrecognised records, "
        f"{stats.unrecognised_lines:,} unrecognised lines, "
        f"{stats.oversized_lines:,} oversized lines"
    )


def _summary_line(name: str, new: int, duplicates: int, stats: ParserStats) -> str:
    return (
        f"{name}: {new:,} new, {duplicates:,} already stored; {_describe_stats(stats)}"
    )


# db4e import


@contextmanager
def _progress_bar() -> Iterator[Progress | None]:
    """Show a progress bar on stderr when it is a terminal."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    with bar:
        yield bar


def _progress_callback(bar: Progress | None, path: Path) -> ProgressCallback | None:
    if bar is None:
        return None
    try:
        total: int | None = path.stat().st_size
    except OSError:
        total = None
    task = bar.add_task(path.name, total=total)

    def update(position: int, size: int) -> None:
        bar.update(task, completed=position, total=size)

    return update


async def _import_all(config: Config, files: Sequence[Path]) -> list[FileImport]:
    results = []
    async with open_store(config) as store:
        with _progress_bar() as bar:
            for path in files:
                if str(path) == "-":
                    result = await import_stdin(store)
                else:
                    progress = _progress_callback(bar, path)
                    result = await import_file(store, path, progress)
                if result.error is not None:
                    reason = _file_error_reason(result.origin, result.error)
                    click.echo(f"db4e: {result.origin}: {reason}", err=True)
                results.append(result)
    return results


def _file_summary(result: FileImport) -> str:
    name = result.origin
    if result.error is None:
        return _summary_line(name, result.new, result.duplicates, result.stats)
    reason = _file_error_reason(name, result.error)
    if result.stats.bytes == 0:
        return f"{name}: not imported: {reason}"
    line = _summary_line(name, result.new, result.duplicates, result.stats)
    return f"{line}; stopped early: {reason}"


def _print_import_summary(results: list[FileImport]) -> None:
    total = ParserStats()
    for result in results:
        total.merge(result.stats)
        click.echo(_file_summary(result))
    if len(results) > 1:
        new = sum(r.new for r in results)
        duplicates = sum(r.duplicates for r in results)
        name = f"total of {len(results)} files"
        click.echo(_summary_line(name, new, duplicates, total))


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_config
def import_cmd(config: Config, files: tuple[Path, ...]) -> None:
    """Store the events of FILES (P2Pool, XMRig or monerod logs, plain or .gz).

    `-` reads standard input. Each event is stored once, so importing a file again,
    or a rotated copy next to the live file, adds only what is new. A file that cannot
    be read is reported and skipped, and the command then exits with status 3 after
    importing the others.
    """
    results = anyio.run(_import_all, config, files)
    _print_import_summary(results)
    if any(r.error is not None for r in results):
        sys.exit(EXIT_ERROR)


# db4e watch


async def _stop_on_signal(stop: anyio.Event) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            logger.info(
                "stopping on %s after the current batch", signal.Signals(signum).name
            )
            stop.set()
            return


async def _watch(
    config: Config, path: Path, interval: float, duration: float | None
) -> FollowResult:
    stop = anyio.Event()
    async with open_store(config) as store:
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(_stop_on_signal, stop)
                result = await follow(
                    store, path, interval=interval, duration=duration, stop=stop
                )
                group.cancel_scope.cancel()
        except BaseExceptionGroup as group_error:
            raise _first_error(group_error) from None
    return result


def _first_error(group_error: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group_error.exceptions[0]
    if isinstance(first, BaseExceptionGroup):
        return _first_error(first)
    return first


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--interval",
    type=click.FloatRange(min=0.01),
    default=0.2,
    show_default=True,
    help="Set how often to check FILE for new lines, in seconds.",
)
@click.option(
    "--for",
    "duration",
    type=click.FloatRange(min=0),
    default=None,
    help="Stop after this many seconds [default: run until Ctrl-C or SIGTERM].",
)
@pass_config
def watch(config: Config, file: Path, interval: float, duration: float | None) -> None:
    """Follow FILE as P2Pool, XMRig or monerod writes it and store its events.

    Resumes where the last run stopped, and keeps up with log rotation (rename and
    re-create, copytruncate, delete and re-create), also when it happened while db4e
    was stopped. The first run reads FILE from its start but not its rotated copies:
    store those once with `db4e import`. Ctrl-C or SIGTERM stops it after storing what
    was read.
    """
    result = anyio.run(_watch, config, file, interval, duration)
    click.echo(_summary_line(result.path, result.new, result.duplicates, result.stats))


COMMANDS = [import_cmd, watch]
