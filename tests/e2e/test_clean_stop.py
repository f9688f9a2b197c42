"""Stopping ``flashpoint run`` the way a terminal does: a signal to its whole process group.

The test plays the terminal: Flashpoint is started in a session of its own and the signal
goes to that process group, as Ctrl-C would. The embedded broker must not get it (it runs
in its own session), so Flashpoint stops faust first, then the broker, quietly.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE_FEED

pytestmark = pytest.mark.e2e

BROKER_LINE = re.compile(r"embedded Kafka-protocol broker \(tansu\) on 127\.0\.0\.1:(\d+)")
UGLY = ("Traceback", "ERROR", "Task was destroyed", "Unable connect", "Failed fetch")
STOP_DEADLINE = 10.0
"""Far above a clean stop (under a second here), far below the 20 s of faust timing out."""


def _broker_pid(port: str) -> int | None:
    """The tansu process listening on ``port``, found by its command line."""
    wanted = f"tcp://127.0.0.1:{port}"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted.encode() in argv:
            return int(entry.name)
    return None


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_to_the_process_group_stops_cleanly(tmp_path: Path, signum: int) -> None:
    alerts_out, stats_out = tmp_path / "alerts.jsonl", tmp_path / "stats.json"
    log_path = tmp_path / "flashpoint.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FLASHPOINT_"))}
    env["FLASHPOINT_PARTITIONS"] = "2"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "streams.cli", "run"),
                *("--source", str(SAMPLE_FEED), "--alerts-out", str(alerts_out)),
                *("--stats-out", str(stats_out)),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while not (alerts_out.exists() and alerts_out.read_text().count("\n") >= 5):
            assert process.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "no alerts after 120 s"
            time.sleep(0.2)
        found = BROKER_LINE.search(log_path.read_text())
        assert found, log_path.read_text()[-3000:]
        broker = _broker_pid(found.group(1))
        assert broker is not None

        started = time.monotonic()
        os.killpg(process.pid, signum)
        code = process.wait(timeout=60)
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    output = log_path.read_text()
    assert code == 0, output[-3000:]
    assert took < STOP_DEADLINE, f"stop took {took:.1f}s:\n{output[-3000:]}"
    for ugly in UGLY:
        assert ugly not in output, output[-3000:]
    assert "stopping: finishing what is in flight" in output
    # The signal came mid-stream: what the embedded broker held went through before it went.
    stats = json.loads(stats_out.read_text())
    assert stats["articles"] == len(SAMPLE_FEED.read_text().splitlines())
    assert stats["alerts"] == stats["delivered"] == alerts_out.read_text().count("\n")
    assert not _alive(broker), "the embedded broker outlived flashpoint"
