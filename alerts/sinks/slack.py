"""Deliver alerts to Slack: ``chat.postMessage`` with a bot token, or an incoming webhook.

slack-sdk's own retry handlers absorb short trouble (429 honouring Retry-After, 5xx,
dropped connections); what is left becomes ``RetriableSinkError`` for the dispatcher's
slower backoff, or ``SinkError`` naming Slack's error code. Tokens and webhook URLs never
appear in errors or logs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from alerts.config.models import SlackSinkConfig
from alerts.errors import ConfigError, RetriableSinkError, SinkError
from alerts.metrics import Metrics
from alerts.model import Alert
from alerts.secrets import scrub
from alerts.sinks.blocks import alert_blocks, alert_metadata, fallback_text, mention_markup

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
POST_MESSAGE = "chat.postMessage"
WEBHOOK = "webhook"
MAX_RETRY_AFTER = 30.0
"""A 429 asking to wait longer than this goes back to the dispatcher instead of blocking."""

# Slack answers these with HTTP 200 and ok=false, yet trying again later can succeed.
_RETRIABLE_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "service_unavailable", "fatal_error", "internal_error",
     "request_timeout"}
)  # fmt: skip

# slack-sdk logs request URLs at DEBUG; a webhook URL is a secret, so its logger stays above.
_sdk_log = logging.getLogger(f"{__name__}.sdk")
_sdk_log.setLevel(logging.INFO)


class _CountedRetry(AsyncRetryHandler):
    """Calls ``on_retry`` before each retry, so in-client retries show up in metrics."""

    def __init__(
        self,
        on_retry: Callable[[], None],
        max_retry_count: int = 2,
        interval_calculator: RetryIntervalCalculator | None = None,
    ) -> None:
        super().__init__(max_retry_count, interval_calculator or BackoffRetryIntervalCalculator())
        self.on_retry = on_retry

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        self.on_retry()
        await super().prepare_for_next_attempt_async(
            state=state, request=request, response=response, error=error
        )


class RateLimitRetry(_CountedRetry, AsyncRateLimitErrorRetryHandler):
    """slack-sdk's 429 handler (waits Retry-After), unless Slack asks for a long wait."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        for key, values in response.headers.items():
            if key.lower() == "retry-after" and values:
                try:
                    return float(values[0]) <= MAX_RETRY_AFTER
                except ValueError:
                    return True
        return True


class ServerErrorRetry(_CountedRetry):
    """Retries any HTTP 5xx answer with slack-sdk's exponential backoff and jitter."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code >= 500


class ConnectionErrorRetry(_CountedRetry, AsyncConnectionErrorRetryHandler):
    """slack-sdk's default handler for reset and dropped connections, counted."""


class SlackSink:
    """Posts each alert as a Block Kit message; returns ``"channel:ts"`` to thread under."""

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
        max_retries: int = 2,
        retry_interval: RetryIntervalCalculator | None = None,
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
        self._token = token
        self._webhook_url = webhook_url
        self._base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._timeout = timeout
        self._max_retries = max_retries
        self._retry_interval = retry_interval
        self._session: aiohttp.ClientSession | None = None
        self._web: AsyncWebClient | None = None
        self._hook: AsyncWebhookClient | None = None

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
        )

    @property
    def mode(self) -> str:
        """``chat.postMessage`` with a bot token, else ``webhook``."""
        return POST_MESSAGE if self._token else WEBHOOK

    async def start(self) -> None:
        if self._session is not None:
            return
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        handlers = self._retry_handlers()
        if self._token:
            self._web = AsyncWebClient(
                token=self._token,
                base_url=self._base_url,
                timeout=int(self._timeout),
                session=self._session,
                logger=_sdk_log,
                retry_handlers=handlers,
            )
        else:
            assert self._webhook_url is not None
            self._hook = AsyncWebhookClient(
                self._webhook_url,
                timeout=int(self._timeout),
                session=self._session,
                logger=_sdk_log,
                retry_handlers=handlers,
            )

    def _retry_handlers(self) -> list[AsyncRetryHandler]:
        def on_retry() -> None:
            self.metrics.deliveries.labels(sink=self.name, outcome="retried").inc()

        kwargs: dict[str, Any] = {
            "max_retry_count": self._max_retries,
            "interval_calculator": self._retry_interval,
        }
        return [
            RateLimitRetry(on_retry, **kwargs),
            ServerErrorRetry(on_retry, **kwargs),
            ConnectionErrorRetry(on_retry, **kwargs),
        ]

    async def stop(self) -> None:
        session, self._session = self._session, None
        self._web = self._hook = None
        if session is not None:
            await session.close()

    async def send(self, alert: Alert, *, thread: str | None = None) -> str | None:
        """Post ``alert`` (under ``thread`` when given); returns ``"channel:ts"`` or None."""
        await self.start()
        started = time.perf_counter()
        outcome = "error"
        try:
            ref = None
            if self._web is not None:
                ref = await self._post_message(alert, thread)
            else:
                await self._post_webhook(alert)
            outcome = "ok"
            return ref
        except _Retriable as exc:
            outcome = exc.outcome
            raise
        finally:
            self.metrics.slack_request.labels(method=self.mode, outcome=outcome).observe(
                time.perf_counter() - started
            )

    async def _post_message(self, alert: Alert, thread: str | None) -> str:
        assert self._web is not None
        assert self.channel is not None
        channel, thread_ts = self.channel, None
        if thread:
            ref_channel, sep, ts = thread.partition(":")
            channel, thread_ts = (ref_channel, ts) if sep else (self.channel, thread)
        try:
            response = await self._web.chat_postMessage(
                channel=channel,
                text=fallback_text(alert, self.mention),
                blocks=alert_blocks(alert, self.mention),
                unfurl_links=False,
                unfurl_media=False,
                thread_ts=thread_ts,
                metadata=alert_metadata(alert),
            )
        except SlackApiError as exc:
            raise _api_error(exc) from None
        except TimeoutError:
            raise _Retriable(f"Slack {POST_MESSAGE} timed out", "timeout") from None
        except aiohttp.ClientError as exc:
            reason = f"Slack {POST_MESSAGE} connection failed ({type(exc).__name__})"
            raise _Retriable(reason, "connection_error") from None
        except SlackClientError as exc:
            raise SinkError(f"Slack {POST_MESSAGE} failed: {type(exc).__name__}") from None
        return f"{response.get('channel') or channel}:{response.get('ts')}"

    async def _post_webhook(self, alert: Alert) -> None:
        assert self._hook is not None
        try:
            response = await self._hook.send(
                text=fallback_text(alert, self.mention),
                blocks=alert_blocks(alert, self.mention),
                unfurl_links=False,
                unfurl_media=False,
                metadata=alert_metadata(alert),
            )
        except TimeoutError:
            raise _Retriable("Slack webhook timed out", "timeout") from None
        except aiohttp.ClientError as exc:
            reason = f"Slack webhook connection failed ({type(exc).__name__})"
            raise _Retriable(reason, "connection_error") from None
        status = response.status_code
        if status == 200:
            return None
        if status == 429:
            raise _Retriable("Slack webhook rate limited (HTTP 429)", "rate_limited")
        if status >= 500:
            raise _Retriable(f"Slack webhook answered HTTP {status}", "server_error")
        body = scrub((response.body or "").strip())[:100]  # an echo of the URL is cut out
        raise SinkError(f"Slack webhook rejected the message: HTTP {status} {body}".strip())


class _Retriable(RetriableSinkError):
    """A retriable failure that also knows its ``slack_request`` outcome label."""

    def __init__(self, reason: str, outcome: str) -> None:
        super().__init__(reason)
        self.outcome = outcome


def _api_error(exc: SlackApiError) -> SinkError:
    """Map a failed Web API answer to our errors by HTTP status and Slack's error code."""
    response = exc.response
    status = response.status_code
    data = response.data if isinstance(response.data, dict) else {}
    code = scrub(str(data.get("error") or ""))[:100]  # a server may echo the token
    if status == 429 or code in ("ratelimited", "rate_limited"):
        return _Retriable(f"Slack {POST_MESSAGE} rate limited (HTTP {status})", "rate_limited")
    if status >= 500:
        return _Retriable(f"Slack {POST_MESSAGE} answered HTTP {status}", "server_error")
    if code in _RETRIABLE_ERRORS:
        return _Retriable(f"Slack {POST_MESSAGE} failed: {code}", "server_error")
    return SinkError(f"Slack {POST_MESSAGE} failed: {code or f'HTTP {status}'}")
