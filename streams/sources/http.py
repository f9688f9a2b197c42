"""``POST /articles``: push articles over HTTP (``flashpoint run --listen HOST:PORT``).

The body is one JSON object, a JSON array of objects, or JSON lines (``Content-Type:
application/x-ndjson``). Unlike files and feeds, a caller can be told what is wrong and
resend, so the endpoint fails closed and answers with what happened to *this* request:

- 202 ``{"accepted": n}`` only after the broker acknowledged every article of the request;
- 4xx when resending the same request can never succeed: 400 a body that is not JSON
  objects, 401 no or a wrong token, 403 a request from a web page (``Origin``) or, on
  loopback, for another host name (DNS rebinding), 408 a body too slow, 413 too large or
  too many articles, 415 not JSON, 422 an article that is invalid (nothing of the request
  is stored, every invalid element is named), 429 too many requests (``Retry-After``);
- 503 with ``Retry-After`` only when retrying can help: the broker did not store them
  (articles stored before are dropped as duplicates when resent), too many connections.

Headers must arrive within ``header_timeout`` (the keep-alive timer, which aiohttp also
runs before the first request) and a body within ``body_timeout``; connections past
``max_connections`` get a 503 and are closed at once, so idle sockets cannot use up the
process's file descriptors. ``GET /healthz`` is liveness (the process answers); ``GET
/readyz`` is readiness (the broker answers and the consumers have partitions).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from alerts.articles import parse_article
from alerts.errors import InvalidArticle
from alerts.metrics import Metrics
from streams.sources.base import Publisher, encode_record

log = logging.getLogger(__name__)

JSON_TYPE = "application/json"
JSON_LINES_TYPES = frozenset(
    ("application/x-ndjson", "application/jsonl", "application/x-jsonlines")
)
LOOPBACK_NAMES = frozenset(("localhost", "127.0.0.1", "::1", "[::1]"))
SHOWN_REJECTIONS = 20
PUBLISH_RETRY_AFTER = 5
_JSON_TYPE_NAMES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}

Readiness = Callable[[], Awaitable[dict[str, bool]]]


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """What one client, one request and the server as a whole may use."""

    max_body_bytes: int = 1_000_000
    max_articles: int = 1000
    rate: float = 20.0
    """Requests per second per client address, refilled continuously."""
    burst: int = 40
    max_connections: int = 128
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    ack_timeout: float = 15.0
    """How long a request waits for the broker to store its articles before a 503."""


class _Rejected(Exception):
    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.reason = reason
        self.message = message
        self.headers = headers
        self.extra = extra or {}
        super().__init__(message)


class RateLimiter:
    """A token bucket per client: ``rate`` requests a second, up to ``burst`` at once."""

    def __init__(self, rate: float, burst: int, *, max_clients: int = 10_000) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}

    def wait(self, client: str, now: float) -> float:
        """0 when ``client`` may go ahead now (a token is taken), else seconds to wait."""
        tokens, last = self._buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate
        if client not in self._buckets and len(self._buckets) >= self._max_clients:
            self._forget_full(now)
        self._buckets[client] = (tokens - 1.0, now)
        return 0.0

    def _forget_full(self, now: float) -> None:
        """Drop clients whose bucket has refilled: forgetting them changes nothing."""
        refill = self.burst / self.rate
        self._buckets = {c: b for c, b in self._buckets.items() if now - b[1] < refill}


class _Refused(asyncio.Protocol):
    """Answers a connection past the cap with a 503 and closes it."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._metrics.source_errors.labels(source="http", reason="too_many_connections").inc()
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(
            b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nContent-Length: 34\r\n\r\n"
            b'{"error": "too many connections"}\n'
        )
        transport.close()


class HttpIngest:
    """An aiohttp server taking articles on ``POST /articles``; probes on ``/healthz`` and
    ``/readyz``."""

    name = "http"

    def __init__(
        self,
        publisher: Publisher,
        metrics: Metrics,
        *,
        host: str = "127.0.0.1",
        port: int = 8765,
        token: str | None = None,
        limits: IngestLimits | None = None,
        readiness: Readiness | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self.port = port
        self.limits = limits or IngestLimits()
        self._publisher = publisher
        self._metrics = metrics
        self._token = token.encode() if token else None
        self._readiness = readiness
        self._clock = clock
        self._rate = RateLimiter(self.limits.rate, self.limits.burst)
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None

    @property
    def loopback(self) -> bool:
        """True when only this machine can reach the endpoint."""
        return is_loopback(self.host)

    async def start(self) -> None:
        """Listen on ``host:port``; with port 0, :attr:`port` becomes the port chosen."""
        if self._runner is not None:
            return
        # The size limit is enforced in _read_body, which answers with a JSON error.
        app = web.Application(client_max_size=self.limits.max_body_bytes + 1)
        app.router.add_post("/articles", self._post_articles)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            keepalive_timeout=self.limits.header_timeout,
        )
        await runner.setup()
        server = runner.server
        assert server is not None
        cap = self.limits.max_connections

        def connection() -> asyncio.BaseProtocol:
            if len(server.connections) >= cap:
                return _Refused(self._metrics)
            return server()

        try:
            self._listener = await asyncio.get_running_loop().create_server(
                connection, self.host, self.port, backlog=128
            )
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(self._listener.sockets[0].getsockname()[1])
        where = f"http://{self.host}:{self.port}/articles"
        warning = exposure_warning(self.host, token=self._token is not None)
        if warning:
            log.warning("accepting articles on %s %s", where, warning)
        else:
            log.info("accepting articles on %s", where)

    async def stop(self) -> None:
        """Stop listening and finish open requests; safe to call twice."""
        listener, self._listener = self._listener, None
        runner, self._runner = self._runner, None
        if listener is not None:
            listener.close()
        if runner is not None:
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, request: web.Request) -> web.Response:
        checks = await self._readiness() if self._readiness is not None else {}
        ready = all(checks.values())
        return web.json_response(
            {"status": "ready" if ready else "not ready", **checks}, status=200 if ready else 503
        )

    async def _post_articles(self, request: web.Request) -> web.Response:
        try:
            self._admit(request)
            self._authorise(request)
            json_lines = self._content_type(request)
            async with asyncio.timeout(self.limits.body_timeout):
                body = await self._read_body(request)
            records = _decode(body, json_lines)
            if not records:
                raise _Rejected(400, "invalid_body", "body holds no articles")
            if len(records) > self.limits.max_articles:
                raise _Rejected(
                    413,
                    "too_many_articles",
                    f"{len(records)} articles in one request; at most {self.limits.max_articles}",
                )
            raws = _validated(records)
            stored = await self._publish(raws)
        except _Rejected as rejected:
            return self._reject(rejected)
        except TimeoutError:
            return self._reject(
                _Rejected(408, "timeout", f"body not received in {self.limits.body_timeout:g}s")
            )
        return web.json_response({"accepted": stored}, status=202)

    def _reject(self, rejected: _Rejected) -> web.Response:
        self._metrics.source_errors.labels(source=self.name, reason=rejected.reason).inc()
        return web.json_response(
            {"error": rejected.message, **rejected.extra},
            status=rejected.status,
            headers=rejected.headers,
        )

    def _admit(self, request: web.Request) -> None:
        """Rate limit per client, then refuse what a browser sends on a web page's behalf."""
        wait = self._rate.wait(request.remote or "?", self._clock())
        if wait > 0:
            raise _Rejected(
                429,
                "rate_limited",
                f"more than {self.limits.rate:g} requests a second from this address",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        if "Origin" in request.headers:
            raise _Rejected(403, "forbidden", "requests from web pages are not accepted")
        if self.loopback and _host_name(request.host) not in LOOPBACK_NAMES:
            raise _Rejected(403, "forbidden", "this endpoint serves only localhost")

    def _authorise(self, request: web.Request) -> None:
        if self._token is None:
            return
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), self._token
        ):
            raise _Rejected(
                401,
                "unauthorized",
                "missing or wrong bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )

    def _content_type(self, request: web.Request) -> bool:
        """True for JSON lines; 415 for anything not JSON (a form post from a web page)."""
        kind = request.content_type
        if kind in JSON_LINES_TYPES:
            return True
        if kind != JSON_TYPE:
            raise _Rejected(
                415,
                "unsupported_type",
                f"Content-Type must be {JSON_TYPE} or application/x-ndjson, not {kind!r}",
            )
        return False

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self.limits.max_body_bytes
        too_large = _Rejected(413, "too_large", f"body is over {limit} bytes")
        if (request.content_length or 0) > limit:
            raise too_large
        body = bytearray()
        while chunk := await request.content.read(64 * 1024):
            body += chunk
            if len(body) > limit:
                raise too_large
        return bytes(body)

    async def _publish(self, raws: list[bytes]) -> int:
        """Publish ``raws`` and wait for the broker; the count stored, or a 503."""
        receipts: list[asyncio.Future[None]] = []
        try:
            async with asyncio.timeout(self.limits.ack_timeout):
                for raw in raws:
                    receipts.append(await self._publisher.publish(raw, source=self.name))
                await asyncio.wait(receipts)
        except TimeoutError:
            pass
        stored = sum(1 for r in receipts if r.done() and not r.cancelled() and not r.exception())
        if stored:
            self._metrics.articles.labels(source=self.name).inc(stored)
        if stored < len(raws):
            raise _Rejected(
                503,
                "publish_failed",
                "the broker did not store every article; retry later (articles already "
                "stored are dropped as duplicates)",
                headers={"Retry-After": str(PUBLISH_RETRY_AFTER)},
                extra={"stored": stored, "not_stored": len(raws) - stored},
            )
        return stored


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, *, token: bool) -> str | None:
    """What to warn about when listening on ``host``: no token beyond loopback."""
    if token or is_loopback(host):
        return None
    return (
        "WITHOUT A TOKEN: anyone who can reach this address can post alerts into Slack; "
        "set FLASHPOINT_INGEST_TOKEN"
    )


def _validated(records: list[dict[str, Any]]) -> list[bytes]:
    """Every record as published, or a 422 naming each invalid one (nothing is stored)."""
    raws: list[bytes] = []
    rejected: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        raw = encode_record(record)
        try:
            parse_article(raw)
        except InvalidArticle as exc:
            rejected.append({"index": index, "reason": exc.reason, "detail": exc.detail})
        raws.append(raw)
    if rejected:
        raise _Rejected(
            422,
            "invalid_article",
            f"{len(rejected)} of {len(records)} articles are invalid; nothing was stored",
            extra={"rejected": rejected[:SHOWN_REJECTIONS]},
        )
    return raws


def _host_name(host: str) -> str:
    """The name part of a Host header: ``[::1]:8765`` → ``[::1]``, ``a:1`` → ``a``."""
    if host.startswith("["):
        return host[: host.find("]") + 1].lower()
    return host.rpartition(":")[0].lower() if ":" in host else host.lower()


def _decode(body: bytes, json_lines: bool) -> list[dict[str, Any]]:
    """The objects in a body, or :class:`_Rejected` saying what is wrong with its shape."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Rejected(400, "invalid_body", f"body is not UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise _Rejected(400, "invalid_body", "body is empty")
    if json_lines:
        records = []
        # Split on "\n" only: JSON strings may hold U+2028, which str.splitlines would split.
        for number, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                records.append(_object(_loads(line, f"line {number}"), f"line {number}"))
        return records
    document = _loads(text, "body")
    if isinstance(document, list):
        return [_object(item, f"element {i}") for i, item in enumerate(document)]
    return [_object(document, "body")]


def _loads(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        hint = ""
        if exc.msg == "Extra data":
            hint = "; for JSON lines send Content-Type: application/x-ndjson"
        raise _Rejected(
            400,
            "invalid_body",
            f"{where} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}{hint}",
        ) from None
    except RecursionError:
        raise _Rejected(400, "invalid_body", f"{where} is nested too deeply") from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise _Rejected(400, "invalid_body", f"{where}: {str(exc).split(';')[0]}") from None


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        kind = _JSON_TYPE_NAMES.get(type(value), "null")
        raise _Rejected(400, "invalid_body", f"{where} is a JSON {kind}, expected an object")
    return value
