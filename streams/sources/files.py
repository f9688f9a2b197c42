"""Articles from files: JSON lines, JSON documents, plain text, or a folder of them.

Records are framed, never judged: an invalid line or document is published as it is and
triage dead-letters it with the reason. Oversized records are still published, but no
more than ``max_record_bytes + 1`` bytes of one are ever held in memory: that prefix is
what gets published, and triage rejects it as ``too_large`` because it is over the limit.
Files are opened and read off the event loop (:mod:`streams.sources.chunks`), so a big
file or a FIFO nobody writes to never stalls it. A file that cannot be read is reported
(:meth:`~streams.sources.base.Publisher.unreadable`) and the next file is read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import stat
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alerts.articles import MAX_RECORD_BYTES
from alerts.metrics import Metrics
from streams.sources.base import Publisher, SourceError, encode_record
from streams.sources.chunks import open_for_reading, read_chunks

log = logging.getLogger(__name__)

SUFFIXES = (".jsonl", ".json", ".txt")
MAX_JSON_FILE_BYTES = 64 * 1024 * 1024
"""A ``.json`` file is parsed whole; past this size it is published as one oversized raw
record (triage rejects it) and the log says to use JSON lines instead."""

_BOM = b"\xef\xbb\xbf"
_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Line:
    """One non-blank line of a JSON-lines stream."""

    number: int
    data: bytes
    truncated: bool
    """The line was longer than the limit; ``data`` holds only its first limit+1 bytes."""


class LineFramer:
    """Splits a byte stream into lines, holding at most ``limit + 1`` bytes of any line.

    A line ends at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (old Mac files; JSON never holds a
    raw CR). Blank lines are skipped and a leading UTF-8 BOM is removed; every other byte
    is kept as read.
    """

    def __init__(self, limit: int = MAX_RECORD_BYTES) -> None:
        self._cap = limit + 1
        self._buffer = bytearray()
        self._truncated = False
        self._number = 0
        self._after_cr = False

    def feed(self, chunk: bytes) -> list[Line]:
        """Take the next chunk; return the lines it completed."""
        lines: list[Line] = []
        start = 0
        if self._after_cr and chunk.startswith(b"\n"):
            start = 1  # the "\n" of a "\r\n" split between chunks
        self._after_cr = False
        for end in _LINE_END.finditer(chunk, start):
            self._keep(chunk, start, end.start())
            self._emit(lines)
            start = end.end()
        self._keep(chunk, start, len(chunk))
        self._after_cr = chunk.endswith(b"\r")
        return lines

    def close(self) -> list[Line]:
        """End of stream: return the last line if it had no newline."""
        lines: list[Line] = []
        if self._buffer or self._truncated:
            self._emit(lines)
        return lines

    def _keep(self, chunk: bytes, start: int, end: int) -> None:
        if self._truncated or start == end:
            return
        room = self._cap - len(self._buffer)
        if end - start > room:
            end = start + room
            self._truncated = True
        self._buffer += chunk[start:end]

    def _emit(self, lines: list[Line]) -> None:
        self._number += 1
        data = bytes(self._buffer)
        truncated = self._truncated
        self._buffer.clear()
        self._truncated = False
        if self._number == 1:
            data = data.removeprefix(_BOM)
        if not truncated and not data.strip():
            return
        lines.append(Line(self._number, data, truncated))


class FileSource:
    """Publishes every record in a file or, recursively and in name order, a folder."""

    finite = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        metrics: Metrics,
        *,
        max_record_bytes: int = MAX_RECORD_BYTES,
        name: str = "file",
    ) -> None:
        self.path = Path(path)
        self.name = name
        self._metrics = metrics
        self._limit = max_record_bytes
        try:
            mode = os.stat(self.path).st_mode  # never blocks, even on a FIFO
        except FileNotFoundError:
            raise SourceError(f"source {str(path)!r}: no such file or folder") from None
        except OSError as exc:
            raise SourceError(f"source {str(path)!r}: {exc.strerror or exc}") from None
        self._folder = stat.S_ISDIR(mode)
        if not self._folder and self.path.suffix.lower() not in SUFFIXES:
            raise SourceError(
                f"source {str(path)!r}: unknown file type {self.path.suffix or '(none)'!r}; "
                f"expected one of {', '.join(SUFFIXES)}"
            )

    def files(self) -> list[Path]:
        """The files this source reads, in the order it reads them."""
        if not self._folder:
            return [self.path]
        return sorted(_walk(self.path), key=lambda p: p.relative_to(self.path).as_posix())

    async def run(self, publisher: Publisher) -> None:
        """Publish every record of every file, then return; a file that cannot be read is
        reported and the next one read."""
        files = await asyncio.to_thread(self.files)
        if not files:
            log.warning("source %s: no .jsonl, .json or .txt files in %s", self.name, self.path)
        for path in files:
            try:
                count = await self._read(path, publisher)
            except OSError as exc:
                publisher.unreadable(self.name, f"cannot read {path}: {exc.strerror or exc}")
                continue
            log.info("source %s: published %d records from %s", self.name, count, path)

    async def _read(self, path: Path, publisher: Publisher) -> int:
        fd = await open_for_reading(path)
        try:
            async with aclosing(read_chunks(fd)) as chunks:
                suffix = path.suffix.lower()
                if suffix == ".jsonl":
                    return await self._read_lines(path, chunks, publisher)
                if suffix == ".json":
                    return await self._read_json(path, chunks, publisher)
                return await self._read_text(path, chunks, publisher)
        finally:
            os.close(fd)

    async def _read_lines(
        self, path: Path, chunks: AsyncIterator[bytes], publisher: Publisher
    ) -> int:
        framer = LineFramer(self._limit)
        count = 0
        try:
            async for chunk in chunks:
                for line in framer.feed(chunk):
                    await self._publish_line(publisher, path, line)
                    count += 1
        except OSError as exc:  # what was read so far is published; the rest is lost
            publisher.unreadable(
                self.name, f"{path}: read failed after {count} records: {exc.strerror or exc}"
            )
        for line in framer.close():
            await self._publish_line(publisher, path, line)
            count += 1
        return count

    async def _publish_line(self, publisher: Publisher, path: Path, line: Line) -> None:
        if line.truncated:
            log.warning(
                "%s:%d: line is over %d bytes; publishing its first %d bytes, which triage "
                "rejects as too_large",
                path,
                line.number,
                self._limit,
                len(line.data),
            )
        await self._publish(publisher, line.data)

    async def _read_json(
        self, path: Path, chunks: AsyncIterator[bytes], publisher: Publisher
    ) -> int:
        data, whole = await _read_up_to(chunks, MAX_JSON_FILE_BYTES)
        if not whole:
            log.error(
                "%s: over %d bytes, too big to parse as one JSON document; publishing it as "
                "one oversized record (use JSON lines for large batches)",
                path,
                MAX_JSON_FILE_BYTES,
            )
            await self._publish(publisher, data[: self._limit + 1])
            return 1
        data = data.removeprefix(_BOM)
        document = await asyncio.to_thread(_load_json, data)
        if not isinstance(document, list):
            # One object, or invalid JSON that triage will name: published as read.
            await self._publish(publisher, data[: self._limit + 1])
            return 1
        for element in document:
            await self._publish(publisher, encode_record(element))
        return len(document)

    async def _read_text(
        self, path: Path, chunks: AsyncIterator[bytes], publisher: Publisher
    ) -> int:
        head, whole = await _read_up_to(chunks, self._limit)
        if not whole:
            log.warning("%s: over %d bytes, the record limit; triage rejects it", path, self._limit)
            await self._publish(publisher, head)
            return 1
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Published as read, so triage reports invalid_utf8 instead of us guessing a charset.
            await self._publish(publisher, head)
            return 1
        title, _, body = text.strip().partition("\n")
        record = {"title": title.strip(), "body": body.strip()}
        await self._publish(publisher, encode_record(record))
        return 1

    async def _publish(self, publisher: Publisher, raw: bytes) -> None:
        await publisher.publish(raw, source=self.name)
        self._metrics.articles.labels(source=self.name).inc()


def _load_json(data: bytes) -> Any:
    """The parsed document, or None when it is not JSON (then it is published raw)."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


async def _read_up_to(chunks: AsyncIterator[bytes], limit: int) -> tuple[bytes, bool]:
    """At most ``limit + 1`` bytes, and whether that was everything (no more than limit)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(parts)[: limit + 1], False
    return b"".join(parts), True


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in names:
            path = Path(root, name)
            if path.suffix.lower() not in SUFFIXES:
                log.debug("skipping %s: not a .jsonl, .json or .txt file", path)
            elif path.is_symlink() or path.is_file():
                yield path  # a broken or looping link is reported when it is opened
            else:
                log.debug("skipping %s: not a regular file (a FIFO or device)", path)
