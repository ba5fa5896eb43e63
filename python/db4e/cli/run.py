"""`db4e run`, `db4e stop` and `db4e restart`: the supervisor and its remote control."""

from __future__ import annotations

import logging
import logging.handlers
import signal
import time
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import click

from db4e.actors.status import (
    AlreadyRunningError,
    SupervisorNotRunning,
    ask,
    prepare_socket_path,
)
from db4e.cli import EXIT_ERROR, USER_ERRORS, fail, pass_checked_config, pass_config
from db4e.config import Config
from db4e.farm import Farm
from db4e.runner import daemon_child, ready_wait, reap_leftovers, registry

__all__ = ["COMMANDS", "restart", "run", "stop"]

logger = logging.getLogger(__name__)

USER_ERRORS.extend([AlreadyRunningError, SupervisorNotRunning])

#: Bytes and count of db4e's own rotated log files, when a log file is configured.
LOG_FILE_BYTES = 10 * 1024 * 1024
LOG_FILE_COUNT = 5


def _add_log_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_COUNT
    )
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.getLogger().addHandler(handler)
    path.chmod(0o600)


async def _watch_signals(farm: Farm) -> None:
    """Stop on SIGTERM or SIGINT; a second SIGINT stops the daemons at once."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            name = signal.Signals(signum).name
            if farm.stop_requested.is_set() and signum == signal.SIGINT:
                logger.warning("second SIGINT: stopping the daemons without waiting")
                farm.hurry()
                continue
            logger.info("%s received: stopping the daemons newest first", name)
            farm.stop_requested.set()


async def _run(config: Config) -> None:
    # Stop before touching any daemon when another db4e run listens on the socket.
    prepare_socket_path(config.supervisor.socket_path)
    await reap_leftovers(config)
    orphans = registry(config)
    farm = Farm(config, partial(daemon_child, orphans=orphans), ready_wait)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_watch_signals, farm)
        await farm.run()
        tg.cancel_scope.cancel()


@click.command()
@pass_checked_config
def run(config: Config) -> None:
    """Run the farm: start monerod, p2pool and xmrig in order, keep them running,
    store their output as events and serve db4e status, until SIGTERM or Ctrl-C.

    The daemons come from the [daemons.*] tables of the configuration; db4e init
    writes a template. A second Ctrl-C stops the daemons without waiting for them.
    """
    if not config.daemons:
        fail(
            "no daemons configured; add [daemons.monerod], [daemons.p2pool] or "
            "[daemons.xmrig] to the configuration (db4e init writes a template)"
        )
    if config.supervisor.log_file is not None:
        _add_log_file(config.supervisor.log_file)
    logger.info("db4e run starting with %s", ", ".join(d.name for d in config.daemons))
    anyio.run(_run, config)
    logger.info("db4e run stopped")


def _ask(config: Config, request: dict[str, Any]) -> dict[str, Any]:
    path = config.supervisor.socket_path
    try:
        reply = anyio.run(ask, path, request)
    except TimeoutError:
        fail(f"db4e run did not reply on {path} within 10 s; is it hung?")
    if not reply.get("ok"):
        fail(str(reply.get("error", "the supervisor rejected the request")))
    return reply


@click.command()
@click.option("--now", is_flag=True, help="Kill the daemons without waiting.")
@click.option(
    "--wait",
    type=click.FloatRange(min=0.0),
    default=600.0,
    show_default=True,
    help="Set how long, in seconds, to wait for db4e run to finish stopping.",
)
@pass_config
def stop(config: Config, now: bool, wait: float) -> None:
    """Stop the running db4e run and its daemons, newest first, and wait until it
    has stopped."""
    _ask(config, {"command": "stop", "now": now})
    click.echo("db4e run is stopping")
    # The socket goes away as the last step of the stop.
    deadline = time.monotonic() + wait
    while config.supervisor.socket_path.exists():
        if time.monotonic() > deadline:
            fail(f"db4e run has not stopped within {wait:g} s; it is still stopping")
        time.sleep(0.1)
    click.echo("db4e run stopped")


@click.command()
@click.argument("daemon", type=click.Choice(["monerod", "p2pool", "xmrig"]))
@pass_config
def restart(config: Config, daemon: str) -> None:
    """Restart DAEMON through the running db4e run (with rest_for_one, also the
    daemons started after it)."""
    try:
        _ask(config, {"command": "restart", "daemon": daemon})
    except SupervisorNotRunning as e:
        fail(f"{e}; start it with db4e run", EXIT_ERROR)
    click.echo(f"{daemon} restarted")


COMMANDS = [run, stop, restart]
