"""Append each alert as one JSON line: the audit trail, and what ``--alerts-out`` writes."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from pathlib import Path

from alerts.config.models import JsonlSinkConfig
from alerts.errors import SinkError
from alerts.metrics import Metrics
from alerts.sinks.types import Attempt, Post, Sent


class JsonlSink:
    """One ``os.write`` per line on an ``O_APPEND`` descriptor, so concurrent writers
    (tasks here, or other processes) never interleave inside a line."""

    pace = 0.0
    hold = 0.0
    combines = False

    def __init__(self, name: str, path: str | os.PathLike[str]) -> None:
        self.name = name
        self.path = Path(path)
        self.lane = f"file:{self.path}"
        self._fd: int | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_config(
        cls, name: str, config: JsonlSinkConfig, env: Mapping[str, str], metrics: Metrics
    ) -> JsonlSink:
        return cls(name, config.path)

    async def start(self) -> None:
        if self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise SinkError(f"cannot open {self.path}: {exc.strerror}", code="io_error") from None

    async def send(self, post: Post, attempt: Attempt) -> Sent:
        """Append each alert's ``to_dict()`` as one line; there are no threads in a file."""
        lines = [json.dumps(a.to_dict(), ensure_ascii=False) + "\n" for a in post.alerts]
        line = "".join(lines).encode("utf-8")
        await self.start()
        async with self._lock:
            assert self._fd is not None
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError as exc:
                reason = f"cannot write {self.path}: {exc.strerror}"
                raise SinkError(reason, code="io_error") from None
        return Sent()

    async def stop(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
