"""Slack Block Kit messages for alerts, written for a person who reads them once, with every
piece of article text made inert.

A message says the headline once (the header); what happened in one line (severity, watch
topic and the rule's summary: who did what, the level and its change; then outlets and the
latest time); the evidence sentence with the matched phrase in bold; and the link. Nothing
internal: no rule names, act labels, weights, scores or alert ids (the id travels in the
message metadata).

Article text is untrusted:

- ``&``, ``<`` and ``>`` become ``&amp;``, ``&lt;`` and ``&gt;`` (Slack's escaping), so no
  ``<...>`` control sequence (mentions, channel links, ``<url|label>``) survives.
- Bidirectional controls and other control characters are dropped, so no right-to-left
  override turns our own text around; whitespace runs (newlines too) become one space.
- An ``@`` before a word and a ``:`` opening an emoji code get an invisible word joiner
  (U+2060) after them: ``@here``, ``@someone`` or ``:rotating_light:`` in an article never
  render as a mention or an emoji.
- ``* _ ~ ``` are left alone inside a word (``use_force``) or between spaces, where Slack
  never reads them as formatting; elsewhere they become look-alikes (U+2217, U+02CD, U+223C,
  U+02CB), so article text cannot format itself or unbalance our bold.
- Only http(s) URLs without user info become links; a link is never cut, and text is cut at
  Slack's limits after a whole phrase.

Only this module adds markup: bold, links, dates and the configured mention.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from alerts.errors import SinkError
from alerts.model import Alert, Evidence, topic_label
from alerts.sinks.threads import Thread, lead, published_at

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
TEXT_LIMIT = 3000
SUMMARY_LIMIT = 700
MAX_EVIDENCE = 3
SENTENCE_WINDOW = 600
"""Long sentences are cut to about this many characters around the matched phrase."""
MAX_LINK_URL = 2000
"""A longer URL is not linked at all rather than cut."""

JOINER = "\u2060"
ELLIPSIS = "…"
SEVERITY_SYMBOL = {"critical": "🚨", "warning": "⚠️", "info": "ℹ️"}  # noqa: RUF001
SEVERITY_NAME = {"critical": "Critical", "warning": "Warning", "info": "Info"}
SHOWN_ATTRIBUTES = ("amount", "deadline", "previous")
"""Evidence attributes people read (a commitment's amount and deadline, what it was);
labels, weights and actors are for rules, not for the channel."""

_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s+")
_HANDLE = re.compile(r"@(?=\w)")
_EMOJI = re.compile(r":(?=[\w+'-]+:)")
_ENTITY = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_LOOKALIKE = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
_MENTION = re.compile(r"^(?P<kind>[UWS])[A-Z0-9]{2,20}$")
_URL_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f]")
_DASHES = "-\u2013\u2014"
_PHRASE_END = re.compile(rf"(?:[,;:.!?)\]]|\s[{_DASHES}·|])\s")


@dataclass(frozen=True, slots=True)
class Message:
    """What goes to Slack: notification text, blocks and metadata."""

    text: str
    blocks: list[dict[str, Any]]
    metadata: dict[str, Any]


# ------------------------------------------------------------------------- making text inert


def clean(text: str) -> str:
    """Drop bidi and control characters; collapse whitespace."""
    return _SPACE.sub(" ", _CONTROL.sub("", _BIDI.sub("", text))).strip()


def escape_plain(text: str) -> str:
    """Untrusted text made inert for a ``plain_text`` object."""
    return _entities(clean(text))


def escape(text: str) -> str:
    """Untrusted text made inert for ``mrkdwn`` (see the module docstring for the rules)."""
    return _markers(_entities(clean(text)))


def _entities(text: str) -> str:
    text = text.translate(_ENTITY)
    return _EMOJI.sub(":" + JOINER, _HANDLE.sub("@" + JOINER, text))


def _markers(text: str) -> str:
    """Formatting characters Slack could act on become look-alikes; the rest stay."""
    if not any(ch in text for ch in _LOOKALIKE):
        return text
    out = []
    last = len(text) - 1
    for i, ch in enumerate(text):
        if ch in _LOOKALIKE:
            before = text[i - 1] if i > 0 else ""
            after = text[i + 1] if i < last else ""
            inside_word = before.isalnum() and after.isalnum()
            between_spaces = before.isspace() and after.isspace()
            out.append(ch if inside_word or between_spaces else _LOOKALIKE[ch])
        else:
            out.append(ch)
    return "".join(out)


def shorten(text: str, limit: int) -> str:
    """Cut inert text to ``limit`` characters after a whole phrase (else a whole word),
    ending in "…", never inside an entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    floor = len(cut) // 2
    ends = [m.start() + 1 for m in _PHRASE_END.finditer(cut) if m.start() + 1 >= floor]
    if ends:
        cut = cut[: ends[-1]]
    elif (space := cut.rfind(" ")) >= floor:
        cut = cut[:space]
    amp = cut.rfind("&", max(0, len(cut) - 5))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip(" ,;:·" + _DASHES) + ELLIPSIS


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
    """The URL ready to sit inside ``<url|label>``, or None unless it is a plain http(s) URL
    with a host and no user info (``https://news.example@evil.example/`` is not linked)."""
    if not isinstance(url, str) or _URL_UNSAFE.search(url) or _BIDI.search(url):
        return None
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or not port_ok:
        return None
    if "@" in parts.netloc:
        return None
    # '|' and '>' would end the link early; '<' opens another. Percent-encoding keeps the URL.
    return quote(url, safe="!#$%&'()*+,-./:;=?@[]~_").replace("&", "&amp;")


# ------------------------------------------------------------------------- pieces


def slack_date(moment: float) -> str:
    """A time every reader sees in their own time zone (UTC where dates are not drawn)."""
    when = datetime.fromtimestamp(moment, UTC)
    fallback = f"{when.day} {when:%b %Y %H:%M} UTC"
    return f"<!date^{int(moment)}^{{date_short_pretty}} {{time}}|{fallback}>"


def headline(alert: Alert, more: int = 0) -> str:
    """The header: a severity symbol and the alert's title, once, within Slack's limit;
    ``more`` counts the other stories a group message lists."""
    symbol = SEVERITY_SYMBOL.get(alert.severity, "")
    suffix = f" (+{more} more)" if more else ""
    title = shorten(f"{symbol} {escape_plain(alert.title)}".strip(), HEADER_LIMIT - len(suffix))
    return title + suffix


def what_happened(
    alert: Alert, thread: Thread | None = None, shown_levels: frozenset[str | None] = frozenset()
) -> str:
    """One line: severity, watch topic and the rule's summary; with ``thread``, how many
    outlets carried it, the level now (unless ``shown_levels`` already says it) and the
    latest time."""
    severity = SEVERITY_NAME.get(alert.severity, alert.severity)
    line = f"*{severity}* · {escape(topic_label(alert.topic))}"
    summary = shorten(escape(alert.summary), SUMMARY_LIMIT)
    if summary:
        line += f" — {summary}"
    facts = []
    outlets = max(alert.sources, thread.outlets if thread else 1)
    if outlets > 1:
        facts.append(f"{outlets} outlets")
    if thread is not None and thread.level and thread.level not in shown_levels:
        facts.append(f"level now {thread.level.upper()}")
    if thread is not None and outlets > 1 and thread.latest is not None:
        facts.append(f"latest {slack_date(thread.latest)}")
    return " · ".join([line, *facts])


def evidence_text(evidence: Evidence) -> str:
    """The sentence with the matched phrase in bold, then the facts people read."""
    sentence = clean(evidence.sentence)
    phrase = clean(evidence.phrase)
    found = _whole_word(phrase).search(sentence) if phrase else None
    if found is None:
        if len(sentence) > SENTENCE_WINDOW:
            sentence = sentence[:SENTENCE_WINDOW] + ELLIPSIS
        quoted = escape(sentence)
        if phrase:
            quoted = f"*{escape(phrase)}*: {quoted}" if quoted else f"*{escape(phrase)}*"
    else:
        at, end = found.span()
        before, after = _split_window(sentence, at, end)
        # Pieces of an already clean sentence: their edge spaces are kept.
        pieces = (before, sentence[at:end], after)
        quoted = "{}*{}*{}".format(*(_markers(_entities(p)) for p in pieces))
    facts = []
    for key in SHOWN_ATTRIBUTES:
        value = clean(evidence.attributes.get(key) or "")
        if value:
            facts.append(f"was {escape(value)}" if key == "previous" else escape(value))
    text = quoted if not facts else f"{quoted}\n{' · '.join(facts)}"
    return shorten(text, SECTION_LIMIT) if len(text) > SECTION_LIMIT else text


def _whole_word(phrase: str) -> re.Pattern[str]:
    """The phrase as whole words, case-insensitive, any run of spaces between words."""
    words = r"\s+".join(re.escape(word) for word in phrase.split())
    return re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)


def _split_window(sentence: str, start: int, end: int) -> tuple[str, str]:
    """The text before and after the match, trimmed at whole words to stay readable."""
    side = max(0, (SENTENCE_WINDOW - (end - start)) // 2)
    before, after = sentence[:start], sentence[end:]
    if len(before) > side:
        cut = before[-side:]
        space = cut.find(" ")
        before = ELLIPSIS + (cut[space:] if 0 <= space < len(cut) // 2 else cut)
    if len(after) > side:
        cut = after[:side]
        space = cut.rfind(" ")
        after = (cut[:space] if space > len(cut) // 2 else cut) + ELLIPSIS
    return before, after


def link_line(alert: Alert, *, title_shown: bool) -> str | None:
    """``<url|label> · date``: the label is the outlet when the header already shows the
    article's title, else the title. No link for a URL that is not safe or too long."""
    article = alert.article
    title = clean(str(article.get("title") or ""))
    source = clean(str(article.get("source") or ""))
    url = safe_url(article.get("url"))
    if url is not None and len(url) > MAX_LINK_URL:
        url = None
    if title_shown or not title:
        label = source or (urlsplit(str(article.get("url"))).hostname or "" if url else "")
        label = label or ("Read the article" if url else "")
    else:
        label = title + (f" — {source}" if source else "")
    moment = published_at(alert) if article.get("published") else None
    date = f" · {slack_date(moment)}" if moment is not None else ""
    if not label and not date:
        return None
    room = SECTION_LIMIT - len(date) - (len(url) + 3 if url else 0)
    text = shorten(escape(label), room) if label else ""
    line = f"<{url}|{text}>" if url and text else text
    return (line + date).removeprefix(" · ") or None


def coverage_text(alert: Alert) -> str:
    """A thread reply noting one more outlet: who, when, and the link to their article."""
    article = alert.article
    source = clean(str(article.get("source") or "")) or "another outlet"
    text = f"Also reported by *{escape(source)}*"
    moment = published_at(alert) if article.get("published") else None
    if moment is not None:
        text += f" · {slack_date(moment)}"
    title = clean(str(article.get("title") or ""))
    url = safe_url(article.get("url"))
    if url is not None and len(url) > MAX_LINK_URL:
        url = None
    room = SECTION_LIMIT - len(text) - 3 - (len(url) + 3 if url else 0)
    label = shorten(escape(title), room) if title else ""
    if url:
        text += f" · <{url}|{label or 'article'}>"
    elif label:
        text += f" · {label}"
    return text


# ------------------------------------------------------------------------- messages


def render(
    alerts: Sequence[Alert],
    *,
    thread: Thread | None = None,
    mention: str | None = None,
    reply: bool = False,
    broadcast: bool = False,
) -> Message:
    """The message for ``alerts`` (usually one; several about one article share one).

    A new message or a reply also sent to the channel is drawn in full, with the header;
    a plain reply starts with the headline in bold; a note of further coverage is one line.
    ``thread`` adds what the thread shows now (outlets, level, latest time); ``mention``
    is added when the message is critical.
    """
    first = lead(alerts)
    ordered = [first, *(a for a in alerts if a is not first)]
    markup = mention_markup(mention) if mention and first.severity == "critical" else None
    metadata = alert_metadata(ordered)
    if reply and not broadcast and all(a.kind == "coverage" for a in ordered):
        fallback = clean(f"Also reported by {first.article.get('source') or 'another outlet'}")
        note = [_section(coverage_text(first))]
        return Message(shorten(escape(fallback), TEXT_LIMIT), validated(note), metadata)
    blocks: list[dict[str, Any]] = []
    levels = frozenset(a.level for a in ordered)
    lines = [what_happened(a, thread if a is first else None, levels) for a in ordered]
    stories = len({_article_key(a) for a in ordered})
    if stories > 1:  # a group: each further item links to its own article
        for index, alert in enumerate(ordered[1:], start=1):
            link = link_line(alert, title_shown=False)
            lines[index] += f" · {link}" if link else ""
    if reply and not broadcast:
        lines[0] = f"*{shorten(escape(first.title), HEADER_LIMIT)}*\n{lines[0]}"
    else:
        header = headline(first, more=stories - 1)
        blocks.append(
            {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": False}}
        )
    if markup:
        lines[0] = f"{markup} {lines[0]}"
    blocks.append(_section(_fit(lines)))
    seen: set[str] = set()
    shown = 0
    for alert in ordered:
        for evidence in alert.evidence:
            key = clean(evidence.sentence).lower()
            if shown == MAX_EVIDENCE or key in seen:
                continue
            seen.add(key)
            shown += 1
            blocks.append(_section(evidence_text(evidence)))
    title_shown = clean(str(first.article.get("title") or "")) == clean(first.title)
    link = link_line(first, title_shown=title_shown and not (reply and not broadcast))
    if link:
        blocks.append({"type": "context", "elements": [_mrkdwn(link)]})
    name = SEVERITY_NAME.get(first.severity, first.severity)
    text = f"{name}: {escape(first.title)}"
    if markup:
        text = f"{markup} {text}"
    return Message(shorten(text, TEXT_LIMIT), validated(blocks), metadata)


def alert_metadata(alerts: Sequence[Alert]) -> dict[str, Any]:
    """Slack message metadata: lets anyone find the message for an alert id later."""
    first = alerts[0]
    return {
        "event_type": "flashpoint_alert",
        "event_payload": {
            "alert_id": first.id,
            "alert_ids": " ".join(a.id for a in alerts),
            "rule": first.rule,
            "topic": first.topic,
            "severity": first.severity,
        },
    }


def validated(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``blocks`` after slack-sdk's own Block Kit checks; SinkError if any fails."""
    if len(blocks) > 50:
        raise SinkError(f"{len(blocks)} blocks, Slack allows 50", code="invalid_blocks")
    for block in blocks:
        parsed = Block.parse(block)
        if parsed is None:
            raise SinkError(f"unknown block {block.get('type')!r}", code="invalid_blocks")
        try:
            parsed.validate_json()
        except SlackObjectFormationError as exc:
            raise SinkError(
                f"invalid {block.get('type')} block: {exc}", code="invalid_blocks"
            ) from None
    return blocks


def _article_key(alert: Alert) -> str:
    return str(alert.article.get("id") or alert.article.get("url") or alert.id)


def _fit(lines: list[str]) -> str:
    """Whole lines that fit in one section (each line holds markup that must not be cut)."""
    kept = lines[:1]
    for line in lines[1:]:
        if len("\n".join([*kept, line])) > SECTION_LIMIT - 40:
            left = len(lines) - len(kept)
            kept.append(f"…and {left} more")
            break
        kept.append(line)
    return "\n".join(kept)


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}
