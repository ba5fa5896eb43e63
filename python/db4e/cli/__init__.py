"""The `db4e` command line: argument parsing and error reporting only.

Each command lives in a module of this package and calls the library modules that do
the work."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from db4e import __version__
from db4e.config import Config, ConfigError, load_config
from db4e.parser import BinaryFileError, ParserBug

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_STALE",
    "EXIT_USAGE",
    "USER_ERRORS",
    "fail",
    "main",
    "pass_checked_config",
    "pass_config",
]

#: Success.
EXIT_OK = 0
#: `db4e status`: the store is empty or its newest event is older than the limit.
EXIT_STALE = 1
#: Bad command-line usage (click's own code).
EXIT_USAGE = 2
#: Invalid input, configuration or store: the message names the file or key and the fix.
EXIT_ERROR = 3
#: Stopped by Ctrl-C.
EXIT_INTERRUPTED = 130

#: Exceptions whose message is meant for the user: printed as one `db4e:` line, with no
#: traceback. Command modules add their own.
USER_ERRORS: list[type[BaseException]] = [
    ConfigError,
    BinaryFileError,
    OSError,
]

LOG_LEVELS = ["debug", "info", "warning", "error"]

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print `db4e: message` to stderr and exit with `code`."""
    click.echo(f"db4e: {message}", err=True)
    sys.exit(code)


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename is not None:
        reason = error.strerror or str(error)
        return f"{error.filename}: {reason}"
    # A TimeoutError from anyio.fail_after carries no message of its own.
    return str(error) or f"{type(error).__name__} (no details)"


class _Group(click.Group):
    """Turns expected errors into one line on stderr and a named exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ParserBug as e:
            logging.getLogger("db4e").exception("parser bug")
            fail(f"internal parser error, please report it: {e}")
        except tuple(USER_ERRORS) as e:
            fail(_describe(e))
        except KeyboardInterrupt:
            fail("interrupted", EXIT_INTERRUPTED)


def pass_config(f: F) -> F:
    """Give a command the loaded `Config` as its first argument."""
    return _pass_config(f, check_files=False)


def pass_checked_config(f: F) -> F:
    """Give a command the `Config` with the daemons' executables and paths checked
    on disk too (for `db4e run`)."""
    return _pass_config(f, check_files=True)


def _pass_config(f: F, check_files: bool) -> F:
    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        return ctx.invoke(f, ctx.obj["config"](check_files), *args, **kwargs)

    wrapper.__name__ = f.__name__
    wrapper.__doc__ = f.__doc__
    return wrapper  # type: ignore[return-value]


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="db4e")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="DB4E_CONFIG",
    help="Read settings from this TOML file [default: ~/.config/db4e/config.toml].",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="DB4E_DB",
    help="Use this SQLite store file [default: store.path from the config, "
    "else ~/.local/share/db4e/db4e.sqlite3].",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS),
    default="warning",
    show_default=True,
    help="Set the level of db4e's own log on stderr.",
)
@click.pass_context
def main(
    ctx: click.Context, config_path: Path | None, db_path: Path | None, log_level: str
) -> None:
    """db4e: supervise, parse and report on a home Monero mining farm."""
    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request at INFO; db4e logs the failures that matter itself.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.root.level))
    loaded: dict[bool, Config] = {}

    def config(check_files: bool = False) -> Config:
        # Loaded on first use, so `db4e parse` works even with a broken config file.
        if check_files not in loaded:
            cfg = load_config(config_path, check_files)
            if db_path is not None:
                cfg = replace(cfg, store_path=db_path)
            loaded[check_files] = cfg
        return loaded[check_files]

    ctx.obj = {"config": config}


def _register() -> None:
    from db4e.cli import parse

    main.add_command(parse.parse)
    for module_name in ("ingest", "report", "demo", "setup", "run"):
        try:
            module = __import__(f"db4e.cli.{module_name}", fromlist=["COMMANDS"])
        except ModuleNotFoundError as e:
            if e.name != f"db4e.cli.{module_name}":
                raise
            continue
        for command in module.COMMANDS:
            main.add_command(command)


_register()
