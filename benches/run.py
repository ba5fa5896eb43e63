"""Run the parser benchmarks and write the results into docs/benchmarks.md.

    python benches/run.py              # 1 GB logs, 5 runs each
    python benches/run.py --runs 7 --size 200000000 --no-write

Generates (once) two P2Pool logs, A (P2Pool alone) and B (with status and workers
output every minute), then measures, each as the median of `--runs` runs:

1. `scan_file` (bulk parse on one core, events kept in Rust) and `Parser.feed` (the
   compact path that returns one tuple per event);
2. a plain-Python baseline in the style of the original db4e: each line of a 20 MB
   slice run through eight `re.search` patterns that start with `.*`;
3. GNU `grep -c -F 'SHARE FOUND'` and `cat FILE > /dev/null`, as references near the
   limit of the machine;
4. `db4e import` end to end into a new SQLite store: events stored per second, MB/s
   and the peak RSS of the child process.

MB is 10^6 bytes. Files are read from the page cache: each is read once before timing.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import bench_data

from db4e import _parser
from db4e.parser import scan_file

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"
START_MARK = "<!-- results:start (written by benches/run.py) -->"
END_MARK = "<!-- results:end -->"

#: The command line of db4e, from the Python that runs the benchmarks.
DB4E = [sys.executable, "-m", "db4e"]

#: Size of the slice the Python baseline reads: it runs at a few MB/s.
BASELINE_SLICE = 20_000_000

#: The baseline's patterns, one per event kind it looks for, each starting with `.*`
#: as the original db4e wrote them.
BASELINE_PATTERNS = [
    r".*SHARE FOUND: mainchain height (\d+), sidechain height (\d+), diff (\d+), "
    r"client (\S+), user (\S+), effort ([\d.]+)%",
    r".*BLOCK FOUND: main chain block at height (\d+) was mined by (.*)",
    r".*Your wallet (\S+) got a payout of ([\d.]+) XMR in block (\d+)",
    r".*new main chain block: height = (\d+), id = (\w+)",
    r".*Hashrate \(15m est\) *= ([\d.]+) (\S+)",
    r".*Side chain hashrate *= ([\d.]+) (\S+)",
    r".*Your shares *= (\d+) blocks",
    r".*StratumServer (\S+:\d+) +(yes|no) +(.*?) {2,}(\d+) +(.*)",
]


@dataclass
class Measure:
    """The runs of one measurement on one file."""

    seconds: list[float] = field(default_factory=list)
    events: int = 0
    bytes: int = 0
    peak_rss_kb: list[int] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.median_s

    @property
    def events_per_s(self) -> float:
        return self.events / self.median_s


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def repeat(runs: int, once: Callable[[], tuple[int, int]]) -> Measure:
    """Time `once` (which returns events and bytes) `runs` times."""
    result = Measure()
    for _ in range(runs):
        started = time.perf_counter()
        result.events, result.bytes = once()
        result.seconds.append(time.perf_counter() - started)
    return result


def scan_once(path: Path) -> tuple[int, int]:
    stats = scan_file(path)
    return stats.events, stats.bytes


def feed_once(path: Path) -> tuple[int, int]:
    """Parse through the native `Parser.feed`, which returns one tuple per event."""
    parser = _parser.Parser()
    events = 0
    size = 0
    with path.open("rb", buffering=0) as stream:
        while chunk := stream.read(1 << 20):
            size += len(chunk)
            events += len(parser.feed(chunk))
    events += len(parser.finish())
    return events, size


def baseline_once(path: Path) -> tuple[int, int]:
    """Read line by line and try every pattern on every line, as the original did."""
    matches = 0
    with path.open(encoding="utf-8", errors="replace") as stream:
        for line in stream:
            for pattern in BASELINE_PATTERNS:
                if re.search(pattern, line):
                    matches += 1
    return matches, path.stat().st_size


def grep_once(path: Path) -> tuple[int, int]:
    """Count SHARE FOUND lines with GNU grep. Its output goes to a pipe because grep
    stops at the first match when standard output is /dev/null."""
    done = subprocess.run(
        ["grep", "-c", "-F", "SHARE FOUND", str(path)],
        capture_output=True,
        check=True,
        env={**os.environ, "LC_ALL": "C"},
    )
    if int(done.stdout) == 0:
        raise RuntimeError(f"grep found no SHARE FOUND line in {path}")
    return 0, path.stat().st_size


def cat_once(path: Path) -> tuple[int, int]:
    with open(os.devnull, "wb") as sink:
        subprocess.run(["cat", str(path)], stdout=sink, check=True)
    return 0, path.stat().st_size


def write_slice(path: Path, size: int) -> Path:
    """Copy the first `size` bytes of `path`, cut after a newline, next to it."""
    target = path.with_name(path.stem + f"-slice{size // 1_000_000}MB.log")
    with path.open("rb") as source:
        data = source.read(size)
    target.write_bytes(data[: data.rfind(b"\n") + 1])
    return target


def import_once(path: Path, runs: int) -> Measure:
    """Run `db4e import` into a new store `runs` times; measure time, rows, peak RSS."""
    result = Measure(bytes=path.stat().st_size)
    store = bench_data.DATA_DIR / "import-bench.sqlite3"
    for _ in range(runs):
        for leftover in store.parent.glob(store.name + "*"):
            leftover.unlink()
        started = time.perf_counter()
        child = subprocess.Popen(
            [*DB4E, "--db", str(store), "import", str(path)],
            stdout=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(child.pid, 0)
        result.seconds.append(time.perf_counter() - started)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise RuntimeError(f"db4e import {path} failed: exit {child.returncode}")
        result.peak_rss_kb.append(usage.ru_maxrss)
        with sqlite3.connect(store) as db:
            result.events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    for leftover in store.parent.glob(store.name + "*"):
        leftover.unlink()
    return result


def import_available() -> bool:
    """Return whether `db4e import` runs; print why when it does not."""
    found = subprocess.run(
        [*DB4E, "import", "--help"], capture_output=True, text=True, check=False
    )
    if found.returncode != 0:
        say(f"db4e import is not available: {found.stderr.strip()[-500:]}")
    return found.returncode == 0


def machine() -> dict[str, str]:
    def first(pattern: str, path: str) -> str:
        text = Path(path).read_text()
        found = re.search(pattern, text, re.MULTILINE)
        return found.group(1).strip() if found else "unknown"

    def output(argv: list[str]) -> str:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        return done.stdout.strip() or "unknown"

    mem_kb = int(first(r"^MemTotal:\s+(\d+)", "/proc/meminfo"))
    # `output` stands in "unknown" for empty output, so the tree check runs directly.
    status = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "-uno", "--", "rust"],
        capture_output=True,
        text=True,
        check=False,
    )
    dirty = bool(status.stdout.strip())
    commit = output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit + (" (rust/ has uncommitted changes)" if dirty else ""),
        "nproc": output(["nproc"]),
        "cpu": first(r"^model name\s*:\s*(.*)$", "/proc/cpuinfo"),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "rustc": output(["rustc", "--version"]),
        "grep": output(["grep", "--version"]).splitlines()[0],
    }


# -- report -------------------------------------------------------------------


def fmt_rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:,.2f} M"
    if value >= 1e3:
        return f"{value / 1e3:,.1f} k"
    return f"{value:,.1f}"


def results_markdown(
    info: dict[str, str],
    command: str,
    sets: dict[str, Path],
    scans: dict[str, Measure],
    rows: list[tuple[str, dict[str, Measure]]],
    goals: list[tuple[str, str, bool]],
    runs: int,
) -> str:
    lines = [
        START_MARK,
        "",
        f"Command: `{command}` (medians of {runs} runs per cell).",
        "",
        "| machine | |",
        "| --- | --- |",
        *(f"| {key} | {value} |" for key, value in info.items()),
        "",
        "| data set | size | lines | events | events per MB |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, path in sets.items():
        scan = scans[name]
        lines.append(
            f"| {name} | {scan.bytes / 1e6:,.0f} MB | "
            f"{scan_lines(path):,} | {scan.events:,} | "
            f"{scan.events / (scan.bytes / 1e6):,.0f} |"
        )
    lines += [
        "",
        "| measurement | A MB/s | A events/s | B MB/s | B events/s | "
        "A median s | B median s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, per_set in rows:
        a, b = per_set.get("A"), per_set.get("B")
        cells = []
        for m in (a, b):
            if m is None:
                cells += ["-", "-"]
            elif m.events:
                cells += [f"{m.mb_per_s:,.1f}", fmt_rate(m.events_per_s)]
            else:
                cells += [f"{m.mb_per_s:,.1f}", "-"]
        times = [f"{m.median_s:.3f}" if m else "-" for m in (a, b)]
        lines.append(f"| {label} | " + " | ".join(cells + times) + " |")
    lines += ["", "| goal | measured | met |", "| --- | --- | --- |"]
    for goal, measured, met in goals:
        lines.append(f"| {goal} | {measured} | {'yes' if met else '**no**'} |")
    lines += ["", END_MARK]
    return "\n".join(lines)


_line_counts: dict[Path, int] = {}


def scan_lines(path: Path) -> int:
    if path not in _line_counts:
        _line_counts[path] = scan_file(path).lines
    return _line_counts[path]


def goal_rows(
    scans: dict[str, Measure],
    feeds: dict[str, Measure],
    baselines: dict[str, Measure],
    greps: dict[str, Measure],
    imports: dict[str, Measure],
) -> list[tuple[str, str, bool]]:
    goals = [
        (
            "scan_file ≥ 1 GB/s on A",
            f"{scans['A'].mb_per_s:,.0f} MB/s",
            scans["A"].mb_per_s >= 1000,
        ),
        (
            "scan_file ≥ 2 M events/s on B",
            f"{fmt_rate(scans['B'].events_per_s)}events/s",
            scans["B"].events_per_s >= 2e6,
        ),
    ]
    for name in ("A", "B"):
        ratio = scans[name].mb_per_s / baselines[name].mb_per_s
        goals.append(
            (
                f"scan_file ≥ 100x the Python baseline on {name}",
                f"{ratio:,.0f}x (feed: "
                f"{feeds[name].mb_per_s / baselines[name].mb_per_s:,.0f}x)",
                ratio >= 100,
            )
        )
    grep_ratio = greps["A"].mb_per_s / scans["A"].mb_per_s
    goals.append(
        (
            "scan_file within 2x of grep on A",
            f"grep is {grep_ratio:.2f}x faster",
            grep_ratio <= 2,
        )
    )
    if imports:
        rss = max(max(m.peak_rss_kb) for m in imports.values()) / 1024
        goals += [
            (
                "import ≥ 200 k events/s on B",
                f"{fmt_rate(imports['B'].events_per_s)}events/s",
                imports["B"].events_per_s >= 2e5,
            ),
            (
                "import ≥ 300 MB/s on A",
                f"{imports['A'].mb_per_s:,.0f} MB/s",
                imports["A"].mb_per_s >= 300,
            ),
            ("import peak RSS < 200 MB", f"{rss:,.0f} MiB (max of runs)", rss < 200),
        ]
    else:
        goals.append(("db4e import goals", "not measured", False))
    return goals


def write_report(section: str) -> None:
    text = REPORT.read_text() if REPORT.exists() else ""
    if START_MARK in text and END_MARK in text:
        before = text[: text.index(START_MARK)]
        after = text[text.index(END_MARK) + len(END_MARK) :]
        text = before + section + after
    else:
        text = (text or "# Benchmarks\n") + "\n" + section + "\n"
    REPORT.write_text(text)


# -- main -----------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement")
    parser.add_argument(
        "--size", type=int, default=bench_data.DEFAULT_SIZE, help="bytes per data set"
    )
    parser.add_argument("--no-import", action="store_true", help="skip db4e import")
    parser.add_argument(
        "--no-write", action="store_true", help="print, leave docs/ unchanged"
    )
    args = parser.parse_args()
    runs = max(args.runs, 1)
    # Taken before the runs: the commit and tree state that the measured build is from.
    info = machine()

    sets: dict[str, Path] = {}
    for data_set in bench_data.data_sets(args.size):
        path, took = bench_data.ensure(data_set)
        note = "reused" if took is None else f"generated in {took:.1f} s"
        say(f"data set {data_set.name}: {path} ({note})")
        sets[data_set.name] = path
        cat_once(path)  # into the page cache

    scans: dict[str, Measure] = {}
    feeds: dict[str, Measure] = {}
    baselines: dict[str, Measure] = {}
    greps: dict[str, Measure] = {}
    cats: dict[str, Measure] = {}
    imports: dict[str, Measure] = {}
    for name, path in sets.items():
        scans[name] = repeat(runs, partial(scan_once, path))
        say(f"{name} scan_file: {scans[name].mb_per_s:,.0f} MB/s")
        feeds[name] = repeat(runs, partial(feed_once, path))
        say(f"{name} Parser.feed: {feeds[name].mb_per_s:,.0f} MB/s")
        piece = write_slice(path, BASELINE_SLICE)
        baselines[name] = repeat(runs, partial(baseline_once, piece))
        say(f"{name} Python baseline: {baselines[name].mb_per_s:,.2f} MB/s")
        greps[name] = repeat(runs, partial(grep_once, path))
        cats[name] = repeat(runs, partial(cat_once, path))
        say(f"{name} grep {greps[name].mb_per_s:,.0f}, cat {cats[name].mb_per_s:,.0f}")
    if not args.no_import and import_available():
        for name, path in sets.items():
            imports[name] = import_once(path, runs)
            say(
                f"{name} db4e import: {imports[name].mb_per_s:,.1f} MB/s, "
                f"{fmt_rate(imports[name].events_per_s)}events/s"
            )

    rows = [
        ("`scan_file` (events kept in Rust)", scans),
        ("`Parser.feed` (one tuple per event)", feeds),
        ("Python baseline, 8 `re.search` per line (20 MB slice)", baselines),
        ("`grep -c -F 'SHARE FOUND'` (LC_ALL=C)", greps),
        ("`cat FILE > /dev/null`", cats),
    ]
    if imports:
        rows.append(("`db4e import` into SQLite (events stored)", imports))
    command = "python benches/run.py" + "".join(f" {a}" for a in sys.argv[1:])
    section = results_markdown(
        info,
        command,
        sets,
        scans,
        rows,
        goal_rows(scans, feeds, baselines, greps, imports),
        runs,
    )
    say(section)
    if not args.no_write:
        write_report(section)
        say(f"wrote {REPORT}")


if __name__ == "__main__":
    main()
