from __future__ import annotations

from pathlib import Path

import pytest

SAMPLES = Path(__file__).parent / "data" / "samples"


@pytest.fixture
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
