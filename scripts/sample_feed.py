"""Write the sample articles to ``flashpoint.articles``, as any outside producer would.

    python scripts/sample_feed.py --broker kafka:9092 [--every 20] [--once] [FILE]

The docker-compose ``sample-feed`` service runs this so the dashboards move on first
start. It follows the contract for producers other than Flashpoint (README, "Writing
to Kafka yourself"): key = the article id, value = the article JSON in UTF-8, no
``flashpoint-*`` headers. Each round gives the articles fresh ids, URLs and publication
times and says in the body which round it is, so they are new records, not duplicates;
the detectors still see the same stories and fold the repeats.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

TOPIC = "flashpoint.articles"


def sample_articles(path: Path | None) -> list[dict[str, Any]]:
    text = (
        path.read_text(encoding="utf-8")
        if path is not None
        else (resources.files("streams") / "samples" / "wire.jsonl").read_text(encoding="utf-8")
    )
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def for_round(article: dict[str, Any], round_: int) -> dict[str, Any]:
    fresh = dict(article)
    fresh["id"] = f"{article.get('id', 'sample')}-r{round_}"
    if "url" in article:
        fresh["url"] = f"{article['url']}?round={round_}"
    fresh["published"] = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    fresh["body"] = f"{article['body']}\n\n(Sample feed, round {round_}.)"
    return fresh


async def feed(broker: str, articles: list[dict[str, Any]], every: float, once: bool) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
    for attempt in range(30):  # the broker may still be starting
        try:
            await producer.start()
            break
        except KafkaError as exc:
            print(f"sample-feed: waiting for Kafka at {broker}: {exc}", file=sys.stderr)
            await producer.stop()
            await asyncio.sleep(min(2.0 * (attempt + 1), 10.0))
            producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
    else:
        raise SystemExit(f"sample-feed: no Kafka at {broker}")
    try:
        round_ = 1
        while True:
            for article in articles:
                record = for_round(article, round_)
                await producer.send_and_wait(
                    TOPIC,
                    json.dumps(record, ensure_ascii=False).encode("utf-8"),
                    key=record["id"].encode("utf-8"),
                )
                print(f"sample-feed: round {round_}: {record['id']}", flush=True)
                if every:
                    await asyncio.sleep(every)
            if once:
                return
            round_ += 1
    finally:
        await producer.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, help="JSONL articles (default: samples)")
    parser.add_argument("--broker", required=True, help="host:port of a Kafka broker")
    parser.add_argument("--every", type=float, default=20.0, help="seconds between articles")
    parser.add_argument("--once", action="store_true", help="one round, then exit")
    args = parser.parse_args(argv)
    asyncio.run(feed(args.broker, sample_articles(args.file), args.every, args.once))
    return 0


if __name__ == "__main__":
    sys.exit(main())
