"""Test doubles for the source tests: a publisher that records what it is given."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from alerts.errors import BrokerError


class RecordingPublisher:
    """Keeps every stored record in order, as the articles topic would receive it.

    ``fail_after``: records after that many are refused, as a broker that went away.
    """

    def __init__(self, fail_after: int | None = None) -> None:
        self.records: list[tuple[str, bytes]] = []
        self.refused: list[bytes] = []
        self.unreadable_input: list[tuple[str, str]] = []
        self._fail_after = fail_after

    async def publish(self, raw: bytes, *, source: str) -> asyncio.Future[None]:
        receipt: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._fail_after is not None and len(self.records) >= self._fail_after:
            self.refused.append(raw)
            receipt.set_exception(BrokerError("broker unavailable"))
            receipt.exception()  # counted here; a caller that ignores it is not an error
        else:
            self.records.append((source, raw))
            receipt.set_result(None)
        return receipt

    def unreadable(self, source: str, detail: str) -> None:
        self.unreadable_input.append((source, detail))

    async def flush(self) -> None:
        if self.refused:
            raise BrokerError(f"{len(self.refused)} records could not be published")

    @property
    def raw(self) -> list[bytes]:
        return [raw for _, raw in self.records]

    def objects(self) -> list[Any]:
        return [json.loads(raw) for _, raw in self.records]
