"""What every source is: it frames records from somewhere and hands them to a publisher.

Sources never judge a record. Validation and dead-lettering happen once, in triage
(:func:`alerts.articles.parse_article`), so a source publishes everything it reads and
nothing is lost on the way in.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from alerts.errors import FlashpointError


class SourceError(FlashpointError):
    """A source spec cannot be used: a missing path, an unknown file type or URL scheme."""


class Publisher(Protocol):
    """Sends one raw record to the articles topic (the lead's aiokafka publisher)."""

    async def publish(self, raw: bytes, *, source: str) -> None:
        """Publish ``raw``; ``source`` is the configured source's name, a bounded label."""

    async def flush(self) -> None:
        """Wait until everything published is stored; raise if any of it was not."""


class Source(Protocol):
    """Something that reads news and publishes each record it frames."""

    name: str
    """Bounded metric label: ``file``, ``stdin``, ``http`` or ``rss:<host>``."""
    finite: bool
    """True when :meth:`run` returns once everything has been published (files, stdin)."""

    async def run(self, publisher: Publisher) -> None:
        """Publish records: until done when finite, else until cancelled."""


def encode_record(record: Any) -> bytes:
    """Compact UTF-8 JSON, the form every re-serialised record is published in."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
