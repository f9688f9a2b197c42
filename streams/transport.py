"""faust's aiokafka transport with the consumer's fetch wait as a setting.

faust hard-codes ``fetch_max_wait_ms=1500``. Kafka answers a fetch as soon as data arrives,
so that only costs idle CPU; tansu answers only when the wait runs out, so every hop would
cost up to 1.5 s. ``FlashpointApp`` plugs this transport in with ``fetch_max_wait_ms``
from the settings (small for the embedded broker).
"""

from __future__ import annotations

from typing import Any

import aiokafka
from faust.transport.drivers import aiokafka as faust_aiokafka


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        app: Any = self.app  # a streams.app.FlashpointApp
        wait_ms = int(app.fetch_max_wait_ms)
        # AIOKafkaConsumer keeps the constructor argument here until start() builds its
        # Fetcher; fail loudly if an upgrade renames it rather than silently keep 1500 ms.
        if not hasattr(consumer, "_fetch_max_wait_ms"):
            raise RuntimeError("aiokafka changed: cannot set the consumer fetch wait")
        consumer._fetch_max_wait_ms = wait_ms
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    Consumer = _Consumer
