"""Process settings from the environment (``FLASHPOINT_`` prefix) and the command line.

Secrets are ``SecretStr`` and never logged; Slack credentials are read by the Slack sink
from the variables the config names (``SLACK_BOT_TOKEN`` by default).
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLASHPOINT_", extra="ignore")

    broker: str | None = Field(
        default=None, description="kafka://host:port[,host:port]; unset starts an embedded broker."
    )
    broker_bin: str | None = Field(default=None, description="Path of the tansu binary to embed.")
    app_id: str = "flashpoint"
    partitions: int = Field(default=4, ge=1, le=256, description="Partitions of every topic.")
    fetch_max_wait_ms: int | None = Field(
        default=None,
        description="Consumer fetch wait; default 10 ms embedded (tansu answers fetches only "
        "when the wait runs out), 500 ms with a real Kafka.",
    )
    fast_rebalance: bool | None = Field(
        default=None,
        description="Short rebalance/session timeouts for brokers that hold a group join for "
        "the whole rebalance timeout (tansu); default on for the embedded broker only.",
    )
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    listen: str | None = Field(default=None, description="HOST:PORT for POST /articles.")
    ingest_token: SecretStr | None = Field(
        default=None, description="Bearer token required by POST /articles."
    )
    poll_interval: float = Field(default=300.0, gt=0, description="Feed poll interval, seconds.")
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

    def effective_fast_rebalance(self, embedded: bool) -> bool:
        return embedded if self.fast_rebalance is None else self.fast_rebalance

    def effective_fetch_wait_ms(self, embedded: bool) -> int:
        if self.fetch_max_wait_ms is not None:
            return self.fetch_max_wait_ms
        return 10 if embedded else 500
