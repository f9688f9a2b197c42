"""Process settings from the environment (``FLASHPOINT_`` prefix) and the command line.

Secrets are ``SecretStr`` and never logged; Slack credentials are read by the Slack sink
from the variables the config names (``SLACK_BOT_TOKEN`` by default). A setting that does
not validate is a :class:`~alerts.errors.ConfigError` naming the variable, never a traceback.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from alerts.errors import ConfigError
from streams.sources.feeds import FeedLimits
from streams.sources.http import IngestLimits

ENV_PREFIX = "FLASHPOINT_"
MIN_POLL_INTERVAL = 10.0
"""Seconds; a feed is never polled more often (0.01 s gave 562 requests in 8 s)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    broker: str | None = Field(
        default=None, description="kafka://host:port[,host:port]; unset starts an embedded broker."
    )
    broker_bin: str | None = Field(default=None, description="Path of the tansu binary to embed.")
    app_id: str = "flashpoint"
    partitions: int = Field(default=4, ge=1, le=256, description="Partitions of every topic.")
    fetch_max_wait_ms: int | None = Field(
        default=None,
        ge=0,
        description="Consumer fetch wait; default 10 ms embedded (tansu answers fetches only "
        "when the wait runs out), 500 ms with a real Kafka.",
    )
    fast_rebalance: bool | None = Field(
        default=None,
        description="Short rebalance/session timeouts for brokers that hold a group join for "
        "the whole rebalance timeout (tansu); default on for the embedded broker only.",
    )
    metrics_port: int | None = Field(default=None, ge=0, lt=65536)
    metrics_host: str = "127.0.0.1"
    listen: str | None = Field(default=None, description="HOST:PORT for POST /articles.")
    ingest_token: SecretStr | None = Field(
        default=None, description="Bearer token required by POST /articles."
    )
    ingest_max_articles: int = Field(default=1000, ge=1, description="Articles per POST.")
    ingest_rate: float = Field(
        default=20.0, gt=0, description="POSTs per second per client address (then 429)."
    )
    ingest_burst: int = Field(default=40, ge=1, description="POSTs a client may send at once.")
    ingest_max_connections: int = Field(default=128, ge=1, description="Open connections.")
    ingest_header_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to send a request's headers."
    )
    ingest_body_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to send a request's body."
    )
    publish_timeout: float = Field(
        default=15.0, gt=0, description="Seconds to wait for the broker to store a record."
    )
    poll_interval: float = Field(
        default=300.0, ge=MIN_POLL_INTERVAL, description="Feed poll interval, seconds."
    )
    feed_timeout: float = Field(default=30.0, gt=0, description="Seconds per feed fetch.")
    feed_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, description="Feed size limit.")
    feed_max_redirects: int = Field(default=5, ge=0, le=30, description="Redirects per fetch.")
    reload_timeout: float = Field(
        default=60.0, gt=0, description="Seconds a rules (re)load may take before it fails."
    )
    connect_timeout: float = Field(
        default=20.0, gt=0, description="Give up on an unreachable broker after this long."
    )
    shutdown_timeout: float = Field(default=20.0, gt=0)
    delivery_budget: float = Field(
        default=900.0,
        ge=0,
        description="Seconds a sink (Slack, a webhook) may keep failing with retriable "
        "errors (5xx, timeouts, 429) before an alert is dead-lettered.",
    )
    delivery_max_backoff: float = Field(
        default=60.0, gt=0, description="Longest wait between two retries without Retry-After."
    )

    @field_validator("ingest_token")
    @classmethod
    def _token_not_empty(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError(
                "is set but empty; give a token, or unset it to accept posts without one"
            )
        return value

    def effective_fast_rebalance(self, embedded: bool) -> bool:
        return embedded if self.fast_rebalance is None else self.fast_rebalance

    def effective_fetch_wait_ms(self, embedded: bool) -> int:
        if self.fetch_max_wait_ms is not None:
            return self.fetch_max_wait_ms
        return 10 if embedded else 500

    def feed_limits(self) -> FeedLimits:
        return FeedLimits(
            timeout=self.feed_timeout,
            max_bytes=self.feed_max_bytes,
            max_redirects=self.feed_max_redirects,
        )

    def ingest_limits(self) -> IngestLimits:
        return IngestLimits(
            max_articles=self.ingest_max_articles,
            rate=self.ingest_rate,
            burst=self.ingest_burst,
            max_connections=self.ingest_max_connections,
            header_timeout=self.ingest_header_timeout,
            body_timeout=self.ingest_body_timeout,
            ack_timeout=self.publish_timeout,
        )


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment; every invalid variable named in one ConfigError."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ENV_PREFIX + "_".join(str(part) for part in error["loc"]).upper()
            shown = "" if "token" in name.lower() else f" (got {error.get('input')!r})"
            problems.append(f"{name}: {error['msg']}{shown}")
        raise ConfigError(problems) from None
