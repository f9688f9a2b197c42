"""Shared fixtures: the embedded broker for integration tests, sample articles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from streams.broker import EmbeddedBroker
from streams.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_FEED = ROOT / "streams" / "samples" / "wire.jsonl"


@pytest.fixture
async def broker() -> AsyncIterator[EmbeddedBroker]:
    """A fresh tansu broker per test: topics and groups never leak between tests."""
    async with EmbeddedBroker() as running:
        yield running


def tansu_settings(**overrides: Any) -> Settings:
    """Settings for a test's own tansu broker: what the embedded mode sets by itself."""
    return Settings(fetch_max_wait_ms=10, fast_rebalance=True, **overrides)
