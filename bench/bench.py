"""``make bench``: detect throughput, pipeline throughput and latency, and memory, each set
against a baseline measured in the same run.

Every part runs in its own child process (``bench.py _part NAME WORKDIR``) so that peak RSS
belongs to that part alone; the parent builds the corpus once, runs the parts in order,
prints the table and, with ``--json FILE``, writes every figure. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WIRE = ROOT / "streams" / "samples" / "wire.jsonl"
PROBE = "flashpointbench"
"""Marker put in every bench title; the bench config's keyword rule alerts on it, so every
new story raises one alert and its delivery time can be seen in ``--alerts-out``."""
PROBE_CONFIG = f"""\
rules:
  - {{name: bench-probe, type: keyword, phrases: [{PROBE}], severity: info}}
sinks:
  discard: {{type: jsonl, path: {os.devnull}}}
routes:
  - sinks: [discard]
"""
MIN_BYTES, MAX_BYTES, MAX_LINES = 1024, 4096, 3
DETECT_PASSES = 5
PIPELINE_ARTICLES = 2000
SPACED_ARTICLES = 30
SPACING_SECONDS = 0.1
PARTITIONS = 2
FAST_WAIT_MS, FAUST_WAIT_MS = 10, 1500
APP_ID = "flashpoint"
TARGET_PER_SECOND = 2000.0
BASE_NOW = 1_790_000_000.0
RULE_COUNTS = (10, 100, 1000, 10000)
MATCHER_PASSES = 3
NAIVE_COUNTS = (10, 100, 1000)
NAIVE_ARTICLES = 300
"""The naive loop runs over the first articles only: at 1,000 rules it is that slow."""
DETECT_PROCESS_COPIES = 10
"""``flashpoint detect`` reads the corpus ten times over, so start-up does not swamp it."""
STEADY_RATE = 200.0
JSON = {"Content-Type": "application/json"}
STEADY_ARTICLES = 1000
NEW_STORY_EVERY = 5
BURST_ARTICLES = 50_000
BURST_PROBES = 8
BURST_PROBE_SPACING = 0.5
SCALE_ARTICLES = 3000
REBALANCE_SETTLE_SECONDS = 4.0
OUTPUT = ROOT / ".bench"
_WORD = re.compile(r"\w+")
Result = dict[str, Any]


# ---------------------------------------------------------------- corpus (parent process)


def lee_texts() -> list[str]:
    """Lee corpus lines joined 1-3 at a time into 1-4 KB texts (never committed, read here)."""
    from gensim.test.utils import datapath

    lines = [s for s in Path(datapath("lee_background.cor")).read_text().splitlines() if s]
    texts: list[str] = []
    group: list[str] = []
    for line in lines:
        size = sum(len(s) + 1 for s in group)
        if group and size + len(line) > MAX_BYTES:
            texts.append(" ".join(group))
            group = []
        group.append(line.strip())
        if sum(len(s) + 1 for s in group) >= MIN_BYTES or len(group) == MAX_LINES:
            texts.append(" ".join(group))
            group = []
    if group:
        texts.append(" ".join(group))
    return [t for t in texts if MIN_BYTES <= len(t.encode()) <= MAX_BYTES]


def corpus() -> list[dict[str, Any]]:
    """The Lee texts as articles (title: first words) followed by the sample wire feed."""
    articles: list[dict[str, Any]] = []
    for text in lee_texts():
        words = text.split()
        articles.append({"title": " ".join(words[:10]), "body": text, "source": "Lee corpus"})
    for line in WIRE.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            articles.append({k: record[k] for k in ("title", "body", "source") if k in record})
    for n, article in enumerate(articles):
        article["id"] = f"bench-{n:05d}"
    return articles


def numbered(articles: Sequence[dict[str, Any]], count: int, start: int = 0) -> list[bytes]:
    """``count`` records cycling through ``articles``, each with its own id and content."""
    records = []
    for n in range(start, start + count):
        article = dict(articles[n % len(articles)])
        article["id"] = f"bench-{n:05d}"
        article["title"] = f"{PROBE} {n:05d}: {article['title']}"
        records.append(json.dumps(article, ensure_ascii=False).encode())
    return records


def distinct_stories(articles: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Articles no two of which Flashpoint would fold into one story (so each alerts)."""
    from alerts.detect.nearduplicates import is_near_duplicate, signature

    kept: list[tuple[str, dict[str, Any]]] = []
    for article in articles:
        sig = signature(f"{article['title']}\n\n{article['body']}")
        if not any(is_near_duplicate(sig, other) for other, _ in kept):
            kept.append((sig, article))
    return [article for _, article in kept]


# ---------------------------------------------------------------- measuring helpers


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0-100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def distribution(seconds: Sequence[float]) -> Result:
    return {
        "count": len(seconds),
        "p50_ms": percentile(seconds, 50) * 1000,
        "p95_ms": percentile(seconds, 95) * 1000,
        "p99_ms": percentile(seconds, 99) * 1000,
        "max_ms": max(seconds) * 1000 if seconds else float("nan"),
    }


def peak_rss_mb() -> float:
    """This process's peak resident set size, MB.

    VmHWM when /proc has it: Linux carries ``ru_maxrss`` across fork and exec, so a child
    of a big parent would report the parent's size; else getrusage (KiB on Linux).
    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else float("nan")


def children_peak_rss_mb() -> dict[int, float]:
    """Peak RSS (VmHWM) of this process's live children, read from /proc."""
    found: dict[int, float] = {}
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            status = Path(f"/proc/{pid}/status").read_text()
            match = re.search(r"VmHWM:\s+(\d+) kB", status)
            if match:
                found[int(pid)] = int(match.group(1)) / 1024
    return found


def pin_one_core() -> int | None:
    """Keep this process on one CPU, so "one core" is literal; the CPU used, if pinning works."""
    try:
        cpu = max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):
        return None
    return cpu


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---------------------------------------------------------------- part: detect (one core)


def touch(raw: bytes) -> int:
    """The baseline: what merely reading an article costs (decode, lower-case, word count)."""
    data = json.loads(raw)
    text = f"{data['title']}\n\n{data['body']}".lower()
    return len(_WORD.findall(text))


def part_detect(workdir: Path) -> Result:
    """Engine build time, then interleaved passes of baseline, parse, analyze and full detect."""
    pinned = pin_one_core()
    records = [line.encode() for line in (workdir / "corpus.jsonl").read_text().splitlines()]
    from alerts.articles import parse_article
    from alerts.config.loader import load_config
    from alerts.engine import Engine, OfflineRun

    t0 = time.perf_counter()
    config = load_config()
    t1 = time.perf_counter()
    engine = Engine(config)
    t2 = time.perf_counter()
    warm_load, warm_build = [], []
    for _ in range(5):
        a = time.perf_counter()
        again = load_config()
        b = time.perf_counter()
        Engine(again)
        warm_load.append(b - a)
        warm_build.append(time.perf_counter() - b)
    from alerts.config.models import EscalationLevels
    from alerts.detect.escalation import EscalationDetector

    lexicon = []
    for _ in range(3):
        a = time.perf_counter()
        EscalationDetector(EscalationLevels())
        lexicon.append(time.perf_counter() - a)
    build = {
        "escalation_detector_ms": statistics.median(lexicon) * 1000,
        "load_config_first_ms": (t1 - t0) * 1000,
        "engine_first_ms": (t2 - t1) * 1000,
        "load_config_ms": statistics.median(warm_load) * 1000,
        "engine_ms": statistics.median(warm_build) * 1000,
    }
    articles = [parse_article(raw) for raw in records]
    base_now = 1_790_000_000.0

    def parse(i: int) -> object:
        return parse_article(records[i])

    def analyze(i: int) -> object:
        return engine.analyze(articles[i])

    def detect_row(offline: OfflineRun) -> Callable[[int], object]:
        def full(i: int) -> object:
            result = offline.process(parse_article(records[i]), now=base_now + 60.0 * i)
            return json.dumps(result.to_dict(), ensure_ascii=False)

        return full

    def offline_row(offline: OfflineRun) -> Callable[[int], object]:
        def process(i: int) -> object:
            return offline.process(articles[i], now=base_now + 60.0 * i)

        return process

    rows: dict[str, Callable[[], Callable[[int], object]]] = {
        "baseline": lambda: lambda i: touch(records[i]),
        "parse_article": lambda: parse,
        "engine.analyze": lambda: analyze,
        "OfflineRun.process": lambda: offline_row(OfflineRun(engine)),
        "flashpoint detect": lambda: detect_row(OfflineRun(engine)),
    }
    samples: dict[str, list[float]] = {name: [] for name in rows}
    rates: dict[str, list[float]] = {name: [] for name in rows}
    cpu_rates: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(DETECT_PASSES):
        for name, make in rows.items():
            step = make()  # a fresh OfflineRun (empty state) per pass
            times = samples[name]
            start, start_cpu = time.perf_counter(), time.process_time()
            for i in range(len(records)):
                a = time.perf_counter_ns()
                step(i)
                times.append((time.perf_counter_ns() - a) / 1e9)
            cpu = time.process_time() - start_cpu
            rates[name].append(len(records) / (time.perf_counter() - start))
            cpu_rates[name].append(len(records) / cpu if cpu > 0 else float("nan"))
    size = sum(len(r) for r in records)
    figures = {}
    for name in rows:
        per_second = statistics.median(rates[name])
        figures[name] = {
            "articles_per_s": per_second,
            "articles_per_cpu_s": statistics.median(cpu_rates[name]),
            "mb_per_s": per_second * size / len(records) / 1e6,
            "p50_us": percentile(samples[name], 50) * 1e6,
            "p99_us": percentile(samples[name], 99) * 1e6,
        }
    return {
        "cpu": pinned,
        "articles": len(records),
        "passes": DETECT_PASSES,
        "bytes": size,
        "min_bytes": min(map(len, records)),
        "max_bytes": max(map(len, records)),
        "build": build,
        "rows": figures,
        "peak_rss_mb": peak_rss_mb(),
    }


def part_touch(workdir: Path) -> Result:
    """Memory baseline: the baseline loop alone, over the same records, in a fresh process."""
    pin_one_core()
    records = [line.encode() for line in (workdir / "corpus.jsonl").read_text().splitlines()]
    words = 0
    for _ in range(DETECT_PASSES):
        words += sum(touch(raw) for raw in records)
    return {"words": words, "peak_rss_mb": peak_rss_mb()}


# ---------------------------------------------------------------- part: Kafka baseline


async def _kafka_hops(
    bootstrap: str, payloads: Sequence[tuple[bytes, bytes]], hops: int, wait_ms: int, gap: float
) -> Result:
    """Send payloads through ``hops`` topics (consume, forward) and time each end to end."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    tag = f"{hops}-{wait_ms}-{int(gap * 1000)}"
    topics = [f"bench.{tag}.{n}" for n in range(hops)]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
    await admin.close()

    def consumer(topic: str) -> Any:
        c = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            fetch_max_wait_ms=wait_ms,
            auto_offset_reset="earliest",
        )
        return c

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks="all")
    forwarder = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    consumers = [consumer(t) for t in topics]
    await producer.start()
    await forwarder.start()
    for c, topic in zip(consumers, topics, strict=True):
        await c.start()
        c.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
    sent: dict[bytes, float] = {}
    arrived: dict[bytes, float] = {}
    done = asyncio.Event()

    async def stage(n: int) -> None:
        c = consumers[n]
        while not done.is_set():
            batch = await c.getmany(timeout_ms=200)
            for messages in batch.values():
                for m in messages:
                    if n + 1 < hops:
                        await forwarder.send(topics[n + 1], m.value, key=m.key)
                    else:
                        arrived[m.key] = time.time()
                        if len(arrived) == len(payloads):
                            done.set()

    tasks = [asyncio.create_task(stage(n)) for n in range(hops)]
    start = time.time()
    for key, value in payloads:
        sent[key] = time.time()
        await producer.send_and_wait(topics[0], value, key=key)
        if gap:
            await asyncio.sleep(gap)
    try:
        await asyncio.wait_for(done.wait(), 60.0)
    finally:
        done.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for c in consumers:
            await c.stop()
        await forwarder.stop()
        await producer.stop()
    end = max(arrived.values())
    return {
        "hops": hops,
        "fetch_wait_ms": wait_ms,
        "messages": len(payloads),
        "articles_per_s": len(payloads) / (end - start),
        "latency": distribution([arrived[k] - sent[k] for k in arrived]),
    }


def part_kafka(workdir: Path) -> Result:
    """Raw aiokafka over the same embedded broker: the floor the pipeline is compared with."""
    from streams.broker import EmbeddedBroker

    records = (workdir / "pipeline.jsonl").read_bytes().splitlines()
    payloads = [(json.loads(r)["id"].encode(), r) for r in records]
    spaced = [(json.loads(r)["id"].encode(), r) for r in numbered_spaced(workdir)[1:]]

    async def main() -> Result:
        async with EmbeddedBroker() as broker:
            runs: Result = {
                "one_hop": await _kafka_hops(broker.bootstrap, payloads, 1, FAST_WAIT_MS, 0.0),
                "three_hops": await _kafka_hops(broker.bootstrap, payloads, 3, FAST_WAIT_MS, 0.0),
                "spaced_10ms": await _kafka_hops(
                    broker.bootstrap, spaced, 3, FAST_WAIT_MS, SPACING_SECONDS
                ),
                "spaced_1500ms": await _kafka_hops(
                    broker.bootstrap, spaced, 3, FAUST_WAIT_MS, SPACING_SECONDS
                ),
            }
            runs["broker_peak_rss_mb"] = max(children_peak_rss_mb().values(), default=0.0)
            return runs

    result = asyncio.run(main())
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def numbered_spaced(workdir: Path) -> list[bytes]:
    return (workdir / "spaced.jsonl").read_bytes().splitlines()


# ---------------------------------------------------------------- part: the pipeline


class AlertTail(threading.Thread):
    """Watches the ``--alerts-out`` file and notes when each article's first alert lands."""

    def __init__(self, path: Path, interval: float = 0.002) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.interval = interval
        self.delivered: dict[str, float] = {}
        self.lines = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        position, pending = 0, b""
        while True:
            stopping = self._stop_event.is_set()
            try:
                with self.path.open("rb") as f:
                    f.seek(position)
                    chunk = f.read()
            except FileNotFoundError:
                chunk = b""
            if chunk:
                now = time.time()
                position += len(chunk)
                *complete, pending = (pending + chunk).split(b"\n")
                for line in complete:
                    self.lines += 1
                    article = json.loads(line)["article"]["id"]
                    self.delivered.setdefault(article, now)
            if stopping:
                return
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


async def _ingest_times(broker_url: str) -> dict[str, float]:
    """Each article's ingest stamp, read back from both lanes of flashpoint.articles."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from streams.agents import INGESTED_AT_HEADER
    from streams.topics import ARTICLES, ARTICLES_GLOBAL, bootstrap_servers

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers(broker_url),
        group_id=None,
        fetch_max_wait_ms=FAST_WAIT_MS,
        auto_offset_reset="earliest",
    )
    partitions = [
        TopicPartition(topic, p) for topic in (ARTICLES, ARTICLES_GLOBAL) for p in range(PARTITIONS)
    ]
    await consumer.start()
    consumer.assign(partitions)
    try:
        ends = await consumer.end_offsets(partitions)
        times: dict[str, float] = {}
        while len(times) < sum(ends.values()):
            batch = await consumer.getmany(timeout_ms=1000)
            if not batch:
                break
            for messages in batch.values():
                for m in messages:
                    headers = dict(m.headers)
                    times[m.key.decode()] = float(headers[INGESTED_AT_HEADER])
        return times
    finally:
        await consumer.stop()


async def _topic_span(broker_url: str, topic: str) -> Result:
    """Records in ``topic`` and the timestamps of its first and last one (send times)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from streams.topics import bootstrap_servers

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers(broker_url),
        group_id=None,
        fetch_max_wait_ms=FAST_WAIT_MS,
        auto_offset_reset="earliest",
    )
    partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    await consumer.start()
    consumer.assign(partitions)
    try:
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        stamps: list[float] = []
        sizes: list[int] = []
        for tp in partitions:
            for offset in {starts[tp], ends[tp] - 1}:
                if starts[tp] <= offset < ends[tp]:
                    consumer.seek(tp, offset)
                    record = await asyncio.wait_for(consumer.getone(tp), 10.0)
                    stamps.append(record.timestamp / 1000)
                    if offset == ends[tp] - 1:
                        sizes.append(len(record.value or b""))
        return {
            "records": sum(ends[tp] - starts[tp] for tp in partitions),
            "first": min(stamps, default=float("nan")),
            "last": max(stamps, default=float("nan")),
            "last_record_bytes": max(sizes, default=0),
        }
    finally:
        await consumer.stop()


def _scrape_buckets(port: int) -> dict[float, float]:
    """The alerts-out sink's cumulative flashpoint_pipeline_latency_seconds buckets."""
    from urllib.request import urlopen

    from prometheus_client.parser import text_string_to_metric_families

    with urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "flashpoint_pipeline_latency_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket") and sample.labels.get("sink") == "alerts-out":
                buckets[float(sample.labels["le"])] = sample.value
    return buckets


def bucket_quantiles(before: dict[float, float], after: dict[float, float]) -> Result:
    """p50/p95/p99 upper bounds of what was observed between two scrapes."""
    buckets = {le: count - before.get(le, 0.0) for le, count in after.items()}
    total = buckets.get(float("inf"), 0.0)
    bounds = sorted(buckets)

    def upper(q: float) -> float:
        return next((b for b in bounds if buckets[b] >= q / 100 * total), float("nan"))

    return {
        "count": int(total),
        "p50_le_ms": upper(50) * 1000,
        "p95_le_ms": upper(95) * 1000,
        "p99_le_ms": upper(99) * 1000,
    }


def _run_options(workdir: Path, broker_url: str | None, wait_ms: int, **more: Any) -> Any:
    from streams.runner import RunOptions
    from streams.settings import Settings

    config = workdir / "probe.yaml"
    config.write_text(PROBE_CONFIG)
    return RunOptions(
        config=[str(config)],
        broker=broker_url,
        settings=Settings(
            partitions=PARTITIONS,
            fetch_max_wait_ms=wait_ms,
            fast_rebalance=True,  # the broker is a tansu of the bench's own, as in embedded mode
            shutdown_timeout=10.0,
        ),
        **more,
    )


def part_pipeline(workdir: Path) -> Result:
    """N articles from a file through ``run(--drain)``: end-to-end rate and latency."""
    from streams.broker import EmbeddedBroker
    from streams.runner import run
    from streams.topics import ARTICLES, ARTICLES_GLOBAL, all_topics

    feed = workdir / "pipeline.jsonl"
    alerts_out = workdir / "pipeline-alerts.jsonl"
    stats_out = workdir / "pipeline-stats.json"

    async def main() -> Result:
        async with EmbeddedBroker() as broker:
            tail = AlertTail(alerts_out)
            tail.start()
            options = _run_options(
                workdir,
                broker.url,
                FAST_WAIT_MS,
                sources=[str(feed)],
                drain=True,
                alerts_out=str(alerts_out),
                stats_out=str(stats_out),
            )
            started = time.time()
            code = await run(options)
            wall = time.time() - started
            tail.stop()
            if code != 0:
                raise RuntimeError(f"run exited {code}")
            ingested = await _ingest_times(broker.url)
            spans = {topic: await _topic_span(broker.url, topic) for topic in all_topics(APP_ID)}
            broker_rss = max(children_peak_rss_mb().values(), default=0.0)
        first, last_in = min(ingested.values()), max(ingested.values())
        last_out = max([*tail.delivered.values(), *(s["last"] for s in spans.values())])
        for span in spans.values():
            span["first"] -= first
            span["last"] -= first
        latencies = [t - ingested[a] for a, t in tail.delivered.items() if a in ingested]
        outputs = [
            span
            for topic, span in spans.items()
            if span["records"] and topic not in (ARTICLES, ARTICLES_GLOBAL)
        ]
        worked_from = min(span["first"] for span in outputs) + first
        return {
            "articles": len(ingested),
            "backlog_articles_per_s": len(ingested) / (last_out - worked_from),
            "alerted_articles": len(latencies),
            "alert_lines": tail.lines,
            "stats": json.loads(stats_out.read_text()),
            "wall_s": wall,
            "started_s": first - started,
            "topics": spans,
            "ingest_per_s": len(ingested) / (last_in - first),
            "articles_per_s": len(ingested) / (last_out - first),
            "window_s": last_out - first,
            "latency": distribution(latencies),
            "broker_peak_rss_mb": broker_rss,
        }

    result = asyncio.run(main())
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def part_spaced(workdir: Path, wait_ms: int) -> Result:
    """Articles POSTed one at a time, 100 ms apart, to a warm pipeline: latency.

    ``run`` starts its own embedded broker here, exactly as ``flashpoint run`` does.
    """
    from aiohttp import ClientSession

    from streams.runner import run

    records = numbered_spaced(workdir)
    warmup, spaced = records[0], records[1:]
    alerts_out = workdir / f"spaced-{wait_ms}-alerts.jsonl"
    listen = free_port()
    port = free_port()

    async def main() -> Result:
        tail = AlertTail(alerts_out)
        tail.start()
        options = _run_options(
            workdir,
            None,
            wait_ms,
            alerts_out=str(alerts_out),
            listen=f"127.0.0.1:{listen}",
            metrics_port=port,
        )
        started = time.time()
        running = asyncio.create_task(run(options))
        url = f"http://127.0.0.1:{listen}/articles"
        sent: dict[str, float] = {}
        async with ClientSession() as http:
            await _post_until_accepted(http, url, warmup, running)
            warm_id = json.loads(warmup)["id"]
            while warm_id not in tail.delivered:
                if running.done() or time.time() - started > 90:
                    raise RuntimeError("the pipeline did not deliver the warm-up alert")
                await asyncio.sleep(0.01)
            ready = time.time() - started
            before = _scrape_buckets(port)
            for record in spaced:
                sent[json.loads(record)["id"]] = time.time()
                async with http.post(url, data=record, headers=JSON) as response:
                    response.raise_for_status()
                await asyncio.sleep(SPACING_SECONDS)
        deadline = time.time() + 30
        while True:
            if all(i in tail.delivered for i in sent) or time.time() > deadline:
                break
            await asyncio.sleep(0.01)
        histogram = bucket_quantiles(before, _scrape_buckets(port))
        os.kill(os.getpid(), signal.SIGTERM)  # the graceful stop `flashpoint run` obeys
        code = await running
        tail.stop()
        if code != 0:
            raise RuntimeError(f"run exited {code}")
        latencies = [tail.delivered[i] - t for i, t in sent.items() if i in tail.delivered]
        return {
            "fetch_wait_ms": wait_ms,
            "articles": len(sent),
            "ready_s": ready,
            "latency": distribution(latencies),
            "histogram": histogram,
        }

    result = asyncio.run(main())
    result["peak_rss_mb"] = peak_rss_mb()
    return result


# ---------------------------------------------------------------- part: rules at scale


def _bench_articles(workdir: Path) -> list[Any]:
    from alerts.articles import parse_article

    lines = (workdir / "corpus.jsonl").read_text().splitlines()
    return [parse_article(line) for line in lines]


def _naive_pattern(phrases: Sequence[str]) -> re.Pattern[str]:
    """What a rule costs when each rule is its own Python regex: whole words, any case."""
    words = (r"[\s\-]+".join(re.escape(w) for w in phrase.split()) for phrase in phrases)
    return re.compile(r"\b(?:" + "|".join(words) + r")\b", re.IGNORECASE)


def part_matcher(workdir: Path) -> Result:
    """MB/s of article text through analyze + decide against generated keyword rule sets,
    the naive loop over one regex per rule, and the reload time of 10,000 rules."""
    cpu = pin_one_core()
    from alerts.config.loader import load_config
    from alerts.config.models import KeywordRule
    from alerts.engine import Engine, OfflineRun

    articles = _bench_articles(workdir)
    size = sum(len(a.text.encode()) for a in articles)

    def throughput(engine: Any) -> Result:
        cpu_rates, wall_rates = [], []
        for _ in range(MATCHER_PASSES):
            run = OfflineRun(engine)
            start, start_cpu = time.perf_counter(), time.process_time()
            for n, article in enumerate(articles):
                run.process(article, now=BASE_NOW + 60.0 * n)
            cpu_rates.append(size / 1e6 / (time.process_time() - start_cpu))
            wall_rates.append(size / 1e6 / (time.perf_counter() - start))
        matched = sum(1 for a in articles if engine.analyze(a).keyword_matches)
        return {
            "mb_per_cpu_s": statistics.median(cpu_rates),
            "mb_per_s": statistics.median(wall_rates),
            "matched_share": matched / len(articles),
        }

    keyword_only: Result = {}
    with_defaults: Result = {}
    for count in RULE_COUNTS:
        path = workdir / f"rules-{count}.yaml"
        started = time.perf_counter()
        engine = Engine(load_config([path], include_defaults=False))
        keyword_only[str(count)] = throughput(engine) | {"build_s": time.perf_counter() - started}
        if count in (RULE_COUNTS[0], RULE_COUNTS[-1]):
            with_defaults[str(count)] = throughput(Engine(load_config([path])))
    naive: Result = {}
    subset = articles[:NAIVE_ARTICLES]
    subset_size = sum(len(a.text.encode()) for a in subset)
    for count in NAIVE_COUNTS:
        rules = load_config([workdir / f"rules-{count}.yaml"], include_defaults=False).rules
        patterns = [_naive_pattern(r.phrases) for r in rules if isinstance(r, KeywordRule)]
        start_cpu = time.process_time()
        hits = 0
        for article in subset:
            text = article.text
            for pattern in patterns:
                hits += sum(1 for _ in pattern.finditer(text))
        naive[str(count)] = {
            "mb_per_cpu_s": subset_size / 1e6 / (time.process_time() - start_cpu),
            "hits": hits,
        }
    big = [workdir / f"rules-{RULE_COUNTS[-1]}.yaml"]
    Engine(load_config(big))  # a running worker has built once; reload then reuses the lexicon
    loads, builds = [], []
    for _ in range(3):
        a = time.perf_counter()
        config = load_config(big)
        b = time.perf_counter()
        Engine(config)
        loads.append(b - a)
        builds.append(time.perf_counter() - b)
    return {
        "cpu": cpu,
        "articles": len(articles),
        "bytes": size,
        "keyword_only": keyword_only,
        "with_defaults": with_defaults,
        "naive": naive,
        "naive_articles": len(subset),
        "reload": {
            "load_config_ms": statistics.median(loads) * 1000,
            "engine_ms": statistics.median(builds) * 1000,
            "total_ms": statistics.median([x + y for x, y in zip(loads, builds, strict=True)])
            * 1000,
        },
    }


def part_rules_rss(workdir: Path, count: int) -> Result:
    """Peak RSS of a process holding the shipped rules plus ``count`` generated ones."""
    from alerts.config.loader import load_config
    from alerts.engine import Engine, OfflineRun

    articles = _bench_articles(workdir)
    engine = Engine(load_config([workdir / f"rules-{count}.yaml"]))
    run = OfflineRun(engine)
    for n, article in enumerate(articles):
        run.process(article, now=BASE_NOW + 60.0 * n)
    return {"rules": count, "peak_rss_mb": peak_rss_mb()}


def part_detect_process(workdir: Path) -> Result:
    """``flashpoint detect`` as people run it, on one core: start-up, then the rate."""
    cpu = max(os.sched_getaffinity(0))
    command = [str(Path(sys.executable).parent / "flashpoint"), "detect"]
    empty = workdir / "empty.jsonl"
    empty.write_text("")
    lines = (workdir / "corpus.jsonl").read_text().splitlines()
    corpus_file = workdir / "detect.jsonl"
    with corpus_file.open("w") as out:
        for n in range(DETECT_PROCESS_COPIES * len(lines)):
            record = json.loads(lines[n % len(lines)])
            record["id"] = f"detect-{n:05d}"
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    count = DETECT_PROCESS_COPIES * len(lines)

    def timed(path: Path) -> tuple[float, float]:
        """Wall-clock and CPU seconds (user + system) of one run."""
        started = time.perf_counter()
        child = subprocess.Popen(
            [*command, str(path)],
            stdout=subprocess.DEVNULL,
            cwd=ROOT,
            preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
        )
        _, status, usage = os.wait4(child.pid, 0)
        if status != 0:
            raise RuntimeError(f"flashpoint detect exited with status {status}")
        return time.perf_counter() - started, usage.ru_utime + usage.ru_stime

    startups = [timed(empty) for _ in range(3)]
    totals = [timed(corpus_file) for _ in range(3)]
    startup = statistics.median(w for w, _ in startups)
    total = statistics.median(w for w, _ in totals)
    startup_cpu = statistics.median(c for _, c in startups)
    total_cpu = statistics.median(c for _, c in totals)
    return {
        "cpu": cpu,
        "articles": count,
        "startup_s": startup,
        "total_s": total,
        "startup_cpu_s": startup_cpu,
        "total_cpu_s": total_cpu,
        "articles_per_wall_s": count / (total - startup),
        "articles_per_s": count / (total_cpu - startup_cpu),
    }


def part_bare_faust(workdir: Path) -> Result:
    """A faust agent that only reads the pipeline's articles off the same kind of broker:
    the framework's own limit, against which the pipeline is set."""
    from aiokafka import AIOKafkaProducer

    from streams.app import create_app
    from streams.broker import EmbeddedBroker
    from streams.settings import Settings
    from streams.topics import ARTICLES, bootstrap_servers, ensure_topics

    records = (workdir / "pipeline.jsonl").read_bytes().splitlines()

    async def main() -> Result:
        async with EmbeddedBroker() as broker:
            await ensure_topics(broker.url, "bench-bare", PARTITIONS)
            producer = AIOKafkaProducer(
                bootstrap_servers=bootstrap_servers(broker.url), linger_ms=0, acks="all"
            )
            await producer.start()
            sent = [
                await producer.send(ARTICLES, r, key=json.loads(r)["id"].encode()) for r in records
            ]
            await asyncio.gather(*sent)
            await producer.stop()
            settings = Settings(
                app_id="bench-bare",
                partitions=PARTITIONS,
                fetch_max_wait_ms=FAST_WAIT_MS,
                fast_rebalance=True,
            )
            app = create_app(settings, broker.url, embedded=True)
            topic = app.topic(
                ARTICLES,
                key_type=bytes,
                value_type=bytes,
                key_serializer="raw",
                value_serializer="raw",
                partitions=PARTITIONS,
            )
            seen: list[float] = []
            done = asyncio.Event()

            @app.agent(topic, name="read")
            async def read(stream: Any) -> None:
                async for _event in stream.events():
                    seen.append(time.time())
                    if len(seen) >= len(records):
                        done.set()

            await app.start()
            try:
                await asyncio.wait_for(done.wait(), 120)
            finally:
                await asyncio.wait_for(app.stop(), 30)
        return {
            "articles": len(seen),
            "window_s": seen[-1] - seen[0],
            "articles_per_s": len(seen) / (seen[-1] - seen[0]),
        }

    result = asyncio.run(main())
    result["peak_rss_mb"] = peak_rss_mb()
    return result


async def _post_until_accepted(http: Any, url: str, record: bytes, running: Any) -> None:
    started = time.time()
    while True:
        if running.done() or time.time() - started > 90:
            raise RuntimeError("the pipeline did not start accepting articles")
        try:
            async with http.post(url, data=record, headers=JSON) as response:
                response.raise_for_status()
            return
        except OSError:
            await asyncio.sleep(0.05)


# No pacing and no hold: the stub sets no rate limit, and the figure is the pipeline's own
# latency (the defaults add 0.25 s of hold and about 1 s per message to one channel).
SLACK_CONFIG = f"""\
rules:
  - {{name: bench-probe, type: keyword, phrases: [{PROBE}], severity: info}}
sinks:
  chat: {{type: slack, pace: 0s, hold: 0s}}
routes:
  - sinks: [chat]
"""
_PROBE_NUMBER = re.compile(rf"{PROBE} (\d{{5}})")


def part_steady(workdir: Path) -> Result:
    """Articles POSTed at a steady 200/s into a warm pipeline that posts each alert to a
    Slack-compatible stub: publish-to-delivery latency of every alert."""
    sys.path.insert(0, str(ROOT))
    from aiohttp import ClientSession

    from streams.runner import run
    from tests.support.slack_stub import SlackStub

    records = (workdir / "steady.jsonl").read_bytes().splitlines()
    alerting = set(json.loads((workdir / "steady-alerting.json").read_text()))
    warmup, steady = records[0], records[1:]
    listen = free_port()

    async def main() -> Result:
        async with SlackStub(token="xoxb-bench") as stub:
            os.environ.update(
                SLACK_API_URL=stub.url, SLACK_BOT_TOKEN="xoxb-bench", SLACK_CHANNEL="#bench"
            )
            config = workdir / "slack.yaml"
            config.write_text(SLACK_CONFIG)
            options = _run_options(workdir, None, FAST_WAIT_MS, listen=f"127.0.0.1:{listen}")
            options.config = [str(config)]
            # One client posting at the bench's rate, over the per-client limit otherwise.
            options.settings = options.settings.model_copy(
                update={"ingest_rate": 2 * STEADY_RATE, "ingest_burst": int(STEADY_RATE)}
            )
            running = asyncio.create_task(run(options))
            url = f"http://127.0.0.1:{listen}/articles"

            def delivered() -> dict[str, float]:
                found: dict[str, float] = {}
                for call in stub.calls:
                    if call.method == "chat.postMessage" and call.status == 200:
                        for number in _PROBE_NUMBER.findall(json.dumps(call.payload)):
                            found.setdefault(f"bench-{number}", call.at)
                return found

            async with ClientSession() as http:
                await _post_until_accepted(http, url, warmup, running)
                warm_id = json.loads(warmup)["id"]
                while warm_id not in delivered():
                    if running.done():
                        raise RuntimeError("the pipeline stopped")
                    await asyncio.sleep(0.01)
                sent: dict[str, float] = {}

                async def post(record: bytes) -> None:
                    sent[json.loads(record)["id"]] = time.time()
                    async with http.post(url, data=record, headers=JSON) as response:
                        response.raise_for_status()

                start = time.time()
                posts = []
                for n, record in enumerate(steady):  # on schedule, not after the last reply
                    await asyncio.sleep(max(0.0, start + n / STEADY_RATE - time.time()))
                    posts.append(asyncio.create_task(post(record)))
                await asyncio.gather(*posts)
                rate = len(steady) / (max(sent.values()) - start)
            await _until(lambda: alerting <= delivered().keys(), 30.0)
            found = delivered()
            os.kill(os.getpid(), signal.SIGTERM)
            code = await running
            if code != 0:
                raise RuntimeError(f"run exited {code}")
        latencies = [found[i] - sent[i] for i in alerting if i in found]
        return {
            "articles": len(steady),
            "rate_per_s": rate,
            "alerting": len(alerting),
            "delivered": len(latencies),
            "latency": distribution(latencies),
        }

    result = asyncio.run(main())
    result["peak_rss_mb"] = peak_rss_mb()
    return result


async def _until(condition: Callable[[], bool], within: float) -> None:
    """Poll ``condition`` until it holds or ``within`` seconds pass (figures then show it)."""
    deadline = time.time() + within
    while True:
        if condition() or time.time() > deadline:
            return
        await asyncio.sleep(0.01)


def part_burst(workdir: Path) -> Result:
    """Alert latency of watch-topic articles POSTed while 50,000 off-topic articles from a
    file flood the pipeline."""
    from aiohttp import ClientSession

    from alerts.config.loader import load_config
    from alerts.engine import Engine
    from streams.broker import EmbeddedBroker
    from streams.runner import run

    engine = Engine(load_config())
    off_topic = [a for a in _bench_articles(workdir) if engine.topics_of(a) == ["global"]]
    burst = workdir / "burst.jsonl"
    with burst.open("w") as out:
        for n in range(BURST_ARTICLES):
            article = off_topic[n % len(off_topic)].to_dict()
            article["id"] = f"burst-{n:06d}"
            article["body"] = f"{article['body']} Item {n}."
            out.write(json.dumps(article, ensure_ascii=False) + "\n")
    from alerts.articles import parse_article

    wire = [json.loads(line) for line in WIRE.read_text().splitlines() if line.strip()]
    on_topic = [a for a in wire if engine.topics_of(parse_article(json.dumps(a))) != ["global"]]
    stories = distinct_stories(on_topic)[: BURST_PROBES + 1]
    probes = numbered(stories, len(stories), start=90000)
    warmup, watched = probes[0], probes[1:]
    alerts_out = workdir / "burst-alerts.jsonl"
    listen, port = free_port(), free_port()

    def published() -> float:
        from urllib.request import urlopen

        with urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            text = response.read().decode()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("flashpoint_articles_total{") and 'source="file"' in line
        )

    async def main() -> Result:
        async with EmbeddedBroker() as broker:
            return await flood(broker)

    async def flood(broker: Any) -> Result:
        tail = AlertTail(alerts_out)
        tail.start()
        options = _run_options(
            workdir,
            broker.url,
            FAST_WAIT_MS,
            sources=[str(burst)],
            alerts_out=str(alerts_out),
            listen=f"127.0.0.1:{listen}",
            metrics_port=port,
        )
        running = asyncio.create_task(run(options))
        url = f"http://127.0.0.1:{listen}/articles"
        sent: dict[str, float] = {}
        async with ClientSession() as http:
            await _post_until_accepted(http, url, warmup, running)
            warm_id = json.loads(warmup)["id"]
            while warm_id not in tail.delivered:
                if running.done():
                    raise RuntimeError("the pipeline stopped")
                await asyncio.sleep(0.01)
            waited = time.time()
            while True:  # probe once the burst is well under way
                if await asyncio.to_thread(published) >= BURST_ARTICLES / 2:
                    break
                if running.done() or time.time() - waited > 120:
                    raise RuntimeError("the burst was not read within 120 s")
                await asyncio.sleep(0.1)
            at_first_probe = await asyncio.to_thread(published)
            for record in watched:
                sent[json.loads(record)["id"]] = time.time()
                async with http.post(url, data=record, headers=JSON) as response:
                    response.raise_for_status()
                await asyncio.sleep(BURST_PROBE_SPACING)
        await _until(lambda: sent.keys() <= tail.delivered.keys(), 60.0)
        at_end = await asyncio.to_thread(published)
        os.kill(os.getpid(), signal.SIGTERM)
        code = await running
        tail.stop()
        if code != 0:
            raise RuntimeError(f"run exited {code}")
        latencies = [tail.delivered[i] - t for i, t in sent.items() if i in tail.delivered]
        stages = await _stage_times(broker.url, set(sent))
        hops = {
            stage: distribution([at[i] - sent[i] for i in sent if i in at])
            for stage, at in stages.items()
        }
        return {
            "stages": hops,
            "burst_articles": BURST_ARTICLES,
            "published_at_first_probe": at_first_probe,
            "published_at_end": at_end,
            "probes": len(sent),
            "delivered": len(latencies),
            "latency": distribution(latencies),
        }

    result = asyncio.run(main())
    result["peak_rss_mb"] = peak_rss_mb()
    return result


async def _stage_times(broker_url: str, ids: set[str]) -> dict[str, dict[str, float]]:
    """When each article's record was written to each watch-topic stream (send times)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from streams.topics import ALERTS, ARTICLES, BY_TOPIC, bootstrap_servers

    found: dict[str, dict[str, float]] = {}
    for topic in (ARTICLES, BY_TOPIC, ALERTS):
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers(broker_url), group_id=None)
        await consumer.start()
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        at: dict[str, float] = {}
        try:
            while True:
                positions = [await consumer.position(tp) for tp in partitions]
                if all(p >= ends[tp] for p, tp in zip(positions, partitions, strict=True)):
                    break
                batch = await consumer.getmany(timeout_ms=1000)
                for messages in batch.values():
                    for m in messages:
                        value = json.loads(m.value)
                        article = value.get("article") or value.get("alert", {}).get("article")
                        key = (article or value).get("id")
                        if key in ids:
                            at.setdefault(key, m.timestamp / 1000)
        finally:
            await consumer.stop()
        found[topic] = at
    return found


async def _flashpoint_offsets(bootstrap: str) -> int:
    """Records written so far to every Flashpoint topic and changelog."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from streams.topics import all_topics

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in all_topics(APP_ID) for p in range(PARTITIONS)]
        ends = await consumer.end_offsets(partitions)
        return sum(ends.values())
    finally:
        await consumer.stop()


def part_scale(workdir: Path) -> Result:
    """The same backlog of articles worked off by one worker, then by two in one group."""
    from aiokafka import AIOKafkaProducer

    from streams.broker import EmbeddedBroker
    from streams.topics import ARTICLES, ARTICLES_GLOBAL, all_topics, ensure_topics

    records = (workdir / "scale.jsonl").read_bytes().splitlines()
    config = workdir / "probe.yaml"
    config.write_text(PROBE_CONFIG)

    async def once(workers: int) -> Result:
        async with EmbeddedBroker() as broker:
            await ensure_topics(broker.url, APP_ID, PARTITIONS)
            env = {
                k: v for k, v in os.environ.items() if not k.startswith(("FLASHPOINT_", "SLACK_"))
            }
            env.update(
                FLASHPOINT_BROKER=broker.url,
                FLASHPOINT_FAST_REBALANCE="1",
                FLASHPOINT_FETCH_MAX_WAIT_MS=str(FAST_WAIT_MS),
                FLASHPOINT_PARTITIONS=str(PARTITIONS),
            )
            ports = [free_port() for _ in range(workers)]
            processes = [
                await asyncio.create_subprocess_exec(
                    str(Path(sys.executable).parent / "flashpoint"),
                    "run",
                    "--config",
                    str(config),
                    "--metrics-port",
                    str(port),
                    env=env,
                    cwd=workdir,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                for port in ports
            ]
            try:
                await _wait_assigned(ports)
                producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)
                await producer.start()
                sent = [
                    await producer.send(ARTICLES, r, key=json.loads(r)["id"].encode())
                    for r in records
                ]
                await asyncio.gather(*sent)
                await producer.stop()
                last, quiet = -1, 0
                while quiet < 6:  # nothing new anywhere for 3 s: the backlog is worked off
                    await asyncio.sleep(0.5)
                    now = await _flashpoint_offsets(broker.bootstrap)
                    quiet = quiet + 1 if now == last else 0
                    last = now
                spans = [await _topic_span(broker.url, t) for t in all_topics(APP_ID)]
            finally:
                for process in processes:
                    process.send_signal(signal.SIGTERM)
                for process in processes:
                    await asyncio.wait_for(process.wait(), 60)
        inputs = {ARTICLES, ARTICLES_GLOBAL}
        named = dict(zip(all_topics(APP_ID), spans, strict=True))
        written = {t: s for t, s in named.items() if s["records"]}
        first = min(s["first"] for t, s in written.items() if t not in inputs)
        end = max(s["last"] for s in written.values())
        return {
            "workers": workers,
            "articles": len(records),
            "window_s": end - first,
            "articles_per_s": len(records) / (end - first),
        }

    async def main() -> Result:
        return {"one": await once(1), "two": await once(2)}

    return asyncio.run(main())


async def _wait_assigned(ports: Sequence[int], within: float = 90.0) -> None:
    """Until every worker reports lag for the articles topic: it holds partitions of it."""
    from urllib.error import URLError
    from urllib.request import urlopen

    def assigned(port: int) -> bool:
        try:
            with urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                text = response.read().decode()
        except (URLError, OSError):
            return False
        return 'flashpoint_consumer_lag_messages{topic="flashpoint.articles"}' in text

    deadline = time.time() + within
    while not all([await asyncio.to_thread(assigned, p) for p in ports]):
        if time.time() > deadline:
            raise RuntimeError("the workers did not all get partitions")
        await asyncio.sleep(0.2)
    await asyncio.sleep(REBALANCE_SETTLE_SECONDS)  # a later join rebalances the group again


PARTS: dict[str, Callable[[Path], Result]] = {
    "detect": part_detect,
    "touch": part_touch,
    "kafka": part_kafka,
    "pipeline": part_pipeline,
    "spaced-10": lambda w: part_spaced(w, FAST_WAIT_MS),
    "spaced-1500": lambda w: part_spaced(w, FAUST_WAIT_MS),
    "matcher": part_matcher,
    "rss-10": lambda w: part_rules_rss(w, RULE_COUNTS[0]),
    "rss-10000": lambda w: part_rules_rss(w, RULE_COUNTS[-1]),
    "detect-process": part_detect_process,
    "bare-faust": part_bare_faust,
    "steady": part_steady,
    "burst": part_burst,
    "scale": part_scale,
}


# ---------------------------------------------------------------- parent: run and report


def run_part(name: str, workdir: Path) -> Result:
    """One part in a fresh interpreter; its figures come back through a JSON file."""
    started = time.monotonic()
    print(f"  {name} ...", end="", file=sys.stderr, flush=True)
    done = subprocess.run(
        [sys.executable, __file__, "_part", name, str(workdir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    print(f" {time.monotonic() - started:.1f} s", file=sys.stderr)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"bench part {name} failed with exit code {done.returncode}")
    result: Result = json.loads((workdir / f"{name}.json").read_text())
    return result


def machine() -> Result:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_1m": os.getloadavg()[0],
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    out = [title]
    for n, row in enumerate([header, *rows]):
        cells = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  " + "  ".join(cells))
        if n == 0:
            out.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(out)


def f(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def report(figures: Result) -> str:
    classic = ("detect", "touch", "kafka", "pipeline", "spaced-10", "spaced-1500")
    if not all(name in figures for name in classic):
        return report_scale(figures)
    return report_classic(figures) + "\n\n" + report_scale(figures)


def report_classic(figures: Result) -> str:
    m, d = figures["machine"], figures["detect"]
    rows = d["rows"]
    base = rows["baseline"]["articles_per_cpu_s"]
    blocks = [
        f"Flashpoint bench — {m['date']} — {m['cores']} cores ({m['cpu']}), "
        f"Python {m['python']}, load average {m['load_1m']:.2f} at start",
        table(
            f"1. Detect on one core (pinned to CPU {d['cpu']}): {d['articles']} articles, "
            f"{d['min_bytes']:,}-{d['max_bytes']:,} bytes of JSON each, median of "
            f"{d['passes']} passes",
            [
                "path",
                "articles/s",
                "MB/s",
                "articles/CPU-s",
                "p50 µs",
                "p99 µs",
                "cost x baseline",
            ],
            [
                [
                    name,
                    f(r["articles_per_s"]),
                    f(r["mb_per_s"], 2),
                    f(r["articles_per_cpu_s"]),
                    f(r["p50_us"]),
                    f(r["p99_us"]),
                    f(base / r["articles_per_cpu_s"], 1),
                ]
                for name, r in rows.items()
            ],
        ),
    ]
    detect = rows["flashpoint detect"]
    verdict = "met" if detect["articles_per_cpu_s"] >= TARGET_PER_SECOND else "NOT met"
    b = d["build"]
    blocks.append(
        f"  target ≥ {TARGET_PER_SECOND:,.0f} articles/s for `flashpoint detect` on one core: "
        f"{verdict} ({detect['articles_per_cpu_s']:,.0f} per CPU-second, "
        f"{detect['articles_per_s']:,.0f}/s wall-clock on this shared machine)\n"
        f"  engine construction (hot-reload path): load_config {b['load_config_ms']:.1f} ms + "
        f"Engine() {b['engine_ms']:.1f} ms, of which the escalation lexicon's Hyperscan "
        f"compile {b['escalation_detector_ms']:.1f} ms (first in the process: "
        f"{b['load_config_first_ms']:.1f} + {b['engine_first_ms']:.1f} ms)"
    )
    p, k = figures["pipeline"], figures["kafka"]
    lat = p["latency"]
    one, three = k["one_hop"], k["three_hops"]
    blocks.append(
        table(
            f"2. Pipeline through the Kafka protocol (embedded tansu, {PARTITIONS} partitions, "
            f"fetch wait {FAST_WAIT_MS} ms): {p['articles']} articles from one file",
            ["run", "articles/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "rate ÷ pipeline"],
            [
                [
                    "flashpoint run --drain",
                    f(p["articles_per_s"]),
                    f(lat["p50_ms"], 1),
                    f(lat["p95_ms"], 1),
                    f(lat["p99_ms"], 1),
                    f(lat["max_ms"], 1),
                    "1.0",
                ],
                *[
                    [
                        f"raw aiokafka, {r['hops']} hop{'s' if r['hops'] > 1 else ''}",
                        f(r["articles_per_s"]),
                        f(r["latency"]["p50_ms"], 1),
                        f(r["latency"]["p95_ms"], 1),
                        f(r["latency"]["p99_ms"], 1),
                        f(r["latency"]["max_ms"], 1),
                        f(r["articles_per_s"] / p["articles_per_s"], 1),
                    ]
                    for r in (one, three)
                ],
            ],
        )
    )
    spans = p["topics"]

    def last(*topics: str) -> float:
        times = [spans[t]["last"] for t in topics if spans[t]["records"]]
        return max(times, default=float("nan"))

    states = [spans[f"{APP_ID}-{t}-changelog"] for t in ("topic-state", "global-state")]
    sizes = " and ".join(f"{st['last_record_bytes']:,}" for st in states)
    blocks.append(
        f"  latency: ingest → first alert of the article in --alerts-out, for the "
        f"{p['alerted_articles']} of {p['articles']} articles that raise one (the others repeat "
        f"a story already alerted)\n"
        f"  timeline after the first ingest: sources done at "
        f"{last('flashpoint.articles', 'flashpoint.articles.global'):.1f} s "
        f"({p['ingest_per_s']:,.0f}/s), triage done at "
        f"{last('flashpoint.by-topic', 'flashpoint.by-topic.global'):.1f} s, detect done at "
        f"{last(*(f'{APP_ID}-{t}-changelog' for t in ('topic-state', 'global-state'))):.1f} s; "
        f"the run took {p['wall_s']:.1f} s in all, {p['started_s']:.1f} s of it before the "
        f"first article (consumer group join); worked off at "
        f"{p['backlog_articles_per_s']:,.0f} articles/s from the first record it wrote\n"
        f"  topic-state and global-state changelogs: "
        f"{sum(st['records'] for st in states):,} records for {p['articles']:,} articles, "
        f"the last ones {sizes} bytes\n"
        f"  run counters: {json.dumps(p['stats'], sort_keys=True)}"
    )
    spaced_rows = []
    for wait in (FAST_WAIT_MS, FAUST_WAIT_MS):
        s = figures[f"spaced-{wait}"]
        raw = k[f"spaced_{wait}ms"]
        spaced_rows.append(
            [
                f"{wait} ms",
                f(s["latency"]["p50_ms"], 1),
                f(s["latency"]["p95_ms"], 1),
                f(s["latency"]["p99_ms"], 1),
                f(raw["latency"]["p50_ms"], 1),
                f(raw["latency"]["p99_ms"], 1),
                f(s["latency"]["p50_ms"] / raw["latency"]["p50_ms"], 1),
                f"≤ {f(s['histogram']['p50_le_ms'])} / ≤ {f(s['histogram']['p99_le_ms'])}",
                f(s["ready_s"], 1),
            ]
        )
    blocks.append(
        table(
            f"   Fetch wait vs latency: {SPACED_ARTICLES} articles POSTed one at a time, "
            f"{SPACING_SECONDS * 1000:.0f} ms apart, to a warm pipeline",
            [
                "fetch wait",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "raw 3-hop p50",
                "raw 3-hop p99",
                "p50 x raw",
                "histogram p50 / p99",
                "ready after s",
            ],
            spaced_rows,
        )
    )
    touch_rss = figures["touch"]["peak_rss_mb"]
    blocks.append(
        table(
            "3. Peak RSS (each part in its own process)",
            ["process", "peak RSS MB", "x its baseline"],
            [
                ["baseline loop (json + lower + regex)", f(touch_rss, 1), "1.0"],
                [
                    "detect loop (engine + all rows)",
                    f(d["peak_rss_mb"], 1),
                    f(d["peak_rss_mb"] / touch_rss, 1),
                ],
                ["raw aiokafka (all baseline runs)", f(k["peak_rss_mb"], 1), "1.0"],
                [
                    f"pipeline, {p['articles']} articles",
                    f(p["peak_rss_mb"], 1),
                    f(p["peak_rss_mb"] / k["peak_rss_mb"], 1),
                ],
                ["tansu broker (raw aiokafka runs)", f(k["broker_peak_rss_mb"], 1), "1.0"],
                [
                    "tansu broker (pipeline run)",
                    f(p["broker_peak_rss_mb"], 1),
                    f(p["broker_peak_rss_mb"] / k["broker_peak_rss_mb"], 1),
                ],
            ],
        )
    )
    return "\n\n".join(blocks)


def headline(figures: Result) -> Result:
    """The figures issue 9 asks ``.bench/results.json`` for, from the parts that ran."""
    out: Result = {}
    if "matcher" in figures:
        m = figures["matcher"]
        out["matcher_mb_per_s"] = {n: r["mb_per_cpu_s"] for n, r in m["keyword_only"].items()}
        out["naive_speedup_1000_rules"] = (
            m["keyword_only"]["1000"]["mb_per_cpu_s"] / m["naive"]["1000"]["mb_per_cpu_s"]
        )
        out["reload_ms_10000_rules"] = m["reload"]["total_ms"]
    if "detect-process" in figures:
        out["detect_articles_per_s"] = figures["detect-process"]["articles_per_s"]
        out["detect_startup_s"] = figures["detect-process"]["startup_s"]
    if "pipeline" in figures and "bare-faust" in figures:
        pipeline = figures["pipeline"]["backlog_articles_per_s"]
        bare = figures["bare-faust"]["articles_per_s"]
        out.update(
            pipeline_articles_per_s=pipeline,
            bare_faust_articles_per_s=bare,
            pipeline_vs_bare_ratio=pipeline / bare,
        )
    if "steady" in figures:
        steady = figures["steady"]
        out.update(
            latency_ms_p50=steady["latency"]["p50_ms"],
            latency_ms_p99=steady["latency"]["p99_ms"],
            latency_rate_per_s=steady["rate_per_s"],
        )
    if "rss-10000" in figures:
        out["peak_rss_mb_10000_rules"] = figures["rss-10000"]["peak_rss_mb"]
        if "rss-10" in figures:
            extra = figures["rss-10000"]["peak_rss_mb"] - figures["rss-10"]["peak_rss_mb"]
            out["memory_kb_per_rule"] = extra * 1024 / (RULE_COUNTS[-1] - RULE_COUNTS[0])
    if "scale" in figures:
        scale = figures["scale"]
        out["two_workers_vs_one"] = scale["two"]["articles_per_s"] / scale["one"]["articles_per_s"]
    if "burst" in figures:
        out["alert_latency_ms_p99_under_offtopic_burst"] = figures["burst"]["latency"]["p99_ms"]
    return out


def plot_matcher(matcher: Result, path: Path) -> None:
    """Throughput against rule count: the engine, the engine with the shipped rules, and
    the loop of one regex per rule."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 5.5))
    for label, series, style in (
        ("analyze + decide, generated keyword rules", matcher["keyword_only"], "o-"),
        ("… plus the shipped rules (escalation, commitments)", matcher["with_defaults"], "s--"),
        ("one Python re per rule (naive loop)", matcher["naive"], "x:"),
    ):
        counts = sorted(series, key=int)
        axes.plot(
            [int(c) for c in counts],
            [series[c]["mb_per_cpu_s"] for c in counts],
            style,
            label=label,
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("keyword rules loaded")
    axes.set_ylabel("MB of article text per CPU-second (one core)")
    axes.set_title("Flashpoint matcher throughput against rule count")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def report_scale(figures: Result) -> str:
    """Section 4: rules at scale, the framework's limit, off-topic traffic, scale-out."""
    blocks: list[str] = []
    heads = headline(figures)
    if "matcher" in figures:
        m = figures["matcher"]
        rows = []
        for count in map(str, RULE_COUNTS):
            k = m["keyword_only"][count]
            full = m["with_defaults"].get(count)
            naive = m["naive"].get(count)
            rows.append(
                [
                    f"{int(count):,}",
                    f(k["mb_per_cpu_s"], 1),
                    f(k["mb_per_s"], 1),
                    f"{k['matched_share'] * 100:.1f}%",
                    f(k["build_s"], 2),
                    f(full["mb_per_cpu_s"], 2) if full else "",
                    f(naive["mb_per_cpu_s"], 2) if naive else "",
                ]
            )
        low, high = m["keyword_only"]["10"], m["keyword_only"]["10000"]
        dlow, dhigh = m["with_defaults"]["10"], m["with_defaults"]["10000"]
        blocks.append(
            table(
                f"4. Rules at scale (one core, CPU {m['cpu']}): {m['articles']} articles, "
                f"{m['bytes'] / 1e6:.1f} MB of text, analyze + decide, median of "
                f"{MATCHER_PASSES} passes; naive loop over the first {m['naive_articles']}",
                [
                    "keyword rules",
                    "MB/CPU-s",
                    "MB/s wall",
                    "articles matching",
                    "build s",
                    "with shipped rules MB/CPU-s",
                    "naive loop MB/CPU-s",
                ],
                rows,
            )
        )
        blocks.append(
            f"  cost with 10,000 rules ÷ cost with 10: "
            f"{low['mb_per_cpu_s'] / high['mb_per_cpu_s']:.2f} (keyword rules alone), "
            f"{dlow['mb_per_cpu_s'] / dhigh['mb_per_cpu_s']:.2f} (with "
            f"the shipped rules); target ≤ 1.5\n"
            f"  against the naive loop at 1,000 rules: {heads['naive_speedup_1000_rules']:,.0f}x "
            f"(target ≥ 100x)\n"
            f"  reload of the shipped rules + 10,000: load_config "
            f"{m['reload']['load_config_ms']:,.0f} ms + Engine() "
            f"{m['reload']['engine_ms']:,.0f} ms (in a worker thread; the swap is one assignment)"
        )
    if "rss-10000" in figures and "rss-10" in figures:
        blocks.append(
            f"  peak RSS, shipped rules + 10 generated: {figures['rss-10']['peak_rss_mb']:.0f} MB;"
            f" + 10,000: {figures['rss-10000']['peak_rss_mb']:.0f} MB (target ≤ 300 MB); "
            f"{heads['memory_kb_per_rule']:.1f} KB per rule"
        )
    if "detect-process" in figures:
        d = figures["detect-process"]
        wall = (
            f"{d['articles_per_wall_s']:,.0f}/s"
            if d["total_s"] > d["startup_s"]
            else "not measurable: start-up varied more than the run"
        )
        blocks.append(
            f"  `flashpoint detect` process, pinned to one core: {d['articles_per_s']:,.0f} "
            f"articles per CPU-second after start-up ({wall} wall-clock; "
            f"{d['articles']} articles in {d['total_cpu_s']:.2f} CPU-s, start-up "
            f"{d['startup_cpu_s']:.2f} CPU-s, {d['startup_s']:.2f} s; target ≥ 2,000/s)"
        )
    rows = []
    if "bare-faust" in figures and "pipeline" in figures:
        rows.append(
            [
                "pipeline, backlog of the --drain run",
                f(heads["pipeline_articles_per_s"]),
                f"{heads['pipeline_vs_bare_ratio']:.2f}",
                "≥ 0.45",
            ]
        )
        rows.append(
            [
                "bare faust agent reading the same articles",
                f(heads["bare_faust_articles_per_s"]),
                "1.00",
                "",
            ]
        )
    if "scale" in figures:
        sc = figures["scale"]
        rows.append(
            [
                f"one worker, {sc['one']['articles']} articles",
                f(sc["one"]["articles_per_s"]),
                "",
                "",
            ]
        )
        rows.append(
            [
                "two workers, one group",
                f(sc["two"]["articles_per_s"]),
                f"{heads['two_workers_vs_one']:.2f} x one",
                "≥ 1.6",
            ]
        )
    if rows:
        blocks.append(
            table(
                "5. The framework's limit and scale-out (embedded tansu)",
                ["run", "articles/s", "ratio", "target"],
                rows,
            )
        )
    if "steady" in figures:
        st = figures["steady"]
        blocks.append(
            f"  steady {st['rate_per_s']:.0f} articles/s into Slack (stub): {st['delivered']} of "
            f"{st['alerting']} alerts, publish → Slack p50 {st['latency']['p50_ms']:.1f} ms, "
            f"p99 {st['latency']['p99_ms']:.1f} ms, max {st['latency']['max_ms']:.1f} ms "
            f"(target p99 ≤ 100 ms)"
        )
    if "burst" in figures:
        bu = figures["burst"]
        blocks.append(
            f"  {bu['burst_articles']:,} off-topic articles from a file, {bu['probes']} "
            f"watch-topic articles POSTed once {bu['published_at_first_probe']:,.0f} were in: "
            f"{bu['delivered']} alerted, p50 {bu['latency']['p50_ms']:.0f} ms, p99 "
            f"{bu['latency']['p99_ms']:.0f} ms (target p99 ≤ 1,000 ms)"
        )
    return "\n\n".join(blocks)


def strict_json(value: Any) -> Any:
    """``value`` with NaN (a figure that could not be measured) as null, for strict JSON."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strict_json(v) for v in value]
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["_part"]:
        name, workdir = args[1], Path(args[2])
        import logging

        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        result = PARTS[name](workdir)
        (workdir / f"{name}.json").write_text(json.dumps(result))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", metavar="FILE", help="also write every figure to FILE")
    parser.add_argument(
        "--part", dest="parts", action="append", choices=list(PARTS), help="run only these"
    )
    options = parser.parse_args(args)
    figures: Result = {"machine": machine()}
    with tempfile.TemporaryDirectory(prefix="flashpoint-bench-") as tmp:
        workdir = Path(tmp)
        articles = corpus()
        (workdir / "corpus.jsonl").write_text(
            "\n".join(json.dumps(a, ensure_ascii=False) for a in articles) + "\n"
        )
        (workdir / "pipeline.jsonl").write_bytes(
            b"\n".join(numbered(articles, PIPELINE_ARTICLES)) + b"\n"
        )
        stories = distinct_stories([a for a in articles if a.get("source") == "Lee corpus"])
        spaced = numbered(stories, SPACED_ARTICLES + 1, start=PIPELINE_ARTICLES)
        (workdir / "spaced.jsonl").write_bytes(b"\n".join(spaced) + b"\n")
        prepare_scale_inputs(workdir, articles, stories)
        print("running (each part in its own process):", file=sys.stderr)
        for name in options.parts or PARTS:
            figures[name] = run_part(name, workdir)
    OUTPUT.mkdir(exist_ok=True)
    results = strict_json({**headline(figures), "figures": figures})
    text = json.dumps(results, indent=2, sort_keys=True, allow_nan=False) + "\n"
    (OUTPUT / "results.json").write_text(text)
    if options.json:
        Path(options.json).write_text(text)
    if "matcher" in figures:
        plot_matcher(figures["matcher"], OUTPUT / "matcher.png")
    print(report(figures))
    return 0


def prepare_scale_inputs(
    workdir: Path, articles: Sequence[dict[str, Any]], stories: Sequence[dict[str, Any]]
) -> None:
    """Rule sets, the steady-rate feed and the scale-out backlog, written for the parts."""
    import random

    import rulegen

    texts = [f"{a['title']}\n\n{a['body']}" for a in articles]
    for count in RULE_COUNTS:
        rulegen.write_rules(workdir / f"rules-{count}.yaml", rulegen.keyword_rules(count, texts))
    rng = random.Random(200)
    warmup, fresh = stories[-1], list(stories[:-1])
    records = numbered([warmup], 1, start=0)
    alerting: list[str] = []
    for n in range(1, STEADY_ARTICLES + 1):
        if (n - 1) % NEW_STORY_EVERY == 0 and fresh:
            base = fresh.pop(0)
            alerting.append(f"bench-{n:05d}")
            records += numbered([base], 1, start=n)
        else:  # the rest of the feed: other news, without the marker; most raises nothing
            other = dict(rng.choice(articles))
            other["id"] = f"bench-{n:05d}"
            other["body"] = f"{other['body']} Copy {n}."
            records.append(json.dumps(other, ensure_ascii=False).encode())
    (workdir / "steady.jsonl").write_bytes(b"\n".join(records) + b"\n")
    (workdir / "steady-alerting.json").write_text(json.dumps(alerting))
    with (workdir / "scale.jsonl").open("w") as out:
        for n in range(SCALE_ARTICLES):
            article = dict(articles[n % len(articles)])
            article["id"] = f"scale-{n:05d}"
            article["body"] = f"{article['body']} Item {n}."
            out.write(json.dumps(article, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    sys.exit(main())
