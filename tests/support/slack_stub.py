"""A Slack-compatible HTTP stub on loopback, for tests that use the real slack-sdk client.

In a test::

    async with SlackStub(token="xoxb-test") as stub:
        env = {"SLACK_API_URL": stub.url, "SLACK_BOT_TOKEN": "xoxb-test"}  # url ends "/api/"
        ...
        stub.messages          # parsed payloads of the messages it accepted
        stub.fail_next(2, status=500)

As a process (for end-to-end tests that run ``flashpoint run``)::

    python -m tests.support.slack_stub --port 0 --record calls.jsonl [--token xoxb-test]

prints ``api <url>`` and ``webhook <url>`` lines once listening, writes each call it
receives as one JSON line to the record file, and stops on SIGTERM/SIGINT.

Endpoints: ``POST /api/chat.postMessage`` (JSON or form body, bearer token checked),
``POST /api/auth.test``, and an incoming webhook at ``POST /services/T0STUB/B0STUB/stub``.
Channel names such as ``#geo-alerts`` are answered with a stable fake id (``C…``), as Slack
answers with ids.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from aiohttp import web

WEBHOOK_PATH = "/services/T0STUB/B0STUB/stub"
_JSON_FIELDS = ("blocks", "attachments", "metadata")


@dataclass
class Call:
    """One request the stub received, with its parsed body and the status it answered."""

    method: str
    payload: dict[str, Any]
    status: int
    authorized: bool
    response: dict[str, Any] | str = field(default_factory=dict)
    at: float = field(default_factory=time.time)
    """When the stub received it (Unix time)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "payload": self.payload,
            "status": self.status,
            "authorized": self.authorized,
            "response": self.response,
            "at": self.at,
        }


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: int


class SlackStub:
    """A loopback Slack Web API + incoming webhook that records every call."""

    def __init__(
        self,
        *,
        token: str | None = "xoxb-stub-token",
        host: str = "127.0.0.1",
        port: int = 0,
        record: Path | None = None,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.calls: list[Call] = []
        self._failures: list[_Failure] = []
        self._record_path = record
        self._record: IO[str] | None = None
        self._runner: web.AppRunner | None = None
        self._seq = 0
        self._epoch = int(time.time())

    @property
    def url(self) -> str:
        """Base URL of the Web API (ends with ``/api/``, as ``SLACK_API_URL`` expects)."""
        return f"http://{self.host}:{self.port}/api/"

    @property
    def webhook_url(self) -> str:
        """An incoming-webhook URL served by this stub."""
        return f"http://{self.host}:{self.port}{WEBHOOK_PATH}"

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Payloads of messages accepted (chat.postMessage and webhook), in order."""
        return [
            c.payload
            for c in self.calls
            if c.method in ("chat.postMessage", "webhook") and c.status == 200 and _accepted(c)
        ]

    def fail_next(self, count: int, *, status: int = 429, retry_after: int = 1) -> None:
        """Answer the next ``count`` calls with HTTP ``status`` (429 carries Retry-After)."""
        self._failures += [_Failure(status, None, retry_after) for _ in range(count)]

    def error_next(self, count: int = 1, *, error: str = "channel_not_found") -> None:
        """Answer the next ``count`` calls with ``{"ok": false, "error": error}``."""
        self._failures += [_Failure(200, error, 0) for _ in range(count)]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post(WEBHOOK_PATH, self._webhook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        if self._record_path is not None:
            self._record = self._record_path.open("a", encoding="utf-8")

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        record, self._record = self._record, None
        if record is not None:
            record.close()

    async def __aenter__(self) -> SlackStub:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _remember(self, call: Call) -> None:
        self.calls.append(call)
        if self._record is not None:
            self._record.write(json.dumps(call.to_dict()) + "\n")
            self._record.flush()

    def _next_ts(self) -> str:
        self._seq += 1
        return f"{self._epoch}.{self._seq:06d}"

    def _failure(self) -> _Failure | None:
        return self._failures.pop(0) if self._failures else None

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        payload = await _parse_body(request)
        bearer = request.headers.get("Authorization", "")
        given = bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else None
        given = given or payload.pop("token", None)
        payload.pop("token", None)
        authorized = self.token is None or given == self.token
        failure = self._failure()
        if failure is not None and failure.error is None:
            return self._fail(method, payload, authorized, failure)
        body: dict[str, Any]
        if failure is not None:
            body = {"ok": False, "error": failure.error}
        elif not authorized:
            body = {"ok": False, "error": "invalid_auth" if given else "not_authed"}
        elif method == "auth.test":
            body = {
                "ok": True,
                "url": "https://stub.slack.test/",
                "team": "Stub",
                "user": "flashpoint",
                "team_id": "T0STUB",
                "user_id": "U0STUB",
                "bot_id": "B0STUB",
            }
        elif method == "chat.postMessage":
            channel = payload.get("channel")
            if not channel:
                body = {"ok": False, "error": "channel_not_found"}
            else:
                ts = self._next_ts()
                body = {
                    "ok": True,
                    "channel": _channel_id(str(channel)),
                    "ts": ts,
                    "message": {"text": payload.get("text", ""), "ts": ts},
                }
        else:
            body = {"ok": False, "error": "unknown_method"}
        self._remember(Call(method, payload, 200, authorized, body))
        return web.json_response(body)

    async def _webhook(self, request: web.Request) -> web.StreamResponse:
        payload = await _parse_body(request)
        failure = self._failure()
        if failure is not None and failure.error is None:
            return self._fail("webhook", payload, True, failure)
        if failure is not None:
            self._remember(Call("webhook", payload, 404, True, failure.error or ""))
            return web.Response(status=404, text=failure.error, content_type="text/plain")
        if not payload.get("text") and not payload.get("blocks"):
            self._remember(Call("webhook", payload, 400, True, "no_text"))
            return web.Response(status=400, text="no_text", content_type="text/plain")
        self._remember(Call("webhook", payload, 200, True, "ok"))
        return web.Response(text="ok", content_type="text/plain")

    def _fail(
        self, method: str, payload: dict[str, Any], authorized: bool, failure: _Failure
    ) -> web.StreamResponse:
        headers = {"Retry-After": str(failure.retry_after)} if failure.status == 429 else {}
        error = "ratelimited" if failure.status == 429 else "internal_error"
        self._remember(Call(method, payload, failure.status, authorized, error))
        if method == "webhook":
            return web.Response(
                status=failure.status, text=error, headers=headers, content_type="text/plain"
            )
        return web.json_response(
            {"ok": False, "error": error}, status=failure.status, headers=headers
        )


def _accepted(call: Call) -> bool:
    if isinstance(call.response, dict):
        return call.response.get("ok") is True
    return call.response == "ok"


def _channel_id(channel: str) -> str:
    """Slack answers with channel ids; a name maps to a stable fake one."""
    if channel[:1] in ("C", "G", "D") and channel[1:].isalnum() and channel.isupper():
        return channel
    return "C" + hashlib.sha1(channel.lstrip("#").encode()).hexdigest()[:10].upper()


async def _parse_body(request: web.Request) -> dict[str, Any]:
    """JSON or form bodies, as slack-sdk sends them; JSON-valued form fields are decoded."""
    if request.content_type == "application/json":
        data = await request.json()
        return dict(data) if isinstance(data, dict) else {"_body": data}
    form = await request.post()
    payload: dict[str, Any] = {key: str(value) for key, value in form.items()}
    for key in _JSON_FIELDS:
        if isinstance(payload.get(key), str):
            with contextlib.suppress(ValueError):
                payload[key] = json.loads(payload[key])
    return payload


async def _serve(args: argparse.Namespace) -> None:
    stub = SlackStub(token=args.token or None, port=args.port, record=args.record)
    await stub.start()
    print(f"api {stub.url}", flush=True)
    print(f"webhook {stub.webhook_url}", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    try:
        await stopped.wait()
    finally:
        await stub.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Slack-compatible HTTP stub on loopback.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--record", type=Path, help="append each received call as JSON here")
    parser.add_argument("--token", default="xoxb-stub-token", help="bearer token to accept")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
