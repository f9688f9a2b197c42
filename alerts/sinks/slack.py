"""Deliver alerts to Slack: ``chat.postMessage`` with a bot token, or an incoming webhook.

Each ``send`` is one attempt; the dispatcher's lanes pace (one message a second per
channel by default) and retry. slack-sdk's own retry handlers are off: its rate-limit
handler reads ``Retry-After`` with ``int()`` and fails on ``1.5`` or an HTTP date.

With a bot token:

- ``auth.test`` at start-up says at once whether the token works;
- alerts thread as :mod:`alerts.sinks.threads` says, and after a reply the thread's first
  message is refreshed with ``chat.update`` (current level, outlets, latest time);
- after an attempt that may have arrived (a timeout, a dropped connection, a 5xx), the next
  one first looks for the message by ``metadata.event_payload.alert_id``
  (``conversations.history`` / ``conversations.replies`` with ``include_all_metadata``),
  so a retry never posts an alert twice. This needs the ``channels:history`` scope (and
  ``groups:history`` for a private channel) and a channel id, or a first message that
  told us the id.

Tokens and webhook URLs never appear in errors or logs.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from alerts.config.models import SlackSinkConfig
from alerts.errors import ConfigError, RetriableSinkError, SinkError
from alerts.metrics import Metrics
from alerts.model import Alert
from alerts.sinks.blocks import Message, mention_markup, render
from alerts.sinks.http import header, retry_after_seconds, status_error, transport_error
from alerts.sinks.threads import Placement, Thread, advance, lead, place, started
from alerts.sinks.types import Attempt, FollowUp, Post, Sent

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
POST_MESSAGE = "chat.postMessage"
WEBHOOK = "webhook"
ARTICLE_WINDOW = 600.0
"""An alert about an article that had a message in the last ten minutes joins its thread."""
REMEMBERED_THREADS = 10_000
LOOKUP_PAGES = 5

# Slack answers these with HTTP 200 and ok=false, yet trying again later can succeed.
RETRIABLE_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "service_unavailable", "fatal_error", "internal_error",
     "request_timeout"}
)  # fmt: skip
AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)
KNOWN_ERRORS = AUTH_ERRORS | {
    "channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "no_text",
    "invalid_blocks", "invalid_metadata_format", "invalid_metadata_schema", "missing_scope",
    "no_permission", "restricted_action", "thread_not_found", "message_not_found",
    "cant_update_message", "edit_window_closed", "too_many_attachments", "invalid_arguments",
    "channel_is_archived", "invalid_token", "no_service", "action_prohibited", "invalid_payload",
}  # fmt: skip
"""Slack error codes used as metric labels as they are; any other is counted as slack_error."""

# slack-sdk logs request URLs at DEBUG; a webhook URL is a secret, so its logger stays above.
_sdk_log = logging.getLogger(f"{__name__}.sdk")
_sdk_log.setLevel(logging.INFO)


class SlackSink:
    """Posts alerts as Block Kit messages, one channel (or one incoming webhook) per sink."""

    combines = True

    def __init__(
        self,
        name: str,
        metrics: Metrics,
        *,
        token: str | None = None,
        channel: str | None = None,
        webhook_url: str | None = None,
        base_url: str = DEFAULT_API_URL,
        mention: str | None = None,
        timeout: float = 10.0,
        pace: float = 1.0,
        hold: float = 0.25,
        thread_max_age: float = 86400.0,
        token_env: str = "SLACK_BOT_TOKEN",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if token and not channel:
            raise ValueError("a Slack bot token needs a channel")
        if not token and not webhook_url:
            raise ValueError("a Slack sink needs a bot token or an incoming-webhook URL")
        if mention is not None:
            mention_markup(mention)
        self.name = name
        self.metrics = metrics
        self.channel = channel
        self.mention = mention
        self.pace = pace
        self.hold = hold
        self.thread_max_age = thread_max_age
        self.auth_error: str | None = None
        """Slack's error code when ``auth.test`` rejected the token at start-up."""
        self._token = token
        self._token_env = token_env
        self._webhook_url = webhook_url
        self._base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._timeout = timeout
        self._clock = clock
        if token:
            self.lane = f"slack:{self._base_url}{channel}"
        else:
            assert webhook_url is not None
            self.lane = "slack-webhook:" + hashlib.sha256(webhook_url.encode()).hexdigest()[:16]
        self._channel_id = channel if channel and _is_channel_id(channel) else None
        self._session: aiohttp.ClientSession | None = None
        self._web: AsyncWebClient | None = None
        self._hook: AsyncWebhookClient | None = None
        self._threads: OrderedDict[str, Thread] = OrderedDict()
        self._messages: OrderedDict[str, Thread] = OrderedDict()
        self._articles: OrderedDict[str, Thread] = OrderedDict()
        self._lookup_warned = False

    @classmethod
    def from_config(
        cls, name: str, config: SlackSinkConfig, env: Mapping[str, str], metrics: Metrics
    ) -> SlackSink | None:
        """The sink for ``config``, or None (with a warning) when no credentials are set."""
        token = env.get(config.token_env) or None
        webhook_url = env.get(config.webhook_env) or None
        channel = config.channel or env.get("SLACK_CHANNEL") or None
        if token and not channel and not webhook_url:
            log.warning(
                "sink %r left out: %s is set but no channel (set 'channel' or SLACK_CHANNEL)",
                name,
                config.token_env,
            )
            return None
        if not token and not webhook_url:
            log.warning(
                "sink %r left out: set %s (with a channel) or %s to send alerts to Slack",
                name,
                config.token_env,
                config.webhook_env,
            )
            return None
        if config.mention is not None:
            try:
                mention_markup(config.mention)
            except ValueError as exc:
                raise ConfigError([f"sinks.{name}.mention: {exc}"]) from None
        return cls(
            name,
            metrics,
            token=token if channel else None,
            channel=channel,
            webhook_url=webhook_url,
            base_url=env.get("SLACK_API_URL") or DEFAULT_API_URL,
            mention=config.mention,
            timeout=config.timeout,
            pace=config.pace,
            hold=config.hold,
            thread_max_age=config.thread_max_age,
            token_env=config.token_env,
        )

    @property
    def mode(self) -> str:
        """``chat.postMessage`` with a bot token, else ``webhook``."""
        return POST_MESSAGE if self._token else WEBHOOK

    async def start(self) -> None:
        """Open the HTTP session; with a bot token, check it with ``auth.test``."""
        if self._session is not None:
            return
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        sdk_timeout = max(1, math.ceil(self._timeout))
        if self._token:
            self._web = AsyncWebClient(
                token=self._token,
                base_url=self._base_url,
                timeout=sdk_timeout,
                session=self._session,
                logger=_sdk_log,
                retry_handlers=[],
            )
            await self._check_token()
        else:
            assert self._webhook_url is not None
            self._hook = AsyncWebhookClient(
                self._webhook_url,
                timeout=sdk_timeout,
                session=self._session,
                logger=_sdk_log,
                retry_handlers=[],
            )

    async def stop(self) -> None:
        session, self._session = self._session, None
        self._web = self._hook = None
        if session is not None:
            await session.close()

    async def _check_token(self) -> None:
        assert self._web is not None
        try:
            response = await self._call("auth.test", self._web.auth_test())
        except RetriableSinkError as exc:
            log.warning(
                "Slack sink %r: could not check the bot token at start-up (%s); "
                "alerts will be tried as they come",
                self.name,
                exc,
            )
        except SinkError as exc:
            self.auth_error = exc.code
            log.error(
                "Slack sink %r: Slack rejected the bot token in %s (%s): no alert can be "
                "posted until it holds a valid bot token (xoxb-...) of an app in the workspace",
                self.name,
                self._token_env,
                exc.code,
            )
        else:
            log.info(
                "Slack sink %r: posting to %s as %s in %s",
                self.name,
                self.channel,
                response.get("user") or "?",
                response.get("team") or "?",
            )

    # ------------------------------------------------------------------ sending

    async def send(self, post: Post, attempt: Attempt) -> Sent:
        """One attempt at posting ``post`` (see the module docstring)."""
        await self.start()
        if self._web is None:
            # An incoming webhook cannot thread, and a note of another outlet means nothing
            # outside its story's thread.
            alerts = [a for a in post.alerts if a.kind != "coverage"]
            if not alerts:
                return Sent(posted=False)
            await self._send_webhook(alerts)
            return Sent()
        alerts = post.alerts
        first = lead(alerts)
        now = self._clock()
        keys = list(dict.fromkeys(_key(a) for a in alerts))
        known = {key: self._known(key, post.stored.get(key)) for key in keys}
        thread = known[_key(first)]
        ended = thread is None or not thread.live(now, self.thread_max_age)
        if ended and first.kind != "coverage":
            thread = self._article_thread(alerts, now) or thread
        lost = bool((post.stored.get(_key(first)) or {}).get("lost"))
        placement = place(first, thread, now=now, max_age=self.thread_max_age, lost=lost)
        if placement is None:
            return Sent(posted=False)
        visible = placement.parent is None or placement.broadcast
        message = render(
            alerts,
            mention=self.mention if visible else None,
            reply=placement.parent is not None,
            broadcast=placement.broadcast,
        )
        found = await self._find(alerts, placement, attempt.first_at) if attempt.uncertain else None
        channel, ts = found or await self._post(message, placement)
        if placement.parent is None:
            version = 1 + max((t.version for t in known.values() if t), default=0)
            current = started(alerts, channel, ts, now, version)
            replaced = {id(t): t for t in known.values() if t is not None}.values()
            refresh = [t for t in replaced if t.live(now, self.thread_max_age)]
            for old in refresh:
                old.ended = True
                old.level = first.level or old.level
                old.version += 1
        else:
            current = placement.parent
            advance(current, alerts, broadcast=placement.broadcast)
            refresh = [current]
        for key in keys:
            self._remember(key, current)
        for alert in alerts:
            if alert.article.get("id") and placement.parent is None:
                self._articles[str(alert.article["id"])] = current
                _trim(self._articles, REMEMBERED_THREADS)
        return Sent(
            threads={key: current.to_dict() for key in keys},
            follow_up=self._refresher(refresh) if refresh else None,
        )

    async def _post(self, message: Message, placement: Placement) -> tuple[str, str]:
        assert self._web is not None
        assert self.channel is not None
        parent = placement.parent
        channel = parent.channel if parent else self._channel_id or self.channel
        extra: dict[str, Any] = {}
        if parent is not None:
            extra["thread_ts"] = parent.ts
            if placement.broadcast:
                extra["reply_broadcast"] = True
        response = await self._call(
            POST_MESSAGE,
            self._web.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                metadata=message.metadata,
                unfurl_links=False,
                unfurl_media=False,
                **extra,
            ),
        )
        ts = response.get("ts")
        if not ts:
            raise SinkError(f"Slack {POST_MESSAGE} answered without a message ts", code="no_ts")
        posted_in = str(response.get("channel") or channel)
        if _is_channel_id(posted_in):
            self._channel_id = self._channel_id or posted_in
        return posted_in, str(ts)

    async def _find(
        self, alerts: Sequence[Alert], placement: Placement, since: float
    ) -> tuple[str, str] | None:
        """The channel and ts of a message an earlier attempt posted for these alerts."""
        assert self._web is not None
        ids = {a.id for a in alerts}
        parent = placement.parent
        channel = parent.channel if parent else self._channel_id or str(self.channel)
        oldest = f"{max(0.0, since - 60.0):.6f}"
        cursor: str | None = None
        try:
            for _ in range(LOOKUP_PAGES):
                if parent is not None:
                    method = "conversations.replies"
                    request = self._web.conversations_replies(
                        channel=channel,
                        ts=parent.ts,
                        oldest=oldest,
                        include_all_metadata=True,
                        limit=200,
                        cursor=cursor,
                    )
                else:
                    method = "conversations.history"
                    request = self._web.conversations_history(
                        channel=channel,
                        oldest=oldest,
                        include_all_metadata=True,
                        limit=200,
                        cursor=cursor,
                    )
                response = await self._call(method, request)
                for message in response.get("messages") or []:
                    if _carries(message, ids) and message.get("ts"):
                        log.info("Slack sink %r: %s was already posted", self.name, alerts[0].id)
                        return channel, str(message["ts"])
                metadata = response.get("response_metadata") or {}
                cursor = metadata.get("next_cursor") if isinstance(metadata, dict) else None
                if not cursor:
                    return None
        except RetriableSinkError:
            raise
        except SinkError as exc:
            if not self._lookup_warned:
                self._lookup_warned = True
                log.warning(
                    "Slack sink %r cannot look for messages an interrupted attempt may have "
                    "posted (%s), so such a retry may post twice; give the app the "
                    "channels:history scope and set the channel id (C...)",
                    self.name,
                    exc.code,
                )
        return None

    def _refresher(self, threads: list[Thread]) -> FollowUp:
        async def refresh(attempt: Attempt) -> None:
            assert self._web is not None
            for thread in threads:
                alerts = [Alert.from_dict(item) for item in thread.items]
                if not alerts:
                    continue
                message = render(alerts, thread=thread, mention=self.mention)
                await self._call(
                    "chat.update",
                    self._web.chat_update(
                        channel=thread.channel,
                        ts=thread.ts,
                        text=message.text,
                        blocks=message.blocks,
                        metadata=message.metadata,
                    ),
                )

        return FollowUp(key="refresh:" + ",".join(t.ref for t in threads), run=refresh)

    async def _send_webhook(self, alerts: Sequence[Alert]) -> None:
        assert self._hook is not None
        message = render(alerts, mention=self.mention)
        started_at = time.perf_counter()
        outcome = "error"
        try:
            response = await self._hook.send(
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
                metadata=message.metadata,
            )
            status = response.status_code
            if status == 200:
                outcome = "ok"
                return
            error = _webhook_error(status, response.body, response.headers)
            outcome = _outcome(error)
            raise error
        except (TimeoutError, aiohttp.ClientError) as exc:
            error = transport_error("Slack webhook", exc)
            outcome = _outcome(error)
            raise error from None
        finally:
            elapsed = time.perf_counter() - started_at
            self.metrics.slack_request.labels(method=WEBHOOK, outcome=outcome).observe(elapsed)

    async def _call(self, method: str, request: Awaitable[AsyncSlackResponse]) -> Any:
        """Await one Web API request; time it; turn failures into our errors."""
        started_at = time.perf_counter()
        outcome = "error"
        try:
            response = await request
            outcome = "ok"
            return response
        except SlackApiError as exc:
            error = _api_error(method, exc)
            outcome = _outcome(error)
            raise error from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            transport = transport_error(f"Slack {method}", exc)
            outcome = _outcome(transport)
            raise transport from None
        except SlackClientError as exc:
            reason = f"Slack {method} failed: {type(exc).__name__}"
            raise SinkError(reason, code="client_error") from None
        finally:
            elapsed = time.perf_counter() - started_at
            self.metrics.slack_request.labels(method=method, outcome=outcome).observe(elapsed)

    # ------------------------------------------------------------------ thread memory

    def _known(self, key: str, stored: dict[str, Any] | None) -> Thread | None:
        """The newest of what this process remembers and what the table stored."""
        loaded = Thread.from_dict(stored)
        if loaded is not None:
            shared = self._messages.get(loaded.ref)
            if shared is not None and shared.version >= loaded.version:
                loaded = shared
        cached = self._threads.get(key)
        if cached is None or (loaded is not None and loaded.version > cached.version):
            return loaded
        return cached

    def _remember(self, key: str, thread: Thread) -> None:
        self._threads[key] = thread
        self._threads.move_to_end(key)
        self._messages[thread.ref] = thread
        self._messages.move_to_end(thread.ref)
        _trim(self._threads, REMEMBERED_THREADS)
        _trim(self._messages, REMEMBERED_THREADS)

    def _article_thread(self, alerts: Sequence[Alert], now: float) -> Thread | None:
        """The recent message about one of these articles, so one article is one message
        and its thread, whatever order its alerts arrive in."""
        for alert in alerts:
            thread = self._articles.get(str(alert.article.get("id") or ""))
            if thread is not None and now - thread.started < ARTICLE_WINDOW and not thread.ended:
                return thread
        return None


def _key(alert: Alert) -> str:
    return alert.thread_key or alert.id


def _trim(memory: OrderedDict[str, Thread], size: int) -> None:
    while len(memory) > size:
        memory.popitem(last=False)


def _is_channel_id(channel: str) -> bool:
    return channel[:1] in ("C", "G", "D") and channel.isalnum() and channel.isupper()


def _carries(message: Mapping[str, Any], ids: set[str]) -> bool:
    metadata = message.get("metadata")
    payload = metadata.get("event_payload") if isinstance(metadata, dict) else None
    if not isinstance(payload, dict):
        return False
    carried = {str(payload.get("alert_id") or ""), *str(payload.get("alert_ids") or "").split()}
    return bool(carried & ids)


def _outcome(error: SinkError) -> str:
    """The ``slack_request`` outcome label for an error (a small fixed set)."""
    if error.code in ("ratelimited", "rate_limited"):
        return "rate_limited"
    if error.code in ("timeout", "connection_error"):
        return error.code
    if isinstance(error, RetriableSinkError):
        return "server_error"
    return "error"


def _api_error(method: str, exc: SlackApiError) -> SinkError:
    """A failed Web API answer as our error, by HTTP status and Slack's error code."""
    response = exc.response
    status = response.status_code
    data = response.data if isinstance(response.data, dict) else {}
    code = "".join(ch for ch in str(data.get("error") or "")[:60] if ch.isalnum() or ch == "_")
    headers = response.headers if isinstance(response.headers, Mapping) else None
    if status == 429 or code in ("ratelimited", "rate_limited"):
        return RetriableSinkError(
            f"Slack {method} rate limited (HTTP {status})",
            code="ratelimited",
            retry_after=retry_after_seconds(header(headers, "Retry-After")),
        )
    if status >= 500:
        error = status_error(f"Slack {method}", status, headers)
        return RetriableSinkError(
            f"Slack {method} answered HTTP {status}" + (f" ({code})" if code else ""),
            code=error.code,
            retry_after=getattr(error, "retry_after", None),
            uncertain=True,
        )
    if code in RETRIABLE_ERRORS:
        return RetriableSinkError(f"Slack {method} failed: {code}", code=code, uncertain=True)
    label = code if code in KNOWN_ERRORS else "slack_error"
    return SinkError(f"Slack {method} failed: {code or f'HTTP {status}'}", code=label)


def _webhook_error(status: int, body: str | None, headers: Mapping[str, Any] | None) -> SinkError:
    """An incoming webhook's refusal: its body names the error (``channel_not_found``)."""
    error = status_error("Slack webhook", status, headers)
    if error.retriable:
        return error
    text = "".join(ch for ch in (body or "").strip()[:60] if ch.isalnum() or ch == "_")
    label = text if text in KNOWN_ERRORS else error.code
    reason = f"Slack webhook rejected the message: HTTP {status} {text}".strip()
    return SinkError(reason, code=label)
