"""Silences set at run time (``flashpoint silence add``), as Alertmanager has them.

A silence is a set of equality matchers on alert fields (``rule``, ``topic``, ``severity``,
``kind``), a start and an end, and a comment. Silences are stored in a compacted Kafka
topic keyed by their id (streams/silences.py), so every worker reads every silence; an
expired one is rewritten with its end moved to the moment it was expired. This module is
the pure part: the record, parsing matchers, and the book every worker keeps in memory.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from alerts.errors import FlashpointError
from alerts.model import Alert

FIELDS = ("rule", "topic", "severity", "kind")
RETENTION_SECONDS = 5 * 86400.0
"""Expired silences are still listed (``--all``) this long, as in Alertmanager."""
MAX_COMMENT = 1000


class SilenceError(FlashpointError):
    """A silence that cannot be made as asked: a bad matcher, duration or id."""


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: dict[str, str]
    starts_at: float
    ends_at: float
    comment: str = ""
    created_by: str = ""
    updated_at: float = 0.0

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, alert: Alert) -> bool:
        return all(str(getattr(alert, name)) == value for name, value in self.matchers.items())

    def state(self, now: float) -> str:
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def expired(self, now: float) -> Silence:
        """This silence ended at ``now`` (if it had not ended already)."""
        return replace(self, ends_at=min(self.ends_at, now), updated_at=now)

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "id": self.id,
                "matchers": self.matchers,
                "starts_at": _iso(self.starts_at),
                "ends_at": _iso(self.ends_at),
                "comment": self.comment,
                "created_by": self.created_by,
                "updated_at": _iso(self.updated_at),
            },
            ensure_ascii=False,
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Silence:
        """A stored silence; ``ValueError`` (with the reason) when it is not one."""
        try:
            data = json.loads(raw)
            matchers = {str(k): str(v) for k, v in dict(data["matchers"]).items()}
            unknown = set(matchers) - set(FIELDS)
            if unknown or not matchers:
                raise ValueError(f"bad matchers {sorted(matchers)}")
            return cls(
                id=str(data["id"]),
                matchers=matchers,
                starts_at=_seconds(data["starts_at"]),
                ends_at=_seconds(data["ends_at"]),
                comment=str(data.get("comment") or ""),
                created_by=str(data.get("created_by") or ""),
                updated_at=_seconds(data.get("updated_at") or data["starts_at"]),
            )
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a silence record: {exc!r}") from None


def parse_matchers(items: Sequence[str]) -> dict[str, str]:
    """``["rule=spy-balloon", "topic=china-japan"]`` → a matcher dict; SilenceError else."""
    matchers: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not value:
            raise SilenceError(f"--match {item!r}: expected FIELD=VALUE, e.g. rule=spy-balloon")
        if name not in FIELDS:
            raise SilenceError(f"--match {item!r}: FIELD is one of {', '.join(FIELDS)}")
        if name in matchers and matchers[name] != value:
            raise SilenceError(f"--match {name} given twice with different values")
        matchers[name] = value
    if not matchers:
        raise SilenceError("a silence needs at least one --match FIELD=VALUE")
    return matchers


def new_silence(
    matchers: Mapping[str, str], duration: float, comment: str, author: str, now: float
) -> Silence:
    if duration <= 0:
        raise SilenceError("--for must be a positive duration, e.g. 2h")
    if len(comment) > MAX_COMMENT:
        raise SilenceError(f"--comment is {len(comment)} characters, limit {MAX_COMMENT}")
    return Silence(
        id=str(uuid.uuid4()),
        matchers=dict(matchers),
        starts_at=now,
        ends_at=now + duration,
        comment=comment,
        created_by=author,
        updated_at=now,
    )


@dataclass
class SilenceBook:
    """The silences a worker knows, by id; the newest record of an id wins."""

    silences: dict[str, Silence] = field(default_factory=dict)

    def apply(self, silence: Silence | None, key: str) -> None:
        """Take one record of the silences topic (None: a tombstone, the id is gone)."""
        if silence is None:
            self.silences.pop(key, None)
            return
        known = self.silences.get(silence.id)
        if known is None or silence.updated_at >= known.updated_at:
            self.silences[silence.id] = silence

    def matching(self, alert: Alert, now: float) -> Silence | None:
        """The first active silence that mutes ``alert``, if any."""
        for silence in self.silences.values():
            if silence.active(now) and silence.matches(alert):
                return silence
        return None

    def listed(self, now: float, *, everything: bool = False) -> list[Silence]:
        """Active and pending silences (and, with ``everything``, those expired within the
        retention), soonest end first."""
        shown = [
            s
            for s in self.silences.values()
            if s.state(now) != "expired" or (everything and now - s.ends_at < RETENTION_SECONDS)
        ]
        return sorted(shown, key=lambda s: (s.ends_at, s.id))

    def find(self, prefix: str) -> Silence:
        """The silence whose id is or starts with ``prefix`` (as Alertmanager's ids are long)."""
        hits = [s for s in self.silences.values() if s.id == prefix]
        hits = hits or [s for s in self.silences.values() if s.id.startswith(prefix)]
        if not hits:
            raise SilenceError(f"no silence with id {prefix!r}")
        if len(hits) > 1:
            raise SilenceError(f"id {prefix!r} is ambiguous: give more of it")
        return hits[0]


def table(silences: Iterable[Silence], now: float) -> str:
    """``flashpoint silence list`` output: one line per silence, columns aligned."""
    rows = [("ID", "STATE", "MATCHERS", "ENDS", "CREATED BY", "COMMENT")]
    for s in silences:
        matchers = ",".join(f"{k}={v}" for k, v in sorted(s.matchers.items()))
        rows.append(
            (s.id, s.state(now), matchers, _iso(s.ends_at), s.created_by or "-", s.comment or "-")
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _seconds(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
