"""A real Prometheus on loopback for tests, plus the metric names Flashpoint exports.

Prometheus and promtool come from Debian's `prometheus` package; a missing binary fails the
test with the install command rather than skipping it, so CI cannot pass by not testing.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from alerts.metrics import Metrics

_METRIC_REF = re.compile(r"(?<![\w:])(flashpoint_\w+)(?![\w:])")
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}


def require_binary(name: str, package: str = "prometheus") -> str:
    """Path of a Prometheus tool, or fail the test naming the Debian package to install."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not on PATH: apt-get install {package}", pytrace=False)
    return path


def exported_metric_names() -> set[str]:
    """Every sample name a worker can expose: all of them are declared in alerts.metrics."""
    registry = CollectorRegistry()
    Metrics(registry)
    names: set[str] = set()
    for family in registry.collect():
        names.update(family.name + suffix for suffix in _SUFFIXES[family.type])
    return names


def referenced_metric_names(expr: str) -> set[str]:
    """Flashpoint metric names a PromQL expression reads (recorded series names excluded)."""
    return set(_METRIC_REF.findall(expr))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrometheusQueryError(AssertionError):
    """Prometheus rejected a query; the message is Prometheus's own error text."""


@dataclass(frozen=True)
class PrometheusServer:
    """A running Prometheus reached through its HTTP API."""

    url: str
    log: Path

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/<path> and return its `data`, raising on an error response."""
        query = urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=5) as resp:
                body = json.load(resp)
        except urllib.error.HTTPError as exc:
            body = json.load(exc)
        if body.get("status") != "success":
            raise PrometheusQueryError(f"{body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query at the server's now; the result vector (or scalar as one sample)."""
        data = self.api("query", query=expr)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    def wait_for(
        self, expr: str, ready: Callable[[list[dict[str, Any]]], bool], timeout: float
    ) -> None:
        """Poll `expr` until `ready(result)` holds, or fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        result: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            result = self.query(expr)
            if ready(result):
                return
            time.sleep(0.2)
        pytest.fail(f"after {timeout} s, {expr!r} still returned {result!r}", pytrace=False)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"prometheus not ready after {timeout} s:\n{log.read_text()}")


@contextmanager
def run_prometheus(
    workdir: Path,
    targets: Sequence[str],
    *,
    job: str = "flashpoint",
    scrape_interval: str = "1s",
    startup_timeout: float = 20.0,
) -> Iterator[PrometheusServer]:
    """Run Prometheus on a free 127.0.0.1 port scraping `targets` (host:port) as `job`.

    Storage and logs live in `workdir`; the process is stopped, then killed if it lingers,
    when the block exits.
    """
    binary = require_binary("prometheus")
    config = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": list(targets)}]}],
    }
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    log = workdir / "prometheus.log"
    url = f"http://127.0.0.1:{_free_port()}"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address={url.removeprefix('http://')}",
                "--log.level=warn",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(url, process, log, startup_timeout)
        yield PrometheusServer(url=url, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
