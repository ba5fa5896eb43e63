"""The simulated node: its chain and farm state, and the records it writes."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from db4e.simulate.config import PlantedEvent, SimConfig
from db4e.simulate.text import (
    BLOCK_FOUND_BANNER,
    HOST,
    PPLNS_WINDOW,
    RULE_111,
    TICKS_PER_SECOND,
    ZMQ_ADDRESS,
    Clock,
    Heads,
    duration,
    hashrate,
    xmr,
)


@dataclass(slots=True)
class _Worker:
    name: str
    address: str
    #: True hashrate in H/s; the printed estimate wanders around it.
    base_hs: float
    connected_at: float
    sidechain_shares: int = 0
    tls: bool = False
    #: True right after a reconnect, when P2Pool has no hashrate estimate yet.
    no_estimate: bool = False
    #: False for a real stratum connection added with `Simulator.add_worker`, which
    #: keeps its address.
    simulated: bool = True


@dataclass(slots=True)
class _Chain:
    """Main-chain and sidechain state the records report."""

    main_height: int = 3_745_120
    main_difficulty: int = 673_500_000_000
    side_height: int = 14_560_233
    side_difficulty: int = 250_000_000
    prev_id: str = "0" * 64
    seed_hash: str = "0" * 64
    generated_coins: int = 18_459_123_456_789_012_345
    reward_pico: int = 600_000_000_000


class Simulator:
    """The state of one simulated node and the records it writes.

    `step` advances the simulation by one sidechain block and appends whole records to
    `records`; planted events go to `planted` when it is a list.
    """

    def __init__(self, config: SimConfig, planted: list[PlantedEvent] | None) -> None:
        self.config = config
        self.planted = planted
        self.rng = random.Random(config.seed)
        self.clock = Clock()
        self.heads = Heads(config.console, config.colours)
        self.records: list[str] = []
        #: Number of the next line written.
        self.line = 1
        self.now = int(config.start * TICKS_PER_SECOND)
        self.min_gap = max(int(config.min_gap_s * TICKS_PER_SECOND), 1)
        self.end: int | None = None
        if config.duration_s != float("inf"):
            self.end = self.now + int(config.duration_s * TICKS_PER_SECOND)
        self.chain = _Chain(prev_id=self._hex64(), seed_hash=self._hex64())
        self.workers = [self._new_worker(i) for i in range(1, config.workers + 1)]
        self.our_share_times: list[int] = []
        self.stratum_shares_found = 0
        self.effort_sum = 0.0
        self.peers = 32
        #: `(Monero height, tick)` of every BLOCK FOUND written, oldest first.
        self.blocks_found: list[tuple[int, int]] = []
        self.started = self.now
        self.next_main = self.now + self._gap(config.mainchain_block_s)
        self.next_share = self._next(config.share_every_s)
        self.next_error = self._next(config.errors_every_s)
        self.next_status = self._periodic(config.status_every_s)
        self.next_workers = self._periodic(config.workers_every_s)

    # -- scheduling ----------------------------------------------------------

    def _gap(self, mean_s: float) -> int:
        """Return an exponentially distributed gap in ticks, at least
        `config.min_gap_s`."""
        seconds = self.rng.expovariate(1.0 / mean_s)
        return max(int(seconds * TICKS_PER_SECOND), self.min_gap)

    def _next(self, mean_s: float | None) -> int | None:
        return None if mean_s is None else self.now + self._gap(mean_s)

    def _periodic(self, every_s: float | None) -> int | None:
        return None if every_s is None else self.now + int(every_s * TICKS_PER_SECOND)

    def _int(self, low: int, high: int) -> int:
        """Return a random integer in [low, high); cheaper than `randrange` for the
        per-line values."""
        return low + int(self.rng.random() * (high - low))

    def _hex64(self) -> str:
        return f"{self.rng.getrandbits(256):064x}"

    def _new_worker(self, index: int) -> _Worker:
        return _Worker(
            name=f"rig{index}",
            address=f"192.0.2.{10 + index}:{self.rng.randrange(32768, 61000)}",
            base_hs=self.rng.uniform(400.0, 3200.0),
            connected_at=self.now / TICKS_PER_SECOND - self.rng.uniform(600, 5 * 86400),
            tls=index % 5 == 0,
        )

    # -- writing -------------------------------------------------------------

    def _stamp(self, after_ms: float) -> str:
        """Advance the record clock by about `after_ms`; return the timestamp text."""
        self.now += int(after_ms * 10) + 1
        return self.clock.text(self.now)

    def _record(
        self,
        level: str,
        category: str,
        ts: str,
        message: str,
        extra: tuple[str, ...] = (),
    ) -> int:
        """Append one record and return the number of its first line."""
        before, after, end = self.heads.get(level, category)
        if extra:
            message = message + "\n" + "\n".join(extra)
        self.records.append(before + ts + after + message + end + "\n")
        first = self.line
        self.line += 1 + len(extra)
        return first

    def _plant(
        self,
        kind: str,
        line: int,
        ts: str,
        level: str,
        category: str,
        fields: Mapping[str, object],
    ) -> None:
        if self.planted is None:
            return
        shown_level = None if self.config.console else level
        self.planted.append(PlantedEvent(kind, line, ts, shown_level, category, fields))

    def _event(
        self,
        kind: str,
        level: str,
        category: str,
        message: str,
        fields: Mapping[str, object],
        after_ms: float = 0.1,
        extra: tuple[str, ...] = (),
    ) -> None:
        """Write a record that yields one event, and plant that event."""
        ts = self._stamp(after_ms)
        line = self._record(level, category, ts, message, extra)
        self._plant(kind, line, ts, level, category, fields)

    # -- the simulation ------------------------------------------------------

    def startup(self) -> None:
        """Write the records of a start: log, version, sidechain configuration, ZMQ."""
        self._event("log_started", "NOTICE", "Log", "started", {})
        version, build = self.config.version, self.config.build
        self._event(
            "version",
            "NOTICE",
            "P2Pool",
            f"{version} ({build})",
            {"version": version, "build": build},
        )
        config_lines = (
            ("network type", "network type  = ", "mainnet"),
            ("pool name", "pool name     = ", "mini"),
            ("block time", "block time    = ", "10 seconds"),
            ("min diff", "min diff      = ", "100000"),
            ("PPLNS window", "PPLNS window  = ", "2160 blocks"),
            ("uncle penalty", "uncle penalty = ", "20%"),
        )
        for key, label, value in config_lines:
            self._event(
                "sidechain_config",
                "NOTICE",
                "SideChain",
                label + value,
                {"key": key, "value": value},
            )
        self._zmq_connected()

    def step(self) -> None:
        """Advance by one sidechain block and write everything due by then."""
        cfg = self.config
        self.now += self._gap(cfg.sidechain_block_s) // 2 + int(
            cfg.sidechain_block_s * TICKS_PER_SECOND / 2
        )
        self._sidechain_block()
        if self.now >= self.next_main:
            self._mainchain_block()
            self.next_main = self.now + self._gap(cfg.mainchain_block_s)
        if self.next_share is not None and self.now >= self.next_share:
            self._share_found()
            self.next_share = self._next(cfg.share_every_s)
        if self.next_error is not None and self.now >= self.next_error:
            self._node_error()
            self.next_error = self._next(cfg.errors_every_s)
        if self.next_status is not None and self.now >= self.next_status:
            self._status()
            self.next_status = self._periodic(cfg.status_every_s)
        if self.next_workers is not None and self.now >= self.next_workers:
            self._workers_listing()
            self.next_workers = self._periodic(cfg.workers_every_s)

    def done(self) -> bool:
        return self.end is not None and self.now >= self.end

    def _sidechain_block(self) -> None:
        """Write the records of a sidechain block from a peer: added, verified, new tip
        and new stratum job."""
        chain = self.chain
        chain.side_height += 1
        chain.side_difficulty += self._int(-900_000, 1_000_000)
        side, main = chain.side_height, chain.main_height
        block_id = self._hex64()
        clock = self.clock
        head = self.heads.get("NOTICE", "SideChain")
        pre, post = head[0], head[1]
        end = head[2] + "\n"
        self.now += 1
        ts = clock.text(self.now)
        self.records.append(
            f"{pre}{ts}{post}add_block: height = {side}, id = {block_id}, "
            f"mainchain height = {main}, verified = 0{end}"
        )
        self.now += self._int(25, 65)
        ts = clock.text(self.now)
        self.records.append(
            f"{pre}{ts}{post}verified block at height = {side}, depth = 0, "
            f"id = {block_id}, mainchain height = {main}{end}"
        )
        self.now += 3
        ts = clock.text(self.now)
        self.records.append(
            f"{pre}{ts}{post}new chain tip: next height = {side + 1}, "
            f"next difficulty = {chain.side_difficulty}, "
            f"main chain height = {main}{end}"
        )
        self._new_job(120)
        self.line += 4

    def _new_job(self, after_ticks: int) -> None:
        """Append `sent new job to N/N clients` (the caller counts the line)."""
        pre, post, end = self.heads.get("NOTICE", "StratumServer")
        self.now += after_ticks
        n = len(self.workers)
        ts = self.clock.text(self.now)
        self.records.append(f"{pre}{ts}{post}sent new job to {n}/{n} clients{end}\n")

    def _mainchain_block(self) -> None:
        """Write the records of a Monero block from ZMQ: maybe a lagging-peer warning,
        then new miner data, the template lines, the block line, a new job and, rarely,
        BLOCK FOUND."""
        chain = self.chain
        if self.rng.random() < 0.05:
            self._peer_ahead()
        block_height, block_id = chain.main_height, self._hex64()
        chain.main_height += 1
        chain.prev_id = block_id
        if chain.main_height % 2048 == 0:
            chain.seed_hash = self._hex64()
        chain.main_difficulty += self.rng.randrange(-4_000_000_000, 4_100_000_000)
        chain.generated_coins += chain.reward_pico
        block_reward = chain.reward_pico + self.rng.randrange(1_000_000, 40_000_000_000)
        transactions = self.rng.randrange(5, 180)
        self._miner_data(transactions)
        self._template_base(transactions)
        unix = int(self.now / TICKS_PER_SECOND) - self.rng.randrange(1, 4)
        reward = xmr(block_reward)
        self._event(
            "new_mainchain_block",
            "NOTICE",
            "P2Pool",
            f"new main chain block: height = {block_height}, id = {block_id}, "
            f"timestamp = {unix}, reward = {reward} XMR",
            {
                "height": block_height,
                "id": block_id,
                "block_timestamp": unix,
                "reward_xmr": reward,
            },
            after_ms=0.2,
        )
        self._template_final(block_reward, transactions)
        self._new_job(3)
        self.line += 1
        if self._pool_found_block():
            self._block_found(block_height, block_reward)

    def _miner_data(self, transactions: int) -> None:
        chain = self.chain
        median_weight = 300_000
        rows = (
            ("host", HOST),
            ("major_version", "16"),
            ("height", str(chain.main_height)),
            ("prev_id", chain.prev_id),
            ("seed_hash", chain.seed_hash),
            ("difficulty", str(chain.main_difficulty)),
            ("median_weight", str(median_weight)),
            ("already_generated_coins", str(chain.generated_coins)),
            ("transactions", str(transactions)),
        )
        extra = (RULE_111, *(f"{k.ljust(23)} = {v}" for k, v in rows), RULE_111)
        fields: dict[str, object] = {
            "host": HOST,
            "major_version": 16,
            "height": chain.main_height,
            "prev_id": chain.prev_id,
            "seed_hash": chain.seed_hash,
            "difficulty": chain.main_difficulty,
            "median_weight": median_weight,
            "already_generated_coins": chain.generated_coins,
            "transactions": transactions,
        }
        self._event(
            "miner_data",
            "NOTICE",
            "P2Pool",
            "new miner data",
            fields,
            after_ms=2.0,
            extra=extra,
        )

    def _template_base(self, transactions: int) -> None:
        fees = self.rng.randrange(1_000_000, 40_000_000_000)
        weight = 60_000 + transactions * 1500
        self._record(
            "NOTICE",
            "BlockTemplate",
            self._stamp(20.0),
            f"base  reward = {xmr(self.chain.reward_pico)} XMR, {transactions} "
            f"transactions, fees = {xmr(fees)} XMR, weight = {weight}",
        )

    def _template_final(self, reward: int, transactions: int) -> None:
        included = max(transactions - self.rng.randrange(0, 8), 0)
        self._record(
            "NOTICE",
            "BlockTemplate",
            self._stamp(57.0),
            f"final reward = {xmr(reward)} XMR, weight = {60_000 + included * 1500}, "
            f"outputs = {self.rng.randrange(400, 900)}, {included} of {transactions} "
            "transactions included",
        )

    def _pool_found_block(self) -> bool:
        mean = self.config.block_every_s
        if mean is None:
            return False
        return self.rng.random() < self.config.mainchain_block_s / mean

    def shares_in_window(self) -> int:
        """Count our shares still inside the PPLNS window (2160 blocks, about 6 h)."""
        window_ticks = int(
            PPLNS_WINDOW * self.config.sidechain_block_s * TICKS_PER_SECOND
        )
        horizon = self.now - window_ticks
        self.our_share_times = [t for t in self.our_share_times if t >= horizon]
        return len(self.our_share_times)

    def _block_found(self, height: int, reward: int) -> None:
        """BLOCK FOUND with its banner, then the payout line for our wallet."""
        self.blocks_found.append((height, self.now))
        ours = self.shares_in_window()
        wallet = self.config.wallet
        mined_by = (
            "you" if ours and self.rng.random() < 0.1 else "someone else in this p2pool"
        )
        green = self.heads.colour("0;92")
        self._event(
            "block_found",
            "NOTICE",
            "P2Pool",
            f"{green}BLOCK FOUND: main chain block at height {height} was mined by "
            f"{mined_by}",
            {"mainchain_height": height, "mined_by": mined_by},
            after_ms=0.4,
            extra=BLOCK_FOUND_BANNER,
        )
        cyan, yellow = self.heads.colour("0;96"), self.heads.colour("0;93")
        if ours:
            amount = xmr(reward * ours // PPLNS_WINDOW + self.rng.randrange(1000))
            message = (
                f"{cyan}Your wallet {green}{wallet}{cyan} got a payout of {green}"
                f"{amount} XMR{cyan} in block {green}{height}"
            )
            fields: dict[str, object] = {
                "wallet": wallet,
                "amount_xmr": amount,
                "block_height": height,
            }
            self._event("payout", "NOTICE", "P2Pool", message, fields, after_ms=0.6)
            return
        message = (
            f"{cyan}Your wallet {yellow}{wallet}{cyan} didn't get a payout in block "
            f"{yellow}{height}{cyan} because you had no shares in PPLNS window"
        )
        fields = {"wallet": wallet, "block_height": height}
        self._event("no_payout", "NOTICE", "P2Pool", message, fields, after_ms=0.6)

    def _share_found(self) -> None:
        """SHARE FOUND from a worker picked in proportion to its hashrate."""
        weights = [w.base_hs for w in self.workers]
        if not weights:
            return
        worker = self.rng.choices(self.workers, weights)[0]
        worker.sidechain_shares += 1
        effort = self.rng.uniform(0.5, 400.0)
        effort_text = f"{effort:.3f}"
        self.effort_sum += float(effort_text)
        self.stratum_shares_found += 1
        self.our_share_times.append(self.now)
        chain = self.chain
        message = (
            f"{self.heads.colour('0;32')}SHARE FOUND: mainchain height "
            f"{chain.main_height}, sidechain height {chain.side_height + 1}, diff "
            f"{chain.side_difficulty}, client {worker.address}, user {worker.name}, "
            f"effort {effort_text}%"
        )
        fields = {
            "mainchain_height": chain.main_height,
            "sidechain_height": chain.side_height + 1,
            "difficulty": chain.side_difficulty,
            "client": worker.address,
            "user": worker.name,
            "effort_percent": effort_text,
        }
        self._event("share_found", "NOTICE", "StratumServer", message, fields, 0.5)

    def _peer_ahead(self) -> None:
        peer = f"198.51.100.{self.rng.randrange(1, 255)}:37889"
        ours = self.chain.main_height
        self._event(
            "monerod_lagging",
            "WARNING",
            "P2PServer",
            f"peer {peer} is ahead on mainchain (height {ours + 1}, your height "
            f"{ours}). Is your monerod stuck or lagging?",
            {"peer": peer, "peer_height": ours + 1, "our_height": ours},
        )

    def _node_error(self) -> None:
        """Write one episode of node errors: a failed RPC call or a ZMQ outage."""
        if self.rng.random() < 0.5:
            error = "Couldn't connect to server"
            self._event(
                "rpc_failed",
                "WARNING",
                "P2Pool",
                f"get_info RPC request to host {HOST} failed: {error}, trying again "
                "in 1 second",
                {
                    "method": "get_info",
                    "host": HOST,
                    "error": error,
                    "retry_seconds": 1,
                },
            )
            return
        self._event(
            "zmq_disconnected",
            "ERROR",
            "ZMQReader",
            f"disconnected from {ZMQ_ADDRESS}",
            {"address": ZMQ_ADDRESS},
        )
        self._event(
            "no_zmq_messages",
            "ERROR",
            "P2PServer",
            f"no ZMQ messages received from host {HOST} in the last 300 seconds, "
            "check your monerod/p2pool/network/firewall setup!!!",
            {"host": HOST, "seconds": 300},
            after_ms=300_000.0,
        )
        self._zmq_connected()

    def _zmq_connected(self) -> None:
        self._event(
            "zmq_connected",
            "NOTICE",
            "ZMQReader",
            f"connected to {ZMQ_ADDRESS}",
            {"address": ZMQ_ADDRESS},
            after_ms=1.0,
        )

    # -- for a live node ----------------------------------------------------

    def write_record(
        self, level: str, category: str, message: str, extra: tuple[str, ...] = ()
    ) -> None:
        """Write one record that is not part of the simulation, such as a daemon's
        start-up or shutdown lines, at the current simulated time."""
        self._record(level, category, self._stamp(0.0), message, extra)

    def write_status(self) -> None:
        """Write the records of the `status` command at the current simulated time."""
        self._status()

    def write_workers(self) -> None:
        """Write the `workers` command output at the current simulated time."""
        self._workers_listing()

    def add_worker(self, name: str, address: str, hashrate_hs: float) -> None:
        """Add a real stratum connection to the workers the records report."""
        worker = _Worker(
            name=name,
            address=address,
            base_hs=hashrate_hs,
            connected_at=self.now / TICKS_PER_SECOND,
            simulated=False,
        )
        self.workers.append(worker)

    def rename_worker(self, address: str, name: str) -> None:
        """Set the name of the worker at `address`, as its stratum login does."""
        for worker in self.workers:
            if worker.address == address:
                worker.name = name

    def remove_worker(self, address: str) -> None:
        """Remove the worker at `address`, as when its connection closes."""
        self.workers = [w for w in self.workers if w.address != address]

    # -- console command output ---------------------------------------------

    def _farmhashrate(self) -> float:
        return sum(w.base_hs for w in self.workers)

    def _status(self) -> None:
        """Write the records of the `status` command, in P2Pool's order."""
        self._sidechain_status()
        self._stratum_status()
        self._p2p_status()
        self._record("NOTICE", "Util", self._stamp(0.0), "no background jobs running")
        self._event(
            "node_health",
            "NOTICE",
            "ConsoleCommands",
            "Node health: 10/10",
            {"score": 10, "max_score": 10, "comments": []},
            after_ms=0.0,
        )

    def _position_chart(self, ours: int) -> str:
        """Spread `ours` shares over the 30 cells of `Your shares position`."""
        cells = [0] * 30
        for _ in range(ours):
            cells[self.rng.randrange(30)] += 1
        # Each cell is `.` for none, the digit for 1 to 9, `+` for more.
        symbols = ".123456789"
        text = "".join(symbols[c] if c < 10 else "+" for c in cells)
        return f"[{text}]"

    def _sidechain_status(self) -> None:
        chain = self.chain
        ours = self.shares_in_window()
        main_text, main_field = hashrate(chain.main_difficulty / 120)
        side_text, side_field = hashrate(chain.side_difficulty / 10)
        share_pico = chain.reward_pico * ours // PPLNS_WINDOW
        percent = f"{share_pico * 100 / chain.reward_pico:.3f}"
        fields: dict[str, object] = {
            "monero_node": HOST,
            "mainchain_height": chain.main_height,
            "mainchain_hashrate": main_field,
            "sidechain_id": "mini",
            "sidechain_height": chain.side_height + 1,
            "sidechain_hashrate": side_field,
            "pool_side_hashrate": None,
            "pplns_window_blocks": PPLNS_WINDOW,
            "wallet": self.config.wallet,
            "your_shares_blocks": ours,
            "shares_position": None,
            "block_reward_share_percent": percent,
            "block_reward_share_xmr": xmr(share_pico),
        }
        rows = [
            ("Monero node", HOST),
            ("Main chain height", str(chain.main_height)),
            ("Main chain hashrate", main_text),
            ("Side chain ID", "mini"),
            ("Side chain height", str(chain.side_height + 1)),
            ("Side chain hashrate", side_text),
        ]
        if ours:
            pool_text, fields["pool_side_hashrate"] = hashrate(
                chain.side_difficulty / 10 * ours / PPLNS_WINDOW
            )
            rows.append(("Your hashrate (pool-side)", pool_text))
        rows += [
            ("PPLNS window", f"{PPLNS_WINDOW} blocks (+58 uncles, 0 orphans)"),
            ("PPLNS window duration", "6h 1m 47s"),
            ("Your wallet address", self.config.wallet),
            ("Your shares", f"{ours} blocks (+0 uncles, 0 orphans)"),
        ]
        if ours:
            chart = self._position_chart(ours)
            fields["shares_position"] = chart
            rows.append(("Your shares position", chart))
        rows.append(("Block reward share", f"{percent}% ({xmr(share_pico)} XMR)"))
        extra = tuple(f"{label.ljust(25)} = {value}" for label, value in rows)
        self._event(
            "sidechain_status", "NOTICE", "SideChain", "status", fields, 500.0, extra
        )

    def _stratum_status(self) -> None:
        total = self._farmhashrate()
        elapsed = (self.now - self.started) / TICKS_PER_SECOND
        texts_fields = [hashrate(total * self.rng.uniform(0.9, 1.1)) for _ in range(3)]
        hashes = int(total * elapsed)
        stratum_shares = int(elapsed / 30) * len(self.workers)
        found = self.stratum_shares_found
        average = f"{self.effort_sum / found:.3f}" if found else "0.000"
        current = f"{self.rng.uniform(0.0, 300.0):.3f}"
        n = len(self.workers)
        rows = (
            ("Hashrate (15m est)", texts_fields[0][0]),
            ("Hashrate (1h  est)", texts_fields[1][0]),
            ("Hashrate (24h est)", texts_fields[2][0]),
            ("Stratum hashes", str(hashes)),
            ("Stratum shares", str(stratum_shares)),
            ("P2Pool shares found", str(found)),
            ("Average effort", f"{average}%"),
            ("Current effort", f"{current}%"),
            ("Connections", f"{n} ({n} incoming)"),
        )
        fields = {
            "hashrate_15m": texts_fields[0][1],
            "hashrate_1h": texts_fields[1][1],
            "hashrate_24h": texts_fields[2][1],
            "total_hashes": hashes,
            "stratum_shares": stratum_shares,
            "shares_found": found,
            "shares_failed": None,
            "average_effort_percent": average,
            "current_effort_percent": current,
            "connections": n,
            "incoming_connections": n,
        }
        extra = tuple(f"{label.ljust(20)} = {value}" for label, value in rows)
        self._event(
            "stratum_status", "NOTICE", "StratumServer", "status", fields, 0.1, extra
        )

    def _p2p_status(self) -> None:
        self.peers = min(max(self.peers + self.rng.randrange(-2, 3), 8), 64)
        incoming = self.peers // 2
        peer_list = 1200 + self.rng.randrange(100)
        uptime = int((self.now - self.started) / TICKS_PER_SECOND) + 3600
        rows = (
            ("Connections", f"{self.peers} ({incoming} incoming, 0 onion, 0 I2P)"),
            ("Peer list size", str(peer_list)),
            ("Onion list size", "17"),
            ("I2P list size", "3"),
            ("Uptime", duration(uptime)),
        )
        fields = {
            "connections": self.peers,
            "incoming_connections": incoming,
            "onion_connections": 0,
            "i2p_connections": 0,
            "peer_list_size": peer_list,
            "onion_list_size": 17,
            "i2p_list_size": 3,
            "uptime": duration(uptime),
            "uptime_seconds": uptime,
        }
        extra = tuple(f"{label.ljust(15)} = {value}" for label, value in rows)
        self._event("p2p_status", "NOTICE", "P2PServer", "status", fields, 0.1, extra)

    def _workers_listing(self) -> None:
        """Write the `workers` command output, its columns sized to this listing."""
        now_s = self.now / TICKS_PER_SECOND
        for worker in self.workers:
            worker.no_estimate = False
            if worker.simulated and self.rng.random() < 0.002:
                # A reconnect: new port, uptime from zero, no hashrate estimate yet.
                worker.connected_at = now_s - self.rng.uniform(1, 30)
                worker.address = worker.address.rsplit(":", 1)[0] + (
                    f":{self.rng.randrange(32768, 61000)}"
                )
                worker.no_estimate = True
        width = max((len(w.address) for w in self.workers), default=0) + 8
        header = (
            f"{'IP:port'.ljust(width)}{'TLS'.ljust(7)}{'uptime'.ljust(20)}"
            f"{'difficulty'.ljust(20)}{'hashrate'.ljust(15)}{'shares'.ljust(12)}name"
        )
        ts = self._stamp(300.0)
        self._record("NOTICE", "StratumServer", ts, header)
        for worker in self.workers:
            self._worker_line(worker, width, ts, now_s)
        n = len(self.workers)
        line = self._record("NOTICE", "StratumServer", ts, f"Total: {n} workers")
        self._plant("workers_total", line, ts, "NOTICE", "StratumServer", {"count": n})

    def _worker_line(self, worker: _Worker, width: int, ts: str, now_s: float) -> None:
        uptime = int(now_s - worker.connected_at)
        estimate = worker.base_hs * self.rng.uniform(0.85, 1.15)
        difficulty = int(estimate * 30)
        hashrate_field: dict[str, object] | None = None
        hashrate_text = ""
        if not worker.no_estimate:
            hashrate_text, hashrate_field = hashrate(estimate)
        stratum_shares = uptime // 30
        shares = f"{worker.sidechain_shares}/{stratum_shares}"
        tls = "yes" if worker.tls else "no"
        text = (
            f"{worker.address.ljust(width)}{tls.ljust(7)}{duration(uptime).ljust(20)}"
            f"{str(difficulty).ljust(20)}{hashrate_text.ljust(15)}{shares.ljust(12)}"
            f"{worker.name}"
        )
        line = self._record("NOTICE", "StratumServer", ts, text)
        fields = {
            "address": worker.address,
            "tls": worker.tls,
            "uptime": duration(uptime),
            "uptime_seconds": uptime,
            "difficulty": difficulty,
            "hashrate": hashrate_field,
            "sidechain_shares": worker.sidechain_shares,
            "stratum_shares": stratum_shares,
            "name": worker.name,
        }
        self._plant("worker", line, ts, "NOTICE", "StratumServer", fields)
