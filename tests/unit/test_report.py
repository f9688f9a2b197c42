"""``flashpoint report`` draws a readable picture from an alert log."""

from __future__ import annotations

import json
import re
import struct
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.tooling.report import Period, choose_period, level_steps, read_alert_log
from streams.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"


def _alert(
    hours_ago: float, topic: str, kind: str, severity: str, title: str, **extra: Any
) -> dict[str, Any]:
    """An alert ``hours_ago`` before now; the log is written fresh for each test."""
    at = (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat().replace("+00:00", "Z")
    return {
        "id": f"{topic}-{kind}-{hours_ago}",
        "rule": kind,
        "kind": kind,
        "severity": severity,
        "topic": topic,
        "title": title,
        "summary": title,
        "evidence": [],
        "article": {"id": "a", "url": "https://news.example.org/a", "title": title},
        "created_at": at,
        **extra,
    }


def _log() -> list[dict[str, Any]]:
    return [
        # Before a 24 h window: sets where the step line starts.
        _alert(
            30, "north-sea", "escalation", "info", "Escalation on north-sea: WATCH", level="watch"
        ),
        _alert(
            20,
            "north-sea",
            "escalation",
            "warning",
            "Escalation on north-sea: WARNING",
            level="warning",
        ),
        _alert(19, "north-sea", "keyword", "warning", "Frigates shadow a survey ship"),
        _alert(12, "north-sea", "commitment", "info", "Norway: double coastal patrols by 2028"),
        _alert(
            6,
            "north-sea",
            "escalation",
            "critical",
            "Escalation on north-sea: CRITICAL",
            level="critical",
        ),
        _alert(
            2,
            "north-sea",
            "escalation",
            "info",
            "Escalation on north-sea eased to WARNING",
            level="warning",
        ),
        _alert(
            5, "andes-border", "keyword", "warning", "Troops <script>massed</script> at the pass"
        ),
        _alert(4, "lake-district", "coverage", "info", "Also reported by Fell Gazette: 2 sources"),
        _alert(40, "old-quarrel", "keyword", "warning", "Envoys trade barbs"),
    ]


@pytest.fixture
def alert_log(tmp_path: Path) -> Path:
    path = tmp_path / "alerts.jsonl"
    path.write_text("".join(json.dumps(alert) + "\n" for alert in _log()))
    return path


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _svg_texts(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def test_png_report_has_one_panel_per_topic_that_moved(
    alert_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two_topics, one_topic = tmp_path / "day.png", tmp_path / "hour.png"
    assert (
        main(["report", "--alerts", str(alert_log), "--since", "24h", "--out", str(two_topics)])
        == 0
    )
    printed = capsys.readouterr().out
    assert "north-sea, andes-border" in printed
    assert "lake-district" not in printed and "old-quarrel" not in printed
    assert (
        main(["report", "--alerts", str(alert_log), "--since", "3h", "--out", str(one_topic)]) == 0
    )
    assert "north-sea" in capsys.readouterr().out

    width, height = _png_size(two_topics.read_bytes())
    one_width, one_height = _png_size(one_topic.read_bytes())
    assert width == one_width >= 1000
    assert height > one_height  # a second panel makes the picture taller
    assert two_topics.stat().st_size > 20_000  # drawn, not blank


def test_svg_report_names_its_panels_period_and_commitments(
    alert_log: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.svg"
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    assert main(["report", "--alerts", str(alert_log), "--since", "24h", "--out", str(out)]) == 0
    after = datetime.now(UTC)
    texts = _svg_texts(out)
    assert "north-sea" in texts and "andes-border" in texts
    assert "lake-district" not in texts and "old-quarrel" not in texts
    (title,) = [t for t in texts if t.startswith("Flashpoint escalation by watch topic")]
    period = re.search(r", (.+) to (.+) UTC$", title)
    assert period, title
    start, end = (
        datetime.strptime(p, "%d %b %Y %H:%M").replace(tzinfo=UTC) for p in period.groups()
    )
    assert before <= end <= after
    assert end - start == timedelta(hours=24)
    assert "Norway: double coastal patrols by 2028" in texts
    assert {"none", "watch", "warning", "critical"} <= set(texts)


def test_html_report_embeds_the_picture_and_lists_alerts_escaped(
    alert_log: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    assert main(["report", "--alerts", str(alert_log), "--since", "24h", "--out", str(out)]) == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 1 and "north-sea" in page
    assert "<script>" not in page and "&lt;script&gt;massed" in page
    assert page.count("<tr><td>") == 6  # the alerts in the window, without the coverage note


def test_step_line_starts_at_the_level_reported_before_the_period(alert_log: Path) -> None:
    alerts = [a for a in read_alert_log(alert_log) if a.topic == "north-sea"]
    now = datetime.now(UTC)
    period = choose_period(alerts, 24 * 3600, now=now)
    assert [level for _, level in level_steps(alerts, period)] == [
        "watch",
        "warning",
        "critical",
        "warning",
        "warning",
    ]
    quiet = Period(now - timedelta(hours=1), now)
    assert [level for _, level in level_steps(alerts, quiet)] == ["warning", "warning"]


def test_an_empty_period_still_draws_a_picture_saying_so(alert_log: Path, tmp_path: Path) -> None:
    out = tmp_path / "quiet.svg"
    assert main(["report", "--alerts", str(alert_log), "--since", "30m", "--out", str(out)]) == 0
    assert any(t.startswith("No watch topic had alerts") for t in _svg_texts(out))


def test_bad_input_is_a_clear_error(
    alert_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--alerts", str(alert_log), "--out", str(tmp_path / "r.jpg")]) == 2
    assert "must end in .png, .svg, .html" in capsys.readouterr().err
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(_log()[0]) + "\n{not json\n")
    assert main(["report", "--alerts", str(broken), "--out", str(tmp_path / "r.png")]) == 2
    assert f"{broken}:2: not an alert" in capsys.readouterr().err
    assert not (tmp_path / "r.png").exists()
    with pytest.raises(SystemExit) as exited:
        main(["report", "--alerts", str(alert_log), "--since", "soon", "--out", "r.png"])
    assert exited.value.code == 2
