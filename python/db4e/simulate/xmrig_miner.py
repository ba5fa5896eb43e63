"""The state of a simulated XMRig v6 miner and the texts and JSON it reports.

The shapes follow XMRig v6 (`src/core/Miner.cpp`, `src/net/Network.cpp`,
`src/base/net/stratum/NetworkState.cpp`, `src/base/api/Api.cpp`): the speed line,
the `results` and `connection` console output, and the HTTP API summary. Every value
that describes the machine is made up.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "VERSION",
    "HashrateMeter",
    "MinerIdentity",
    "PoolState",
    "format_hashrate",
    "scale_difficulty",
    "speed_message",
    "summary",
]

VERSION = "6.22.2"
COMPILER = "gcc/13.2.0"
USER_AGENT = f"XMRig/{VERSION} (Linux x86_64) libuv/1.48.0 {COMPILER}"
#: Windows of the three hashrate averages, in seconds: 10 s, 60 s, 15 min.
WINDOWS_S = (10.0, 60.0, 900.0)
#: Best result difficulties kept for `results.best`.
TOP_RESULTS = 10
#: Huge pages allocated and wanted: the RandomX dataset and one scratchpad per
#: thread, all granted.
HUGE_PAGES = (1172, 1172)


def format_hashrate(value: float | None) -> str:
    """Format one hashrate as XMRig prints it: `n/a` when unknown or zero, two
    decimals below 100, one decimal from 100."""
    if value is None or not math.isfinite(value) or value <= 0:
        return "n/a"
    return f"{value:.2f}" if value < 100 else f"{value:.1f}"


def speed_message(rates: list[float | None], highest: float | None) -> str:
    """Return the message of the `miner speed` line. All values switch to MH/s
    when any reaches 10⁶ H/s."""
    values = [*rates, highest]
    mega = any(v is not None and v >= 1e6 for v in values)
    unit, scale = ("MH/s", 1e-6) if mega else ("H/s", 1.0)
    shown = [format_hashrate(None if v is None else v * scale) for v in values]
    return (
        f"speed 10s/60s/15m {shown[0]} {shown[1]} {shown[2]} {unit} "
        f"max {shown[3]} {unit}"
    )


def scale_difficulty(difficulty: int) -> str:
    """Return a difficulty as the `accepted` and `new job` lines print it: divided
    by 1000 with `K` from 10⁶, by 10⁶ with `M` from 10⁸."""
    if difficulty >= 100_000_000:
        return f"{difficulty // 1_000_000}M"
    if difficulty >= 1_000_000:
        return f"{difficulty // 1000}K"
    return str(difficulty)


def _human_difficulty(difficulty: int) -> str:
    """Return a difficulty as the `results` and `connection` output print it,
    which adds `G` from 10¹¹."""
    if difficulty >= 100_000_000_000:
        return f"{difficulty // 1_000_000_000}G"
    return scale_difficulty(difficulty)


def _normalize(value: float | None) -> float | None:
    """Return a hashrate as the API reports it: floored to 2 decimals, None when
    unknown or zero (XMRig tests `isnormal`)."""
    if value is None or not math.isfinite(value) or value <= 0:
        return None
    return math.floor(value * 100) / 100


class HashrateMeter:
    """The miner's measured hashrate. An average is known only once the miner has
    been mining for its whole window, and it counts the time spent mining in it."""

    def __init__(
        self, hashrate_hs: float, window_scale: float, rng: random.Random
    ) -> None:
        self.hashrate_hs = hashrate_hs
        self.windows = tuple(w * window_scale for w in WINDOWS_S)
        self._rng = rng
        #: Monotonic time mining first started, None before the first job.
        self._first_start: float | None = None
        #: Mining periods as `(start, end)` in monotonic seconds, the last one open
        #: (end None) while mining.
        self._periods: list[tuple[float, float | None]] = []
        self.highest: float | None = None

    @property
    def mining(self) -> bool:
        return bool(self._periods) and self._periods[-1][1] is None

    def start(self, now: float) -> None:
        if self.mining:
            return
        if self._first_start is None:
            self._first_start = now
        self._periods.append((now, None))

    def stop(self, now: float) -> None:
        if self.mining:
            self._periods[-1] = (self._periods[-1][0], now)

    def rates(self, now: float) -> list[float | None]:
        """Return the 10 s, 60 s and 15 min averages in H/s, None while unknown,
        and raise `highest` to the 10 s value."""
        longest = self.windows[-1]
        self._periods = [
            p for p in self._periods if p[1] is None or p[1] > now - longest
        ]
        rates = [self._rate(window, now) for window in self.windows]
        if rates[0] is not None:
            self.highest = max(self.highest or 0.0, rates[0])
        return rates

    def _rate(self, window: float, now: float) -> float | None:
        if self._first_start is None or now - self._first_start < window:
            return None
        mined = 0.0
        for start, end in self._periods:
            stop = now if end is None else end
            mined += max(stop - max(start, now - window), 0.0)
        if mined <= 0:
            return None
        # A jitter of 1%, as measured averages wander.
        return self.hashrate_hs * mined / window * self._rng.uniform(0.99, 1.01)


@dataclass(slots=True)
class PoolState:
    """The pool connection and the results sent on it (XMRig's NetworkState)."""

    #: `host:port`, kept after a disconnect as XMRig does.
    pool: str
    ip: str | None = None
    active: bool = False
    #: Monotonic time of the last connect.
    connected_at: float = 0.0
    failures: int = 0
    difficulty: int = 0
    algorithm: str | None = None
    accepted: int = 0
    rejected: int = 0
    #: Sum of the difficulties of the accepted results.
    hashes: int = 0
    best: list[int] = field(default_factory=lambda: [0] * TOP_RESULTS)
    #: Round-trip times of the results of this connection, in milliseconds.
    latencies: list[int] = field(default_factory=list)

    def connect(self, ip: str, now: float) -> None:
        self.ip = ip
        self.active = True
        self.connected_at = now

    def disconnect(self) -> None:
        """Reset what belongs to the lost connection and count the failure."""
        self.active = False
        self.difficulty = 0
        self.ip = None
        self.failures += 1
        self.latencies.clear()

    def add_result(
        self, difficulty: int, actual: int, elapsed_ms: int, error: str | None
    ) -> None:
        if error is not None:
            self.rejected += 1
            return
        self.accepted += 1
        self.hashes += difficulty
        if actual > self.best[-1]:
            self.best[-1] = actual
            self.best.sort(reverse=True)
        self.latencies.append(min(elapsed_ms, 0xFFFF))

    def connection_ms(self, now: float) -> int:
        return int((now - self.connected_at) * 1000) if self.active else 0

    def latency(self) -> int:
        """Return the median round-trip time in ms, 0 without results."""
        if not self.latencies:
            return 0
        return sorted(self.latencies)[len(self.latencies) // 2]

    def average_time_ms(self, now: float) -> int:
        if not self.latencies:
            return 0
        return self.connection_ms(now) // len(self.latencies)

    def results_json(self, api_version: int, now: float) -> dict[str, Any]:
        results: dict[str, Any] = {
            "diff_current": self.difficulty,
            "shares_good": self.accepted,
            "shares_total": self.accepted + self.rejected,
            "avg_time": self.average_time_ms(now) // 1000,
            "avg_time_ms": self.average_time_ms(now),
            "hashes_total": self.hashes,
            "best": list(self.best),
        }
        if api_version == 1:
            results["error_log"] = []
        return results

    def connection_json(self, api_version: int, now: float) -> dict[str, Any]:
        connection: dict[str, Any] = {
            "pool": self.pool,
            "ip": self.ip,
            "uptime": self.connection_ms(now) // 1000,
            "uptime_ms": self.connection_ms(now),
            "ping": self.latency(),
            "failures": self.failures,
            "tls": None,
            "tls-fingerprint": None,
            "algo": self.algorithm,
            "diff": self.difficulty,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "avg_time": self.average_time_ms(now) // 1000,
            "avg_time_ms": self.average_time_ms(now),
            "hashes_total": self.hashes,
        }
        if api_version == 1:
            connection["error_log"] = []
        return connection

    def results_lines(self, now: float) -> list[str]:
        """Return the untimestamped lines of the `s` (results) key, or an empty
        list when there are no results yet."""
        if not self.hashes:
            return []
        percent = 0.0
        if self.accepted:
            percent = self.accepted / (self.accepted + self.rejected) * 100
        lines = [" - RESULTS", f" * {'accepted':<17}{self.accepted} ({percent:.1f}%)"]
        if self.rejected:
            lines.append(f" * {'rejected':<17}{self.rejected}")
        average = self.hashes / self.accepted if self.accepted else 0.0
        lines.append(f" * {'pool-side hashes':<17}{self.hashes} avg {average:.0f}")
        lines.append(f" * {'difficulty':<17}{_human_difficulty(self.difficulty)}")
        if self.active and self.latencies:
            seconds = self.average_time_ms(now) / 1000
            lines.append(f" * {'avg result time':<17}{seconds:.1f}s")
        lines += [" - TOP 10", "  # | DIFFICULTY | EFFORT % |"]
        for rank, best in enumerate(self.best, start=1):
            if best:
                effort = self.hashes / best * 100
                lines.append(
                    f"{rank:3d} | {_human_difficulty(best):>10} | {effort:8.2f} |"
                )
        return lines

    def connection_lines(self, now: float) -> list[str]:
        """Return the untimestamped lines of the `c` (connection) key, or an empty
        list when there is no active connection."""
        if not self.active:
            return []
        lines = [
            " - CONNECTION",
            f" * {'pool address':<17}{self.pool} ({self.ip}) ",
            f" * {'algorithm':<17}{self.algorithm}",
            f" * {'difficulty':<17}{_human_difficulty(self.difficulty)}",
        ]
        if self.latency():
            lines.append(f" * {'ping time':<17}{self.latency()}ms")
        lines.append(f" * {'connection time':<17}{self.connection_ms(now) // 1000}s")
        return lines


@dataclass(frozen=True, slots=True)
class MinerIdentity:
    """Identity of the miner and its machine in the API summary."""

    api_id: str
    worker_id: str
    threads: int


def _cpu_json(threads: int) -> dict[str, Any]:
    """Return a made-up CPU description in the shape of XMRig's `cpu` object."""
    return {
        "brand": "Simulated CPU",
        "family": 6,
        "model": 151,
        "stepping": 2,
        "proc_info": 0,
        "aes": True,
        "avx2": True,
        "x64": True,
        "64_bit": True,
        "l2": 2097152,
        "l3": 8388608,
        "cores": threads,
        "threads": threads,
        "packages": 1,
        "nodes": 1,
        "backend": "hwloc/2.10.0",
        "msr": "none",
        "assembly": "intel",
        "arch": "x86_64",
        "flags": ["aes", "vaes", "avx", "avx2", "bmi2", "osxsave", "pdpe1gb", "sse2"],
    }


def summary(
    api_version: int,
    identity: MinerIdentity,
    uptime_s: int,
    meter: HashrateMeter,
    pool: PoolState,
    paused: bool,
    now: float,
) -> dict[str, Any]:
    """Return the `GET /1/summary` (api_version 1, also `/api.json`) or
    `/2/summary` document."""
    rates = meter.rates(now)
    hashrate: dict[str, Any] = {
        "total": [_normalize(rate) for rate in rates],
        "highest": _normalize(meter.highest),
    }
    if api_version == 1:
        hashrate["threads"] = [
            [_normalize(None if r is None else r / identity.threads) for r in rates]
            for _ in range(identity.threads)
        ]
    return {
        "id": identity.api_id,
        "worker_id": identity.worker_id,
        "uptime": uptime_s,
        "restricted": True,
        "resources": {
            "memory": {
                "free": 12_884_901_888,
                "total": 16_647_901_184,
                "resident_set_memory": 2_516_582_400,
            },
            "load_average": [0.0, 0.0, 0.0],
            "hardware_concurrency": identity.threads,
        },
        "features": ["api", "asm", "http", "hwloc", "tls"],
        "version": VERSION,
        "kind": "miner",
        "ua": USER_AGENT,
        "cpu": _cpu_json(identity.threads),
        "donate_level": 0,
        "paused": paused,
        "algorithms": ["rx/0", "rx/wow", "rx/arq", "rx/graft", "rx/sfx"],
        "algo": pool.algorithm,
        "hashrate": hashrate,
        "results": pool.results_json(api_version, now),
        "connection": pool.connection_json(api_version, now),
        "hugepages": list(HUGE_PAGES),
    }
