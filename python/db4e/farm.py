"""The actor tree of `db4e run`: store, ingest, status server, log followers, the daemon
chain and the daily restart, under one supervisor.

```
db4e (one_for_one)
├── store          writes event batches
├── ingest         daemon output → parser → store
├── status         UNIX socket for db4e status / stop / restart
├── follow-NAME    log file of an external daemon → store
├── daemons (one_for_one or rest_for_one, from the config)
│   ├── monerod
│   ├── p2pool
│   └── xmrig
└── schedule       daily restart of the daemon chain
```
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import TaskGroup

from db4e import __version__
from db4e.actors.daemon import StopUrgency
from db4e.actors.ingest import IngestActor, IngestState, Output
from db4e.actors.mailbox import Mailbox
from db4e.actors.schedule import DailyRestart
from db4e.actors.status import StatusServer
from db4e.actors.store import StoreActor, StoreStats, StoreWrite
from db4e.config import Config, DaemonConfig
from db4e.events import fact_event
from db4e.follow import follow
from db4e.store import local_zone, open_store
from db4e.supervisor import Child, ChildSpec, Lifecycle, RestartLimits, Supervisor

__all__ = ["Farm", "FarmSink"]

logger = logging.getLogger(__name__)

#: Mailbox sizes: output chunks waiting for the parser, and batches for the store.
OUTPUT_MAILBOX = 1024
STORE_MAILBOX = 1024


@dataclass
class FarmSink:
    """Receiver of the daemon actors' output, facts and health."""

    outputs: Mailbox[Output]
    writes: Mailbox[StoreWrite]
    health_facts: dict[str, dict[str, object]] = field(default_factory=dict)
    #: `time.time()` of each daemon's latest start, for its uptime.
    started_at: dict[str, float] = field(default_factory=dict)

    async def output(self, daemon: str, stream: str, data: bytes) -> None:
        await self.outputs.send(Output(daemon, stream, data, time.monotonic_ns()))

    async def fact(self, daemon: str, kind: str, fields: Mapping[str, object]) -> None:
        if kind == "daemon_started":
            self.started_at[daemon] = time.time()
        event = fact_event(kind, daemon, fields)
        await self.writes.send(StoreWrite((event,), "db4e", time.monotonic_ns()))

    def health(self, daemon: str, facts: Mapping[str, object]) -> None:
        self.health_facts.setdefault(daemon, {}).update(facts)


class _FollowLog:
    """Follows the log file of an external daemon into the store."""

    def __init__(self, config: Config, daemon: DaemonConfig) -> None:
        self.config = config
        self.daemon = daemon

    async def run(self, ready: Callable[[], None]) -> None:
        assert self.daemon.log_file is not None
        async with open_store(self.config) as store:
            ready()
            await follow(store, self.daemon.log_file)


class Farm:
    """Builds and runs the actor tree for one configuration."""

    def __init__(
        self,
        config: Config,
        daemon_child: Callable[[DaemonConfig, FarmSink, StopUrgency], Child],
        ready_wait: Callable[[DaemonConfig], float | None],
    ) -> None:
        self.config = config
        self.started_at = time.time()
        self.outputs: Mailbox[Output] = Mailbox("ingest", OUTPUT_MAILBOX)
        self.writes: Mailbox[StoreWrite] = Mailbox("store", STORE_MAILBOX)
        self.sink = FarmSink(self.outputs, self.writes)
        self.store_stats = StoreStats()
        self.ingest_state = IngestState()
        self.stop_requested = anyio.Event()
        #: Set by a second Ctrl-C or `db4e stop --now`: daemons are killed at once.
        self.urgency = StopUrgency()
        self._tg: TaskGroup | None = None
        sup = config.supervisor
        self.limits = RestartLimits(
            initial_delay=sup.initial_delay,
            max_delay=sup.max_delay,
            max_restarts=sup.max_restarts,
            period=sup.restart_period,
            slow_retry=sup.slow_retry,
        )
        self.daemons = Supervisor(
            "daemons",
            [
                ChildSpec(
                    d.name,
                    lambda d=d: daemon_child(d, self.sink, self.urgency),  # type: ignore[misc]
                    "permanent",
                    ready_wait(d),
                )
                for d in config.daemons
            ],
            strategy=sup.strategy,
            limits=self.limits,
            on_event=self._on_lifecycle,
        )
        self.top = Supervisor(
            "db4e", self._top_specs(), limits=self.limits, on_event=self._on_lifecycle
        )

    def _top_specs(self) -> list[ChildSpec]:
        config = self.config
        specs = [
            ChildSpec(
                "store",
                lambda: StoreActor(config, self.writes, self.store_stats),
                ready_timeout=60.0,
            ),
            ChildSpec(
                "ingest",
                lambda: IngestActor(self.outputs, self.writes, self.ingest_state),
            ),
            ChildSpec(
                "status",
                lambda: StatusServer(config.supervisor.socket_path, self.handle),
                ready_timeout=10.0,
            ),
        ]
        for daemon in config.daemons:
            if daemon.external and daemon.log_file is not None:
                specs.append(
                    ChildSpec(
                        f"follow-{daemon.name}",
                        lambda d=daemon: _FollowLog(config, d),  # type: ignore[misc]
                    )
                )
        specs.append(ChildSpec("daemons", lambda: self.daemons))
        if config.supervisor.daily_restart is not None and config.daemons:
            specs.append(ChildSpec("schedule", self._schedule))
        return specs

    def _schedule(self) -> DailyRestart:
        sup = self.config.supervisor
        assert sup.daily_restart is not None
        configured = {d.name for d in self.config.daemons if not d.external}
        names = [n for n in sup.daily_restart_daemons if n in configured]

        async def record(outcome: dict[str, object]) -> None:
            await self.sink.fact("db4e", "daily_restart", outcome)

        return DailyRestart(
            sup.daily_restart, names, self.daemons.restart_chain, record, local_zone()
        )

    # Lifecycle facts

    def _on_lifecycle(self, event: Lifecycle) -> None:
        daemon_names = {d.name for d in self.config.daemons}
        prefix = "daemon" if event.child in daemon_names else "actor"
        kinds = {"restarting": "restarted", "failed": "failed"}
        if event.kind == "exited" and event.abnormal and prefix == "actor":
            kind = "actor_crashed"
        elif event.kind in kinds:
            kind = f"{prefix}_{kinds[event.kind]}"
        else:
            return
        fields: dict[str, object] = {"reason": event.reason}
        if event.kind == "restarting":
            fields.update(attempt=event.attempt, delay_seconds=round(event.delay, 3))
        if event.kind == "failed":
            fields["retry_in_seconds"] = event.delay
        subject = event.child if prefix == "daemon" else None
        if prefix == "actor":
            fields["actor"] = event.child
        write = StoreWrite(
            (fact_event(kind, subject, fields),), "db4e", time.monotonic_ns()
        )
        if not self.writes.try_send(write) and self._tg is not None:
            self._tg.start_soon(self.writes.send, write)

    # Status socket requests

    async def handle(self, request: Mapping[str, Any]) -> dict[str, Any]:
        command = request["command"]
        if command == "status":
            return {"ok": True, **self.status_document()}
        if command == "stop":
            if request.get("now"):
                self.hurry()
            self.stop_requested.set()
            return {"ok": True, "stopping": True}
        if command == "restart":
            name = request.get("daemon")
            if not isinstance(name, str):
                raise ValueError('restart needs "daemon": the name of a daemon')
            await self.daemons.restart(name, "restart requested by db4e restart")
            return {"ok": True, "restarted": name}
        raise ValueError(f"unknown command {command!r}; use status, stop or restart")

    def status_document(self) -> dict[str, Any]:
        """Build the supervisor's part of `db4e status --json`."""
        daemons = {}
        states = self.daemons.states()
        for d in self.config.daemons:
            entry: dict[str, Any] = dict(states.get(d.name, {}))
            entry["external"] = d.external
            entry.update(self.sink.health_facts.get(d.name, {}))
            started = self.sink.started_at.get(d.name)
            running = entry.get("state") in ("starting", "ready")
            if started is not None and running and not d.external:
                entry["uptime_seconds"] = round(time.time() - started, 1)
            daemons[d.name] = entry
        actors = {
            name: info for name, info in self.top.states().items() if name != "daemons"
        }
        healthy = all(info.get("state") == "ready" for info in daemons.values())
        healthy = healthy and all(
            info.get("state") in ("ready", "starting") for info in actors.values()
        )
        return {
            "supervisor": {
                "pid": os.getpid(),
                "version": __version__,
                "started_at": self.started_at,
                "uptime_seconds": round(time.time() - self.started_at, 1),
                "strategy": self.config.supervisor.strategy,
                "healthy": healthy,
            },
            "daemons": daemons,
            "actors": actors,
            "store": self._store_document(),
            "parser": {
                origin: stats.as_dict()
                for origin, stats in self.ingest_state.stats().items()
            },
        }

    def _store_document(self) -> dict[str, Any]:
        stats = self.store_stats
        p50 = stats.latency_percentile(0.5)
        p99 = stats.latency_percentile(0.99)
        return {
            "path": str(self.config.store_path),
            "batches": stats.batches,
            "new_events": stats.new,
            "duplicate_events": stats.duplicates,
            "commit_latency_p50_ms": None if p50 is None else round(p50 * 1000, 2),
            "commit_latency_p99_ms": None if p99 is None else round(p99 * 1000, 2),
            "ingest_mailbox": self.outputs.depth(),
            "store_mailbox": self.writes.depth(),
        }

    # Running

    def hurry(self) -> None:
        """Stop without waiting: daemons get SIGKILL instead of their stop command."""
        self.urgency.set()
        self.stop_requested.set()

    async def run(self) -> None:
        """Run the tree until a stop request; then stop it newest first."""
        with self.outputs, self.writes:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                tg.start_soon(self.top.run)
                await self.stop_requested.wait()
                logger.info("stopping db4e run")
                tg.cancel_scope.cancel()
