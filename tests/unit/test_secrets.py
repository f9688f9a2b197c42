"""Known secrets never leave in what Flashpoint writes."""

from __future__ import annotations

import logging
import sys

import pytest

from alerts.secrets import (
    REDACTED,
    Scrubber,
    ScrubbingFilter,
    redact_url,
    remember_environment,
    scrub,
)

TOKEN = "xoxb-1111-2222-abcdefSECRET"


def test_a_token_and_its_escaped_forms_are_scrubbed() -> None:
    scrubber = Scrubber()
    scrubber.add([TOKEN, "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"])

    text = scrubber(
        f"error: invalid_auth for {TOKEN}; body echoed "
        "Authorization%3A%20Bearer%20" + TOKEN.replace("-", "%2D") + " and /services/T000/B000/"
        "XXXXXXXXXXXXXXXXXXXXXXXX"
    )

    assert TOKEN not in text
    assert "XXXXXXXXXXXXXXXXXXXXXXXX" not in text
    assert text.count(REDACTED) >= 2


def test_short_values_and_ordinary_words_are_left_alone() -> None:
    scrubber = Scrubber()
    scrubber.add(["abc", "https://example.org/services/feed"])

    assert scrubber("abc services feed") == "abc services feed"


def test_secret_looking_variables_are_remembered() -> None:
    remember_environment(
        {"MY_SERVICE_API_KEY": "key-0123456789", "HOME": "/root", "ODD": "plain-value-1"},
        names=["ODD"],
    )

    assert scrub("key-0123456789 /root plain-value-1") == f"{REDACTED} /root {REDACTED}"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://user:hunter2-pass@feeds.example.org/world.xml",
            "https://feeds.example.org/world.xml",
        ),
        (
            "https://feeds.example.org/x?token=t0ps3cr3tvalue&lang=en",
            f"https://feeds.example.org/x?token={REDACTED}&lang=en",
        ),
        ("http://[::1", "(malformed URL)"),
    ],
)
def test_urls_are_shown_without_credentials(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_url_password_is_scrubbed_wherever_it_is_echoed() -> None:
    redact_url("https://reader:pa55-w0rd-xyz@feeds.example.org/a.xml")

    assert "pa55-w0rd-xyz" not in scrub("401: bad password pa55-w0rd-xyz")


def test_the_log_filter_scrubs_messages_arguments_and_tracebacks() -> None:
    remember_environment({"SLACK_BOT_TOKEN": TOKEN})
    try:
        raise RuntimeError(f"server said {TOKEN}")
    except RuntimeError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed: %s", (TOKEN,), exc_info=sys.exc_info()
        )
    ScrubbingFilter().filter(record)

    line = logging.Formatter().format(record)
    assert TOKEN not in line
    assert REDACTED in line
