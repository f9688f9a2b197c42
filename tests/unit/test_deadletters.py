"""A dead letter always fits the topic, and says what it cut."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from streams.pipeline import DEADLETTER_VALUE_BYTES, DeadLetter

PRODUCER_LIMIT = 1_000_000


@pytest.mark.parametrize(
    "value",
    [
        b"\x01" * 170_000,  # every byte escapes to six
        b"\x00" * 1_000_001,  # the head of a sparse file
        "\u2028\u00e9\U0001f600".encode() * 150_000,  # multi-byte characters
        b"\xff" * 1_000_001,  # not UTF-8: stored as base64
    ],
)
def test_any_value_fits_and_a_cut_one_keeps_its_size_and_digest(value: bytes) -> None:
    letter = DeadLetter("triage", "too_large", "detail " * 1000, value, key=b"k" * 5000)

    stored = letter.to_json()
    record = json.loads(stored)

    assert len(stored) < PRODUCER_LIMIT
    assert record["value_truncated"] is True
    assert record["value_bytes"] == len(value)
    assert record["value_sha256"] == hashlib.sha256(value).hexdigest()
    kept = (
        record["value"].encode() if "value" in record else base64.b64decode(record["value_base64"])
    )
    assert value.startswith(kept) and len(kept) > DEADLETTER_VALUE_BYTES // 8


def test_a_small_value_is_kept_whole_as_text() -> None:
    record = json.loads(DeadLetter("triage", "invalid_json", "d", b"{oops").to_json())

    assert record["value"] == "{oops"
    assert "value_truncated" not in record


def test_a_detail_with_a_lone_surrogate_is_still_valid_utf8() -> None:
    stored = DeadLetter("notify", "sink_failed", "echo \ud800 back", b"{}").to_json()

    assert json.loads(stored.decode("utf-8"))["detail"] == "echo ? back"
