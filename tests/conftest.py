"""Shared fixtures: every test starts and ends with a known logging state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from logkit.state import restore, snapshot


@pytest.fixture(autouse=True)
def _restore_logging_state() -> Iterator[None]:
    """Save stdlib logging, structlog and loguru state before a test; restore it after."""
    state = snapshot()
    try:
        yield
    finally:
        restore(state)
