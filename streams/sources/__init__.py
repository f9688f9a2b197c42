"""Where articles come from: files, stdin, RSS/Atom feeds and an HTTP endpoint.

Every source frames records and hands them to a :class:`Publisher`; validation happens
once, later, in triage. :func:`build_sources` turns ``--source`` specs into sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from alerts.metrics import Metrics
from streams.sources.base import Publisher, Source, SourceError
from streams.sources.feeds import FeedLimits, FeedSource
from streams.sources.files import FileSource
from streams.sources.http import HttpIngest, IngestLimits
from streams.sources.stdin import StdinSource

__all__ = [
    "FeedLimits",
    "FeedSource",
    "FileSource",
    "HttpIngest",
    "IngestLimits",
    "Publisher",
    "Source",
    "SourceError",
    "StdinSource",
    "build_sources",
]


def build_sources(
    specs: Sequence[str],
    *,
    metrics: Metrics,
    poll_interval: float = 300.0,
    user_agent: str = "flashpoint/0.1",
    feed_limits: FeedLimits | None = None,
) -> list[Source]:
    """One source per spec: a .jsonl/.json/.txt file, a folder of them, ``-``, or a feed URL.

    Raises :class:`SourceError` naming the spec when it cannot be used.
    """
    sources: list[Source] = []
    stdin_seen = False
    for spec in specs:
        if spec == "-":
            if stdin_seen:
                raise SourceError("source '-': standard input can be read only once")
            stdin_seen = True
            sources.append(StdinSource(metrics))
        elif "://" in spec:
            sources.append(
                FeedSource(
                    spec,
                    metrics,
                    poll_interval=poll_interval,
                    user_agent=user_agent,
                    limits=feed_limits,
                )
            )
        else:
            sources.append(FileSource(Path(spec), metrics))
    return sources
