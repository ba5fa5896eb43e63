"""The actors of `db4e run`, one module per actor. The daemon actors' public API is
re-exported here; `create_daemon_actor` picks the actor class for a spec."""

from __future__ import annotations

from db4e.actors.daemon import (
    DaemonActor,
    DaemonError,
    DaemonExited,
    DaemonNotReady,
    DaemonSink,
    DaemonStalled,
    DaemonStartError,
    StopUrgency,
)
from db4e.actors.daemon_spec import DaemonName, DaemonSpec, Timeouts
from db4e.actors.monerod import MonerodActor
from db4e.actors.orphans import OrphanEntry, OrphanRegistry, reap_orphans
from db4e.actors.p2pool import P2poolActor
from db4e.actors.xmrig import XmrigActor

__all__ = [
    "DaemonActor",
    "DaemonError",
    "DaemonExited",
    "DaemonName",
    "DaemonNotReady",
    "DaemonSink",
    "DaemonSpec",
    "DaemonStalled",
    "DaemonStartError",
    "MonerodActor",
    "OrphanEntry",
    "OrphanRegistry",
    "P2poolActor",
    "StopUrgency",
    "Timeouts",
    "XmrigActor",
    "create_daemon_actor",
    "reap_orphans",
]

_ACTOR_CLASSES: dict[DaemonName, type[DaemonActor]] = {
    "monerod": MonerodActor,
    "p2pool": P2poolActor,
    "xmrig": XmrigActor,
}


def create_daemon_actor(
    spec: DaemonSpec,
    sink: DaemonSink,
    urgency: StopUrgency | None = None,
    *,
    registry: OrphanRegistry | None = None,
) -> DaemonActor:
    """Return a new actor of the class for `spec.name`; one per start, so that no
    state survives a restart."""
    return _ACTOR_CLASSES[spec.name](spec, sink, urgency, registry=registry)
