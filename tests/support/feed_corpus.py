# ruff: noqa: RUF001  -- the corpus is non-Latin text on purpose
"""Feeds shaped like the ones found in the wild, well- and ill-formed, written for these tests.

Each :class:`CorpusFeed` is served on loopback by the corpus test with its exact bytes and
headers, and says which item titles must arrive as articles and which source errors must
be counted. Every text here is our own.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field

RU = "Министерство обороны сообщило о переброске войск к границе на этой неделе"
JA = "防衛省は今週、国境付近での部隊の移動を確認したと発表した"
KO = "국방부는 이번 주 국경 부근에서 병력 이동을 확인했다고 밝혔다"
ZH = "国防部本周表示已确认边境附近的部队调动官员没有透露细节"
TH = "กระทรวงกลาโหมระบุว่าได้ยืนยันการเคลื่อนย้ายกำลังพลใกล้ชายแดนในสัปดาห์นี้"
HE = "משרד הביטחון הודיע השבוע כי אישר תנועת כוחות ליד הגבול"
FILLER = {
    "koi8-r": "Официальные лица не дали комментариев по поводу учений и передвижения техники.",
    "shift_jis": "当局者は演習についての詳細を明らかにしなかった。外務省もコメントを控えた。",
    "euc-jp": "当局者は演習についての詳細を明らかにしなかった。外務省もコメントを控えた。",
    "euc-kr": "당국자들은 훈련에 대한 세부 사항을 공개하지 않았다. 외교부도 논평을 거부했다.",
    "gb2312": "官员没有透露有关演习的细节，外交部也拒绝置评，邻国表示关注。",
    "tis-620": "เจ้าหน้าที่ไม่ได้เปิดเผยรายละเอียดเกี่ยวกับการฝึกซ้อมและกระทรวงต่างประเทศปฏิเสธที่จะให้ความเห็น",
    "windows-1255": "גורמים רשמיים לא מסרו פרטים על התרגיל ומשרד החוץ סירב להגיב על הדיווחים.",
}


@dataclass
class CorpusFeed:
    """One feed as served: its bytes, headers, and what a reader must get from it."""

    name: str
    body: bytes
    titles: list[str]
    """Titles of the items that must arrive, in any order."""
    content_type: str = "application/rss+xml"
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    errors: dict[str, int] = field(default_factory=dict)
    """Source errors the poll must count, by reason; any other reason must stay at zero."""


def rss(items: str, *, title: str = "Harbour Wire", version: str = "2.0", head: str = "") -> str:
    return (
        f'{head}<rss version="{version}" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:media="http://search.yahoo.com/mrss/"><channel>'
        f"<title>{title}</title><link>http://127.0.0.1/</link><description>d</description>"
        f"{items}</channel></rss>"
    )


def item(title: str, guid: str, *, extra: str = "", description: str = "Officials spoke.") -> str:
    return (
        f"<item><title>{title}</title><link>http://127.0.0.1/news/{guid}</link>"
        f'<guid isPermaLink="false">{guid}</guid>'
        f"<pubDate>Tue, 03 Jun 2025 09:30:00 +0200</pubDate>"
        f"<description>{description}</description>{extra}</item>"
    )


UTF8 = '<?xml version="1.0" encoding="utf-8"?>'


def _encoded(charset: str, text: str) -> CorpusFeed:
    """A feed in ``charset`` that says nothing of its encoding, anywhere."""
    body = rss(
        item(text, "1", description=f"{text}. {FILLER[charset]} {FILLER[charset]}"),
        title="Regional Desk",
    )
    return CorpusFeed(
        f"undeclared-{charset}", ('<?xml version="1.0"?>' + body).encode(charset), [text]
    )


def corpus() -> list[CorpusFeed]:
    feeds = [
        CorpusFeed(
            "rss20",
            (UTF8 + rss("".join(item(f"Story {n}", f"g{n}") for n in range(3)))).encode(),
            ["Story 0", "Story 1", "Story 2"],
        ),
        CorpusFeed(
            "rss20-content-encoded",
            (
                UTF8
                + rss(
                    "<item><title>Full text story</title><guid>ce-1</guid>"
                    "<dc:creator>Desk</dc:creator><dc:date>2025-06-03T09:30:00Z</dc:date>"
                    "<content:encoded><![CDATA[<p>Ships <b>left</b> port.</p>]]>"
                    "</content:encoded></item>"
                )
            ).encode(),
            ["Full text story"],
        ),
        CorpusFeed(
            "rss20-sparse-items",
            (
                UTF8
                + rss(
                    "<item><link>http://127.0.0.1/only-link</link><title>Link only</title></item>"
                    "<item><title>Title only</title></item>"
                    "<item><description>Only a description of events.</description></item>"
                    "<item><title>Enclosure</title><enclosure url='http://127.0.0.1/a.mp3' "
                    "length='1' type='audio/mpeg'/></item>"
                )
            ).encode(),
            ["Link only", "Title only", "", "Enclosure"],
        ),
        CorpusFeed(
            "rss091",
            rss(item("Old format", "o1"), version="0.91").encode(),
            ["Old format"],
            content_type="text/xml",
        ),
        CorpusFeed(
            "rss10-rdf",
            (
                UTF8 + '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="http://127.0.0.1/">'
                "<title>RDF Desk</title><link>http://127.0.0.1/</link><description>d"
                "</description></channel>"
                '<item rdf:about="http://127.0.0.1/r1"><title>RDF item</title>'
                "<link>http://127.0.0.1/r1</link><description>Text.</description></item>"
                "</rdf:RDF>"
            ).encode(),
            ["RDF item"],
            content_type="application/rdf+xml",
        ),
        CorpusFeed(
            "atom10",
            (
                UTF8 + '<feed xmlns="http://www.w3.org/2005/Atom"><title>Press Office</title>'
                "<id>urn:uuid:press</id><updated>2025-06-04T10:00:00Z</updated>"
                "<entry><title>Budget statement</title><id>urn:uuid:1</id>"
                '<link rel="alternate" href="http://127.0.0.1/press/1"/>'
                "<updated>2025-06-04T08:15:00+01:00</updated>"
                '<content type="html">&lt;p&gt;Outlays rise.&lt;/p&gt;</content></entry>'
                '<entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
                "XHTML title</div></title><id>urn:uuid:2</id>"
                "<updated>2025-06-04T09:00:00Z</updated>"
                '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Body</p>'
                "</div></content></entry></feed>"
            ).encode(),
            ["Budget statement", "XHTML title"],
            content_type="application/atom+xml",
        ),
        CorpusFeed(
            "html-entities",
            (UTF8 + rss(item("Caf&eacute; talks&nbsp;resume &mdash; officials", "e1"))).encode(),
            ["Café talks\u00a0resume — officials"],
        ),
        CorpusFeed(
            "surrogate-charref",
            (
                UTF8
                + rss(
                    item("Broken &#xD800; character", "s1")
                    + item("First good item", "s2")
                    + item("Second good item", "s3")
                )
            ).encode(),
            ["Broken \ufffd character", "First good item", "Second good item"],
        ),
        CorpusFeed(
            "surrogate-pair-charrefs",
            (UTF8 + rss(item("Smile &#xD83D;&#xDE00; please", "p1"))).encode(),
            ["Smile \U0001f600 please"],
        ),
        CorpusFeed(
            "out-of-range-charref",
            (UTF8 + rss(item("Beyond &#1114112; Unicode", "r1"))).encode(),
            ["Beyond \ufffd Unicode"],
        ),
        CorpusFeed(
            "hugo-undated",
            (
                UTF8
                + rss(
                    "<item><title>Undated page</title><link>http://127.0.0.1/about/</link>"
                    "<pubDate>Mon, 01 Jan 0001 00:00:00 +0000</pubDate>"
                    "<guid>http://127.0.0.1/about/</guid><description>About.</description></item>"
                )
            ).encode(),
            ["Undated page"],
        ),
        CorpusFeed(
            "long-fields",
            (
                UTF8
                + rss(
                    "<item><title>" + "Long headline " * 120 + "</title>"
                    "<link>http://127.0.0.1/" + "x" * 2500 + "</link><guid>l1</guid>"
                    "<description>Body.</description></item>",
                    title="Channel " * 40,
                )
            ).encode(),
            [("Long headline " * 120)[:999].rstrip() + "\u2026"],
        ),
        CorpusFeed(
            "windows-1252-declared",
            (
                '<?xml version="1.0" encoding="windows-1252"?>'
                + rss(item("\u201cQuoted\u201d minister\u2019s remarks", "w1"))
            ).encode("windows-1252"),
            ["\u201cQuoted\u201d minister\u2019s remarks"],
        ),
        CorpusFeed(
            "utf8-bom",
            ("\ufeff" + UTF8 + rss(item("Byte order mark", "b1"))).encode(),
            ["Byte order mark"],
        ),
        CorpusFeed(
            "utf16",
            ('<?xml version="1.0" encoding="utf-16"?>' + rss(item("Sixteen bits", "u1"))).encode(
                "utf-16"
            ),
            ["Sixteen bits"],
        ),
        CorpusFeed(
            "gzip",
            gzip.compress((UTF8 + rss(item("Compressed story", "z1"))).encode()),
            ["Compressed story"],
            headers={"Content-Encoding": "gzip"},
        ),
        CorpusFeed(
            "truncated",
            (UTF8 + rss(item("Complete item", "t1") + item("Cut item", "t2")))[:-120].encode(),
            ["Complete item", "Cut item"],
            errors={"malformed": 1},
        ),
        CorpusFeed(
            "bare-ampersand",
            (UTF8 + rss(item("Ports & harbours reopen", "a1"))).encode(),
            ["Ports & harbours reopen"],
            errors={"malformed": 1},
        ),
        CorpusFeed(
            "xxe",
            (
                '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                + rss(item("Entity &xxe; here", "x1"))
            ).encode(),
            ["Entity  here"],
        ),
        CorpusFeed(
            "entity-expansion",
            (
                '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
                + "".join(
                    f'<!ENTITY {name} "{f"&{previous};" * 10}">'
                    for previous, name in zip("abcde", "bcdef", strict=True)
                )
                + "]>"
                + rss(item("Laughs &f;", "bl1") + item("Plain after laughs", "bl2"))
            ).encode(),
            [("Laughs " + "a" * 10**6)[:999] + "\u2026", "Plain after laughs"],
        ),
        CorpusFeed(
            "relative-links",
            (
                UTF8
                + rss(
                    "<item><title>Relative</title><link>/news/rel-1</link><guid>rel-1</guid>"
                    "<description>x</description></item>"
                )
            ).encode(),
            ["Relative"],
        ),
        CorpusFeed(
            "media-rss",
            (
                UTF8
                + rss(
                    "<item><title>Video report</title><guid>m1</guid>"
                    "<media:content url='http://127.0.0.1/v.mp4'><media:description>"
                    "Footage of the drill.</media:description></media:content></item>"
                )
            ).encode(),
            ["Video report"],
        ),
        CorpusFeed(
            "named-timezones",
            (
                UTF8
                + rss(
                    "<item><title>Eastern time</title><guid>tz1</guid>"
                    "<pubDate>Tue, 03 Jun 2025 09:30:00 EST</pubDate></item>"
                    "<item><title>No date at all</title><guid>tz2</guid></item>"
                )
            ).encode(),
            ["Eastern time", "No date at all"],
        ),
        CorpusFeed(
            "html-page",
            b"<!doctype html><html><head><title>Home</title></head><body>Hi</body></html>",
            [],
            content_type="text/html",
            errors={"unparsable": 1},
        ),
        CorpusFeed("empty", b"", [], errors={"unparsable": 1}),
        CorpusFeed("not-found", b"gone", [], status=404, errors={"http_4xx": 1}),
        CorpusFeed("server-error", b"oops", [], status=500, errors={"http_5xx": 1}),
    ]
    feeds += [_encoded(charset, text) for charset, text in _TEXTS.items()]
    return feeds


_TEXTS = {
    "koi8-r": RU,
    "shift_jis": JA,
    "euc-jp": JA,
    "euc-kr": KO,
    "gb2312": ZH,
    "tis-620": TH,
    "windows-1255": HE,
}
