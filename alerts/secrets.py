"""Known secrets kept out of what Flashpoint writes: logs, dead letters, error strings.

Outside services echo what they are sent: a Slack-compatible server can put the bot token
in its ``error``, a webhook its ``Authorization`` header in its body, a feed server a URL's
password in its 404 page. Every such string passes :func:`scrub` before it is logged or
dead-lettered, and every log record passes :class:`ScrubbingFilter`. The secrets are the
values of environment variables that hold them (``SLACK_BOT_TOKEN``, ``*_TOKEN``,
``*_SECRET``, ``*_PASSWORD``, ``*_WEBHOOK_URL``, … and each variable a sink config names),
read once at start-up with :func:`remember_environment`, plus passwords in source URLs.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

REDACTED = "[redacted]"
MIN_SECRET_CHARS = 6
"""Shorter values would scrub ordinary words; no real token is this short."""

SECRET_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "FLASHPOINT_INGEST_TOKEN")
_SECRET_NAME = re.compile(
    r"(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE_KEY|CREDENTIALS?|WEBHOOK_URL)$", re.I
)
_SECRET_QUERY_KEY = re.compile(r"(token|key|secret|pass|auth|sig|session|credential)", re.I)


class Scrubber:
    """Replaces every known secret, and its URL- and JSON-escaped forms, with [redacted]."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[str]) -> None:
        """Remember ``values`` (and their escaped forms, and a URL's secret parts)."""
        before = len(self._secrets)
        for value in values:
            self._secrets.update(form for form in _forms(value) if len(form) >= MIN_SECRET_CHARS)
        if len(self._secrets) != before:
            ordered = sorted(self._secrets, key=len, reverse=True)  # longest first
            self._pattern = re.compile("|".join(map(re.escape, ordered)))

    def __call__(self, text: str) -> str:
        return self._pattern.sub(REDACTED, text) if self._pattern is not None else text


scrub = Scrubber()
"""The process's scrubber: ``scrub(text)`` is ``text`` without any known secret."""


def remember_environment(env: Mapping[str, str], names: Iterable[str] = ()) -> None:
    """Treat as secret the well-known and secret-looking variables of ``env``, and ``names``."""
    wanted = {*SECRET_VARIABLES, *names}
    scrub.add(
        value
        for name, value in env.items()
        if value and (name in wanted or _SECRET_NAME.search(name))
    )


def redact_url(url: str) -> str:
    """``url`` fit to show: no user or password, secret-looking query values replaced.

    The password and those values are remembered as secrets, so an echo of them is
    scrubbed too.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(malformed URL)"
    if parts.password:
        scrub.add([parts.password])
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    hidden = [value for key, value in pairs if _SECRET_QUERY_KEY.search(key)]
    scrub.add(hidden)
    query = urlencode(
        [(key, REDACTED if _SECRET_QUERY_KEY.search(key) else value) for key, value in pairs],
        safe="[]",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


class ScrubbingFilter(logging.Filter):
    """A handler filter: the formatted message, traceback included, without known secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def _forms(value: str) -> set[str]:
    value = value.strip()
    forms = {value, quote(value, safe=""), quote(value), json.dumps(value)[1:-1]}
    if "://" in value:  # a webhook URL: its path is the secret
        try:
            parts = urlsplit(value)
        except ValueError:
            return forms
        forms.add(parts.path)
        forms.update(segment for segment in parts.path.split("/") if len(segment) >= 16)
        if parts.password:
            forms.add(parts.password)
    return forms
