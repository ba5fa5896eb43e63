"""P2Pool's console command input: framing, the command table and prefix matching.

The rules follow P2Pool v4.18 (`src/console_commands.cpp`). Input is split on `\\r`
or `\\n`. A command matches when the line starts with its name, tried in table order,
and its argument follows after spaces or tabs. A command that needs an argument but
got none is rejected. Unlike P2Pool, which reports an empty line as an unknown
command, the simulator skips empty lines.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "COMMANDS",
    "COOKIE_LENGTH",
    "MAX_COMMAND_BYTES",
    "Command",
    "CommandSplitter",
    "help_lines",
    "mask_non_ascii",
    "match_command",
]

#: Characters of the local console's cookie.
COOKIE_LENGTH = 20
#: Unfinished input kept while waiting for a line end; more is dropped.
MAX_COMMAND_BYTES = 65536


@dataclass(frozen=True, slots=True)
class Command:
    """One entry of P2Pool's command table."""

    name: str
    #: Placeholder of the required argument, empty when there is none.
    argument: str
    description: str


#: P2Pool's command table (a build without the built-in miner), in its order, which
#: decides prefix matches: `inpeers_localhost` would match `inpeers`.
COMMANDS = (
    Command("help", "", "display list of commands"),
    Command("status", "", "display p2pool status"),
    Command("loglevel", "<level>", "set log level"),
    Command("addpeers", "<peeraddr>", "add peer"),
    Command("droppeers", "", "disconnect all peers"),
    Command("peers", "", "show all peers"),
    Command("workers", "", "show all connected workers"),
    Command("bans", "", "show all banned IPs"),
    Command("hosts", "", "show Monero hosts"),
    Command("next_host", "", "switch to the next Monero host"),
    Command("outpeers", "<N>", "set maximum number of outgoing connections"),
    Command("inpeers", "<N>", "set maximum number of incoming connections"),
    Command("exit", "", "terminate p2pool"),
    Command("version", "", "show p2pool version"),
)


class CommandSplitter:
    """Splits a byte stream into command lines."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, data: bytes) -> list[str]:
        """Add `data` and return the complete, non-empty lines it finishes."""
        self._pending += data
        lines: list[str] = []
        start = 0
        for index, byte in enumerate(self._pending):
            if byte in b"\r\n":
                if index > start:
                    lines.append(self._pending[start:index].decode("latin-1"))
                start = index + 1
        del self._pending[:start]
        if len(self._pending) > MAX_COMMAND_BYTES:
            self._pending.clear()
        return lines


def match_command(line: str) -> tuple[Command, str] | None:
    """Return the command a line runs and its argument, or None when no name is a
    prefix of the line."""
    for command in COMMANDS:
        if line.startswith(command.name):
            argument = line[len(command.name) + 1 :].lstrip(" \t")
            return command, argument
    return None


def mask_non_ascii(text: str) -> str:
    """Replace characters outside printable ASCII with `?`, as P2Pool does when it
    echoes input in a warning."""
    return "".join(c if " " <= c <= "~" else "?" for c in text)


def help_lines() -> list[str]:
    """Return the messages of the `help` output, one record each."""
    lines = ["List of commands"]
    for command in COMMANDS:
        lines.append(
            f"{command.name.ljust(20)}{command.argument.ljust(12)}{command.description}"
        )
    return lines
