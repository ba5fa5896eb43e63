"""The two generated P2Pool logs the benchmarks read, written once and reused.

A: what P2Pool writes on its own at the default log level 3 (sidechain and Monero block
chatter, stratum jobs, occasional shares, blocks and payouts, node errors).
B: the same plus a `status` and a `workers` output every minute for eight workers,
about 2,000 events per MB.

Each file is regenerated when it is missing or when its settings or the simulator's
source changed, which a small JSON file next to it records.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import db4e.simulate
from db4e.simulate import SimConfig, write_log

DATA_DIR = Path(__file__).parent / "data"

#: Size of each generated log in bytes (1 GB, decimal).
DEFAULT_SIZE = 1_000_000_000

_BASE = SimConfig(
    start=datetime(2026, 1, 1, tzinfo=UTC).timestamp(),
    duration_s=float("inf"),
    workers=8,
)


@dataclass(frozen=True)
class DataSet:
    """One benchmark input: its name, its settings and where it is written."""

    name: str
    description: str
    config: SimConfig

    def path(self) -> Path:
        size_mb = (self.config.max_bytes or 0) // 1_000_000
        return DATA_DIR / f"p2pool-{self.name}-{size_mb}MB.log"


def data_sets(size: int = DEFAULT_SIZE) -> list[DataSet]:
    """Return data sets A and B of `size` bytes each."""
    return [
        DataSet(
            "A",
            "P2Pool on its own at log level 3",
            replace(_BASE, seed=1, max_bytes=size),
        ),
        DataSet(
            "B",
            "A plus status and workers output every minute, 8 workers",
            replace(
                _BASE,
                seed=2,
                max_bytes=size,
                status_every_s=60.0,
                workers_every_s=60.0,
            ),
        ),
    ]


def _simulator_digest() -> str:
    """Hash the simulator's source, so that a changed generator regenerates files."""
    digest = hashlib.sha256()
    package = Path(db4e.simulate.__file__).parent
    for source in sorted(package.glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def ensure(data_set: DataSet) -> tuple[Path, float | None]:
    """Write the data set's file unless an up-to-date one exists. Return its path and
    the seconds generation took (None when the file was reused)."""
    path = data_set.path()
    meta_path = path.with_suffix(".json")
    meta = {
        "config": {k: str(v) for k, v in asdict(data_set.config).items()},
        "simulator": _simulator_digest(),
    }
    if meta_path.exists() and path.exists():
        current = json.loads(meta_path.read_text()) == meta
        if current:
            return path, None
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    write_log(path, data_set.config)
    elapsed = time.perf_counter() - started
    meta_path.write_text(json.dumps(meta, indent=1))
    return path, elapsed
