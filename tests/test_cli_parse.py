"""`db4e parse` through the real command line, in a subprocess."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

SHARE = (
    b"NOTICE  2026-08-14 09:15:02.4821 StratumServer SHARE FOUND: mainchain height "
    b"3745120, sidechain height 14560233, diff 251004117, client 192.0.2.15:50123, "
    b"user rig1, effort 87.412%\n"
)


def db4e(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "db4e", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_parse_file_jsonl(tmp_path: Path) -> None:
    log = tmp_path / "p2pool.log"
    log.write_bytes(SHARE * 2)
    result = db4e("parse", str(log))
    assert result.returncode == 0
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 2
    event = json.loads(lines[1])
    assert event["line"] == 2
    assert event["kind"] == "share_found"
    assert event["user"] == "rig1"


def test_parse_stdin_keeps_partial_line() -> None:
    result = db4e("parse", "-", stdin=SHARE + SHARE.rstrip(b"\n"))
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 1


def test_parse_stdin_include_partial() -> None:
    result = db4e("parse", "--include-partial", "-", stdin=SHARE.rstrip(b"\n"))
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 1


def test_parse_gzip_file(tmp_path: Path) -> None:
    log = tmp_path / "p2pool.log.gz"
    log.write_bytes(gzip.compress(SHARE * 3))
    result = db4e("parse", str(log))
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 3


def test_parse_stats_on_stderr(tmp_path: Path) -> None:
    log = tmp_path / "p2pool.log"
    log.write_bytes(SHARE + b"garbage line\n")
    result = db4e("parse", "--stats", str(log))
    assert result.returncode == 0
    assert b'"unrecognised_lines": 1' in result.stderr
    assert b'"share_found": 1' in result.stderr


def test_parse_missing_file_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.log"
    result = db4e("parse", str(missing))
    assert result.returncode == 3
    assert result.stderr.decode().startswith(f"db4e: {missing}: No such file")


def test_parse_directory_error(tmp_path: Path) -> None:
    result = db4e("parse", str(tmp_path))
    assert result.returncode == 3
    assert "is a directory" in result.stderr.decode()


def test_parse_binary_file_error(tmp_path: Path) -> None:
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x7fELF\x00\x00\x01" * 100)
    result = db4e("parse", str(binary))
    assert result.returncode == 3
    assert "not a text log" in result.stderr.decode()


def test_parse_no_traceback_on_error(tmp_path: Path) -> None:
    result = db4e("parse", str(tmp_path / "missing.log"))
    assert b"Traceback" not in result.stderr


def test_parse_truncated_gzip_named(tmp_path: Path) -> None:
    log = tmp_path / "p2pool.log.gz"
    log.write_bytes(gzip.compress(SHARE * 2000)[:200])
    result = db4e("parse", str(log))
    assert result.returncode == 3
    assert (
        f"db4e: {log}: compressed file is damaged or cut short"
        in result.stderr.decode()
    )


def test_parse_into_closed_pipe_quiet(tmp_path: Path) -> None:
    log = tmp_path / "p2pool.log"
    log.write_bytes(SHARE * 20_000)
    head = subprocess.Popen(
        ["head", "-n", "1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    assert head.stdin is not None
    result = subprocess.run(
        [sys.executable, "-m", "db4e", "parse", str(log)],
        stdout=head.stdin,
        stderr=subprocess.PIPE,
        timeout=60,
        check=False,
    )
    head.stdin.close()
    head.wait(timeout=10)
    assert result.returncode == 0
    assert result.stderr == b""
