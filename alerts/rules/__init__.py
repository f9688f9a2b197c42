"""Rule types: each turns an article's analysis plus its topic's state into alerts."""

from alerts.rules.base import Analysis, Rule, RuleContext
from alerts.rules.registry import build_rules

__all__ = ["Analysis", "Rule", "RuleContext", "build_rules"]
