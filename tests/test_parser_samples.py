"""Every real sample parsed and compared with its oracle, one test per field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from db4e.parser import iter_file

SAMPLES = Path(__file__).parent / "data" / "samples"
LOGS = sorted(SAMPLES.glob("*/*.log"))


def parse(path: Path) -> list[dict[str, Any]]:
    return [e.fields() for batch in iter_file(path) for e in batch]


def expected(path: Path) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = json.loads(
        path.with_name(path.stem + ".expected.json").read_text()
    )
    return result


_cache: dict[Path, list[dict[str, Any]]] = {}


def parsed(path: Path) -> list[dict[str, Any]]:
    if path not in _cache:
        _cache[path] = parse(path)
    return _cache[path]


def field_cases() -> list[Any]:
    cases = []
    for log in LOGS:
        for i, event in enumerate(expected(log)):
            for name in event:
                case_id = f"{log.stem}[{i}].{name}"
                cases.append(pytest.param(log, i, name, id=case_id))
    return cases


@pytest.mark.parametrize("log", LOGS, ids=[p.stem for p in LOGS])
def test_sample_event_kinds_in_order(log: Path) -> None:
    got = [(e["line"], e["kind"]) for e in parsed(log)]
    want = [(e["line"], e["kind"]) for e in expected(log)]
    assert got == want


@pytest.mark.parametrize(("log", "index", "name"), field_cases())
def test_sample_event_field(log: Path, index: int, name: str) -> None:
    want = expected(log)[index]
    matches = [
        e
        for e in parsed(log)
        if e["line"] == want["line"] and e["kind"] == want["kind"]
    ]
    assert matches, f"no {want['kind']} event at line {want['line']}"
    assert name in matches[0], f"field {name!r} missing"
    assert matches[0][name] == want[name]


def test_samples_all_found() -> None:
    assert len(LOGS) == 29
