"""`python -m db4e.simulate OUT`: write a simulated P2Pool log to a file."""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime
from pathlib import Path

from db4e.simulate import SimConfig, write_log

logger = logging.getLogger("db4e.simulate")


def _parse_size(text: str) -> int:
    """Parse `123`, `20M` or `1G` (powers of 1024) as a byte count."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    suffix = text[-1:].upper()
    if suffix in units:
        return int(float(text[:-1]) * units[suffix])
    return int(text)


def _main(argv: list[str] | None = None) -> None:
    """Parse the command line and write the requested simulated log."""
    parser = argparse.ArgumentParser(
        prog="python -m db4e.simulate", description=__doc__
    )
    parser.add_argument("out", type=Path, help="file to write (overwritten)")
    parser.add_argument("--size", default="10M", help="stop after this many bytes")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument("--workers", type=int, default=8, help="number of workers")
    parser.add_argument(
        "--status",
        type=float,
        default=None,
        help="seconds between status command outputs",
    )
    parser.add_argument(
        "--listing",
        type=float,
        default=None,
        help="seconds between workers command outputs",
    )
    parser.add_argument("--console", action="store_true", help="console form")
    parser.add_argument("--colours", action="store_true", help="ANSI colours (console)")
    args = parser.parse_args(argv)
    config = SimConfig(
        start=datetime(2026, 1, 1, tzinfo=UTC).timestamp(),
        duration_s=float("inf"),
        max_bytes=_parse_size(args.size),
        seed=args.seed,
        workers=args.workers,
        status_every_s=args.status,
        workers_every_s=args.listing,
        console=args.console or args.colours,
        colours=args.colours,
    )
    size = write_log(args.out, config)
    logger.info("wrote %d bytes to %s", size, args.out)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _main()
