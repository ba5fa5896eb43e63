"""`db4e init` and `db4e config check`: write and check the configuration file."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import click

from db4e.cli import fail
from db4e.config import ConfigError, default_config_path, load_config

__all__ = ["COMMANDS", "config_group", "init"]


def template() -> str:
    """Return the commented configuration template shipped with db4e."""
    return (resources.files("db4e") / "config_template.toml").read_text()


@click.command()
@click.option(
    "--path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the template here [default: ~/.config/db4e/config.toml].",
)
@click.option("--force", is_flag=True, help="Replace an existing file.")
def init(path: Path | None, force: bool) -> None:
    """Write a commented configuration template, readable by you only."""
    path = path or default_config_path()
    if path.exists() and not force:
        fail(f"{path} exists; edit it, or pass --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(template())
    os.chmod(path, 0o600)
    click.echo(f"wrote {path}; edit the [daemons.*] tables, then run db4e config check")


@click.group("config")
def config_group() -> None:
    """Check the configuration file."""


@config_group.command("check")
@click.pass_context
def check(ctx: click.Context) -> None:
    """Check every key of the configuration, the executables and the paths it names,
    and report all problems at once."""
    config_path = ctx.find_root().params.get("config_path")
    try:
        config = load_config(config_path, check_files=True)
    except ConfigError as e:
        fail(str(e))
    where = config.source or "defaults (no configuration file)"
    daemons = ", ".join(
        d.name + (" (external)" if d.external else "") for d in config.daemons
    )
    click.echo(f"{where}: valid; daemons: {daemons or 'none'}")


COMMANDS = [init, config_group]
