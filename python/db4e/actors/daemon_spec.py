"""The description of one daemon that its actor runs: `DaemonSpec`, the per-daemon
default timeouts, and the helpers that turn a spec into a command line and an
environment without leaking secrets."""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

__all__ = [
    "DAEMON_NAMES",
    "DEFAULT_TIMEOUTS",
    "DaemonName",
    "DaemonSpec",
    "Timeouts",
    "child_environment",
    "redact_command",
    "split_host_port",
]

DaemonName = Literal["monerod", "p2pool", "xmrig"]
DAEMON_NAMES: tuple[DaemonName, ...] = ("monerod", "p2pool", "xmrig")

#: Variables passed on from db4e's environment; everything else (database URIs,
#: notification tokens) stays out of the daemons' environment.
INHERITED_ENVIRONMENT = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
)

#: Options whose value is a secret, masked wherever a command line is logged or stored:
#: XMRig's HTTP API token and pool password, and the RPC logins of monerod and p2pool.
SECRET_OPTIONS = ("--http-access-token", "--rpc-login", "--pass", "-p")
MASK = "***"


class Timeouts(NamedTuple):
    """A daemon's timeouts in seconds; `math.inf` means no limit."""

    ready: float
    stop: float
    liveness: float


#: Per-daemon timeouts for the spec fields left at None. monerod may sync for days
#: before it is ready, while its liveness check still applies, and it needs time to
#: close its database. XMRig can take minutes to build its RandomX dataset.
#: NOTE: monerod's RPC does not respond until its core is initialised, so a monerod
#: that migrates its database at start-up can stall for longer than 300 s; raise its
#: liveness_timeout for such an upgrade.
DEFAULT_TIMEOUTS: Mapping[DaemonName, Timeouts] = {
    "monerod": Timeouts(ready=math.inf, stop=120.0, liveness=300.0),
    "p2pool": Timeouts(ready=300.0, stop=30.0, liveness=300.0),
    "xmrig": Timeouts(ready=120.0, stop=15.0, liveness=300.0),
}


@dataclass(frozen=True)
class DaemonSpec:
    """Settings to run and probe one daemon. Fields after `liveness_timeout` apply
    only to the daemon named in their comment."""

    name: DaemonName
    #: Path of the executable.
    command: str
    args: tuple[str, ...] = ()
    cwd: Path | None = None
    #: Variables added to the few inherited from db4e (`INHERITED_ENVIRONMENT`).
    env: Mapping[str, str] = field(default_factory=dict)
    #: Run by systemd or by hand: never started or stopped here, only probed.
    external: bool = False
    #: Seconds until ready, to wait for each stop step, and without progress before
    #: the daemon counts as stalled. None: the daemon's `DEFAULT_TIMEOUTS` entry.
    ready_timeout: float | None = None
    stop_timeout: float | None = None
    liveness_timeout: float | None = None

    #: monerod: JSON-RPC base URL, seconds between `get_info` calls, and how to stop
    #: it. None: "rpc" (`/stop_daemon`) when `--non-interactive` is in `args`, since
    #: monerod then ignores stdin, else "stdin" (`exit` on its console).
    rpc_url: str = "http://127.0.0.1:18081"
    rpc_interval: float = 30.0
    stop_via: Literal["stdin", "rpc"] | None = None

    #: p2pool: stratum address probed for readiness, seconds between the `status` and
    #: `workers` console commands and data API reads, the `--data-api` directory, and
    #: whether to send commands to the local console port (needs `--local-api`)
    #: instead of stdin.
    stratum: str = "127.0.0.1:3333"
    console_interval: float = 60.0
    data_api: Path | None = None
    local_console: bool = False

    #: xmrig: HTTP API base URL (XMRig's API is off unless `--http-port` is set, so
    #: there is no default), its access token (a secret: never logged or shown in the
    #: repr), and seconds between `/2/summary` reads.
    api_url: str | None = None
    api_token: str | None = field(default=None, repr=False)
    api_interval: float = 60.0

    def __post_init__(self) -> None:
        if self.name not in DAEMON_NAMES:
            raise ValueError(
                f"invalid daemon name {self.name!r}; expected one of {DAEMON_NAMES}"
            )
        positive = {
            "ready_timeout": self.ready_timeout,
            "stop_timeout": self.stop_timeout,
            "liveness_timeout": self.liveness_timeout,
            "rpc_interval": self.rpc_interval,
            "console_interval": self.console_interval,
            "api_interval": self.api_interval,
        }
        for key, value in positive.items():
            if value is not None and not value > 0:
                raise ValueError(f"{self.name}: {key} must be positive, got {value}")
        split_host_port(self.stratum)

    def timeouts(self) -> Timeouts:
        """Return the timeouts, with the daemon's defaults for fields left at None."""
        default = DEFAULT_TIMEOUTS[self.name]
        return Timeouts(
            ready=default.ready if self.ready_timeout is None else self.ready_timeout,
            stop=default.stop if self.stop_timeout is None else self.stop_timeout,
            liveness=(
                default.liveness
                if self.liveness_timeout is None
                else self.liveness_timeout
            ),
        )

    def secrets(self) -> tuple[str, ...]:
        """Return the secret values to mask in anything logged or stored."""
        return (self.api_token,) if self.api_token else ()


def split_host_port(address: str) -> tuple[str, int]:
    """Split `host:port` (IPv6 hosts in brackets); raise ValueError when invalid."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid address {address!r}; expected host:port")
    return host.strip("[]"), int(port)


def redact_command(argv: Sequence[str], secrets: Sequence[str] = ()) -> str:
    """Return `argv` as a shell-quoted string with secret option values masked: the
    values of `SECRET_OPTIONS` (`--opt value` and `--opt=value`) and any argument that
    contains one of `secrets`."""
    masked: list[str] = []
    mask_next = False
    for arg in argv:
        option, sep, _ = arg.partition("=")
        if mask_next:
            arg = MASK
        elif sep and option in SECRET_OPTIONS:
            arg = f"{option}={MASK}"
        elif any(secret in arg for secret in secrets):
            arg = MASK
        mask_next = arg in SECRET_OPTIONS
        masked.append(arg)
    return shlex.join(masked)


def child_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """Return the daemon's environment: `INHERITED_ENVIRONMENT` plus `extra`."""
    env = {key: os.environ[key] for key in INHERITED_ENVIRONMENT if key in os.environ}
    env.update(extra)
    return env
