"""Flashpoint's domain: articles, detection, rules, alert decisions and sinks.

Nothing here imports faust or Kafka, so every piece runs offline and is reused by
``flashpoint detect`` and ``flashpoint rules``.
"""
