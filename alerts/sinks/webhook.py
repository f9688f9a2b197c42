"""POST each alert's JSON to an HTTP endpoint (PagerDuty bridges, chat-ops bots, tickets)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import aiohttp

from alerts.config.models import WebhookSinkConfig
from alerts.metrics import Metrics
from alerts.sinks.http import status_error, transport_error
from alerts.sinks.types import Attempt, Post, Sent


class WebhookSink:
    """Sends ``alert.to_dict()`` as JSON, one alert per request; 408/425/429/5xx and
    timeouts are worth retrying, and ``Retry-After`` is honoured."""

    combines = False
    hold = 0.0

    def __init__(
        self,
        name: str,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        pace: float = 0.0,
    ) -> None:
        self.name = name
        self.url = url
        self.pace = pace
        # The URL may hold a secret path: the lane is named by its hash.
        self.lane = "webhook:" + hashlib.sha256(url.encode()).hexdigest()[:16]
        self._token = token
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_config(
        cls, name: str, config: WebhookSinkConfig, env: Mapping[str, str], metrics: Metrics
    ) -> WebhookSink:
        token = env.get(config.token_env) if config.token_env else None
        return cls(name, config.url, token=token or None, timeout=config.timeout, pace=config.pace)

    async def start(self) -> None:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self._timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)

    async def send(self, post: Post, attempt: Attempt) -> Sent:
        """POST each alert of ``post``; the endpoint's answer body is not used."""
        await self.start()
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        for alert in post.alerts:
            body = json.dumps(alert.to_dict(), ensure_ascii=False).encode("utf-8")
            try:
                async with self._session.post(self.url, data=body, headers=headers) as response:
                    status = response.status
                    answer_headers = dict(response.headers)
                    await response.read()
            except (TimeoutError, aiohttp.ClientError) as exc:
                # Only the error type is reported: the URL may hold a secret.
                raise transport_error("webhook", exc) from None
            if status >= 300:
                raise status_error("webhook", status, answer_headers)
        return Sent()

    async def stop(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
