"""A source reads on past anything: bad records, unreadable files, FIFOs, odd line ends."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path

import pytest

from alerts.articles import parse_article
from alerts.errors import InvalidArticle
from alerts.metrics import Metrics
from streams.sources import FileSource, SourceError
from streams.sources.files import LineFramer
from tests.support.sources import RecordingPublisher


def reasons(publisher: RecordingPublisher) -> list[str]:
    """``ok`` for each published record that is an article, else triage's reason."""
    found = []
    for raw in publisher.raw:
        try:
            parse_article(raw)
        except InvalidArticle as exc:
            found.append(exc.reason)
        else:
            found.append("ok")
    return found


async def test_a_lone_surrogate_does_not_end_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"title":"ok1","body":"b"}\n{"title":"x\\ud800","body":"y"}\n{"title":"ok2","body":"b"}\n'
    )
    publisher = RecordingPublisher()

    await FileSource(path, Metrics()).run(publisher)

    assert reasons(publisher) == ["ok", "invalid_value", "ok"]
    assert publisher.unreadable_input == []


async def test_a_json_array_element_with_a_surrogate_key_reaches_triage(tmp_path: Path) -> None:
    path = tmp_path / "batch.json"
    path.write_text(
        '[{"title":"a","body":"b"},{"title":"c","body":"d","\\udc00":1},{"title":"e","body":"f"}]'
    )
    publisher = RecordingPublisher()

    await FileSource(path, Metrics()).run(publisher)

    assert reasons(publisher) == ["ok", "invalid_value", "ok"]


@pytest.mark.parametrize("ending", [b"\r", b"\r\n", b"\n"])
async def test_every_line_ending_separates_records(tmp_path: Path, ending: bytes) -> None:
    records = [json.dumps({"title": f"t{i}", "body": "b"}).encode() for i in range(5)]
    path = tmp_path / "old-mac.jsonl"
    path.write_bytes(ending.join(records) + ending)
    publisher = RecordingPublisher()

    await FileSource(path, Metrics()).run(publisher)

    assert publisher.raw == records


def test_a_crlf_split_between_chunks_is_one_line_end() -> None:
    framer = LineFramer()
    lines = framer.feed(b"a\r") + framer.feed(b"\nb\r") + framer.feed(b"c\n") + framer.close()

    assert [(line.number, line.data) for line in lines] == [(1, b"a"), (2, b"b"), (3, b"c")]


async def test_an_unreadable_file_in_a_folder_is_reported_and_the_rest_read(
    tmp_path: Path,
) -> None:
    (tmp_path / "a-loop.jsonl").symlink_to(tmp_path / "a-loop.jsonl")
    (tmp_path / "b.jsonl").write_text('{"title":"t","body":"b"}\n')
    publisher = RecordingPublisher()

    await FileSource(tmp_path, Metrics()).run(publisher)

    assert reasons(publisher) == ["ok"]
    assert len(publisher.unreadable_input) == 1
    assert "a-loop.jsonl: Too many levels of symbolic links" in publisher.unreadable_input[0][1]


def test_a_symlink_loop_given_as_a_source_says_so(tmp_path: Path) -> None:
    loop = tmp_path / "loop.jsonl"
    loop.symlink_to(loop)

    with pytest.raises(SourceError, match="Too many levels of symbolic links"):
        FileSource(loop, Metrics())


async def test_a_fifo_without_a_writer_never_blocks_the_event_loop(tmp_path: Path) -> None:
    fifo = tmp_path / "live.jsonl"
    os.mkfifo(fifo)
    publisher = RecordingPublisher()
    loop_turned = threading.Event()
    frozen: list[bool] = []

    def watchdog() -> None:
        # A source that opened the FIFO on the loop would freeze it until a writer came:
        # be that writer after a while, so the test fails instead of hanging.
        if not loop_turned.wait(20):
            frozen.append(True)
            with fifo.open("wb"):
                pass

    guard = threading.Thread(target=watchdog, daemon=True)
    guard.start()
    reading = asyncio.create_task(FileSource(fifo, Metrics()).run(publisher))
    for _ in range(5):
        await asyncio.sleep(0.01)
    loop_turned.set()
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(reading, 30)
    guard.join(30)

    assert frozen == [], "the event loop was blocked by opening the FIFO"
    assert publisher.records == []


async def test_a_fifo_is_read_once_a_writer_comes(tmp_path: Path) -> None:
    fifo = tmp_path / "live.jsonl"
    os.mkfifo(fifo)
    publisher = RecordingPublisher()
    reading = asyncio.create_task(FileSource(fifo, Metrics()).run(publisher))

    def write() -> None:
        with fifo.open("wb") as pipe:
            pipe.write(b'{"title":"a","body":"b"}\n{"title":"c","body":"d"}\n')

    await asyncio.to_thread(write)
    await asyncio.wait_for(reading, 30)

    assert reasons(publisher) == ["ok", "ok"]
