"""``POST /articles``: push articles over HTTP (``flashpoint run --listen HOST:PORT``).

The body is one JSON object, a JSON array of objects, or JSON lines (``Content-Type:
application/x-ndjson``). Each object is re-serialised and published; whether it is a valid
article is decided later, in triage. A body that is not that shape at all gets a 400 with a
JSON ``{"error": ...}`` and nothing from it is published, so the caller can fix and resend.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from aiohttp import web

from alerts.metrics import Metrics
from streams.sources.base import Publisher, encode_record

log = logging.getLogger(__name__)

JSON_LINES_TYPES = frozenset(
    ("application/x-ndjson", "application/jsonl", "application/x-jsonlines")
)
_JSON_TYPE_NAMES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


class _Rejected(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        self.status = status
        self.reason = reason
        self.message = message
        super().__init__(message)


class HttpIngest:
    """An aiohttp server taking articles on ``POST /articles``; ``GET /healthz`` for probes."""

    name = "http"

    def __init__(
        self,
        publisher: Publisher,
        metrics: Metrics,
        *,
        host: str = "127.0.0.1",
        port: int = 8765,
        token: str | None = None,
        max_body_bytes: int = 1_000_000,
    ) -> None:
        self.host = host
        self.port = port
        self._publisher = publisher
        self._metrics = metrics
        self._token = token.encode() if token else None
        self._max_body = max_body_bytes
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on ``host:port``; with port 0, :attr:`port` becomes the port chosen."""
        if self._runner is not None:
            return
        # The size limit is enforced in _read_body, which answers with a JSON error.
        app = web.Application(client_max_size=self._max_body + 1)
        app.router.add_post("/articles", self._post_articles)
        app.router.add_get("/healthz", self._healthz)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        for address in runner.addresses:
            self.port = int(address[1])
            break
        log.info("listening for articles on http://%s:%d/articles", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening and finish open requests; safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _post_articles(self, request: web.Request) -> web.Response:
        try:
            self._authorise(request)
            body = await self._read_body(request)
            records = _decode(body, request.content_type in JSON_LINES_TYPES)
        except _Rejected as rejected:
            self._metrics.source_errors.labels(source=self.name, reason=rejected.reason).inc()
            headers = {"WWW-Authenticate": "Bearer"} if rejected.status == 401 else None
            return web.json_response(
                {"error": rejected.message}, status=rejected.status, headers=headers
            )
        accepted = 0
        try:
            for record in records:
                await self._publisher.publish(encode_record(record), source=self.name)
                self._metrics.articles.labels(source=self.name).inc()
                accepted += 1
            await self._publisher.flush()  # 202 means stored, not merely queued
        except Exception:
            log.exception("source http: publishing failed after %d records", accepted)
            self._metrics.source_errors.labels(source=self.name, reason="publish_error").inc()
            return web.json_response(
                {"error": "could not store the articles; retry later", "accepted": accepted},
                status=503,
            )
        return web.json_response({"accepted": accepted}, status=202)

    def _authorise(self, request: web.Request) -> None:
        if self._token is None:
            return
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), self._token
        ):
            raise _Rejected(401, "unauthorized", "missing or wrong bearer token")

    async def _read_body(self, request: web.Request) -> bytes:
        too_large = _Rejected(413, "too_large", f"body is over {self._max_body} bytes")
        if (request.content_length or 0) > self._max_body:
            raise too_large
        body = bytearray()
        while chunk := await request.content.read(64 * 1024):
            body += chunk
            if len(body) > self._max_body:
                raise too_large
        return bytes(body)


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


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        kind = _JSON_TYPE_NAMES.get(type(value), "null")
        raise _Rejected(400, "invalid_body", f"{where} is a JSON {kind}, expected an object")
    return value
