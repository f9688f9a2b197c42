"""Print one readable line per alert, for people running ``flashpoint run`` in a terminal."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from typing import TextIO

from alerts.config.models import ConsoleSinkConfig
from alerts.metrics import Metrics
from alerts.model import Alert
from alerts.sinks.types import Attempt, Post, Sent

_COLOURS = {"critical": "\x1b[1;31m", "warning": "\x1b[33m", "info": "\x1b[36m"}
_RESET = "\x1b[0m"
# Article text could carry terminal escape sequences; no control character reaches the tty.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+")


def _clean(text: object) -> str:
    return " ".join(_CONTROL.sub(" ", str(text)).split())


def format_line(alert: Alert, *, color: bool = False) -> str:
    """``[CRITICAL] taiwan-strait escalation: <title> — <first evidence phrase> (<url>)``."""
    severity = f"[{alert.severity.upper()}]"
    if color:
        severity = f"{_COLOURS.get(alert.severity, '')}{severity}{_RESET}"
    line = f"{severity} {_clean(alert.topic)} {_clean(alert.rule)}: {_clean(alert.title)}"
    if alert.evidence:
        line += f" — {_clean(alert.evidence[0].phrase)}"
    url = alert.article.get("url")
    if url:
        line += f" ({_clean(url)})"
    return line


class ConsoleSink:
    """Writes to stdout (looked up at send time, so redirection and capture work).

    ``color``: None colours only on a TTY (and not when ``NO_COLOR`` is set), True always,
    False never.
    """

    pace = 0.0
    hold = 0.0
    combines = False

    def __init__(self, name: str, *, color: bool | None = None, stream: TextIO | None = None):
        self.name = name
        self.lane = f"console:{name}"
        self.color = color
        self._stream = stream

    @classmethod
    def from_config(
        cls, name: str, config: ConsoleSinkConfig, env: Mapping[str, str], metrics: Metrics
    ) -> ConsoleSink:
        return cls(name, color=config.color)

    def _use_color(self, stream: TextIO) -> bool:
        if self.color is not None:
            return self.color
        if os.environ.get("NO_COLOR"):
            return False
        isatty = getattr(stream, "isatty", None)
        return bool(isatty and isatty())

    async def start(self) -> None:
        return None

    async def send(self, post: Post, attempt: Attempt) -> Sent:
        stream = self._stream if self._stream is not None else sys.stdout
        color = self._use_color(stream)
        stream.write("".join(format_line(a, color=color) + "\n" for a in post.alerts))
        stream.flush()
        return Sent()

    async def stop(self) -> None:
        return None
