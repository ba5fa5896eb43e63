"""Turns the configuration of a daemon into the actor that runs it, and ends daemons
that an earlier `db4e run` left behind."""

from __future__ import annotations

import logging
import math

from db4e.actors.daemon import DaemonActor, DaemonSpec, StopUrgency
from db4e.actors.monerod import MonerodActor
from db4e.actors.orphans import OrphanRegistry, reap_orphans
from db4e.actors.p2pool import P2poolActor
from db4e.actors.xmrig import XmrigActor
from db4e.config import Config, DaemonConfig
from db4e.farm import FarmSink
from db4e.supervisor import Child

__all__ = ["daemon_child", "daemon_spec", "ready_wait", "reap_leftovers", "registry"]

logger = logging.getLogger(__name__)

_ACTORS: dict[str, type[DaemonActor]] = {
    "monerod": MonerodActor,
    "p2pool": P2poolActor,
    "xmrig": XmrigActor,
}

#: Seconds the supervisor waits beyond a daemon's own ready timeout, after which the
#: daemon actor has already given up and raised.
READY_MARGIN = 5.0


def registry(config: Config) -> OrphanRegistry:
    """Return the registry of started daemons in the runtime folder."""
    return OrphanRegistry(config.supervisor.runtime_dir / "daemons.json")


def daemon_spec(daemon: DaemonConfig) -> DaemonSpec:
    """Map one [daemons.NAME] table to the actor's spec."""
    return DaemonSpec(
        name=daemon.name,  # type: ignore[arg-type]
        command=daemon.command,
        args=daemon.args,
        cwd=daemon.cwd,
        env=daemon.env,
        external=daemon.external,
        ready_timeout=daemon.ready_timeout,
        stop_timeout=daemon.stop_timeout,
        liveness_timeout=daemon.liveness_timeout,
        rpc_url=daemon.rpc_url,
        stratum=daemon.stratum,
        console_interval=daemon.console_interval,
        data_api=daemon.data_api,
        local_console=daemon.local_console,
        api_url=daemon.api_url,
        api_token=daemon.api_token,
        api_interval=daemon.api_interval,
    )


def ready_wait(daemon: DaemonConfig) -> float | None:
    """Return how long the supervisor waits for the daemon to get ready."""
    ready = daemon_spec(daemon).timeouts().ready
    return math.inf if math.isinf(ready) else ready + READY_MARGIN


def daemon_child(
    daemon: DaemonConfig,
    sink: FarmSink,
    urgency: StopUrgency,
    orphans: OrphanRegistry | None = None,
) -> Child:
    """Build a fresh actor for `daemon`."""
    actor_class = _ACTORS[daemon.name]
    return actor_class(daemon_spec(daemon), sink, urgency, registry=orphans)


async def reap_leftovers(config: Config) -> None:
    """End the daemons an earlier `db4e run` started and could not stop (it was
    killed), so that two p2pools never run at once."""
    ended = await reap_orphans(registry(config).path)
    for entry in ended:
        logger.warning("ended %s left running by an earlier db4e run", entry)
