"""Shared fixtures: the embedded broker for integration tests, sample articles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from streams.broker import EmbeddedBroker

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_FEED = ROOT / "streams" / "samples" / "wire.jsonl"


@pytest.fixture
async def broker() -> AsyncIterator[EmbeddedBroker]:
    """A fresh tansu broker per test: topics and groups never leak between tests."""
    async with EmbeddedBroker() as running:
        yield running
