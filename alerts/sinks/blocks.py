"""Slack Block Kit messages for alerts, with every piece of article text made inert.

Article text is untrusted: a headline can carry ``<!channel>`` or a disguised link. Rules:

- ``&``, ``<`` and ``>`` become ``&amp;``, ``&lt;`` and ``&gt;`` (Slack's escaping), so no
  ``<...>`` control sequence (mentions, channel links, ``<url|label>``) survives.
- Bare ``@channel``, ``@here`` and ``@everyone`` get a zero-width joiner after the ``@``.
- mrkdwn markers ``* _ ~ ``` in article text become look-alike characters (U+2217,
  U+02CD, U+223C, U+02CB), so article text never formats itself or unbalances our own
  bold; what people read is still what the article said.
- Whitespace runs (newlines included) collapse to one space, so no line starts a quote.

Only this module adds markup: bold around the matched phrase, the article link built from a
validated http(s) URL, and the configured mention on critical alerts.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

from alerts.model import Alert, Evidence

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
CONTEXT_LIMIT = 2000
FALLBACK_LIMIT = 3000
MAX_EVIDENCE = 5
SENTENCE_WINDOW = 600
"""Long sentences are cut to about this many characters around the matched phrase."""

ZWJ = "\u200d"
ELLIPSIS = "…"
SEVERITY_EMOJI = {
    "critical": ":rotating_light:",
    "warning": ":warning:",
    "info": ":information_source:",
}

_MENTION = re.compile(r"^(?P<kind>[UWS])[A-Z0-9]{2,20}$")
_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
_MRKDWN = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})
_ENTITY = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_SPACE = re.compile(r"\s+")
_URL_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f]")


def escape(text: str) -> str:
    """Make untrusted text inert in Slack mrkdwn (see the module docstring for the rules)."""
    return _inert(_SPACE.sub(" ", text).strip())


def _inert(text: str) -> str:
    return _BROADCAST.sub("@" + ZWJ, text.translate(_ENTITY).translate(_MRKDWN))


def escape_plain(text: str) -> str:
    """Make untrusted text inert in a ``plain_text`` object (no mrkdwn to neutralise)."""
    text = _SPACE.sub(" ", text).strip().translate(_ENTITY)
    return _BROADCAST.sub("@" + ZWJ, text)


def truncate(text: str, limit: int) -> str:
    """Cut escaped text to ``limit`` characters, ending in "…", never inside an entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&", max(0, len(cut) - 4))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS


def mention_markup(mention: str) -> str:
    """``U123ABC`` → ``<@U123ABC>``, ``S123ABC`` → ``<!subteam^S123ABC>``; else ValueError."""
    found = _MENTION.match(mention)
    if found is None:
        raise ValueError(
            f"{mention!r} is not a Slack user or user-group id (like U123ABC, S123ABC)"
        )
    if found.group("kind") == "S":
        return f"<!subteam^{mention}>"
    return f"<@{mention}>"


def safe_url(url: object) -> str | None:
    """The URL ready to sit inside ``<url|label>``, or None unless it is a plain http(s) URL."""
    if not isinstance(url, str) or _URL_UNSAFE.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    # '|' and '>' would end the link early; '<' opens another. Percent-encoding keeps the URL.
    return quote(url, safe="!#$%&'()*+,-./:;=?@[]~_").replace("&", "&amp;")


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def headline(alert: Alert) -> str:
    """The header text: severity emoji and the alert title, within the header limit."""
    emoji = SEVERITY_EMOJI.get(alert.severity, ":grey_question:")
    return truncate(f"{emoji} {escape_plain(alert.title)}", HEADER_LIMIT)


def context_line(alert: Alert) -> str:
    """Severity, watch topic, rule, kind and how many outlets reported it."""
    parts = [
        f"*{alert.severity.capitalize()}*",
        f"watch topic {escape(alert.topic)}",
        f"rule {escape(alert.rule)}",
        escape(alert.kind),
    ]
    if alert.sources > 1:
        parts.append(f"{alert.sources} sources")
    return truncate(" · ".join(parts), CONTEXT_LIMIT)


def evidence_text(evidence: Evidence) -> str:
    """The sentence with the matched phrase in bold, then the label and its attributes."""
    sentence = _SPACE.sub(" ", evidence.sentence).strip()
    phrase = _SPACE.sub(" ", evidence.phrase).strip()
    found = _whole_word(phrase).search(sentence) if phrase else None
    if found is None:
        quoted = escape(
            sentence[:SENTENCE_WINDOW] + ELLIPSIS if len(sentence) > SENTENCE_WINDOW else sentence
        )
        if phrase:
            quoted = f"*{escape(phrase)}*: {quoted}" if quoted else f"*{escape(phrase)}*"
    else:
        at, end = found.span()
        before, after = _split_window(sentence, at, end)
        quoted = f"{_inert(before)}*{_inert(sentence[at:end])}*{_inert(after)}"
    details = [f"_{escape(evidence.label)}_"] if evidence.label.strip() else []
    details += [
        f"{escape(key)}: {escape(value)}" for key, value in evidence.attributes.items() if value
    ]
    text = quoted if not details else f"{quoted}\n{' · '.join(details)}"
    return truncate(text, SECTION_LIMIT)


def _whole_word(phrase: str) -> re.Pattern[str]:
    """The phrase as whole words, case-insensitive, any run of spaces between words."""
    words = r"\s+".join(re.escape(word) for word in phrase.split())
    return re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)


def _split_window(sentence: str, start: int, end: int) -> tuple[str, str]:
    """The text before and after the match, trimmed so the whole stays readable."""
    side = max(0, (SENTENCE_WINDOW - (end - start)) // 2)
    before, after = sentence[:start], sentence[end:]
    if len(before) > side:
        before = ELLIPSIS + before[-side:]
    if len(after) > side:
        after = after[:side] + ELLIPSIS
    return before, after


def article_line(alert: Alert) -> str | None:
    """``<url|title> — source``, or the escaped title alone when the URL is not http(s)."""
    article = alert.article
    title = article.get("title") or alert.title
    label = escape(str(title)) or "article"
    url = safe_url(article.get("url"))
    line = f"<{url}|{label}>" if url else label
    source = article.get("source")
    if source:
        line += f" — {escape(str(source))}"
    return truncate(line, SECTION_LIMIT) if url or source or article.get("title") else None


def fallback_text(alert: Alert, mention: str | None = None) -> str:
    """The notification text (shown where blocks are not): severity, topic and title."""
    text = f"[{alert.severity.upper()}] {escape(alert.topic)}: {escape(alert.title)}"
    if mention and alert.severity == "critical":
        text = f"{mention_markup(mention)} {text}"
    return truncate(text, FALLBACK_LIMIT)


def alert_blocks(alert: Alert, mention: str | None = None) -> list[dict[str, Any]]:
    """The Block Kit blocks for one alert; ``mention`` is added on critical alerts only."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline(alert), "emoji": True}},
        {"type": "context", "elements": [_mrkdwn(context_line(alert))]},
    ]
    summary = escape(alert.summary)
    if mention and alert.severity == "critical":
        summary = f"{mention_markup(mention)} {summary}".strip()
    if summary:
        blocks.append({"type": "section", "text": _mrkdwn(truncate(summary, SECTION_LIMIT))})
    for evidence in alert.evidence[:MAX_EVIDENCE]:
        blocks.append({"type": "section", "text": _mrkdwn(evidence_text(evidence))})
    hidden = len(alert.evidence) - MAX_EVIDENCE
    if hidden > 0:
        more = f"…and {hidden} more piece{'s' if hidden > 1 else ''} of evidence"
        blocks.append({"type": "context", "elements": [_mrkdwn(more)]})
    link = article_line(alert)
    if link:
        blocks.append({"type": "section", "text": _mrkdwn(link)})
    alert_id = truncate(f"alert {escape(alert.id)}", CONTEXT_LIMIT)
    blocks.append({"type": "context", "elements": [_mrkdwn(alert_id)]})
    return blocks


def alert_metadata(alert: Alert) -> dict[str, Any]:
    """Slack message metadata: lets anyone find the message for an alert id later."""
    return {
        "event_type": "flashpoint_alert",
        "event_payload": {
            "alert_id": alert.id,
            "rule": alert.rule,
            "topic": alert.topic,
            "severity": alert.severity,
        },
    }
