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
    """Each article's ingest stamp, read back from flashpoint.articles."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from streams.agents import INGESTED_AT_HEADER
    from streams.topics import ARTICLES, bootstrap_servers

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers(broker_url),
        group_id=None,
        fetch_max_wait_ms=FAST_WAIT_MS,
        auto_offset_reset="earliest",
    )
    partitions = [TopicPartition(ARTICLES, p) for p in range(PARTITIONS)]
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
    from streams.topics import all_topics

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
        return {
            "articles": len(ingested),
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
        headers = {"Content-Type": "application/json"}
        sent: dict[str, float] = {}
        async with ClientSession() as http:
            while True:
                if running.done() or time.time() - started > 90:
                    raise RuntimeError("the pipeline did not start accepting articles")
                try:
                    async with http.post(url, data=warmup, headers=headers) as response:
                        response.raise_for_status()
                    break
                except OSError:
                    await asyncio.sleep(0.05)
            warm_id = json.loads(warmup)["id"]
            while warm_id not in tail.delivered:
                if running.done() or time.time() - started > 90:
                    raise RuntimeError("the pipeline did not deliver the warm-up alert")
                await asyncio.sleep(0.01)
            ready = time.time() - started
            before = _scrape_buckets(port)
            for record in spaced:
                sent[json.loads(record)["id"]] = time.time()
                async with http.post(url, data=record, headers=headers) as response:
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


PARTS: dict[str, Callable[[Path], Result]] = {
    "detect": part_detect,
    "touch": part_touch,
    "kafka": part_kafka,
    "pipeline": part_pipeline,
    "spaced-10": lambda w: part_spaced(w, FAST_WAIT_MS),
    "spaced-1500": lambda w: part_spaced(w, FAUST_WAIT_MS),
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
    state = spans["flashpoint-topic-state-changelog"]
    blocks.append(
        f"  latency: ingest → first alert of the article in --alerts-out, for the "
        f"{p['alerted_articles']} of {p['articles']} articles that raise one (the others repeat "
        f"a story already alerted)\n"
        f"  timeline after the first ingest: sources done at "
        f"{spans['flashpoint.articles']['last']:.1f} s ({p['ingest_per_s']:,.0f}/s), triage "
        f"done at {spans['flashpoint.by-topic']['last']:.1f} s, detect done at "
        f"{state['last']:.1f} s; the run took {p['wall_s']:.1f} s in all, "
        f"{p['started_s']:.1f} s of it before the first article (consumer group join)\n"
        f"  topic-state changelog: {state['records']:,} records, the last one "
        f"{state['last_record_bytes']:,} bytes\n"
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
        print("running (each part in its own process):", file=sys.stderr)
        for name in PARTS:
            figures[name] = run_part(name, workdir)
    if options.json:
        text = json.dumps(strict_json(figures), indent=2, sort_keys=True, allow_nan=False)
        Path(options.json).write_text(text + "\n")
    print(report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
