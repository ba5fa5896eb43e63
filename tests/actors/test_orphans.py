"""The orphan registry: entries while daemons run, and the next start ending the
daemons that a killed `db4e run` left behind."""

from __future__ import annotations

import json
import logging
import os
import signal
import stat
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from daemon_support import (
    PYTHON,
    RecordingSink,
    fact_pid,
    is_running,
    kill_quietly,
    running,
    wait_gone,
)

from db4e.actors import DaemonActor, DaemonSpec, OrphanEntry, OrphanRegistry
from db4e.actors.orphans import process_start_time, reap_orphans

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

#: A stand-in for `db4e run`: runs one daemon actor with the registry at argv[1],
#: prints the daemon's pid and then copies the daemon's output. argv[2] is the
#: daemon's script, argv[3] its stop timeout.
FAKE_DB4E = """
import sys
from pathlib import Path

import anyio

from db4e.actors import DaemonActor, DaemonSpec, OrphanRegistry


class Sink:
    async def output(self, daemon, stream, data):
        sys.stdout.buffer.write(data)
        sys.stdout.flush()

    async def fact(self, daemon, kind, fields):
        if kind == "daemon_started":
            print(fields["pid"], flush=True)

    def health(self, daemon, facts):
        pass


async def main():
    spec = DaemonSpec(
        "p2pool",
        sys.executable,
        ("-c", sys.argv[2]),
        stop_timeout=float(sys.argv[3]),
    )
    registry = OrphanRegistry(Path(sys.argv[1]))
    await DaemonActor(spec, Sink(), registry=registry).run(lambda: None)


anyio.run(main)
"""

#: Daemon scripts print "armed" once set up, so that a test signals them only then.
SLEEPER = "import time; print('armed', flush=True); time.sleep(120)"
STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('armed', flush=True); time.sleep(120)"
)


class FakeRun:
    """A fake `db4e run` process and the daemon it started."""

    def __init__(self, registry: Path, daemon_script: str, stop_timeout: float) -> None:
        self.process = subprocess.Popen(
            [PYTHON, "-c", FAKE_DB4E, str(registry), daemon_script, str(stop_timeout)],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        try:
            self.daemon_pid = self._read_pid_when_armed()
        except BaseException:
            self.process.kill()
            self.process.wait(timeout=10)
            assert self.process.stdout is not None
            self.process.stdout.close()
            raise

    def _read_pid_when_armed(self) -> int:
        assert self.process.stdout is not None
        # The pid (a fact) and the daemon's "armed" (its output) reach stdout through
        # two paths, so either may come first.
        pid: int | None = None
        armed = False
        while pid is None or not armed:
            line = self.process.stdout.readline()
            assert line, "the fake db4e run ended before its daemon was armed"
            if line.strip().isdigit():
                pid = int(line)
            elif line == b"armed\n":
                armed = True
        return pid

    def kill(self) -> None:
        """Kill the fake `db4e run` with SIGKILL, as the OOM killer would."""
        self.process.kill()
        self.process.wait(timeout=10)

    def cleanup(self) -> None:
        kill_quietly(self.daemon_pid)
        self.process.kill()
        self.process.wait(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def registry_path(tmp_path: Path) -> Path:
    return tmp_path / "run" / "daemons.json"


@pytest.fixture
def fake_runs() -> Iterator[list[FakeRun]]:
    runs: list[FakeRun] = []
    yield runs
    for run in runs:
        run.cleanup()


def sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PYTHON, "-c", SLEEPER],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )


def entry_for(pid: int, **fields: object) -> OrphanEntry:
    values: dict[str, object] = {
        "name": "p2pool",
        "pid": pid,
        "pgid": pid,
        "start_time": process_start_time(pid),
        "command": "p2pool --wallet 4AAA",
        "stop_timeout": 1.0,
        "owner_pid": 1 << 22,
        "owner_start_time": 1,
        **fields,
    }
    return OrphanEntry(**values)  # type: ignore[arg-type]


# The registry file


def test_registry_file_and_directory_private(registry_path: Path) -> None:
    registry = OrphanRegistry(registry_path)
    registry.add(entry_for(os.getpid()))
    assert stat.S_IMODE(registry_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(registry_path.parent.stat().st_mode) == 0o700
    assert registry.entries() == [entry_for(os.getpid())]


def test_registry_remove_deletes_empty_file(registry_path: Path) -> None:
    registry = OrphanRegistry(registry_path)
    registry.add(entry_for(os.getpid()))
    registry.add(entry_for(os.getppid(), name="xmrig"))
    registry.remove(os.getpid())
    assert [entry.name for entry in registry.entries()] == ["xmrig"]
    registry.remove(os.getppid())
    assert not registry_path.exists()


def test_registry_rejects_symlinked_directory(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "run").symlink_to(target)
    registry = OrphanRegistry(tmp_path / "run" / "daemons.json")
    with pytest.raises(PermissionError, match="not a directory"):
        registry.add(entry_for(os.getpid()))


def test_invalid_registry_is_logged_and_empty(
    registry_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry_path.parent.mkdir(mode=0o700)
    registry_path.write_text('{"daemons": [{"pid": "x"}]}')
    assert OrphanRegistry(registry_path).entries() == []
    assert "invalid orphan registry" in caplog.text


async def test_actor_registers_while_running(registry_path: Path) -> None:
    sink = RecordingSink()
    spec = DaemonSpec("p2pool", PYTHON, ("-c", SLEEPER), stop_timeout=2.0)
    actor = DaemonActor(spec, sink, registry=OrphanRegistry(registry_path))
    async with running(actor) as run:
        pid = fact_pid(await sink.wait_fact("daemon_started"))
        start_time = process_start_time(pid)
        raw = json.loads(registry_path.read_text())
        await run.stop()
    [entry] = raw["daemons"]
    assert entry["pid"] == pid
    assert entry["pgid"] == pid
    assert entry["start_time"] == start_time
    assert entry["owner_pid"] == os.getpid()
    assert entry["stop_timeout"] == 2.0
    assert "time.sleep(120)" in entry["command"]
    assert not registry_path.exists()


# Reaping


async def test_reap_ends_daemon_of_killed_run(
    registry_path: Path, fake_runs: list[FakeRun]
) -> None:
    fake = FakeRun(registry_path, SLEEPER, stop_timeout=5.0)
    fake_runs.append(fake)
    fake.kill()
    # The daemon survives its supervisor, because it has a session of its own.
    assert is_running(fake.daemon_pid)

    reaped = await reap_orphans(registry_path)

    assert [entry.pid for entry in reaped] == [fake.daemon_pid]
    assert not is_running(fake.daemon_pid)
    assert not registry_path.exists()


async def test_reap_kills_orphan_ignoring_sigterm(
    registry_path: Path, fake_runs: list[FakeRun], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="db4e.actors")
    fake = FakeRun(registry_path, STUBBORN, stop_timeout=0.5)
    fake_runs.append(fake)
    fake.kill()
    started = anyio.current_time()

    await reap_orphans(registry_path)

    assert 0.4 <= anyio.current_time() - started < 5.0
    assert not is_running(fake.daemon_pid)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("SIGTERM" in m and str(fake.daemon_pid) in m for m in warnings)
    assert any("SIGKILL" in m and str(fake.daemon_pid) in m for m in warnings)


async def test_reap_leaves_daemons_of_running_db4e(
    registry_path: Path, fake_runs: list[FakeRun]
) -> None:
    fake = FakeRun(registry_path, SLEEPER, stop_timeout=5.0)
    fake_runs.append(fake)

    reaped = await reap_orphans(registry_path)

    assert reaped == []
    assert is_running(fake.daemon_pid)
    assert len(OrphanRegistry(registry_path).entries()) == 1


async def test_reap_spares_own_daemons(registry_path: Path) -> None:
    sink = RecordingSink()
    spec = DaemonSpec("p2pool", PYTHON, ("-c", SLEEPER), stop_timeout=2.0)
    actor = DaemonActor(spec, sink, registry=OrphanRegistry(registry_path))
    async with running(actor) as run:
        pid = fact_pid(await sink.wait_fact("daemon_started"))

        reaped = await reap_orphans(registry_path)

        assert reaped == []
        assert is_running(pid)
        assert [entry.pid for entry in OrphanRegistry(registry_path).entries()] == [pid]
        await run.stop()


async def test_reap_skips_recycled_pid(registry_path: Path) -> None:
    process = sleeper()
    try:
        start_time = process_start_time(process.pid)
        assert start_time is not None
        # Same pid, another start time: the kernel gave the pid to a new process.
        OrphanRegistry(registry_path).add(
            entry_for(process.pid, start_time=start_time - 1)
        )

        reaped = await reap_orphans(registry_path)

        assert reaped == []
        assert process.poll() is None
        assert not registry_path.exists()
    finally:
        process.kill()
        process.wait(timeout=10)


async def test_reap_forgets_ended_daemon(registry_path: Path) -> None:
    process = sleeper()
    entry = entry_for(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    OrphanRegistry(registry_path).add(entry)

    assert await reap_orphans(registry_path) == []
    assert not registry_path.exists()


async def test_reap_without_registry_does_nothing(registry_path: Path) -> None:
    assert await reap_orphans(registry_path) == []


async def test_reap_ends_whole_group(
    registry_path: Path, fake_runs: list[FakeRun]
) -> None:
    script = textwrap.dedent(
        """
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        print("armed", flush=True)
        time.sleep(120)
        """
    )
    fake = FakeRun(registry_path, script, stop_timeout=5.0)
    fake_runs.append(fake)
    fake.kill()
    with anyio.fail_after(10):
        while not (helpers := _group_members(fake.daemon_pid, exclude=fake.daemon_pid)):
            await anyio.sleep(0.02)

    try:
        await reap_orphans(registry_path)

        for pid in helpers:
            await wait_gone(pid, timeout=5)
    finally:
        for pid in helpers:
            kill_quietly(pid)


def _group_members(pgid: int, exclude: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == exclude:
            continue
        try:
            if os.getpgid(int(entry.name)) == pgid and is_running(int(entry.name)):
                members.append(int(entry.name))
        except ProcessLookupError:
            continue
    return members
