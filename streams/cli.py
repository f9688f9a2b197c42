"""The ``flashpoint`` command: run the pipeline, detect offline, and work with rules."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from alerts import silences
from alerts.articles import parse_article
from alerts.config.loader import config_paths_from_env, load_config
from alerts.config.models import parse_duration
from alerts.engine import Engine, OfflineRun
from alerts.errors import ConfigError, FlashpointError, InvalidArticle
from alerts.metrics import Metrics
from alerts.secrets import ScrubbingFilter, redact_url, remember_environment
from alerts.tooling import commands, report
from streams.runner import ExitCode, RunOptions, run
from streams.settings import load_settings
from streams.silences import read_silences, write_silence
from streams.sources import FeedSource, SourceError, build_sources
from streams.topics import ensure_silences_topic

log = logging.getLogger("flashpoint")

QUIET_LOGGERS = ("faust", "mode", "aiokafka", "kafka", "aiohttp.access")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _configure_logging(args.log_level or ("INFO" if args.command == "run" else "WARNING"))
    remember_environment(os.environ)
    try:
        code: int = args.handler(args)
        return code
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return ExitCode.CONFIG_ERROR
    except FlashpointError as exc:
        print(f"flashpoint: error: {exc}", file=sys.stderr)
        return ExitCode.ERROR
    except KeyboardInterrupt:
        return ExitCode.OK
    except BrokenPipeError:
        # The reader left (``flashpoint detect f | head``): stop quietly, as a tool killed
        # by SIGPIPE does, and keep Python from complaining while it flushes stdout.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flashpoint",
        description="Watch news for geopolitical escalation and new commitments; alert Slack.",
    )
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default INFO for run, WARNING for the offline commands",
    )
    commands_ = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run_cmd = commands_.add_parser("run", help="run the streaming pipeline")
    run_cmd.add_argument("--config", action="append", default=[], metavar="FILE|DIR")
    run_cmd.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="SRC",
        help="a .jsonl/.json/.txt file, a folder of them, - for stdin, or an RSS/Atom URL",
    )
    run_cmd.add_argument("--broker", metavar="URL", help="kafka://host:port (default: embedded)")
    run_cmd.add_argument(
        "--drain",
        action="store_true",
        help="exit 0 once every finite source is read and every alert delivered",
    )
    run_cmd.add_argument("--alerts-out", metavar="FILE", help="append delivered alerts as JSONL")
    run_cmd.add_argument("--stats-out", metavar="FILE", help="write the run's counters at exit")
    run_cmd.add_argument("--metrics-port", type=int, metavar="N")
    run_cmd.add_argument("--listen", metavar="HOST:PORT", help="accept POST /articles here")
    run_cmd.set_defaults(handler=_run)

    detect = commands_.add_parser("detect", help="offline: one JSON line per article")
    detect.add_argument("file", nargs="?", default="-", metavar="FILE|-")
    detect.add_argument("--config", action="append", default=[], metavar="FILE|DIR")
    detect.set_defaults(handler=_detect)

    report_cmd = commands_.add_parser(
        "report", help="draw escalation by watch topic over time from an alert log"
    )
    report_cmd.add_argument(
        "--alerts", required=True, metavar="FILE", help="the alert log (--alerts-out JSONL)"
    )
    report_cmd.add_argument(
        "--since", type=_duration, metavar="DURATION", help="e.g. 24h, 7d (default: whole log)"
    )
    report_cmd.add_argument(
        "--out", required=True, metavar="FILE", help="report.png, report.svg or report.html"
    )
    report_cmd.set_defaults(handler=_report)

    silence = commands_.add_parser(
        "silence", help="mute matching alerts on every worker for a while (Kafka-stored)"
    )
    silence_commands = silence.add_subparsers(
        dest="silence_command", required=True, metavar="ACTION"
    )
    add = silence_commands.add_parser("add", help="add a silence; prints its id")
    add.add_argument(
        "--match",
        action="append",
        default=[],
        required=True,
        metavar="FIELD=VALUE",
        help="rule, topic, severity or kind; every --match must hold",
    )
    add.add_argument(
        "--for", dest="duration", type=_duration, required=True, metavar="DURATION", help="e.g. 2h"
    )
    add.add_argument("--comment", required=True, help="why, for the people who see it")
    add.add_argument("--author", default=None, help="who (default: $USER)")
    list_ = silence_commands.add_parser("list", help="active and pending silences")
    list_.add_argument("--all", action="store_true", help="also those expired in the last 5 days")
    list_.add_argument("--json", action="store_true", help="one JSON object per line")
    expire = silence_commands.add_parser("expire", help="end a silence now")
    expire.add_argument("id", metavar="ID", help="the silence id (or a unique start of it)")
    for command in (add, list_, expire):
        command.add_argument(
            "--broker", metavar="URL", help="kafka://host:port (default: $FLASHPOINT_BROKER)"
        )
    add.set_defaults(handler=_silence_add)
    list_.set_defaults(handler=_silence_list)
    expire.set_defaults(handler=_silence_expire)

    rules = commands_.add_parser("rules", help="check, test, explain rules; print the schema")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    check = rules_commands.add_parser("check", help="validate rule files (default: configured)")
    check.add_argument("files", nargs="*", metavar="FILE|DIR")
    check.set_defaults(handler=lambda a: commands.check(a.files, out=sys.stdout, err=sys.stderr))
    test = rules_commands.add_parser("test", help="run rule test files")
    test.add_argument("files", nargs="+", metavar="FILE")
    test.set_defaults(handler=lambda a: commands.test(a.files, out=sys.stdout, err=sys.stderr))
    explain = rules_commands.add_parser("explain", help="why rules fired or nearly did")
    explain.add_argument("file", metavar="FILE|-")
    explain.add_argument("--config", action="append", default=[], metavar="FILE|DIR")
    explain.set_defaults(
        handler=lambda a: commands.explain(
            asyncio.run(_read_records(a.file)),
            name=a.file,
            config_paths=a.config,
            out=sys.stdout,
            err=sys.stderr,
        )
    )
    schema = rules_commands.add_parser("schema", help="print the config JSON Schema")
    schema.set_defaults(handler=lambda a: commands.schema(out=sys.stdout))
    return parser


def _run(args: argparse.Namespace) -> int:
    options = RunOptions(
        config=args.config,
        sources=args.source,
        broker=args.broker,
        drain=args.drain,
        alerts_out=args.alerts_out,
        stats_out=args.stats_out,
        metrics_port=args.metrics_port,
        listen=args.listen,
        settings=load_settings(),
    )
    return asyncio.run(run(options))


def _silence_broker(args: argparse.Namespace) -> str:
    broker: str | None = args.broker or load_settings().broker
    if not broker:
        raise FlashpointError(
            "flashpoint silence needs the broker the workers use: --broker kafka://host:port "
            "or FLASHPOINT_BROKER (an embedded broker logs its address when it starts)"
        )
    return broker


def _silence_add(args: argparse.Namespace) -> int:
    broker = _silence_broker(args)
    author = args.author or os.environ.get("USER") or "unknown"
    made = silences.new_silence(
        silences.parse_matchers(args.match), args.duration, args.comment, author, time.time()
    )
    asyncio.run(_store_silence(broker, made))
    print(made.id)
    return 0


async def _store_silence(broker: str, silence: silences.Silence) -> None:
    await ensure_silences_topic(broker)
    await write_silence(broker, silence)


def _silence_list(args: argparse.Namespace) -> int:
    broker = _silence_broker(args)
    book = asyncio.run(_read_silences(broker))
    now = time.time()
    shown = book.listed(now, everything=args.all)
    if args.json:
        for silence in shown:
            sys.stdout.write(silence.to_json().decode() + "\n")
    else:
        print(silences.table(shown, now))
    return 0


async def _read_silences(broker: str) -> silences.SilenceBook:
    await ensure_silences_topic(broker)
    return await read_silences(broker)


def _silence_expire(args: argparse.Namespace) -> int:
    broker = _silence_broker(args)
    book = asyncio.run(_read_silences(broker))
    now = time.time()
    found = book.find(args.id)
    if found.state(now) == "expired":
        print(f"{found.id} had already expired", file=sys.stderr)
        return 0
    asyncio.run(write_silence(broker, found.expired(now)))
    print(f"{found.id} expired")
    return 0


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _report(args: argparse.Namespace) -> int:
    alerts = report.read_alert_log(Path(args.alerts))
    period = report.choose_period(alerts, args.since)
    topics = report.render(alerts, period, Path(args.out))
    drawn = ", ".join(topics) if topics else "no topic had alerts"
    print(f"{args.out}: {period.describe()}: {drawn}")
    return 0


def _detect(args: argparse.Namespace) -> int:
    engine = Engine(load_config(config_paths_from_env(args.config)))
    offline = OfflineRun(engine)
    for raw in asyncio.run(_read_records(args.file)):
        try:
            article = parse_article(raw)
        except InvalidArticle as exc:
            line = {"id": None, "error": {"reason": exc.reason, "detail": exc.detail}}
            print(f"flashpoint detect: skipped a record: {exc}", file=sys.stderr)
        else:
            line = offline.process(article).to_dict()
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return 0


class _Collect:
    """A publisher that keeps records in memory, for the offline commands."""

    def __init__(self) -> None:
        self.records: list[bytes] = []
        self.lost: list[str] = []

    async def publish(self, raw: bytes, *, source: str) -> asyncio.Future[None]:
        self.records.append(raw)
        stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        stored.set_result(None)
        return stored

    def unreadable(self, source: str, detail: str) -> None:
        self.lost.append(detail)
        print(f"flashpoint: {source}: {detail}", file=sys.stderr)

    async def flush(self) -> None:
        """Nothing to wait for: records are kept in memory."""


async def _read_records(spec: str) -> list[bytes]:
    """Frame records exactly as ``flashpoint run`` does, without a broker; a feed is read
    once. Input that could not be read is an error: the output would be incomplete."""
    collect = _Collect()
    for source in build_sources([spec], metrics=Metrics()):
        if isinstance(source, FeedSource):
            await source.poll(collect)
            if source.failing:
                collect.unreadable(source.name, "the feed could not be read")
        else:
            await source.run(collect)
    if collect.lost:
        raise SourceError(f"source {redact_url(spec)!r}: some input could not be read")
    return collect.records


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(ScrubbingFilter())
    if level != "DEBUG":
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
