"""``flashpoint report``: a picture of a period, drawn from the alert log (``--alerts-out``).

One panel per watch topic that had alerts: its escalation level over time as a step line
(the level each escalation alert reported, held until the next), every alert marked at its
time by kind and severity, and commitments written beside their mark. Dates are UTC. PNG,
SVG or a self-contained HTML page (the SVG plus a table of the alerts), by the file name.
"""

from __future__ import annotations

import html
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import matplotlib as mpl
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from alerts.errors import FlashpointError
from alerts.model import LEVELS

FORMATS = (".png", ".svg", ".html")
LEVEL_COLOURS = {"none": "#e8f5e9", "watch": "#fff8e1", "warning": "#ffe0b2", "critical": "#ffcdd2"}
SEVERITY_COLOURS = {"info": "#1565c0", "warning": "#ef6c00", "critical": "#c62828"}
KIND_MARKERS = {"escalation": "^", "commitment": "D", "keyword": "o", "frequency": "s"}
OTHER_MARKER = "P"
NOTE_KINDS = frozenset({"coverage"})
"""Alerts that only annotate another alert's thread: not drawn, not a reason for a panel."""
MAX_NOTE_CHARS = 70
PANEL_HEIGHT = 1.9
WIDTH = 11.0


@dataclass(frozen=True, slots=True)
class LoggedAlert:
    """The fields of one alert-log line the report draws."""

    at: datetime
    topic: str
    kind: str
    severity: str
    title: str
    level: str | None
    url: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoggedAlert:
        article = data.get("article") or {}
        level = data.get("level")
        return cls(
            at=datetime.fromisoformat(data["created_at"]).astimezone(UTC),
            topic=str(data["topic"]),
            kind=str(data["kind"]),
            severity=str(data["severity"]),
            title=str(data["title"]),
            level=level if level in LEVELS else None,
            url=article.get("url") if isinstance(article, dict) else None,
        )


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end

    def describe(self) -> str:
        fmt = "%d %b %Y %H:%M" if self.end - self.start < timedelta(days=2) else "%d %b %Y"
        return f"{self.start:{fmt}} to {self.end:{fmt}} UTC"


def read_alert_log(path: Path) -> list[LoggedAlert]:
    """Every alert in a JSONL alert log, oldest first; a bad line is an error naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FlashpointError(f"cannot read alert log {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise FlashpointError(f"{path}: not UTF-8 at byte {exc.start}") from None
    alerts = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise TypeError(f"expected an alert object, got {type(data).__name__}")
            alerts.append(LoggedAlert.from_json(data))
        except (ValueError, KeyError, TypeError) as exc:
            detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise FlashpointError(f"{path}:{number}: not an alert: {detail}") from None
    return sorted(alerts, key=lambda alert: alert.at)


def choose_period(
    alerts: Sequence[LoggedAlert], since: float | None, now: datetime | None = None
) -> Period:
    """The last ``since`` seconds up to now, or, without ``since``, the whole log."""
    if since is not None:
        end = now or datetime.now(UTC)
        return Period(end - timedelta(seconds=since), end)
    if not alerts:
        end = now or datetime.now(UTC)
        return Period(end - timedelta(days=1), end)
    start, end = alerts[0].at, alerts[-1].at
    margin = max((end - start) * 0.03, timedelta(minutes=5))
    return Period(start - margin, end + margin)


def render(alerts: Sequence[LoggedAlert], period: Period, out: Path) -> list[str]:
    """Draw the report for ``period`` into ``out``; returns the topics given a panel."""
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise FlashpointError(f"--out {out}: the name must end in {', '.join(FORMATS)}")
    topics = _topics_that_moved(alerts, period)
    figure = _figure(alerts, topics, period)
    if suffix == ".html":
        svg = _svg_text(figure)
        page = _html_page(alerts, period, svg)
        _write(out, page.encode("utf-8"))
    elif suffix == ".svg":
        _write(out, _svg_text(figure).encode("utf-8"))
    else:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110)
        _write(out, buffer.getvalue())
    return topics


def _topics_that_moved(alerts: Iterable[LoggedAlert], period: Period) -> list[str]:
    """Topics with an alert in the period, most alerted first."""
    counts: dict[str, int] = {}
    for alert in alerts:
        if alert.at in period and alert.kind not in NOTE_KINDS:
            counts[alert.topic] = counts.get(alert.topic, 0) + 1
    return sorted(counts, key=lambda topic: (-counts[topic], topic))


def _figure(alerts: Sequence[LoggedAlert], topics: list[str], period: Period) -> Figure:
    rows = max(1, len(topics))
    figure = Figure(figsize=(WIDTH, 1.2 + PANEL_HEIGHT * rows), layout="constrained")
    figure.suptitle(f"Flashpoint escalation by watch topic, {period.describe()}", fontsize=13)
    axes = figure.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    if not topics:
        _quiet_panel(axes[0], period)
        return figure
    for ax, topic in zip(axes, topics, strict=True):
        _topic_panel(ax, topic, [a for a in alerts if a.topic == topic], period)
    _legend(figure, alerts, topics, period)
    return figure


def _topic_panel(ax: Axes, topic: str, alerts: list[LoggedAlert], period: Period) -> None:
    for rank, level in enumerate(LEVELS):
        ax.axhspan(rank - 0.5, rank + 0.5, color=LEVEL_COLOURS[level], zorder=0)
    steps = level_steps(alerts, period)
    ax.step(
        [_x(at) for at, _ in steps],
        [LEVELS.index(level) for _, level in steps],
        where="post",
        color="#37474f",
        linewidth=2,
        zorder=2,
    )
    notes = 0
    for alert in alerts:
        if alert.at not in period or alert.kind in NOTE_KINDS:
            continue
        y = _level_at(alerts, alert.at)
        ax.scatter(
            [_x(alert.at)],
            [y],
            marker=KIND_MARKERS.get(alert.kind, OTHER_MARKER),
            s=70,
            color=SEVERITY_COLOURS.get(alert.severity, "#616161"),
            edgecolors="white",
            linewidths=0.8,
            zorder=3,
        )
        if alert.kind == "commitment":
            # Notes on the right half of the period read leftwards, so none runs off.
            leftwards = alert.at - period.start > (period.end - period.start) / 2
            ax.annotate(
                _shorten(alert.title),
                xy=(_x(alert.at), y),
                xytext=(-8 if leftwards else 8, 14 + 12 * (notes % 3)),
                textcoords="offset points",
                ha="right" if leftwards else "left",
                fontsize=8,
                color="#0d47a1",
                arrowprops={"arrowstyle": "-", "color": "#90a4ae", "linewidth": 0.6},
                zorder=4,
                in_layout=False,
            )
            notes += 1
    ax.set_title(topic, loc="left", fontsize=11, fontweight="bold")
    ax.set_ylim(-0.5, len(LEVELS) - 0.5 + 1.2)  # headroom for commitment notes
    ax.set_yticks(range(len(LEVELS)), list(LEVELS))
    ax.set_xlim(_x(period.start), _x(period.end))
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    formatter = mdates.ConciseDateFormatter(locator, tz=UTC)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(formatter)
    ax.grid(axis="x", color="#cfd8dc", linewidth=0.6)
    ax.tick_params(axis="both", labelsize=9)


def level_steps(alerts: Sequence[LoggedAlert], period: Period) -> list[tuple[datetime, str]]:
    """The step line of one topic's alerts: its level at the period's start (from the last
    escalation alert before it), each reported level in the period, and the level at its end."""
    steps: list[tuple[datetime, str]] = [(period.start, LEVELS[_level_at(alerts, period.start)])]
    steps += [(a.at, a.level) for a in alerts if a.level is not None and a.at in period]
    steps.append((period.end, steps[-1][1]))
    return steps


def _level_at(alerts: Sequence[LoggedAlert], moment: datetime) -> int:
    """The level the last escalation alert at or before ``moment`` reported (0 if none)."""
    level = 0
    for alert in alerts:
        if alert.at > moment:
            break
        if alert.level is not None:
            level = LEVELS.index(alert.level)
    return level


def _legend(
    figure: Figure, alerts: Sequence[LoggedAlert], topics: list[str], period: Period
) -> None:
    shown = {a.kind for a in alerts if a.topic in topics and a.at in period} - NOTE_KINDS
    handles = [_key(KIND_MARKERS.get(kind, OTHER_MARKER), "#616161") for kind in sorted(shown)]
    labels = sorted(shown)
    for severity, colour in SEVERITY_COLOURS.items():
        handles.append(_key("s", colour))
        labels.append(severity)
    figure.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8)


def _x(moment: datetime) -> float:
    """A date as matplotlib's axis number."""
    return float(mdates.date2num(moment))  # type: ignore[no-untyped-call]


def _key(marker: str, colour: str) -> Line2D:
    return Line2D([], [], marker=marker, color=colour, linestyle="none", markersize=7)


def _quiet_panel(ax: Axes, period: Period) -> None:
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        f"No watch topic had alerts between {period.describe()}.",
        ha="center",
        va="center",
        fontsize=12,
        transform=ax.transAxes,
    )


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_NOTE_CHARS else text[: MAX_NOTE_CHARS - 1].rstrip() + "…"


def _svg_text(figure: Figure) -> str:
    buffer = io.StringIO()
    with mpl.rc_context({"svg.fonttype": "none"}):  # text stays text: searchable, selectable
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _html_page(alerts: Sequence[LoggedAlert], period: Period, svg: str) -> str:
    title = f"Flashpoint escalation by watch topic, {period.describe()}"
    rows = []
    for alert in alerts:
        if alert.at not in period or alert.kind in NOTE_KINDS:
            continue
        link = (
            f'<a href="{html.escape(alert.url)}">{html.escape(alert.title)}</a>'
            if alert.url and alert.url.startswith(("http://", "https://"))
            else html.escape(alert.title)
        )
        rows.append(
            f"<tr><td>{alert.at:%Y-%m-%d %H:%M}</td><td>{html.escape(alert.topic)}</td>"
            f"<td>{html.escape(alert.kind)}</td><td>{html.escape(alert.severity)}</td>"
            f"<td>{link}</td></tr>"
        )
    svg_body = svg[svg.index("<svg") :]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}"
        "svg{max-width:100%;height:auto}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n{svg_body}\n"
        "<table><thead><tr><th>UTC</th><th>Topic</th><th>Kind</th><th>Severity</th>"
        "<th>Alert</th></tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>\n"
        "</body></html>\n"
    )


def _write(out: Path, data: bytes) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    except OSError as exc:
        raise FlashpointError(f"cannot write {out}: {exc.strerror}") from None
