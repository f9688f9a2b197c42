"""Flashpoint's exception tree, written down once.

FlashpointError
├── ConfigError           a rules/config file is invalid; carries every problem found
├── InvalidArticle        an incoming record cannot become an Article; carries a bounded reason
├── SinkError             a sink failed to deliver an alert; ``code`` names why (a metric label)
│   └── RetriableSinkError    ...but trying again later may succeed (timeouts, 429, 5xx);
│                             carries the destination's ``Retry-After`` and whether the failed
│                             attempt may still have arrived (``uncertain``)
└── BrokerError           the Kafka-protocol broker cannot be started or reached
"""

from __future__ import annotations


class FlashpointError(Exception):
    """Root of every error Flashpoint raises on purpose."""


class ConfigError(FlashpointError):
    """A configuration file is invalid. ``problems`` holds one line per mistake."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class InvalidArticle(FlashpointError):
    """A record cannot become an Article.

    ``reason`` is one of a small fixed set (used as a metric label); ``detail`` says what
    exactly was wrong, for the dead-letter record and logs.
    """

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        self.record_id: str | None = None
        """The record's own id or url when it had one, to name it in logs."""
        super().__init__(f"{reason}: {detail}")


class SinkError(FlashpointError):
    """A sink could not deliver an alert and retrying will not help.

    ``code`` is a short, bounded name for the cause (``invalid_auth``, ``http_404``), used
    as a metric label; the message says the rest.
    """

    retriable = False

    def __init__(self, message: str, *, code: str = "error") -> None:
        super().__init__(message)
        self.code = code


class RetriableSinkError(SinkError):
    """A sink could not deliver an alert now; retrying later may succeed.

    ``retry_after``: seconds the destination asked us to wait (``Retry-After``), if it did.
    ``uncertain``: the attempt may have reached the destination all the same (a timeout, a
    dropped connection, a 5xx), so a sink that can should look before sending again.
    """

    retriable = True

    def __init__(
        self,
        message: str,
        *,
        code: str = "error",
        retry_after: float | None = None,
        uncertain: bool = False,
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
        self.uncertain = uncertain


class BrokerError(FlashpointError):
    """The Kafka-protocol broker cannot be started or reached."""
