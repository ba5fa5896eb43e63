"""The `db4e run` part of the configuration: the supervisor, the daily restart and the
three daemons. Checked like the rest of the file: every problem with its key path."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "DAEMON_NAMES",
    "DaemonConfig",
    "SupervisorConfig",
    "default_runtime_dir",
    "parse_daemons",
    "parse_schedule",
    "parse_supervisor",
]

#: The daemons db4e runs, in start order: each needs the one before it.
DAEMON_NAMES = ("monerod", "p2pool", "xmrig")

#: Environment variable that may hold XMRig's HTTP API token instead of the file.
XMRIG_TOKEN_ENV = "DB4E_XMRIG_API_TOKEN"

Problems = list[str]


def default_runtime_dir() -> Path:
    """`$XDG_RUNTIME_DIR/db4e`, else `/tmp/db4e-UID` (private to the user)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime):
        return Path(runtime) / "db4e"
    return Path("/tmp") / f"db4e-{os.getuid()}"


@dataclass(frozen=True)
class DaemonConfig:
    """How to run and probe one daemon."""

    name: str
    #: Executable path (resolved through PATH when it has no slash).
    command: str
    args: tuple[str, ...] = ()
    cwd: Path | None = None
    #: Added to db4e's own environment for the daemon.
    env: Mapping[str, str] = field(default_factory=dict)
    #: Run by systemd or by hand: db4e never starts or stops it, it only follows its
    #: log file and probes its health.
    external: bool = False
    log_file: Path | None = None
    #: Seconds until ready, to wait for each stop step, and without progress before
    #: the daemon counts as hung and is restarted. None: the daemon's default (see
    #: `db4e.actors.daemon.DEFAULT_TIMEOUTS`).
    ready_timeout: float | None = None
    stop_timeout: float | None = None
    liveness_timeout: float | None = None
    # monerod
    rpc_url: str = "http://127.0.0.1:18081"
    # p2pool
    stratum: str = "127.0.0.1:3333"
    console_interval: float = 60.0
    data_api: Path | None = None
    local_console: bool = False
    # xmrig
    api_url: str | None = None
    api_token: str | None = field(default=None, repr=False)
    api_interval: float = 60.0


@dataclass(frozen=True)
class SupervisorConfig:
    """Restart policy of the daemon chain and the places of `db4e run`'s files."""

    strategy: Literal["one_for_one", "rest_for_one"] = "one_for_one"
    initial_delay: float = 0.1
    max_delay: float = 30.0
    max_restarts: int = 5
    restart_period: float = 60.0
    slow_retry: float = 300.0
    runtime_dir: Path = field(default_factory=default_runtime_dir)
    log_file: Path | None = None
    #: Local time of the daily restart of `daily_restart_daemons`; None: no restart.
    daily_restart: time | None = None
    daily_restart_daemons: tuple[str, ...] = DAEMON_NAMES

    @property
    def socket_path(self) -> Path:
        return self.runtime_dir / "db4e.sock"


# Checks: each returns a problem text or None.


def _number(value: Any, minimum: float = 0.0) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number"
    return None if value >= minimum else f"must be at least {minimum:g}"


def _positive_number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number"
    return None if value > 0 else "must be greater than 0"


def _positive_int(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be an integer"
    return None if value > 0 else "must be greater than 0"


def _string(value: Any) -> str | None:
    return None if isinstance(value, str) and value else "must be a non-empty string"


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _string_list(value: Any) -> str | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return None
    return 'must be a list of strings, such as ["--loglevel", "2"]'


def _string_table(value: Any) -> str | None:
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return None
    return 'must be a table of strings, such as { LANG = "C" }'


def _strategy(value: Any) -> str | None:
    if value in ("one_for_one", "rest_for_one"):
        return None
    return 'must be "one_for_one" or "rest_for_one"'


def _host_port(value: Any) -> str | None:
    match = isinstance(value, str) and re.fullmatch(r"[\w.\-]+:(\d{1,5})", value)
    if match and 0 < int(match.group(1)) <= 65535:
        return None
    return 'must be "host:port", such as "127.0.0.1:3333"'


def _http_url(value: Any) -> str | None:
    match = isinstance(value, str) and re.fullmatch(
        r"https?://[\w.\-]+(?::(\d{1,5}))?/?", value
    )
    if match and (match.group(1) is None or 0 < int(match.group(1)) <= 65535):
        return None
    return (
        "must be an http URL without a path and with a port from 1 to 65535, "
        'such as "http://127.0.0.1:18081"'
    )


def _clock(value: Any) -> str | None:
    pattern = r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?"
    if isinstance(value, str) and re.fullmatch(pattern, value):
        return None
    return 'must be a local time "HH:MM[:SS]", such as "04:30", or "" for none'


Check = Callable[[Any], str | None]
Convert = Callable[[Any], Any]

_PATH: Convert = lambda v: Path(v).expanduser()  # noqa: E731

_SUPERVISOR_KEYS: dict[str, tuple[Check, Convert]] = {
    "strategy": (_strategy, str),
    "initial_delay": (_number, float),
    "max_delay": (_positive_number, float),
    "max_restarts": (_positive_int, int),
    "restart_period": (_positive_number, float),
    "slow_retry": (_positive_number, float),
    "runtime_dir": (_string, _PATH),
    "log_file": (_string, _PATH),
}

_DAEMON_KEYS: dict[str, tuple[Check, Convert]] = {
    "command": (_string, str),
    "args": (_string_list, tuple),
    "cwd": (_string, _PATH),
    "env": (_string_table, dict),
    "external": (_bool, bool),
    "log_file": (_string, _PATH),
    "ready_timeout": (_positive_number, float),
    "stop_timeout": (_positive_number, float),
    "liveness_timeout": (_positive_number, float),
    "rpc_url": (_http_url, str),
    "stratum": (_host_port, str),
    "console_interval": (_positive_number, float),
    "data_api": (_string, _PATH),
    "local_console": (_bool, bool),
    "api_url": (_http_url, str),
    "api_token_file": (_string, _PATH),
    "api_interval": (_positive_number, float),
}

#: Keys that apply to one daemon only.
_ONLY_FOR = {
    "rpc_url": "monerod",
    "stratum": "p2pool",
    "console_interval": "p2pool",
    "data_api": "p2pool",
    "local_console": "p2pool",
    "api_url": "xmrig",
    "api_token_file": "xmrig",
    "api_interval": "xmrig",
}


def _table(
    prefix: str, content: Any, keys: Mapping[str, tuple[Check, Convert]]
) -> tuple[dict[str, Any], Problems]:
    if not isinstance(content, dict):
        return {}, [f"{prefix}: must be a table ([{prefix}])"]
    values: dict[str, Any] = {}
    problems: Problems = []
    for key, value in content.items():
        spec = keys.get(key)
        if spec is None:
            known = ", ".join(keys)
            problems.append(f"{prefix}.{key}: unknown key; known keys: {known}")
            continue
        check, convert = spec
        problem = check(value)
        if problem:
            problems.append(f"{prefix}.{key}: {problem} (got {value!r})")
        else:
            values[key] = convert(value)
    return values, problems


def parse_supervisor(content: Any) -> tuple[dict[str, Any], Problems]:
    """Check the [supervisor] table; return SupervisorConfig keyword arguments."""
    return _table("supervisor", content, _SUPERVISOR_KEYS)


def parse_schedule(content: Any) -> tuple[dict[str, Any], Problems]:
    """Check the [schedule] table; return SupervisorConfig keyword arguments."""
    keys: dict[str, tuple[Check, Convert]] = {
        "daily_restart": (lambda v: None if v == "" else _clock(v), str),
        "daemons": (_string_list, tuple),
    }
    values, problems = _table("schedule", content, keys)
    result: dict[str, Any] = {}
    if values.get("daily_restart"):
        result["daily_restart"] = time.fromisoformat(values["daily_restart"])
    if "daemons" in values:
        unknown = [d for d in values["daemons"] if d not in DAEMON_NAMES]
        if unknown:
            problems.append(
                f"schedule.daemons: unknown daemon {unknown[0]!r}; "
                f"known: {', '.join(DAEMON_NAMES)}"
            )
        result["daily_restart_daemons"] = values["daemons"]
    return result, problems


def _resolve_command(prefix: str, command: str, cwd: Path | None) -> Problems:
    found = (
        shutil.which(command, path=os.environ.get("PATH"))
        if "/" not in command
        else None
    )
    path = Path(found) if found else Path(command).expanduser()
    if "/" not in command and found is None:
        return [f"{prefix}.command: {command!r} not found on PATH; give its full path"]
    if not path.is_absolute() and cwd is not None:
        path = cwd / path
    if not path.exists():
        return [f"{prefix}.command: {path} does not exist; install it or fix the path"]
    if not os.access(path, os.X_OK) or path.is_dir():
        return [f"{prefix}.command: {path} is not an executable file"]
    return []


def _check_paths(prefix: str, values: Mapping[str, Any]) -> Problems:
    problems: Problems = []
    data_api = values.get("data_api")
    if data_api is not None and not data_api.is_dir():
        problems.append(
            f"{prefix}.data_api: {data_api} is not a directory; create it or fix "
            "the path (P2Pool needs it to exist)"
        )
    cwd = values.get("cwd")
    if cwd is not None and not cwd.is_dir():
        problems.append(f"{prefix}.cwd: {cwd} is not a directory")
    log_file = values.get("log_file")
    if log_file is not None:
        if log_file.exists() and not os.access(log_file, os.R_OK):
            problems.append(
                f"{prefix}.log_file: {log_file} is not readable by this user"
            )
        elif not log_file.parent.is_dir():
            problems.append(
                f"{prefix}.log_file: folder {log_file.parent} does not exist"
            )
    return problems


def _read_token(prefix: str, values: dict[str, Any]) -> Problems:
    path = values.pop("api_token_file", None)
    if path is not None:
        try:
            token = path.read_text().strip()
            mode = path.stat().st_mode
        except OSError as e:
            return [f"{prefix}.api_token_file: cannot read {path}: {e.strerror}"]
        if not token:
            return [f"{prefix}.api_token_file: {path} is empty; put the token in it"]
        if mode & 0o077:
            return [
                f"{prefix}.api_token_file: {path} is readable by other users; "
                f"run chmod 600 {path}"
            ]
        values["api_token"] = token
    elif os.environ.get(XMRIG_TOKEN_ENV):
        values["api_token"] = os.environ[XMRIG_TOKEN_ENV]
    return []


def _daemon(
    name: str, content: Any, check_files: bool
) -> tuple[DaemonConfig | None, Problems]:
    prefix = f"daemons.{name}"
    values, problems = _table(prefix, content, _DAEMON_KEYS)
    for key in list(values):
        owner = _ONLY_FOR.get(key)
        if owner is not None and owner != name:
            problems.append(f"{prefix}.{key}: applies to [daemons.{owner}] only")
    external = values.get("external", False)
    if external and "log_file" not in values:
        problems.append(
            f"{prefix}.log_file: missing; db4e follows an external daemon through "
            "its log file"
        )
    if not external and "command" not in values:
        problems.append(f"{prefix}.command: missing; give the executable to run")
    elif not external and check_files:
        problems += _resolve_command(prefix, values["command"], values.get("cwd"))
    if check_files:
        problems += _check_paths(prefix, values)
    if name == "xmrig":
        token_problems = _read_token(prefix, values)
        # Only db4e run needs the token; other commands must work without it.
        if check_files:
            problems += token_problems
    values.pop("api_token_file", None)
    if problems:
        return None, problems
    values.setdefault("command", "")
    return DaemonConfig(name=name, **values), []


def parse_daemons(
    content: Any, check_files: bool = True
) -> tuple[tuple[DaemonConfig, ...], Problems]:
    """Check the [daemons.*] tables; return the configured daemons in start order.

    With `check_files`, also check what they name on disk: executables, folders, the
    token file. Only `db4e run` and `db4e config check` need that; the other commands
    must work while, say, the p2pool binary is being replaced."""
    if not isinstance(content, dict):
        return (), ["daemons: must hold tables such as [daemons.p2pool]"]
    problems: Problems = []
    for name in content:
        if name not in DAEMON_NAMES:
            problems.append(
                f"daemons.{name}: unknown daemon; known: {', '.join(DAEMON_NAMES)}"
            )
    daemons = []
    for name in DAEMON_NAMES:
        if name in content:
            daemon, found = _daemon(name, content[name], check_files)
            problems += found
            if daemon is not None:
                daemons.append(daemon)
    return tuple(daemons), problems
