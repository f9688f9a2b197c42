"""File, folder and stdin sources: every record framed and published, nothing judged or lost."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from pathlib import Path

import pytest

from alerts.articles import MAX_RECORD_BYTES, parse_article
from alerts.errors import FlashpointError, InvalidArticle
from alerts.metrics import Metrics
from streams.sources import FeedSource, FileSource, SourceError, StdinSource, build_sources
from streams.sources.files import LineFramer
from tests.support.sources import RecordingPublisher

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GOOD = b'{"title":"Port reopens","body":"Ships moved again on Tuesday."}'
OTHER = b'{"title":"Talks resume","body":"Delegations met in the capital."}'


def articles_count(metrics: Metrics, source: str) -> float | None:
    return metrics.registry.get_sample_value("flashpoint_articles_total", {"source": source})


async def run_file(path: Path, metrics: Metrics) -> RecordingPublisher:
    publisher = RecordingPublisher()
    await FileSource(path, metrics).run(publisher)
    return publisher


async def test_jsonl_publishes_every_non_blank_line_as_read(tmp_path: Path) -> None:
    path = tmp_path / "wire.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD + b"\r\n\n   \n{not json\n" + OTHER)
    metrics = Metrics()

    publisher = await run_file(path, metrics)

    assert publisher.records == [("file", GOOD), ("file", b"{not json"), ("file", OTHER)]
    assert articles_count(metrics, "file") == 3
    assert parse_article(publisher.raw[0]).title == "Port reopens"
    with pytest.raises(InvalidArticle) as rejected:
        parse_article(publisher.raw[1])
    assert rejected.value.reason == "invalid_json"


async def test_jsonl_line_over_the_limit_is_published_capped_so_triage_rejects_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "big.jsonl"
    huge = b'{"title":"t","body":"' + b"x" * (3 * MAX_RECORD_BYTES) + b'"}'
    path.write_bytes(GOOD + b"\n" + huge + b"\n" + OTHER + b"\n")

    publisher = await run_file(path, Metrics())

    assert [len(raw) for raw in publisher.raw] == [len(GOOD), MAX_RECORD_BYTES + 1, len(OTHER)]
    assert publisher.raw[1] == huge[: MAX_RECORD_BYTES + 1]
    assert publisher.raw[2] == OTHER
    with pytest.raises(InvalidArticle) as rejected:
        parse_article(publisher.raw[1])
    assert rejected.value.reason == "too_large"


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 10_000])
def test_line_framer_gives_the_same_lines_whatever_the_chunking(chunk: int) -> None:
    stream = b"\xef\xbb\xbfone\r\n\ntwo-is-long-enough-to-cap\n  \nthree\r\nfour"
    framer = LineFramer(limit=10)
    lines = []
    for start in range(0, len(stream), chunk):
        lines += framer.feed(stream[start : start + chunk])
    lines += framer.close()

    assert [(line.number, line.data, line.truncated) for line in lines] == [
        (1, b"one", False),
        (3, b"two-is-lon" + b"g", True),
        (5, b"three", False),
        (6, b"four", False),
    ]


async def test_json_array_elements_are_each_re_serialised(tmp_path: Path) -> None:
    path = tmp_path / "batch.json"
    items = [
        {"title": "Ceasefire holds", "body": "Quiet along the line overnight.", "id": "a-1"},
        {"title": "Grain deal", "body": "Exports to restart next week."},
        42,
    ]
    path.write_text(json.dumps(items, indent=2), encoding="utf-8")
    metrics = Metrics()

    publisher = await run_file(path, metrics)

    assert publisher.objects() == items
    assert (
        publisher.raw[0]
        == b'{"title":"Ceasefire holds","body":"Quiet along the line overnight.","id":"a-1"}'
    )
    assert articles_count(metrics, "file") == 3


async def test_json_single_object_is_published_as_read(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    document = b'{\n  "title": "Summit ends",\n  "body": "Leaders signed a statement."\n}\n'
    path.write_bytes(b"\xef\xbb\xbf" + document)

    publisher = await run_file(path, Metrics())

    assert publisher.raw == [document]
    assert parse_article(publisher.raw[0]).body == "Leaders signed a statement."


async def test_json_file_that_is_not_json_is_published_raw(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(b'[{"title": "cut off mid-')

    publisher = await run_file(path, Metrics())

    assert publisher.raw == [b'[{"title": "cut off mid-']


async def test_txt_file_is_one_article_first_line_title(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_bytes(
        b"\n\n  Navy drills announced  \r\nThe ministry said exercises start Monday.\r\n\r\n"
        b"A second paragraph follows.\n"
    )

    publisher = await run_file(path, Metrics())

    assert publisher.objects() == [
        {
            "title": "Navy drills announced",
            "body": "The ministry said exercises start Monday.\r\n\r\nA second paragraph follows.",
        }
    ]
    article = parse_article(publisher.raw[0], default_source="file")
    assert article.source == "file"
    assert (
        article.body == "The ministry said exercises start Monday.\n\nA second paragraph follows."
    )


async def test_txt_file_that_is_not_utf8_reaches_triage_as_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Café talks\nMinisters met.".encode("latin-1"))

    publisher = await run_file(path, Metrics())

    with pytest.raises(InvalidArticle) as rejected:
        parse_article(publisher.raw[0])
    assert rejected.value.reason == "invalid_utf8"


async def test_folder_is_read_recursively_in_name_order_skipping_other_files(
    tmp_path: Path,
) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "c.txt").write_text("Third\nbody c")
    (tmp_path / "a.jsonl").write_bytes(GOOD + b"\n")
    (tmp_path / "b" / "a.JSON").write_text('{"title": "Second", "body": "body b"}')
    (tmp_path / "notes.md").write_text("# not an article")
    (tmp_path / "z.csv").write_text("title,body")
    metrics = Metrics()

    publisher = await run_file(tmp_path, metrics)

    assert [obj["title"] for obj in publisher.objects()] == ["Port reopens", "Second", "Third"]
    assert articles_count(metrics, "file") == 3


async def test_file_that_vanishes_before_reading_is_reported_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "gone.jsonl"
    path.write_bytes(GOOD + b"\n")
    source = FileSource(path, Metrics())
    path.unlink()
    publisher = RecordingPublisher()

    await source.run(publisher)

    assert publisher.unreadable_input == [
        ("file", f"cannot read {path}: No such file or directory")
    ]


def test_build_sources_names_the_spec_it_cannot_use(tmp_path: Path) -> None:
    (tmp_path / "feed.xml").write_text("<rss/>")
    metrics = Metrics()

    with pytest.raises(SourceError, match=r"missing\.jsonl.*no such file"):
        build_sources([str(tmp_path / "missing.jsonl")], metrics=metrics)
    with pytest.raises(SourceError, match=r"feed\.xml.*unknown file type '\.xml'"):
        build_sources([str(tmp_path / "feed.xml")], metrics=metrics)
    with pytest.raises(SourceError, match="ftp://"):
        build_sources(["ftp://example.org/feed"], metrics=metrics)
    with pytest.raises(SourceError, match="only once"):
        build_sources(["-", "-"], metrics=metrics)
    assert issubclass(SourceError, FlashpointError)


@pytest.mark.parametrize(
    "spec",
    [
        "http://[::1",
        "http://reader:hunter2-secret@[::1",
        "https://reader:hunter2-secret@feeds.example.org:99999/rss",
        "http://reader:hunter2-secret@/no-host",
    ],
)
def test_a_bad_feed_url_is_a_clear_error_without_its_credentials(spec: str) -> None:
    with pytest.raises(SourceError) as caught:
        build_sources([spec], metrics=Metrics())

    assert "hunter2-secret" not in str(caught.value)
    assert str(caught.value).startswith("source ")


def test_build_sources_makes_one_source_per_spec(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(b"")
    sources = build_sources(
        [str(tmp_path / "a.jsonl"), str(tmp_path), "-", "https://news.example.org/world/rss"],
        metrics=Metrics(),
        poll_interval=60.0,
    )

    assert [(s.name, s.finite) for s in sources] == [
        ("file", True),
        ("file", True),
        ("stdin", True),
        ("rss:news.example.org/world/rss", False),
    ]
    assert isinstance(sources[3], FeedSource)
    assert sources[3].poll_interval == 60.0


async def test_stdin_pipe_publishes_each_line_and_leaves_the_fd_usable() -> None:
    read_fd, write_fd = os.pipe()
    # Enough data to fill the pipe buffer several times, so reading must keep up.
    lines = [GOOD, OTHER] * 2_000 + [b"trailing line without newline"]
    payload = b"\n".join(lines)

    def write() -> None:
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)

    writer = threading.Thread(target=write)
    writer.start()
    metrics = Metrics()
    publisher = RecordingPublisher()
    try:
        await StdinSource(metrics, fd=read_fd).run(publisher)
    finally:
        writer.join()

    assert publisher.raw == lines
    assert {source for source, _ in publisher.records} == {"stdin"}
    assert articles_count(metrics, "stdin") == len(lines)
    assert os.get_blocking(read_fd)
    os.close(read_fd)


async def test_stdin_redirected_from_a_file_is_read_to_the_end(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(GOOD + b"\n\n" + OTHER + b"\n")
    publisher = RecordingPublisher()

    with path.open("rb") as stream:
        await StdinSource(Metrics(), fd=stream.fileno()).run(publisher)

    assert publisher.raw == [GOOD, OTHER]


async def test_stdin_terminal_read_stops_cleanly_when_cancelled() -> None:
    master, terminal = os.openpty()
    publisher = RecordingPublisher()
    task = asyncio.create_task(StdinSource(Metrics(), fd=terminal).run(publisher))
    os.write(master, GOOD + b"\n")
    for _ in range(200):
        if publisher.records:
            break
        await asyncio.sleep(0.01)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert publisher.raw == [GOOD]
    os.close(master)
    os.close(terminal)


CHILD = """
import asyncio, json
from alerts.metrics import Metrics
from streams.sources import build_sources

class Printer:
    async def publish(self, raw, *, source):
        print(json.dumps([source, raw.decode()]), flush=True)

async def main():
    metrics = Metrics()
    [source] = build_sources(["-"], metrics=metrics)
    await source.run(Printer())
    print(metrics.registry.get_sample_value("flashpoint_articles_total", {"source": "stdin"}))

asyncio.run(main())
"""


async def test_dash_reads_the_process_standard_input_to_the_end() -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    out, _ = await asyncio.wait_for(child.communicate(GOOD + b"\n\n" + OTHER + b"\n"), 60)

    *records, count = out.decode().splitlines()
    assert child.returncode == 0
    assert [json.loads(r) for r in records] == [["stdin", GOOD.decode()], ["stdin", OTHER.decode()]]
    assert count == "2.0"
