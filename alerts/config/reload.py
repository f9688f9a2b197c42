"""Hot reload: pick up edited rule files while running, and never run broken ones.

A reload reads, validates and compiles the new rule set in a worker thread, then swaps it
in with one assignment, so articles in flight see either the old set or the new one. When
the new files are invalid, or loading them takes longer than ``timeout``, the last good
rules keep running, every problem is logged and ``flashpoint_config_reload_success``
drops to 0 until a good file arrives; a later edit is loaded as usual. The thread is a
daemon thread of its own: one that never finishes cannot hold up the next reload or exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Generic, TypeVar

import watchfiles

from alerts.config.loader import config_files, load_config
from alerts.config.models import Config
from alerts.errors import ConfigError
from alerts.metrics import Metrics

T = TypeVar("T")

log = logging.getLogger(__name__)


class LiveConfig(Generic[T]):
    """Holds the current compiled rule set; reload() compiles a new one off the hot path
    (asyncio.to_thread) and swaps atomically; on failure keeps the old one, logs every
    problem, sets metrics."""

    def __init__(
        self,
        paths: Sequence[Path],
        build: Callable[[Config], T],
        metrics: Metrics,
        *,
        timeout: float = 60.0,
    ) -> None:
        self.paths = [Path(p) for p in paths]
        self.timeout = timeout
        self._build = build
        self._metrics = metrics
        self._current: T | None = None
        self._config: Config | None = None
        self._fingerprint = ""
        self._lock = asyncio.Lock()

    @property
    def current(self) -> T:
        """The compiled rule set in use now."""
        if self._current is None:
            raise RuntimeError("LiveConfig.load_initial() has not run")
        return self._current

    @property
    def config(self) -> Config:
        """The validated config behind :attr:`current`."""
        if self._config is None:
            raise RuntimeError("LiveConfig.load_initial() has not run")
        return self._config

    def load_initial(self) -> T:
        """Load at start-up; a broken file, or one that takes longer than :attr:`timeout`,
        raises ConfigError so the process fails loudly."""
        log.info("loading rules from %s", ", ".join(map(str, self.paths)) or "the shipped defaults")
        fingerprint = self._read_fingerprint()
        outcome: list[tuple[Config, T] | BaseException] = []

        def target() -> None:
            try:
                outcome.append(self._load())
            except BaseException as exc:
                outcome.append(exc)

        loading = threading.Thread(target=target, name="flashpoint-rules", daemon=True)
        loading.start()
        loading.join(self.timeout)
        if not outcome:
            raise ConfigError([self._too_slow()])
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        config, built = result
        self._swap(config, built, fingerprint)
        return built

    async def reload(self) -> bool:
        """Load and compile the files again; True if the new rules are now in use."""
        async with self._lock:
            fingerprint = self._read_fingerprint()
            try:
                config, built = await asyncio.wait_for(self._load_in_thread(), self.timeout)
            except TimeoutError:
                self._failed("rules reload abandoned, keeping the last good rules", [])
                log.error("%s", self._too_slow())
                return False
            except ConfigError as exc:
                self._failed("rules reload rejected, keeping the last good rules", exc.problems)
                return False
            except Exception:
                log.exception("rules reload failed, keeping the last good rules")
                self._failed("", [])
                return False
            self._swap(config, built, fingerprint)
            log.info(
                "rules reloaded: %d rules from %s",
                len(config.rules),
                ", ".join(map(str, self.paths)) or "the shipped defaults",
            )
            return True

    async def watch(self, stop: asyncio.Event, *, debounce: float = 0.5) -> None:
        """Reload when one of our files changes on disk, or on SIGHUP, until ``stop`` is set.

        The files' directories are watched, not the files: editors save by writing a new file
        and renaming it over the old one, and Kubernetes swaps a symlink. Any change there is
        compared with the content last loaded, so only real edits to our files reload.
        """
        hangup = asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, hangup.set)
        tasks = [asyncio.create_task(self._on_hangup(hangup))]
        if self.paths:
            tasks.append(asyncio.create_task(self._on_files(stop, debounce)))
        try:
            await stop.wait()
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGHUP)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _on_hangup(self, hangup: asyncio.Event) -> None:
        while True:
            await hangup.wait()
            hangup.clear()
            log.info("SIGHUP: reloading rules")
            await self.reload()

    async def _on_files(self, stop: asyncio.Event, debounce: float) -> None:
        directories = sorted(
            {str(p.resolve() if p.is_dir() else p.resolve().parent) for p in self.paths}
        )
        try:
            async for _changes in watchfiles.awatch(
                *directories,
                stop_event=stop,
                debounce=max(1, int(debounce * 1000)),
                step=50,
                recursive=False,
                ignore_permission_denied=True,
            ):
                if self._read_fingerprint() != self._fingerprint:
                    await self.reload()
        except OSError as exc:
            log.error("cannot watch %s (%s); SIGHUP still reloads", ", ".join(directories), exc)

    def _load(self) -> tuple[Config, T]:
        config = load_config(self.paths)
        return config, self._build(config)

    async def _load_in_thread(self) -> tuple[Config, T]:
        loop = asyncio.get_running_loop()
        loaded: asyncio.Future[tuple[Config, T]] = loop.create_future()

        def deliver(result: tuple[Config, T] | None, error: BaseException | None) -> None:
            if loaded.done():  # abandoned after the time limit
                return
            if error is not None:
                loaded.set_exception(error)
            else:
                assert result is not None
                loaded.set_result(result)

        def target() -> None:
            try:
                result, error = self._load(), None
            except BaseException as exc:
                result, error = None, exc
            try:
                loop.call_soon_threadsafe(deliver, result, error)
            except RuntimeError:  # the loop closed meanwhile
                return

        threading.Thread(target=target, name="flashpoint-reload", daemon=True).start()
        return await loaded

    def _too_slow(self) -> str:
        files = ", ".join(map(str, self.paths)) or "the shipped defaults"
        return f"{files}: loading the rules took longer than {self.timeout:g}s"

    def _swap(self, config: Config, built: T, fingerprint: str) -> None:
        self._current = built
        self._config = config
        self._fingerprint = fingerprint
        self._metrics.config_reload_success.set(1)
        self._metrics.config_last_reload.set(time.time())
        self._metrics.rules_loaded.set(sum(1 for rule in config.rules if rule.enabled))

    def _failed(self, headline: str, problems: Sequence[str]) -> None:
        if headline:
            count = len(problems)
            log.error("%s (%d problem%s)", headline, count, "" if count == 1 else "s")
        for problem in problems:
            log.error("%s", problem)
        self._fingerprint = self._read_fingerprint()
        self._metrics.config_reload_success.set(0)
        self._metrics.config_reloads_failed.inc()

    def _read_fingerprint(self) -> str:
        """A digest of our files' bytes (missing files included; a directory's files as
        listed now), to skip no-op events."""
        digest = hashlib.sha256()
        for path in [*self.paths, *config_files([p for p in self.paths if p.is_dir()])]:
            if path.is_dir():
                continue
            digest.update(str(path).encode() + b"\0")
            try:
                digest.update(path.read_bytes())
            except OSError as exc:
                digest.update(f"unreadable: {exc.errno}".encode())
            digest.update(b"\0")
        return digest.hexdigest()
