"""The supervisor with scripted children: order, policies, strategies, budget, stop."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
import pytest

from db4e.supervisor import (
    Child,
    ChildSpec,
    Lifecycle,
    RestartLimits,
    Supervisor,
)

pytestmark = pytest.mark.anyio

FAST = RestartLimits(
    initial_delay=0.01,
    factor=2.0,
    max_delay=0.05,
    jitter=0.0,
    max_restarts=3,
    period=10.0,
    slow_retry=0.2,
    stable_after=10.0,
)


class Log:
    """Lifecycle events in arrival order, with a way to wait for one."""

    def __init__(self) -> None:
        self.events: list[Lifecycle] = []
        self._changed = anyio.Event()

    def __call__(self, event: Lifecycle) -> None:
        self.events.append(event)
        self._changed.set()
        self._changed = anyio.Event()

    def count(self, kind: str, child: str) -> int:
        return sum(1 for e in self.events if e.kind == kind and e.child == child)

    def kinds(self, child: str) -> list[str]:
        return [e.kind for e in self.events if e.child == child]

    async def wait(self, kind: str, child: str, count: int = 1) -> None:
        with anyio.fail_after(5):
            while self.count(kind, child) < count:
                await self._changed.wait()


@dataclass
class Script:
    """What a scripted child does on each start: "ok" serves until stopped, "crash"
    raises after getting ready, "exit" returns after getting ready, "hang" never gets
    ready. The last entry repeats."""

    steps: list[str]
    starts: int = 0
    stopped: list[str] = field(default_factory=list)


class Scripted:
    def __init__(self, name: str, script: Script, order: list[str]) -> None:
        self.name = name
        self.script = script
        self.order = order

    async def run(self, ready: Callable[[], None]) -> None:
        step = self.script.steps[min(self.script.starts, len(self.script.steps) - 1)]
        self.script.starts += 1
        try:
            if step == "hang":
                await anyio.sleep_forever()
            ready()
            await anyio.sleep(0)
            if step == "crash":
                raise RuntimeError(f"{self.name} broke")
            if step == "exit":
                return
            await anyio.sleep_forever()
        finally:
            self.order.append(f"stop {self.name}")


def specs(
    scripts: dict[str, Script],
    order: list[str],
    restart: str = "permanent",
    ready_timeout: float | None = 1.0,
) -> list[ChildSpec]:
    def factory(name: str) -> Callable[[], Child]:
        return lambda: Scripted(name, scripts[name], order)

    return [
        ChildSpec(name, factory(name), restart, ready_timeout)  # type: ignore[arg-type]
        for name in scripts
    ]


async def run_until(supervisor: Supervisor, until: Callable[[], object]) -> None:
    async with anyio.create_task_group() as tg:
        tg.start_soon(supervisor.run)
        await until()  # type: ignore[misc]
        tg.cancel_scope.cancel()


async def test_start_order_waits_for_ready() -> None:
    log, order = Log(), []
    scripts = {"monerod": Script(["ok"]), "p2pool": Script(["ok"])}
    sup = Supervisor("daemons", specs(scripts, order), limits=FAST, on_event=log)
    await run_until(sup, lambda: log.wait("ready", "p2pool"))
    kinds = [(e.kind, e.child) for e in log.events]
    assert kinds.index(("ready", "monerod")) < kinds.index(("started", "p2pool"))


async def test_stop_in_reverse_order() -> None:
    log, order = Log(), []
    scripts = {
        "monerod": Script(["ok"]),
        "p2pool": Script(["ok"]),
        "xmrig": Script(["ok"]),
    }
    sup = Supervisor("daemons", specs(scripts, order), limits=FAST, on_event=log)
    await run_until(sup, lambda: log.wait("ready", "xmrig"))
    assert order == ["stop xmrig", "stop p2pool", "stop monerod"]
    assert log.count("stopped", "monerod") == 1


async def test_one_for_one_restarts_only_crashed() -> None:
    log, order = Log(), []
    scripts = {"monerod": Script(["crash", "ok"]), "p2pool": Script(["ok"])}
    sup = Supervisor("daemons", specs(scripts, order), limits=FAST, on_event=log)
    await run_until(sup, lambda: log.wait("ready", "monerod", 2))
    assert scripts["p2pool"].starts == 1
    assert log.count("restarting", "monerod") == 1
    assert sup.states()["monerod"]["restarts"] == 1


async def test_rest_for_one_restarts_dependents() -> None:
    log, order = Log(), []
    scripts = {
        "monerod": Script(["ok", "crash", "ok"]),
        "p2pool": Script(["ok"]),
        "xmrig": Script(["ok"]),
    }
    sup = Supervisor(
        "daemons",
        specs(scripts, order),
        strategy="rest_for_one",
        limits=FAST,
        on_event=log,
    )

    async def until() -> None:
        await log.wait("ready", "xmrig")
        await sup.restart("monerod")
        await log.wait("ready", "xmrig", 3)

    await run_until(sup, until)
    assert scripts["p2pool"].starts == 3
    assert scripts["xmrig"].starts == 3
    # The dependents stop newest first before monerod starts again.
    assert order[:3] == ["stop xmrig", "stop p2pool", "stop monerod"]


async def test_transient_normal_exit_not_restarted() -> None:
    log, order = Log(), []
    scripts = {"job": Script(["exit"])}
    sup = Supervisor(
        "jobs", specs(scripts, order, restart="transient"), limits=FAST, on_event=log
    )
    await run_until(sup, lambda: log.wait("exited", "job"))
    await anyio.sleep(0.05)
    assert scripts["job"].starts == 1
    assert sup.states()["job"]["state"] == "exited"


async def test_transient_crash_restarted() -> None:
    log, order = Log(), []
    scripts = {"job": Script(["crash", "ok"])}
    sup = Supervisor(
        "jobs", specs(scripts, order, restart="transient"), limits=FAST, on_event=log
    )
    await run_until(sup, lambda: log.wait("ready", "job", 2))
    assert scripts["job"].starts == 2


async def test_temporary_never_restarted() -> None:
    log, order = Log(), []
    scripts = {"job": Script(["crash"])}
    sup = Supervisor(
        "jobs", specs(scripts, order, restart="temporary"), limits=FAST, on_event=log
    )
    await run_until(sup, lambda: log.wait("exited", "job"))
    await anyio.sleep(0.05)
    assert scripts["job"].starts == 1
    assert log.count("restarting", "job") == 0


async def test_budget_spent_marks_failed_then_retries() -> None:
    log, order = Log(), []
    scripts = {"p2pool": Script(["crash", "crash", "crash", "crash", "ok"])}
    sup = Supervisor("daemons", specs(scripts, order), limits=FAST, on_event=log)
    await run_until(sup, lambda: log.wait("ready", "p2pool", 5))
    assert log.count("restarting", "p2pool") == 3
    assert log.count("failed", "p2pool") == 1
    failed = next(e for e in log.events if e.kind == "failed")
    assert failed.delay == FAST.slow_retry
    assert "RuntimeError: p2pool broke" in failed.reason


async def test_backoff_grows_and_caps() -> None:
    log, order = Log(), []
    limits = RestartLimits(
        initial_delay=0.01, factor=2.0, max_delay=0.03, jitter=0.0, max_restarts=10
    )
    scripts = {"xmrig": Script(["crash"] * 4 + ["ok"])}
    sup = Supervisor("daemons", specs(scripts, order), limits=limits, on_event=log)
    await run_until(sup, lambda: log.wait("ready", "xmrig", 5))
    delays = [e.delay for e in log.events if e.kind == "restarting"]
    assert delays == pytest.approx([0.01, 0.02, 0.03, 0.03])
    attempts = [e.attempt for e in log.events if e.kind == "restarting"]
    assert attempts == [1, 2, 3, 4]


def test_backoff_jitter_within_bounds() -> None:
    limits = RestartLimits(initial_delay=1.0, jitter=0.2, max_delay=100.0)
    rng = random.Random(1)
    delays = [limits.delay(0, rng) for _ in range(200)]
    assert min(delays) >= 0.8
    assert max(delays) <= 1.2
    assert len(set(delays)) > 100


async def test_ready_timeout_counts_as_failed_start() -> None:
    log, order = Log(), []
    scripts = {"monerod": Script(["hang", "ok"]), "p2pool": Script(["ok"])}
    sup = Supervisor(
        "daemons",
        specs(scripts, order, ready_timeout=0.1),
        limits=FAST,
        on_event=log,
    )
    await run_until(sup, lambda: log.wait("ready", "p2pool"))
    exited = next(e for e in log.events if e.kind == "exited")
    assert exited.reason == "not ready within 0.1 s"
    assert exited.abnormal
    assert scripts["monerod"].starts == 2
    # p2pool started only once monerod got ready on its second start.
    assert log.kinds("p2pool")[:2] == ["started", "ready"]


async def test_manual_restart_one_for_one() -> None:
    log, order = Log(), []
    scripts = {"monerod": Script(["ok"]), "p2pool": Script(["ok"])}
    sup = Supervisor("daemons", specs(scripts, order), limits=FAST, on_event=log)

    async def until() -> None:
        await log.wait("ready", "p2pool")
        await sup.restart("monerod", "daily restart")
        await log.wait("ready", "monerod", 2)

    await run_until(sup, until)
    assert scripts["p2pool"].starts == 1
    stopped = next(e for e in log.events if e.kind == "stopped")
    assert stopped.reason == "daily restart"


async def test_restart_unknown_child_names_children() -> None:
    sup = Supervisor("daemons", specs({"a": Script(["ok"])}, []), limits=FAST)
    with pytest.raises(KeyError, match="no child named 'b' in daemons; children: a"):
        await sup.restart("b")


def test_duplicate_child_names_rejected() -> None:
    scripts = {"a": Script(["ok"])}
    spec = specs(scripts, [])[0]
    with pytest.raises(ValueError, match="child names must be unique"):
        Supervisor("daemons", [spec, spec])
