"""Loading and checking the TOML configuration file. Every problem is reported with its
key path, all of them at once, before anything runs."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from db4e.config_run import (
    DaemonConfig,
    SupervisorConfig,
    parse_daemons,
    parse_schedule,
    parse_supervisor,
)

__all__ = [
    "Config",
    "ConfigError",
    "DaemonConfig",
    "SupervisorConfig",
    "default_config_path",
    "default_data_dir",
    "default_store_path",
    "load_config",
    "resolve_zone",
]

APP = "db4e"


class ConfigError(ValueError):
    """Raised when the configuration file is missing, unreadable or invalid; lists every
    problem with its key path."""

    def __init__(self, path: Path | None, problems: list[str]) -> None:
        where = str(path) if path else "configuration"
        if len(problems) == 1:
            message = f"{where}: {problems[0]}"
        else:
            listed = "".join(f"\n  {problem}" for problem in problems)
            message = f"{where}: {len(problems)} problems:{listed}"
        super().__init__(message)
        self.path = path
        self.problems = problems


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var, "")
    # The XDG base directory spec says relative paths in these variables are invalid.
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / fallback


def default_config_path() -> Path:
    """`$XDG_CONFIG_HOME/db4e/config.toml` (`~/.config/db4e/config.toml`)."""
    return _xdg("XDG_CONFIG_HOME", ".config") / APP / "config.toml"


def default_data_dir() -> Path:
    """`$XDG_DATA_HOME/db4e` (`~/.local/share/db4e`)."""
    return _xdg("XDG_DATA_HOME", ".local/share") / APP


def default_store_path() -> Path:
    return default_data_dir() / "db4e.sqlite3"


def resolve_zone(name: str) -> ZoneInfo | None:
    """The zone called `name`; `local` means the machine's zone and returns None."""
    if name == "local":
        return None
    return ZoneInfo(name)


@dataclass(frozen=True)
class Config:
    """Settings from the configuration file, with defaults for what it leaves out."""

    #: File the settings came from, None when defaults only.
    source: Path | None = None
    store_path: Path = field(default_factory=default_store_path)
    #: Name of this farm; stored with every event so several farms can share a store.
    farm: str = "default"
    #: Zone of the times XMRig prints (local time); `local` is this machine's zone.
    xmrig_timezone: str = "local"
    #: `db4e status` exits 1 when the newest event is older than this many seconds.
    stale_after_seconds: int = 900
    #: Zone whose midnight starts a day in exported CSV files.
    export_timezone: str = "UTC"
    #: Folder for `db4e export` when `--out` is not given.
    export_dir: Path | None = None
    #: Restart policy, runtime folder and daily restart of `db4e run`.
    supervisor: SupervisorConfig = field(default_factory=SupervisorConfig)
    #: The daemons `db4e run` owns or probes, in start order.
    daemons: tuple[DaemonConfig, ...] = ()


def _check_str(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def _check_positive_int(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be an integer"
    return None if value > 0 else "must be greater than 0"


def _check_zone(value: Any) -> str | None:
    if not isinstance(value, str):
        return 'must be a string such as "UTC", "Europe/Berlin" or "local"'
    try:
        resolve_zone(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f'unknown time zone {value!r}; use an IANA name such as "Europe/Berlin"'
    return None


def _check_farm(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string"
    return None


def _check_path(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return "must be a non-empty path string"
    return None


#: Every key the file may hold: (table, key) → (Config attribute, check, converter).
_KEYS: dict[
    tuple[str, str], tuple[str, Callable[[Any], str | None], Callable[[Any], Any]]
] = {
    ("store", "path"): ("store_path", _check_path, lambda v: Path(v).expanduser()),
    ("store", "farm"): ("farm", _check_farm, str),
    ("xmrig", "timezone"): ("xmrig_timezone", _check_zone, str),
    ("status", "stale_after_seconds"): (
        "stale_after_seconds",
        _check_positive_int,
        int,
    ),
    ("export", "timezone"): ("export_timezone", _check_zone, str),
    ("export", "out"): ("export_dir", _check_path, lambda v: Path(v).expanduser()),
}
#: Tables checked by `db4e.config_run`.
_RUN_TABLES = ("daemons", "schedule", "supervisor")
_TABLES = sorted({table for table, _ in _KEYS} | set(_RUN_TABLES))


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(
            path, ["file not found; create it with `db4e init` or drop --config"]
        ) from None
    except IsADirectoryError:
        raise ConfigError(path, ["is a directory, expected a TOML file"]) from None
    except PermissionError:
        raise ConfigError(
            path, ["permission denied; make it readable by this user"]
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(path, [f"invalid TOML: {e}"]) from None
    except UnicodeDecodeError:
        raise ConfigError(
            path, ["not UTF-8 text; a configuration file is TOML text (db4e init)"]
        ) from None


def _validate(
    data: dict[str, Any], check_files: bool = False
) -> tuple[dict[str, Any], list[str]]:
    values: dict[str, Any] = {}
    problems: list[str] = []
    supervisor: dict[str, Any] = {}
    for table, content in data.items():
        if table in _RUN_TABLES:
            problems += _validate_run_table(
                table, content, values, supervisor, check_files
            )
            continue
        if table not in _TABLES:
            problems.append(
                f"unknown table [{table}]; known tables: {', '.join(_TABLES)}"
            )
            continue
        if not isinstance(content, dict):
            problems.append(f"{table}: must be a table ([{table}])")
            continue
        for key, value in content.items():
            spec = _KEYS.get((table, key))
            if spec is None:
                known = ", ".join(k for t, k in _KEYS if t == table)
                problems.append(
                    f"{table}.{key}: unknown key; known keys in [{table}]: {known}"
                )
                continue
            attribute, check, convert = spec
            problem = check(value)
            if problem:
                problems.append(f"{table}.{key}: {problem} (got {value!r})")
            else:
                values[attribute] = convert(value)
    values["supervisor"] = SupervisorConfig(**supervisor)
    return values, problems


def _validate_run_table(
    table: str,
    content: Any,
    values: dict[str, Any],
    supervisor: dict[str, Any],
    check_files: bool,
) -> list[str]:
    if table == "daemons":
        values["daemons"], problems = parse_daemons(content, check_files)
        return problems
    parse = parse_supervisor if table == "supervisor" else parse_schedule
    found, problems = parse(content)
    supervisor.update(found)
    return problems


def load_config(path: Path | None = None, check_files: bool = False) -> Config:
    """Load the configuration from `path`, or from the default path when it exists, or
    return the defaults. Raises `ConfigError` naming every bad key. With
    `check_files`, the executables, folders and token file of the daemons must exist
    too (for `db4e run` and `db4e config check`)."""
    explicit = path is not None
    path = path if explicit else default_config_path()
    assert path is not None
    if not explicit and not path.exists():
        return Config()
    values, problems = _validate(_read(path), check_files)
    if problems:
        raise ConfigError(path, problems)
    return Config(source=path, **values)
