"""`db4e parse`: print the events of log files, one JSON object per line."""

from __future__ import annotations

import gzip
import json
import os
import sys
import zlib
from pathlib import Path
from typing import BinaryIO

import click

from db4e.cli import EXIT_OK, fail
from db4e.parser import CHUNK_SIZE, Parser, ParserStats, iter_file


def _parse_stdin(out: BinaryIO, include_partial: bool) -> ParserStats:
    parser = Parser()
    stdin = sys.stdin.buffer
    # read1 returns what the pipe has now, so events of a live stream come out at once.
    while chunk := stdin.read1(CHUNK_SIZE):  # type: ignore[union-attr]
        for e in parser.feed(chunk):
            out.write(e.json.encode() + b"\n")
    for e in parser.finish(include_partial):
        out.write(e.json.encode() + b"\n")
    return parser.stats()


def _parse_file(path: Path, out: BinaryIO) -> ParserStats:
    parser = Parser()
    for batch in iter_file(path, parser=parser):
        out.write(b"".join(e.json.encode() + b"\n" for e in batch))
    return parser.stats()


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["jsonl"]),
    default="jsonl",
    show_default=True,
    help="Set the output format: one JSON object per event and line.",
)
@click.option(
    "--include-partial",
    is_flag=True,
    help="Parse a last line of standard input that has no newline (files: never).",
)
@click.option(
    "--stats",
    is_flag=True,
    help="Print line, record and event counts to stderr after each input.",
)
def parse(
    files: tuple[Path, ...], output_format: str, include_partial: bool, stats: bool
) -> None:
    """Print the events found in FILES (P2Pool, XMRig or monerod logs, plain or .gz).

    `-` reads standard input. Each event is one JSON object with `line`, `kind`,
    `source`, `timestamp`, the program's header fields and the kind's fields.
    """
    out = sys.stdout.buffer
    try:
        for name in files:
            counts = _parse_one(name, out, include_partial)
            out.flush()
            if stats:
                click.echo(f"{name}: {json.dumps(counts.as_dict())}", err=True)
    except BrokenPipeError:
        # The reader (`head`, a pager) has what it wanted: stop quietly, as cat does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_OK)


def _parse_one(name: Path, out: BinaryIO, include_partial: bool) -> ParserStats:
    if str(name) == "-":
        return _parse_stdin(out, include_partial)
    try:
        return _parse_file(name, out)
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        fail(f"{name}: compressed file is damaged or cut short ({e or 'end of data'})")
