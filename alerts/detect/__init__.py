"""Detectors: escalation acts, commitments, actors, near-duplicate stories."""
