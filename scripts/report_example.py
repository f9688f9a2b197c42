"""Draw docs/report-example.png: the project's sample articles through the engine at the
times they were published, then ``flashpoint report`` over the resulting alert log.

    .venv/bin/python scripts/report_example.py

The alert log is what ``flashpoint run --alerts-out`` would have written had the sample
feed arrived as it was published (a live run decides every sample within a second).
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from alerts.articles import parse_article
from alerts.config.loader import load_config
from alerts.engine import Engine, OfflineRun
from alerts.tooling.report import choose_period, read_alert_log, render

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "streams" / "samples" / "wire.jsonl"
OUT = ROOT / "docs" / "report-example.png"


def main() -> int:
    articles = [parse_article(line) for line in SAMPLES.read_text().splitlines() if line.strip()]
    articles.sort(key=lambda article: article.published or "")
    offline = OfflineRun(Engine(load_config([])))
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "alerts.jsonl"
        with log.open("w") as out:
            for article in articles:
                moment = datetime.fromisoformat(article.published or "").timestamp()
                for alert in offline.process(article, now=moment).alerts:
                    out.write(json.dumps(alert.to_dict()) + "\n")
        alerts = read_alert_log(log)
    topics = render(alerts, choose_period(alerts, None), OUT)
    print(f"{OUT.relative_to(ROOT)}: {len(alerts)} alerts, panels: {', '.join(topics)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
