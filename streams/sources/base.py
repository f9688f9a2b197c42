"""What every source is: it frames records from somewhere and hands them to a publisher.

Sources never judge a record. Validation and dead-lettering happen once, in triage
(:func:`alerts.articles.parse_article`), so a source publishes everything it reads and
nothing is lost on the way in. (``POST /articles`` runs the same check before it answers,
because its caller can fix and resend; a file or a feed cannot be told.) Input that cannot
be read at all is reported with :meth:`Publisher.unreadable`, so the run's exit code says
input was lost. Nothing but the end of its input ends a source.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Protocol

from alerts.errors import FlashpointError


class SourceError(FlashpointError):
    """A source spec cannot be used: a missing path, an unknown file type or URL scheme."""


class Publisher(Protocol):
    """Sends raw records to the articles topic and accounts for every one of them."""

    async def publish(self, raw: bytes, *, source: str) -> asyncio.Future[None]:
        """Queue ``raw``; ``source`` is the configured source's name, a bounded label.

        Never raises for a record: the returned receipt resolves once the broker stored it,
        or fails with :class:`~alerts.errors.BrokerError` saying why it was not.
        """
        ...

    def unreadable(self, source: str, detail: str) -> None:
        """Count input that could not be read at all (an unreadable file, a failed read)."""

    async def flush(self) -> None:
        """Wait until everything published is stored; raise if any of it was not."""


class Source(Protocol):
    """Something that reads news and publishes each record it frames."""

    name: str
    """Bounded metric label: ``file``, ``stdin``, ``http`` or ``rss:<feed address>``."""
    finite: bool
    """True when :meth:`run` returns once everything has been published (files, stdin)."""

    async def run(self, publisher: Publisher) -> None:
        """Publish records: until done when finite, else until cancelled."""


def encode_record(record: Any) -> bytes:
    """Compact UTF-8 JSON, the form every re-serialised record is published in.

    A string holding a lone surrogate cannot be UTF-8; it is written as a ``\\udXXX``
    escape instead, so the record still reaches triage, which names the problem.
    """
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode()
    except UnicodeEncodeError:
        return json.dumps(record, separators=(",", ":")).encode()
