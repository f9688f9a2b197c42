"""POST each alert's JSON to an HTTP endpoint (PagerDuty bridges, chat-ops bots, tickets)."""

from __future__ import annotations

import json
from collections.abc import Mapping

import aiohttp

from alerts.config.models import WebhookSinkConfig
from alerts.errors import RetriableSinkError, SinkError
from alerts.metrics import Metrics
from alerts.model import Alert

RETRIABLE_STATUS = frozenset({408, 429})


class WebhookSink:
    """Sends ``alert.to_dict()`` as JSON; 408/429/5xx and timeouts are worth retrying."""

    def __init__(
        self, name: str, url: str, *, token: str | None = None, timeout: float = 10.0
    ) -> None:
        self.name = name
        self.url = url
        self._token = token
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_config(
        cls, name: str, config: WebhookSinkConfig, env: Mapping[str, str], metrics: Metrics
    ) -> WebhookSink:
        token = env.get(config.token_env) if config.token_env else None
        return cls(name, config.url, token=token or None, timeout=config.timeout)

    async def start(self) -> None:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self._timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)

    async def send(self, alert: Alert, *, thread: str | None = None) -> str | None:
        """POST the alert; the endpoint's answer body is not used."""
        await self.start()
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        body = json.dumps(alert.to_dict(), ensure_ascii=False).encode("utf-8")
        try:
            async with self._session.post(self.url, data=body, headers=headers) as response:
                status = response.status
                await response.read()
        except TimeoutError:
            raise RetriableSinkError(f"webhook timed out after {self._timeout:g}s") from None
        except aiohttp.ClientError as exc:
            # The URL may hold a secret path; only the error type is reported.
            raise RetriableSinkError(f"webhook connection failed ({type(exc).__name__})") from None
        if status < 300:
            return None
        if status in RETRIABLE_STATUS or status >= 500:
            raise RetriableSinkError(f"webhook answered HTTP {status}")
        raise SinkError(f"webhook rejected the alert: HTTP {status}")

    async def stop(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
