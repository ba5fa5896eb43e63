"""P2Pool's printed forms: timestamps, level words, colours, numbers and banners."""

from __future__ import annotations

import re
import time

#: The made-up wallet of the simulated farm: `4` and 94 `A`, 95 characters like a real
#: Monero main address.
WALLET = "4" + "A" * 94

#: Timestamps are kept as integer ticks of 100 µs, P2Pool's printed resolution.
TICKS_PER_SECOND = 10_000

FRACTIONS = [f"{i:04d}" for i in range(TICKS_PER_SECOND)]
#: Characters of a printed timestamp, `YYYY-MM-DD HH:MM:SS.ffff`.
TIMESTAMP_LENGTH = 24
LEVEL_WORDS = {"NOTICE": "NOTICE  ", "WARNING": "WARNING ", "ERROR": "ERROR   "}
#: The colour of the timestamp on a coloured console (cyan).
TIMESTAMP_COLOUR = "\x1b[0;36m"
#: ANSI SGR sequences, which P2Pool's logger removes before writing its file.
ANSI_SGR = re.compile("\x1b\\[[0-9;]*m")
SEVERITY_COLOURS = {
    "NOTICE": "\x1b[0m",
    "WARNING": "\x1b[0;33m",
    "ERROR": "\x1b[0;31m",
}
RULE_111 = "-" * 111
RULE_95 = "-" * 95
# The art is P2Pool's own and wider than the line limit.
BANNER_ROWS = (
    "| ######   #        #######   #####   #    #      #######  #######  #     #  #     #  ######  |",  # noqa: E501
    "| #     #  #        #     #  #     #  #   #       #        #     #  #     #  ##    #  #     # |",  # noqa: E501
    "| #     #  #        #     #  #        #  #        #        #     #  #     #  # #   #  #     # |",  # noqa: E501
    "| ######   #        #     #  #        ###         #####    #     #  #     #  #  #  #  #     # |",  # noqa: E501
    "| #     #  #        #     #  #        #  #        #        #     #  #     #  #   # #  #     # |",  # noqa: E501
    "| #     #  #        #     #  #     #  #   #       #        #     #  #     #  #    ##  #     # |",  # noqa: E501
    "| ######   #######  #######   #####   #    #      #        #######   #####   #     #  ######  |",  # noqa: E501
)
#: The 9 lines P2Pool appends to a BLOCK FOUND record.
BLOCK_FOUND_BANNER = (RULE_95, *BANNER_ROWS, RULE_95)

HOST = "127.0.0.1:RPC 18081:ZMQ 18083"
ZMQ_ADDRESS = "tcp://127.0.0.1:18083"
PICO = 10**12
#: Sidechain blocks in the mini chain's PPLNS window.
PPLNS_WINDOW = 2160


def hashrate(hs: float) -> tuple[str, dict[str, object]]:
    """Format a hashrate as P2Pool prints it and return the text and the parser's field:
    below 1000 H/s an integer, otherwise 3 decimals in the largest unit that keeps the
    value at least 1."""
    if hs < 1000:
        value = int(hs)
        return f"{value} H/s", {"value": str(value), "unit": "H/s", "hs": value}
    exp = 3
    for unit_exp in (6, 9, 12, 15, 18):
        if hs >= 10**unit_exp:
            exp = unit_exp
    unit = {3: "kH/s", 6: "MH/s", 9: "GH/s", 12: "TH/s", 15: "PH/s", 18: "EH/s"}[exp]
    value_text = f"{hs / 10**exp:.3f}"
    # The parser converts the printed digits exactly, so derive H/s from the text.
    whole, frac = value_text.split(".")
    printed_hs = int(whole + frac) * 10 ** (exp - 3)
    return f"{value_text} {unit}", {"value": value_text, "unit": unit, "hs": printed_hs}


def duration(seconds: int) -> str:
    days, rest = divmod(max(seconds, 0), 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}h {minutes}m {secs}s"
    return f"{days}d {text}" if days else text


def xmr(pico: int) -> str:
    return f"{pico // PICO}.{pico % PICO:012d}"


class Clock:
    """Formats tick counts as P2Pool timestamps, caching the part up to the second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def text(self, ticks: int) -> str:
        second, fraction = divmod(ticks, TICKS_PER_SECOND)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%d %H:%M:%S.", time.gmtime(second))
        return self._prefix + FRACTIONS[fraction]


class Heads:
    """Precomputed text around the timestamp of a record's first line, per level and
    category, so that a line costs one concatenation."""

    def __init__(self, console: bool, colours: bool) -> None:
        self.console = console
        self._colours = colours
        self._cache: dict[tuple[str, str], tuple[str, str, str]] = {}

    def get(self, level: str, category: str) -> tuple[str, str, str]:
        """Return (text before the timestamp, text after it, text ending the record)."""
        key = (level, category)
        head = self._cache.get(key)
        if head is None:
            head = self._build(level, category)
            self._cache[key] = head
        return head

    def _build(self, level: str, category: str) -> tuple[str, str, str]:
        if not self.console:
            return LEVEL_WORDS[level], f" {category} ", ""
        if not self._colours:
            return "", f" {category} ", ""
        after = f"\x1b[0m \x1b[0;90m{category} \x1b[0m{SEVERITY_COLOURS[level]}"
        return TIMESTAMP_COLOUR, after, "\x1b[0m"

    def colour(self, code: str) -> str:
        """Return the SGR sequence `code` in coloured console output, else nothing."""
        return f"\x1b[{code}m" if self._colours else ""

    def _timestamp_offset(self) -> int:
        if not self.console:
            return len(LEVEL_WORDS["NOTICE"])
        return len(TIMESTAMP_COLOUR) if self._colours else 0

    def timestamp(self, record: str) -> str:
        """Return the timestamp on the first line of a record written with these
        heads."""
        start = self._timestamp_offset()
        return record[start : start + TIMESTAMP_LENGTH]

    def restamp(self, record: str, timestamp: str) -> str:
        """Replace the timestamp on the first line of a record written with these
        heads."""
        start = self._timestamp_offset()
        return record[:start] + timestamp + record[start + TIMESTAMP_LENGTH :]

    def level(self, record: str) -> str:
        """Return the level (`NOTICE`, `WARNING`, `ERROR`) of a record written with
        these heads: its level word in the file form, its severity colour in the
        coloured console form.

        Raises ValueError for the plain console form, which does not show the level.
        """
        if not self.console:
            word = record[: len(LEVEL_WORDS["NOTICE"])]
            return next(level for level, text in LEVEL_WORDS.items() if text == word)
        if not self._colours:
            raise ValueError("the plain console form does not show the level")
        # The category ends at the first reset after the timestamp, and the severity
        # colour follows it (see `_build`).
        reset = " \x1b[0m"
        category_end = record.index(reset, len(TIMESTAMP_COLOUR) + TIMESTAMP_LENGTH)
        severity_start = category_end + len(reset)
        for level in ("WARNING", "ERROR"):
            if record.startswith(SEVERITY_COLOURS[level], severity_start):
                return level
        return "NOTICE"


def strip_colours(text: str) -> str:
    """Remove the ANSI colour codes, as P2Pool does before writing its log file."""
    return ANSI_SGR.sub("", text)
