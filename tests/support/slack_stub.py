"""A Slack-compatible HTTP stub on loopback, for tests that use the real slack-sdk client.

In a test::

    async with SlackStub(token="xoxb-test") as stub:
        env = {"SLACK_API_URL": stub.url, "SLACK_BOT_TOKEN": "xoxb-test"}  # url ends "/api/"
        ...
        stub.messages              # payloads of the messages it accepted, in order
        stub.channel("C0GEO")      # what a person sees in the channel (updates applied)
        stub.replies("C0GEO", ts)  # a thread's replies

Trouble is scripted in phases, taken in order; each applies to the methods named (by
default every method but ``auth.test``):

    stub.fail_next(1, status=429, retry_after="1.5")   # also an HTTP date
    stub.unavailable_for(3.0)                          # HTTP 503 for 3 s from its first call
    stub.hang_for(2.0)                                 # calls are carried out at once, but
                                                       # answered only when the phase ends
    stub.error_next(1, error="channel_not_found")      # HTTP 200, ok=false

As a process (for end-to-end tests that run ``flashpoint run``)::

    python -m tests.support.slack_stub --port 0 --record calls.jsonl [--token xoxb-test]

prints ``api <url>`` and ``webhook <url>`` lines once listening, writes each call it
receives as one JSON line to the record file, and stops on SIGTERM/SIGINT.

Endpoints, as Slack answers them: ``auth.test``; ``chat.postMessage`` (a channel name is
answered with a stable id, ``thread_ts`` must name a message in the channel,
``reply_broadcast`` shows a reply in the channel too); ``chat.update``;
``conversations.history`` and ``conversations.replies`` (channel ids only, ``oldest``,
``limit``, ``cursor``, metadata only with ``include_all_metadata``); and an incoming webhook
at ``POST /services/T0STUB/B0STUB/stub``. A wrong token gets ``invalid_auth``.
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
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from aiohttp import web

WEBHOOK_PATH = "/services/T0STUB/B0STUB/stub"
_JSON_FIELDS = ("blocks", "attachments", "metadata")
DEFAULT_METHODS = frozenset(
    {
        "chat.postMessage",
        "chat.update",
        "conversations.history",
        "conversations.replies",
        "webhook",
    }
)


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
    headers: dict[str, str] = field(default_factory=dict)
    """Headers of the answer (``Retry-After``)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "payload": self.payload,
            "status": self.status,
            "authorized": self.authorized,
            "response": self.response,
            "at": self.at,
            "headers": self.headers,
        }


@dataclass
class StoredMessage:
    """A message as Slack keeps it: current text and blocks, metadata, its thread."""

    channel: str
    ts: str
    text: str
    blocks: list[Any]
    metadata: dict[str, Any] | None
    thread_ts: str | None = None
    broadcast: bool = False
    edits: int = 0

    @property
    def alert_id(self) -> str | None:
        payload = (self.metadata or {}).get("event_payload") or {}
        return payload.get("alert_id")

    def view(self, with_metadata: bool) -> dict[str, Any]:
        shown: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text}
        shown["blocks"] = self.blocks
        if self.thread_ts:
            shown["thread_ts"] = self.thread_ts
        if self.broadcast:
            shown["subtype"] = "thread_broadcast"
        if with_metadata and self.metadata:
            shown["metadata"] = self.metadata
        return shown


@dataclass
class _Phase:
    status: int = 200
    error: str | None = None
    retry_after: str | None = None
    count: int | None = None
    seconds: float | None = None
    hang: bool = False
    methods: frozenset[str] = DEFAULT_METHODS
    ends: float | None = None

    def expired(self, now: float) -> bool:
        if self.count is not None:
            return self.count <= 0
        return self.ends is not None and now >= self.ends


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
        self.stored: list[StoredMessage] = []
        self._phases: list[_Phase] = []
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

    def channel(self, channel: str) -> list[StoredMessage]:
        """What a person sees in the channel, oldest first: messages and broadcast replies."""
        return [
            m
            for m in self.stored
            if m.channel == _channel_id(channel) and (m.thread_ts is None or m.broadcast)
        ]

    def replies(self, channel: str, ts: str) -> list[StoredMessage]:
        """A thread's replies, oldest first."""
        return [m for m in self.stored if m.channel == _channel_id(channel) and m.thread_ts == ts]

    # ---------------------------------------------------------------- scripted trouble

    def fail_next(
        self,
        count: int,
        *,
        status: int = 429,
        retry_after: str | float | None = 1,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Answer the next ``count`` calls with HTTP ``status`` (429 carries Retry-After)."""
        after = None if retry_after is None else str(retry_after)
        self._phases.append(_Phase(status, None, after, count=count, methods=_methods(methods)))

    def error_next(
        self,
        count: int = 1,
        *,
        error: str = "channel_not_found",
        methods: Iterable[str] | None = None,
    ) -> None:
        """Answer the next ``count`` calls with ``{"ok": false, "error": error}``."""
        self._phases.append(_Phase(200, error, count=count, methods=_methods(methods)))

    def unavailable_for(
        self,
        seconds: float,
        *,
        status: int = 503,
        retry_after: str | None = None,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Answer HTTP ``status`` for ``seconds``, counted from the first call it answers."""
        self._phases.append(
            _Phase(status, None, retry_after, seconds=seconds, methods=_methods(methods))
        )

    def hang_for(self, seconds: float, *, methods: Iterable[str] | None = None) -> None:
        """For ``seconds`` from its first call, carry calls out but hold every answer until
        the phase ends: as when Slack is slow and the client gives up waiting."""
        self._phases.append(_Phase(seconds=seconds, hang=True, methods=_methods(methods)))

    def _phase(self, method: str) -> _Phase | None:
        now = time.time()
        while self._phases and self._phases[0].expired(now):
            self._phases.pop(0)
        if not self._phases:
            return None
        phase = self._phases[0]
        if method not in phase.methods:
            return None
        if phase.count is not None:
            phase.count -= 1
        elif phase.ends is None:
            phase.ends = now + (phase.seconds or 0.0)
        return phase

    # ---------------------------------------------------------------- server

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
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

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        received = time.time()
        payload = await _parse_body(request)
        bearer = request.headers.get("Authorization", "")
        given = bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else None
        given = given or payload.pop("token", None)
        payload.pop("token", None)
        authorized = self.token is None or given == self.token
        phase = self._phase(method)
        if phase is not None and not phase.hang and phase.error is None:
            return self._fail(method, payload, authorized, phase, received)
        body: dict[str, Any]
        if phase is not None and phase.error is not None:
            body = {"ok": False, "error": phase.error}
        elif not authorized:
            body = {"ok": False, "error": "invalid_auth" if given else "not_authed"}
        else:
            body = self._answer(method, payload)
        self._remember(Call(method, payload, 200, authorized, body, received))
        if phase is not None and phase.hang and phase.ends is not None:
            await asyncio.sleep(max(0.0, phase.ends - time.time()))
        return web.json_response(body)

    def _answer(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://stub.slack.test/",
                "team": "Stub",
                "user": "flashpoint",
                "team_id": "T0STUB",
                "user_id": "U0STUB",
                "bot_id": "B0STUB",
            }
        if method == "chat.postMessage":
            return self._post(payload)
        if method == "chat.update":
            return self._update(payload)
        if method in ("conversations.history", "conversations.replies"):
            return self._history(method, payload)
        return {"ok": False, "error": "unknown_method"}

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        channel = payload.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        channel_id = _channel_id(str(channel))
        thread_ts = payload.get("thread_ts")
        if thread_ts and not any(
            m.channel == channel_id and m.ts == thread_ts and m.thread_ts is None
            for m in self.stored
        ):
            return {"ok": False, "error": "thread_not_found"}
        ts = self._next_ts()
        message = StoredMessage(
            channel_id,
            ts,
            str(payload.get("text", "")),
            list(payload.get("blocks") or []),
            payload.get("metadata"),
            thread_ts=str(thread_ts) if thread_ts else None,
            broadcast=bool(thread_ts) and _true(payload.get("reply_broadcast")),
        )
        self.stored.append(message)
        return {
            "ok": True,
            "channel": channel_id,
            "ts": ts,
            "message": {"text": message.text, "ts": ts},
        }

    def _update(self, payload: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(payload.get("channel") or ""), str(payload.get("ts") or "")
        for message in self.stored:
            if message.channel == channel and message.ts == ts:
                message.text = str(payload.get("text", message.text))
                message.blocks = list(payload.get("blocks") or message.blocks)
                message.metadata = payload.get("metadata") or message.metadata
                message.edits += 1
                return {"ok": True, "channel": channel, "ts": ts, "text": message.text}
        return {"ok": False, "error": "message_not_found"}

    def _history(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        channel = str(payload.get("channel") or "")
        if not channel or channel != _channel_id(channel):
            return {"ok": False, "error": "channel_not_found"}  # names are not accepted here
        oldest = float(payload.get("oldest") or 0)
        metadata = _true(payload.get("include_all_metadata"))
        if method == "conversations.history":
            found = [m for m in reversed(self.channel(channel)) if float(m.ts) > oldest]
        else:
            ts = str(payload.get("ts") or "")
            parent = [m for m in self.stored if m.channel == channel and m.ts == ts]
            if not parent:
                return {"ok": False, "error": "thread_not_found"}
            found = parent + [m for m in self.replies(channel, ts) if float(m.ts) > oldest]
        start = int(payload.get("cursor") or 0)
        limit = int(payload.get("limit") or 100)
        page = found[start : start + limit]
        more = start + limit < len(found)
        return {
            "ok": True,
            "messages": [m.view(metadata) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    async def _webhook(self, request: web.Request) -> web.StreamResponse:
        received = time.time()
        payload = await _parse_body(request)
        phase = self._phase("webhook")
        if phase is not None and not phase.hang and phase.error is None:
            return self._fail("webhook", payload, True, phase, received)
        if phase is not None and phase.error is not None:
            self._remember(Call("webhook", payload, 404, True, phase.error, received))
            return web.Response(status=404, text=phase.error, content_type="text/plain")
        if not payload.get("text") and not payload.get("blocks"):
            self._remember(Call("webhook", payload, 400, True, "no_text", received))
            return web.Response(status=400, text="no_text", content_type="text/plain")
        self._remember(Call("webhook", payload, 200, True, "ok", received))
        if phase is not None and phase.hang and phase.ends is not None:
            await asyncio.sleep(max(0.0, phase.ends - time.time()))
        return web.Response(text="ok", content_type="text/plain")

    def _fail(
        self, method: str, payload: dict[str, Any], authorized: bool, phase: _Phase, at: float
    ) -> web.StreamResponse:
        headers = {"Retry-After": phase.retry_after} if phase.retry_after is not None else {}
        error = "ratelimited" if phase.status == 429 else "internal_error"
        self._remember(Call(method, payload, phase.status, authorized, error, at, headers))
        if method == "webhook":
            return web.Response(
                status=phase.status, text=error, headers=headers, content_type="text/plain"
            )
        return web.json_response(
            {"ok": False, "error": error}, status=phase.status, headers=headers
        )


def _methods(methods: Iterable[str] | None) -> frozenset[str]:
    return DEFAULT_METHODS if methods is None else frozenset(methods)


def _true(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


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
    """JSON, form or query parameters, as slack-sdk sends them; JSON-valued form fields are
    decoded."""
    payload: dict[str, Any] = dict(request.query)
    if request.method == "GET":
        return payload
    if request.content_type == "application/json":
        data = await request.json()
        payload.update(data if isinstance(data, dict) else {"_body": data})
        return payload
    form = await request.post()
    payload.update({key: str(value) for key, value in form.items()})
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
