"""The built-in rule types by name, and the rules of a config built from them.

The one module that knows every rule type: each type imports ``base``, and ``base`` knows
none of them, so the rules package has no import circle.
"""

from __future__ import annotations

from typing import Any

from alerts.config import models
from alerts.rules.base import Rule
from alerts.rules.commitment import CommitmentRule
from alerts.rules.escalation import EscalationRule
from alerts.rules.flatline import FlatlineRule
from alerts.rules.frequency import FrequencyRule
from alerts.rules.keyword import KeywordRule
from alerts.rules.new_term import NewTermRule
from alerts.rules.spike import SpikeRule


def build_rules(config: models.Config) -> list[Rule[Any]]:
    """The enabled rules of ``config`` as rule objects, ordered so dependants come last."""
    registry: dict[str, type[Rule[Any]]] = {
        cls.type: cls
        for cls in (
            KeywordRule,
            EscalationRule,
            CommitmentRule,
            FrequencyRule,
            SpikeRule,
            FlatlineRule,
            NewTermRule,
        )
    }
    rules = [registry[rule.type](rule) for rule in config.rules if rule.enabled]
    for rule in rules:
        if isinstance(rule, FlatlineRule):
            rule.watch = frozenset(config.watch)
    return sorted(rules, key=lambda r: r.after_others)
