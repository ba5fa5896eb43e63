from __future__ import annotations

import os

import pytest
from daemon_support import MONEROD


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "monerod: needs a real monerod at /usr/bin/monerod (Debian package monero); "
        "skipped locally when it is missing, failed in CI (CI=true)",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("monerod") is None:
        return
    if os.access(MONEROD, os.X_OK):
        return
    message = f"{MONEROD} not found: install the Debian package monero"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI must install it")
    pytest.skip(message)
