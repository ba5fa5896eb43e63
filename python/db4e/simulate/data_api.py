"""P2Pool's data API directory (`--data-api DIR`), written from a simulated node.

P2Pool keeps one JSON value per file, without extension or trailing newline, and
replaces a file atomically (written to `«path»«counter»`, then renamed over it) only
when its content changed. `network/` and `pool/` are for everyone (directories 0775,
files 0644); `local/` contains the node's own stratum and console details (0750, 0640).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from db4e.simulate.node import Simulator
from db4e.simulate.text import PPLNS_WINDOW, TICKS_PER_SECOND

__all__ = ["DataApi"]

#: Seconds per sidechain block of the mini chain, which turns a sidechain difficulty
#: into a hashrate as the `Side chain hashrate` status line does.
SIDECHAIN_BLOCK_TIME_S = 10
#: Stratum difficulty per second of a worker's hashrate, as in the workers listing.
DIFFICULTY_PER_HS = 30


class DataApi:
    """The files of one data API directory."""

    def __init__(self, root: Path, local: bool) -> None:
        """Create the `network`, `pool` and, with `local`, `local` subdirectories.

        Raises FileNotFoundError when `root` does not exist, because P2Pool requires
        the directory to be there.
        """
        if not root.is_dir():
            raise FileNotFoundError(2, "data API directory not found", str(root))
        self.root = root
        self.local = local
        self._counter = 0
        self._written: dict[str, bytes] = {}
        self._seen_height = -1
        self._block_time = 0
        for name, mode in (("network", 0o775), ("pool", 0o775), ("local", 0o750)):
            if name == "local" and not local:
                continue
            directory = root / name
            directory.mkdir(exist_ok=True)
            directory.chmod(mode)

    def write(self, name: str, document: Any) -> bool:
        """Replace `name` (such as `pool/stats`) with `document` if it changed;
        return True when the file was written."""
        data = json.dumps(document, separators=(",", ":")).encode()
        if self._written.get(name) == data:
            return False
        path = self.root / name
        mode = 0o640 if name.startswith("local/") else 0o644
        self._counter += 1
        temporary = path.with_name(f"{path.name}{self._counter}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.replace(temporary, path)
        self._written[name] = data
        return True

    def refresh(self, sim: Simulator) -> None:
        """Rewrite every file whose content changed since the last refresh."""
        self.write("network/stats", self._network_stats(sim))
        self.write("pool/stats", pool_stats(sim))
        if self.local:
            self.write("local/stratum", local_stratum(sim))
            self.write("local/p2p", local_p2p(sim, self._block_time))

    def _network_stats(self, sim: Simulator) -> dict[str, Any]:
        chain = sim.chain
        if chain.main_height != self._seen_height:
            # The time of the last Monero block is when the node learnt of it.
            self._seen_height = chain.main_height
            self._block_time = int(time.time())
        return {
            "difficulty": chain.main_difficulty,
            "hash": chain.prev_id,
            "height": chain.main_height - 1,
            "reward": chain.reward_pico,
            "timestamp": self._block_time,
        }


def _unix(ticks: int) -> int:
    """Convert simulator ticks to Unix seconds."""
    return ticks // TICKS_PER_SECOND


def pool_stats(sim: Simulator) -> dict[str, Any]:
    """Return the `pool/stats` document."""
    chain = sim.chain
    last_height, last_ticks = sim.blocks_found[-1] if sim.blocks_found else (0, 0)
    statistics = {
        "hashRate": chain.side_difficulty // SIDECHAIN_BLOCK_TIME_S,
        # P2Pool reports the larger of the window's miners and its peer list size.
        "miners": 1200 + sim.peers,
        "totalHashes": chain.side_difficulty * chain.side_height,
        "lastBlockFoundTime": _unix(last_ticks),
        "lastBlockFound": last_height,
        "totalBlocksFound": len(sim.blocks_found),
        "pplnsWeight": chain.side_difficulty * PPLNS_WINDOW,
        "pplnsWindowSize": PPLNS_WINDOW,
        "sidechainDifficulty": chain.side_difficulty,
        "sidechainHeight": chain.side_height + 1,
    }
    return {"pool_list": ["pplns"], "pool_statistics": statistics}


def local_stratum(sim: Simulator) -> dict[str, Any]:
    """Return the `local/stratum` document of the node's stratum server."""
    now_s = sim.now / TICKS_PER_SECOND
    hashrate = int(sum(w.base_hs for w in sim.workers))
    elapsed = now_s - sim.started / TICKS_PER_SECOND
    found = sim.stratum_shares_found
    last_share = max(sim.our_share_times, default=0)
    since_share = now_s - last_share / TICKS_PER_SECOND if last_share else elapsed
    current_effort = hashrate * since_share / max(sim.chain.side_difficulty, 1) * 100
    connections = len(sim.workers)
    return {
        "hashrate_15m": hashrate,
        "hashrate_1h": hashrate,
        "hashrate_24h": hashrate,
        "total_hashes": int(hashrate * elapsed),
        "total_stratum_shares": int(elapsed / DIFFICULTY_PER_HS) * connections,
        "last_share_found_time": _unix(last_share),
        "shares_found": found,
        "shares_failed": 0,
        "average_effort": round(sim.effort_sum / found, 3) if found else 0.0,
        "current_effort": round(current_effort, 3),
        "connections": connections,
        "incoming_connections": connections,
        "block_reward_share_percent": round(
            sim.shares_in_window() * 100 / PPLNS_WINDOW, 3
        ),
        "wallet": sim.config.wallet,
        "workers": [
            f"{w.address},{int(now_s - w.connected_at)},"
            f"{int(w.base_hs * DIFFICULTY_PER_HS)},{int(w.base_hs)},{w.name}"
            for w in sim.workers
        ],
    }


def local_p2p(sim: Simulator, last_block_time: int) -> dict[str, Any]:
    """Return the `local/p2p` document: made-up peers from 198.51.100.0/24."""
    uptime = int((sim.now - sim.started) / TICKS_PER_SECOND)
    incoming = sim.peers // 2
    software = sim.config.version
    peers = [
        f"{'I' if i < incoming else 'O'},{uptime + 60 * i},{20 + (37 * i) % 200},"
        f"P2Pool {software},{sim.chain.side_height - i % 3},198.51.100.{i + 1}:37889"
        for i in range(sim.peers)
    ]
    return {
        "connections": sim.peers,
        "incoming_connections": incoming,
        "peer_list_size": 1200 + sim.peers,
        "peers": peers,
        "uptime": uptime,
        "zmq_last_active": max(int(time.time()) - last_block_time, 0),
    }
