"""The faust app: broker settings, our transport, and the state tables."""

from __future__ import annotations

import asyncio
from typing import Any

import faust

from streams.settings import Settings
from streams.transport import Transport


class FlashpointApp(faust.App):
    """faust.App using :mod:`streams.transport` (configurable consumer fetch wait)."""

    fetch_max_wait_ms: int = 500

    def _new_transport(self) -> Transport:
        return Transport(self.conf.broker_consumer, self)

    def _new_producer_transport(self) -> Transport:
        return Transport(self.conf.broker_producer, self)


def create_app(settings: Settings, broker_url: str, *, embedded: bool) -> FlashpointApp:
    """A faust app for ``broker_url`` on the running loop; topics must already exist."""
    fast_join: dict[str, Any] = {}
    if settings.effective_fast_rebalance(embedded):
        # tansu makes a group join wait for the whole rebalance timeout.
        fast_join = {
            "broker_rebalance_timeout": 3.0,
            "broker_session_timeout": 10.0,
            "broker_heartbeat_interval": 1.0,
        }
    app = FlashpointApp(
        settings.app_id,
        loop=asyncio.get_running_loop(),
        broker=broker_url,
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.partitions,
        topic_allow_declare=False,
        topic_disable_leader=True,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        table_cleanup_interval=60.0,
        producer_linger=0.0,
        autodiscover=False,
        **fast_join,
    )
    app.fetch_max_wait_ms = settings.effective_fetch_wait_ms(embedded)
    return app
