"""Test doubles for the source tests: a publisher that records what it is given."""

from __future__ import annotations

import json
from typing import Any


class RecordingPublisher:
    """Keeps every published record in order, as the articles topic would receive it."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.records: list[tuple[str, bytes]] = []
        self._fail_after = fail_after

    async def publish(self, raw: bytes, *, source: str) -> None:
        if self._fail_after is not None and len(self.records) >= self._fail_after:
            raise ConnectionError("broker unavailable")
        self.records.append((source, raw))

    async def flush(self) -> None:
        """Records are stored as soon as they are published here."""

    @property
    def raw(self) -> list[bytes]:
        return [raw for _, raw in self.records]

    def objects(self) -> list[Any]:
        return [json.loads(raw) for _, raw in self.records]
