"""The P2Pool output simulator: determinism, line shapes and the planted-event list."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from db4e.simulate import (
    BLOCK_FOUND_BANNER,
    WALLET,
    PlantedEvent,
    SimConfig,
    append_live,
    generate,
    write_log,
)

FILE_HEAD = re.compile(
    rb"^(NOTICE  |WARNING |ERROR   )\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{4} "
)
CONSOLE_HEAD = re.compile(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{4} ")
ANSI = re.compile(rb"\x1b\[[0-9;]*m")

#: Two simulated days with every feature on and frequent rare events.
BUSY = SimConfig(
    duration_s=2 * 86400.0,
    seed=7,
    share_every_s=4 * 3600.0,
    block_every_s=2 * 3600.0,
    errors_every_s=3 * 3600.0,
    status_every_s=300.0,
    workers_every_s=600.0,
)

#: Text each kind's first line must contain.
MARKERS = {
    "share_found": "SHARE FOUND: mainchain height",
    "block_found": "BLOCK FOUND: main chain block at height",
    "payout": "got a payout of",
    "no_payout": "didn't get a payout",
    "new_mainchain_block": "new main chain block: height =",
    "miner_data": "P2Pool new miner data",
    "sidechain_status": "SideChain status",
    "stratum_status": "StratumServer status",
    "p2p_status": "P2PServer status",
    "node_health": "Node health: 10/10",
    "worker": "StratumServer 192.0.2.",
    "workers_total": "Total: ",
    "monerod_lagging": "is ahead on mainchain",
    "rpc_failed": "get_info RPC request to host",
    "zmq_connected": "connected to tcp://",
    "zmq_disconnected": "disconnected from tcp://",
    "no_zmq_messages": "no ZMQ messages received",
    "log_started": "Log started",
    "version": "P2Pool v4.17 (",
    "sidechain_config": "SideChain ",
}


def busy_log(config: SimConfig = BUSY) -> tuple[bytes, list[PlantedEvent]]:
    planted: list[PlantedEvent] = []
    data = b"".join(generate(config, planted))
    return data, planted


@pytest.fixture(scope="module")
def busy() -> tuple[bytes, list[PlantedEvent]]:
    return busy_log()


def test_generate_same_seed_same_bytes() -> None:
    config = SimConfig(duration_s=6 * 3600.0, status_every_s=60.0, seed=3)
    assert b"".join(generate(config)) == b"".join(generate(config))


def test_generate_other_seed_other_bytes() -> None:
    first = b"".join(generate(SimConfig(duration_s=3600.0, seed=1)))
    second = b"".join(generate(SimConfig(duration_s=3600.0, seed=2)))
    assert first != second


def test_generate_plants_every_kind(busy: tuple[bytes, list[PlantedEvent]]) -> None:
    _, planted = busy
    kinds = Counter(e.kind for e in planted)
    assert set(kinds) == set(MARKERS)


def test_planted_lines_point_at_records(
    busy: tuple[bytes, list[PlantedEvent]],
) -> None:
    data, planted = busy
    lines = data.decode().split("\n")
    for event in planted:
        text = lines[event.line - 1]
        assert MARKERS[event.kind] in text, (event, text)
        assert text.startswith(f"{event.level:8}{event.timestamp} {event.category} ")


def test_planted_share_fields_match_line(
    busy: tuple[bytes, list[PlantedEvent]],
) -> None:
    data, planted = busy
    lines = data.decode().split("\n")
    shares = [e for e in planted if e.kind == "share_found"]
    assert shares
    for event in shares:
        f = event.fields
        assert lines[event.line - 1].endswith(
            f"SHARE FOUND: mainchain height {f['mainchain_height']}, sidechain height "
            f"{f['sidechain_height']}, diff {f['difficulty']}, client {f['client']}, "
            f"user {f['user']}, effort {f['effort_percent']}%"
        )


def test_file_form_lines_have_level_word(
    busy: tuple[bytes, list[PlantedEvent]],
) -> None:
    data, planted = busy
    starts = {e.line for e in planted if e.kind not in {"miner_data", "block_found"}}
    lines = data.split(b"\n")
    assert lines[-1] == b""
    for number in starts:
        assert FILE_HEAD.match(lines[number - 1])


def test_timestamps_never_go_back(busy: tuple[bytes, list[PlantedEvent]]) -> None:
    data, _ = busy
    stamps = [
        m.group(0)[8:32] for m in re.finditer(rb"(?m)^[A-Z ]{8}\d{4}-.{20}", data)
    ]
    assert len(stamps) > 1000
    assert stamps == sorted(stamps)


def test_miner_data_has_111_dash_rules(
    busy: tuple[bytes, list[PlantedEvent]],
) -> None:
    data, planted = busy
    lines = data.decode().split("\n")
    event = next(e for e in planted if e.kind == "miner_data")
    body = lines[event.line : event.line + 11]
    assert body[0] == "-" * 111
    assert body[10] == "-" * 111
    assert body[1] == "host                    = 127.0.0.1:RPC 18081:ZMQ 18083"
    assert body[3] == f"height                  = {event.fields['height']}"


def test_block_found_banner_nine_lines(
    busy: tuple[bytes, list[PlantedEvent]],
) -> None:
    data, planted = busy
    lines = data.decode().split("\n")
    found = [e for e in planted if e.kind == "block_found"]
    assert found
    for event in found:
        assert tuple(lines[event.line : event.line + 9]) == BLOCK_FOUND_BANNER
        after = lines[event.line + 9]
        assert f"Your wallet {WALLET} " in after
        assert f"in block {event.fields['mainchain_height']}" in after
    assert all(len(row) == 95 for row in BLOCK_FOUND_BANNER)


def test_payout_follows_block_found(busy: tuple[bytes, list[PlantedEvent]]) -> None:
    _, planted = busy
    for i, event in enumerate(planted):
        if event.kind != "block_found":
            continue
        follower = planted[i + 1]
        assert follower.kind in {"payout", "no_payout"}
        assert follower.line == event.line + 10
        assert follower.fields["block_height"] == event.fields["mainchain_height"]
        amount = follower.fields.get("amount_xmr")
        if amount is not None:
            assert re.fullmatch(r"\d+\.\d{12}", str(amount))


def test_workers_columns_fixed_width(busy: tuple[bytes, list[PlantedEvent]]) -> None:
    data, planted = busy
    lines = data.decode().split("\n")
    rows = [e for e in planted if e.kind == "worker"]
    assert len(rows) == 8 * len([e for e in planted if e.kind == "workers_total"])
    for event in rows[:16]:
        text = lines[event.line - 1].split(" StratumServer ", 1)[1]
        width = text.index(" " * 8) + 8
        assert text[:width].rstrip() == event.fields["address"]
        assert text[width : width + 7].rstrip() in {"yes", "no"}
        assert text[width + 7 : width + 27].rstrip() == event.fields["uptime"]
        assert text[width + 27 : width + 47].rstrip() == str(event.fields["difficulty"])
        assert len(text[width + 47 : width + 62]) == 15
        shares = f"{event.fields['sidechain_shares']}/{event.fields['stratum_shares']}"
        assert text[width + 62 : width + 74].rstrip() == shares
        assert text[width + 74 :] == event.fields["name"]


def test_worker_hashrate_matches_text(busy: tuple[bytes, list[PlantedEvent]]) -> None:
    data, planted = busy
    lines = data.decode().split("\n")
    for event in (e for e in planted if e.kind == "worker"):
        hashrate = event.fields["hashrate"]
        if hashrate is None:
            continue
        assert isinstance(hashrate, dict)
        text = f"{hashrate['value']} {hashrate['unit']}"
        assert text in lines[event.line - 1]
        if hashrate["unit"] == "kH/s":
            assert hashrate["hs"] == int(str(hashrate["value"]).replace(".", ""))
        else:
            assert hashrate["hs"] == int(str(hashrate["value"]))


def test_status_records_in_order(busy: tuple[bytes, list[PlantedEvent]]) -> None:
    _, planted = busy
    kinds = [
        e.kind for e in planted if e.kind.endswith("_status") or e.kind == "node_health"
    ]
    assert kinds[:4] == [
        "sidechain_status",
        "stratum_status",
        "p2p_status",
        "node_health",
    ]
    assert len(kinds) % 4 == 0


def test_console_form_has_no_level_word() -> None:
    config = SimConfig(duration_s=6 * 3600.0, console=True, status_every_s=600.0)
    planted: list[PlantedEvent] = []
    data = b"".join(generate(config, planted))
    lines = data.split(b"\n")
    assert all(e.level is None for e in planted)
    for event in planted:
        assert CONSOLE_HEAD.match(lines[event.line - 1])
    assert b"NOTICE  " not in data


def test_colours_strip_to_plain_console() -> None:
    plain = SimConfig(duration_s=12 * 3600.0, console=True, share_every_s=300.0)
    coloured = SimConfig(
        duration_s=12 * 3600.0, console=True, colours=True, share_every_s=300.0
    )
    coloured_bytes = b"".join(generate(coloured))
    assert b"\x1b[0;36m" in coloured_bytes
    assert b"\x1b[0;32mSHARE FOUND" in coloured_bytes
    assert ANSI.sub(b"", coloured_bytes) == b"".join(generate(plain))


def test_file_form_matches_console_form() -> None:
    file_form = b"".join(generate(SimConfig(duration_s=3 * 3600.0)))
    console = b"".join(generate(SimConfig(duration_s=3 * 3600.0, console=True)))
    stripped = re.sub(rb"(?m)^(NOTICE  |WARNING |ERROR   )", b"", file_form)
    assert stripped == console


def test_max_bytes_stops_generation() -> None:
    config = SimConfig(duration_s=float("inf"), max_bytes=3 << 20)
    chunks = list(generate(config))
    size = sum(len(c) for c in chunks)
    assert size >= 3 << 20
    assert size < (3 << 20) + 2 * len(chunks[0])
    assert all(c.endswith(b"\n") for c in chunks)


def test_write_log_to_path_and_file(tmp_path: Path) -> None:
    config = SimConfig(duration_s=3600.0)
    path = tmp_path / "p2pool.log"
    size = write_log(path, config)
    with (tmp_path / "other.log").open("wb") as out:
        assert write_log(out, config) == size
    assert path.read_bytes() == (tmp_path / "other.log").read_bytes()
    assert path.stat().st_size == size


def test_status_density_near_two_thousand_per_mib() -> None:
    config = SimConfig(
        duration_s=float("inf"),
        max_bytes=4 << 20,
        status_every_s=60.0,
        workers_every_s=60.0,
    )
    planted: list[PlantedEvent] = []
    size = sum(len(c) for c in generate(config, planted))
    per_mib = len(planted) / (size / (1 << 20))
    assert 1500 < per_mib < 2500


def test_append_live_writes_planted_records(tmp_path: Path) -> None:
    path = tmp_path / "p2pool.log"
    config = SimConfig(
        start=1_786_700_000.0, duration_s=float("inf"), status_every_s=30
    )
    files = append_live(path, 0.5, lines_per_second=400.0, config=config)
    assert len(files) == 1
    data = path.read_bytes()
    assert data.endswith(b"\n")
    lines = data.decode().split("\n")
    assert files[0].lines == len(lines) - 1
    assert files[0].bytes == len(data)
    assert 20 <= files[0].lines <= 400
    for event in files[0].planted:
        assert MARKERS[event.kind] in lines[event.line - 1]


def test_append_live_rotates_by_rename(tmp_path: Path) -> None:
    path = tmp_path / "p2pool.log"
    config = SimConfig(duration_s=float("inf"), status_every_s=20.0)
    files = append_live(
        path, 0.9, lines_per_second=300.0, config=config, rotate_every_s=0.3
    )
    assert len(files) >= 2
    assert files[-1].path == path
    assert files[0].path == tmp_path / "p2pool.log.1"
    for live in files:
        lines = live.path.read_text().split("\n")
        assert len(lines) - 1 == live.lines
        assert FILE_HEAD.match(lines[0].encode())
        for event in live.planted:
            assert MARKERS[event.kind] in lines[event.line - 1]


def test_append_live_split_writes_and_stop(tmp_path: Path) -> None:
    path = tmp_path / "p2pool.log"
    stop = threading.Event()
    timer = threading.Timer(0.2, stop.set)
    timer.start()
    files = append_live(
        path, 30.0, lines_per_second=200.0, split_writes=True, stop=stop
    )
    timer.join()
    assert files[0].lines > 0
    assert path.read_bytes().endswith(b"\n")


def test_module_command_writes_file(tmp_path: Path) -> None:
    out = tmp_path / "sim.log"
    subprocess.run(
        [sys.executable, "-m", "db4e.simulate", str(out), "--size", "200K"],
        check=True,
        capture_output=True,
    )
    assert out.stat().st_size >= 200 << 10
