"""What the HTTP sinks (Slack, webhooks) share: reading ``Retry-After`` and deciding which
failures are worth another try.

slack-sdk's own rate-limit handler does ``int(Retry-After)`` and raises on ``1.5`` or an
HTTP date, so Flashpoint reads the header itself and waits exactly as long as asked.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping
from datetime import UTC

import aiohttp

from alerts.errors import RetriableSinkError, SinkError

RETRIABLE_STATUS = frozenset({408, 425, 429})
"""4xx answers that mean "not now" rather than "never"; every 5xx is retriable too."""


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds (fractions accepted) or an
    HTTP date; None when absent or unreadable. Never negative."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def header(headers: Mapping[str, object] | None, name: str) -> str | None:
    """A header's value, whatever the case of its name and however the client stored it."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            if isinstance(value, list | tuple):
                return str(value[0]) if value else None
            return str(value)
    return None


def status_error(what: str, status: int, headers: Mapping[str, object] | None) -> SinkError:
    """The error for a non-2xx answer: 408/425/429/5xx retriable, any other status final."""
    code = f"http_{status}"
    if status in RETRIABLE_STATUS or status >= 500:
        return RetriableSinkError(
            f"{what} answered HTTP {status}",
            code="ratelimited" if status == 429 else code,
            retry_after=retry_after_seconds(header(headers, "Retry-After")),
            uncertain=status >= 500 or status == 408,
        )
    return SinkError(f"{what} rejected the message: HTTP {status}", code=code)


def transport_error(what: str, exc: BaseException) -> RetriableSinkError:
    """A timeout or connection failure. Only a refused connection surely sent nothing."""
    if isinstance(exc, TimeoutError):
        return RetriableSinkError(f"{what} timed out", code="timeout", uncertain=True)
    refused = isinstance(exc, aiohttp.ClientConnectorError)
    return RetriableSinkError(
        f"{what} connection failed ({type(exc).__name__})",
        code="connection_error",
        uncertain=not refused,
    )
