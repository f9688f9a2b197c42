"""Slack messages as a person reads them: headline once, one line, evidence, link; article
text inert; Slack's limits kept; every payload valid Block Kit (slack-sdk's own checks)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from alerts.errors import SinkError
from alerts.model import Alert, Evidence
from alerts.sinks.blocks import (
    HEADER_LIMIT,
    JOINER,
    SECTION_LIMIT,
    escape,
    evidence_text,
    render,
    safe_url,
    shorten,
    validated,
)
from alerts.sinks.threads import Thread

URL = "https://news.example.org/asia/launch?id=7&lang=en"
TITLE = "North Korea fires ballistic missile into the sea"


def make_alert(**changes: Any) -> Alert:
    alert = Alert(
        id="a1b2c3d4e5f6a7b8c9d0",
        rule="missile-launch",
        kind="keyword",
        severity="warning",
        topic="korean-peninsula",
        title=TITLE,
        summary="Ballistic, cruise and hypersonic missile launches",
        evidence=(
            Evidence(
                phrase="fired a ballistic missile",
                sentence="Pyongyang fired a ballistic missile into the sea on Monday, the "
                "military in Seoul said.",
                start=0,
                end=0,
                label="use_force",
                attributes={"weight": "6", "actor": "North Korea"},
            ),
        ),
        article={
            "id": "art-1",
            "url": URL,
            "title": TITLE,
            "source": "Harbour Wire",
            "published": "2024-05-01T08:00:00Z",
        },
        created_at="2024-05-01T08:00:02Z",
        thread_key="story:korean-peninsula:art-1",
    )
    return replace(alert, **changes)


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every text string in a Block Kit payload, wherever it sits."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return found


def shown(alerts: list[Alert] | Alert, **kwargs: Any) -> str:
    message = render(alerts if isinstance(alerts, list) else [alerts], **kwargs)
    for block in message.blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
    return "\n".join([message.text, *texts(message.blocks)])


def markup(text: str) -> list[str]:
    return re.findall(r"<[^>]*>", text)


def test_a_message_says_the_headline_once_then_one_line_evidence_and_link() -> None:
    message = render([make_alert()])
    header, line, evidence, link = message.blocks
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": f"⚠️ {TITLE}", "emoji": False},
    }
    assert line["text"]["text"] == (
        "*Warning* · Korean Peninsula — Ballistic, cruise and hypersonic missile launches"
    )
    assert evidence["text"]["text"] == (
        "Pyongyang *fired a ballistic missile* into the sea on Monday, the military in Seoul said."
    )
    link_text = link["elements"][0]["text"]
    assert link_text.startswith(f"<{URL.replace('&', '&amp;')}|Harbour Wire> · <!date^1714550400^")
    assert link_text.endswith("|1 May 2024 08:00 UTC>")
    assert "\n".join(texts(message.blocks)).count(TITLE) == 1
    assert message.text == f"Warning: {TITLE}"


def test_nothing_internal_reaches_the_channel() -> None:
    alert = make_alert()
    everything = shown(alert)
    for internal in (alert.id, "missile-launch", "use_force", "weight", "_keyword_", "rule "):
        assert internal not in everything, internal
    assert "North Korea" not in everything.split("\n", 1)[1].replace(TITLE, "")


def test_a_commitments_amount_and_deadline_are_shown_but_not_its_labels() -> None:
    evidence = Evidence(
        phrase="pledged to double defence spending",
        sentence="The cabinet pledged to double defence spending within five years.",
        start=0,
        end=0,
        label="commitment",
        attributes={
            "actor": "Japan",
            "action": "double defence spending",
            "novelty": "revision",
            "amount": "2% of GDP",
            "deadline": "within five years",
            "previous": "1% of GDP",
        },
    )
    assert evidence_text(evidence) == (
        "The cabinet *pledged to double defence spending* within five years.\n"
        "2% of GDP · within five years · was 1% of GDP"
    )


def test_article_text_cannot_mention_link_or_format() -> None:
    hostile = "Breaking <!channel> <@U1> <#C123> <!subteam^S1> <http://evil.example|click>"
    alert = make_alert(
        title=f"{hostile} @here",
        summary="Read <http://x|y> & tell @channel *now* _please_ ~gone~ `code`",
        evidence=(
            Evidence(
                phrase="mobilised",
                sentence="The army mobilised <@U1> reserves, said @everyone.",
                start=0,
                end=0,
                label="<!channel>",
            ),
        ),
        article={"url": URL, "title": "<http://evil.example|innocent>", "source": "<#C9>"},
    )
    everything = shown(alert)
    assert markup(everything) == [
        f"<{URL.replace('&', '&amp;')}|&lt;http://evil.example|innocent&gt; — &lt;#C9&gt;>"
    ]
    assert "&lt;!channel&gt;" in everything
    assert "&lt;http://x|y&gt; &amp; tell @\u2060channel" in everything
    assert "@\u2060here" in everything
    assert "@\u2060everyone" in everything
    assert re.search(r"@(?!\u2060)\w", everything) is None
    assert "\u2217now\u2217 \u02cdplease\u02cd \u223cgone\u223c \u02cbcode\u02cb" in everything


def test_ordinary_underscores_stars_and_tildes_stay_as_written() -> None:
    text = "use_force, snake_case names, 2*3 = 6, a * b and x ~ y"
    assert escape(text) == text
    assert escape("*bold* and _it_") == "\u2217bold\u2217 and \u02cdit\u02cd"


def test_bidi_controls_are_stripped_from_article_text() -> None:
    alert = make_alert(title="Drills \u202eregdirb\u202c announced", summary="a\u2066b\u2069c")
    everything = shown(alert)
    assert re.search("[\u202a-\u202e\u2066-\u2069\u200e\u200f]", everything) is None
    assert "Drills regdirb announced" in everything


def test_emoji_codes_from_an_article_never_render() -> None:
    title = ":rotating_light: CRITICAL :rotating_light: Missile test"
    message = render([make_alert(title=title, article={"title": title, "url": URL})])
    header = message.blocks[0]["text"]
    assert header["emoji"] is False
    assert header["text"] == (
        f"⚠️ :{JOINER}rotating_light: CRITICAL :{JOINER}rotating_light: Missile test"
    )
    assert re.search(r":[a-z_]+:", "\n".join(texts(message.blocks))) is None


def test_only_plain_http_urls_without_user_info_are_linked() -> None:
    assert safe_url("https://news.example@evil.example/") is None
    assert safe_url("https://user:pw@news.example/") is None
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://x.example/a b") is None
    assert safe_url("ftp://x.example/") is None
    assert safe_url("https://x.example/p?a=1|2>") == "https://x.example/p?a=1%7C2%3E"
    alert = make_alert(article={"url": "https://news.example@evil.example/", "title": "Plain"})
    assert markup(shown(alert)) == []


def test_long_text_is_cut_after_a_whole_phrase() -> None:
    phrases = ", ".join(f"phrase number {n}" for n in range(400))
    cut = shorten(phrases, 300)
    assert len(cut) <= 300
    assert cut.endswith("…")
    assert re.fullmatch(r"(phrase number \d+, )*phrase number \d+…", cut), cut
    assert shorten("ab &lt;c", 6) == "ab…"
    message = render([make_alert(summary=phrases)])
    line = message.blocks[1]["text"]["text"]
    assert line.endswith("…") and "phrase number" in line


def test_a_link_is_never_cut_inside() -> None:
    url = "https://news.example/" + "a" * 1800
    title = "Long title " * 300
    alert = make_alert(title="Headline", article={"url": url, "title": title, "source": "X"})
    message = render([alert])
    link = message.blocks[-1]["elements"][0]["text"]
    assert len(link) <= SECTION_LIMIT
    assert link.startswith(f"<{url}|Long title")
    assert link.endswith("— X>") or link.endswith("…>")
    assert message.blocks[0]["text"]["text"] == "⚠️ Headline"
    too_long = make_alert(article={"url": "https://x.example/" + "b" * 2500, "title": "T"})
    unlinked = "\n".join(texts(render([too_long]).blocks))
    assert markup(unlinked) == []
    assert unlinked.endswith("\nT")


def test_the_header_keeps_to_slacks_limit() -> None:
    message = render([make_alert(title="word " * 100 + "& tail")])
    header = message.blocks[0]["text"]["text"]
    assert len(header) <= HEADER_LIMIT
    assert header.endswith("word…")


def test_alerts_about_one_article_make_one_message_led_by_the_most_severe() -> None:
    rise = make_alert(
        id="rise",
        rule="escalation",
        kind="escalation",
        severity="critical",
        level="critical",
        title="Korean Peninsula escalation: CRITICAL",
        summary="North Korea fired a ballistic missile; CRITICAL, up from WARNING.",
        thread_key="escalation:korean-peninsula",
    )
    message = render([make_alert(), rise], mention="S0ONCALL")
    header, lines, *evidence, link = message.blocks
    assert header["text"]["text"] == "🚨 Korean Peninsula escalation: CRITICAL"
    first, second = lines["text"]["text"].split("\n")
    assert first.startswith("<!subteam^S0ONCALL> *Critical* · Korean Peninsula — North Korea")
    assert second.startswith("*Warning* · Korean Peninsula — Ballistic")
    assert len(evidence) == 1, "the same sentence is quoted once"
    assert link["elements"][0]["text"].startswith(f"<{URL.replace('&', '&amp;')}|{TITLE} — ")
    assert message.metadata["event_payload"]["alert_id"] == "rise"
    assert message.metadata["event_payload"]["alert_ids"] == f"rise {make_alert().id}"
    assert message.text.startswith("<!subteam^S0ONCALL> Critical: ")


def test_the_mention_goes_only_on_critical_messages() -> None:
    assert "S0ONCALL" not in json.dumps(render([make_alert()], mention="S0ONCALL").blocks)


def test_a_note_of_another_outlet_is_one_line_with_its_link() -> None:
    note = make_alert(
        kind="coverage",
        rule="coverage",
        severity="info",
        title="Also reported by Meridian News: 2 sources",
        evidence=(),
        article={
            "url": "https://meridian.example/n",
            "title": "Missile launched",
            "source": "Meridian News",
            "published": "2024-05-01T08:05:00Z",
        },
    )
    message = render([note], reply=True)
    [section] = message.blocks
    assert section["text"]["text"] == (
        "Also reported by *Meridian News* · <!date^1714550700^{date_short_pretty} {time}|"
        "1 May 2024 08:05 UTC> · <https://meridian.example/n|Missile launched>"
    )
    assert message.text == "Also reported by Meridian News"


def test_a_refreshed_first_message_shows_outlets_level_and_latest_time() -> None:
    thread = Thread("C1", "1.0", 0.0, outlets=3, level="warning", latest=1714551000.0)
    message = render([make_alert()], thread=thread)
    line = message.blocks[1]["text"]["text"]
    assert line.endswith(
        " · 3 outlets · level now WARNING · latest <!date^1714551000^{date_short_pretty} "
        "{time}|1 May 2024 08:10 UTC>"
    )


def test_a_reply_in_the_thread_starts_with_its_headline_in_bold() -> None:
    message = render([make_alert(severity="info")], reply=True)
    assert message.blocks[0]["text"]["text"].startswith(f"*{TITLE}*\n*Info* · ")
    assert all(block["type"] != "header" for block in message.blocks)
    broadcast = render([make_alert()], reply=True, broadcast=True)
    assert broadcast.blocks[0]["type"] == "header"


def test_blocks_that_slack_would_refuse_are_an_error() -> None:
    too_long = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    with pytest.raises(SinkError, match="header") as caught:
        validated([too_long])
    assert caught.value.code == "invalid_blocks"
    with pytest.raises(SinkError, match="50"):
        validated([{"type": "divider"}] * 51)


def test_a_group_lists_each_story_with_its_own_link() -> None:
    others = [
        make_alert(
            id=f"g{n}",
            severity="info",
            title=f"Story {n}",
            article={
                "id": f"art-{n}",
                "url": f"https://wire.example/{n}",
                "title": f"Story {n}",
                "source": f"Wire {n}",
            },
        )
        for n in (2, 3)
    ]
    message = render([*others, make_alert()])
    header, lines, *_ = message.blocks
    assert header["text"]["text"] == f"⚠️ {TITLE} (+2 more)"
    first, second, third = lines["text"]["text"].split("\n")
    assert first.startswith("*Warning* · Korean Peninsula")
    assert second.endswith(" · <https://wire.example/2|Story 2 — Wire 2>")
    assert third.endswith(" · <https://wire.example/3|Story 3 — Wire 3>")
