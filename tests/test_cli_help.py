"""The `--help` output of every command, compared with the committed snapshots.

Run `DB4E_UPDATE_HELP=1 pytest tests/test_cli_help.py` after changing an option on
purpose, and review the diff of tests/data/help/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from db4e.cli import main

HELP_DIR = Path(__file__).parent / "data" / "help"
COMMANDS = ["", *sorted(main.commands)]


def help_text(command: str) -> str:
    args = [command, "--help"] if command else ["--help"]
    result = CliRunner().invoke(main, args, prog_name="db4e", terminal_width=88)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", COMMANDS, ids=[c or "db4e" for c in COMMANDS])
def test_help_matches_snapshot(command: str) -> None:
    snapshot = HELP_DIR / f"{command or 'db4e'}.txt"
    text = help_text(command)
    if os.environ.get("DB4E_UPDATE_HELP"):
        snapshot.write_text(text)
    assert snapshot.exists(), f"no snapshot {snapshot}; run with DB4E_UPDATE_HELP=1"
    assert text == snapshot.read_text()


def test_help_lists_every_command() -> None:
    text = help_text("")
    for command in ("parse", "import", "watch", "status", "export", "demo"):
        assert f"  {command} " in text
