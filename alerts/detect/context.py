"""Context decides whether a matched phrase reports an act: cheap checks on its sentence.

A phrase from the lexicon is only a candidate. These checks look at the words around it in
its sentence and say why it does not count: it is denied (``negated``), in the past
(``historical``), imagined (``hypothetical``), or in another sense of the word
(``non_military``: a striker's attack, a labour strike, a heart attack). A use of force that
is only announced ("will shoot down", "vowed to strike") is not vetoed but counted as a
threat, the way CAMEO codes it (138, threaten with military force).

The checks are plain regular expressions over word windows, a few microseconds a sentence;
they run only on sentences that hold a lexicon hit. Their order is fixed and documented in
:meth:`Context.judge` so an analyst can predict the outcome.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Final

NEGATED: Final = "negated"
HISTORICAL: Final = "historical"
HYPOTHETICAL: Final = "hypothetical"
NON_MILITARY: Final = "non_military"
NO_ACTOR: Final = "no_actor"
REASONS: Final = frozenset({NEGATED, HISTORICAL, HYPOTHETICAL, NON_MILITARY, NO_ACTOR})

HISTORY_YEARS = 10
"""A year named this many years or more before the reference year marks a sentence as history."""

_I = re.IGNORECASE


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b" + _lead(alternatives) + "(?:" + "|".join(alternatives) + r")\b", _I)


def _lead(alternatives: tuple[str, ...]) -> str:
    """A lookahead on the first letters the alternatives can start with, when each starts
    with a plain letter: Python's re then skips most word starts without trying them all."""
    firsts = {a[0].lower() for a in alternatives}
    if not all(f.isalnum() for f in firsts):
        return ""
    return "(?=[" + "".join(sorted(firsts)) + "])"


# A sense's cue either anywhere in the sentence (outside the hit), right before the hit, or
# right after it. Each is optional; a sense applies if any of its cues is found.
@dataclass(frozen=True, slots=True)
class _Sense:
    anywhere: re.Pattern[str] | None = None
    before: re.Pattern[str] | None = None
    after: re.Pattern[str] | None = None


_SENSES: dict[str, _Sense] = {
    "sport": _Sense(
        anywhere=_words(
            r"strikers?",
            r"goal\w*",
            r"midfield\w*",
            r"defenders?",
            r"match(?:es)?",
            r"cup",
            r"league",
            r"scored",
            r"innings",
            r"wickets?",
            r"batsm[ae]n",
            r"bowl(?:er|ers|ing)",
            r"cricket",
            r"football",
            r"soccer",
            r"rugby",
            r"tennis",
            r"hockey",
            r"basketball",
            r"coach",
            r"tournament",
            r"championships?",
            r"play-?offs?",
            r"penalty",
            r"half-?time",
            r"stadium",
            r"olympic\w*",
            r"team-?mates?",
            r"fixture",
            r"premiership",
            r"grand final",
            r"scrums?",
            r"line-?outs?",
            r"fly-?half",
            r"touchdowns?",
            r"quarterbacks?",
            r"home side",
            r"the visitors",
        ),
        before=re.compile(r"\bpitch\s+$", _I),
    ),
    "labour": _Sense(
        anywhere=_words(
            r"unions?",
            r"workers",
            r"employees",
            r"staff",
            r"pay",
            r"wages?",
            r"industrial action",
            r"walk-?outs?",
            r"picket\w*",
            r"strikers",
            r"nurses",
            r"teachers",
            r"dockers",
            r"miners",
            r"general strike",
            r"hunger strike",
            r"on strike",
            r"strike action",
        ),
        after=re.compile(r"^\s*to\s+(?:resign|quit|walk out|strike|sack|fire)\b", _I),
    ),
    "protest": _Sense(
        anywhere=_words(
            r"protesters",
            r"protestors",
            r"demonstrators",
            r"activists",
            r"truckers",
            r"lorry drivers",
            r"farmers",
            r"residents",
            r"campaigners",
            r"on strike",
            r"went on strike",
        )
    ),
    "film": _Sense(
        anywhere=_words(
            r"films?",
            r"filming",
            r"movies?",
            r"cinema",
            r"box office",
            r"hollywood",
            r"sitcom",
            r"episode",
            r"premiere",
            r"screenplay",
            r"actress",
            r"video game",
        )
    ),
    "illness": _Sense(
        before=re.compile(
            r"\b(?:heart|asthma|panic|anxiety|migraine|gout|allergic|epileptic|coughing)\s+$", _I
        ),
        after=re.compile(r"^\s*of\s+(?:the\s+)?(?:flu|gout|nerves|asthma|coughing|cramp)", _I),
    ),
    "chess": _Sense(anywhere=_words(r"chess", r"checkmate", r"gambit", r"grandmasters?", r"rook")),
    "verbal": _Sense(
        before=re.compile(
            r"\b(?:verbal|personal|scathing|stinging|blistering|bitter|rhetorical|political|"
            r"savage|withering|sharp|public|attack)\s+$",
            _I,
        ),
        after=re.compile(
            r"^\s*(?:(?:on|upon)\s+)?(?:(?:the|his|her|their|its|this|that|[\w]+'s|[\w]+s')\s+)"
            r"{0,2}(?:[\w-]+\s+)?(?:polic(?:y|ies)|plans?|proposals?|bill|legislation|budget|"
            r"decision|record|handling|leadership|comments?|remarks?|statements?|speech|ideas?|"
            r"claims?|critics|media|press|report|stance|views|motion|suggestions?|rumou?rs?|"
            r"reforms?|credibility|reputation|character|integrity|performance|strategy|"
            r"government|opposition|prime minister|treasurer|premier)\b(?!\s+(?:buildings?|"
            r"forces|troops|offices?|compound|headquarters|positions|soldiers|convoy))",
            _I,
        ),
    ),
    "figurative": _Sense(
        before=re.compile(
            r"\b(?:pitch|price|ratings|bidding|turf)\s+$"
            # "the pound came under attack": markets and reputations, not positions
            r"|\b(?:pound|sterling|currency|currencies|euro|dollar|yen|yuan|rouble|ruble|rupee|"
            r"lira|peso|shares|stocks|bonds|markets?|index|prices|brand|reputation|credibility)"
            r"\s+(?:[\w-]+\s+)?$",
            _I,
        ),
        after=re.compile(
            r"^\s*(?:on|of|against)\s+(?:the\s+)?(?:drugs|inflation|poverty|obesity|cancer|"
            r"crime|waste|corruption|privacy|pests?|weeds|locusts|unemployment|deficit|debt|"
            r"red tape|plastics?|smoking|cash|fake news|tourists|the senses)\b"
            # "threatens to undermine the talks": a risk, not a threat by anyone
            r"|^\s*to\s+(?:undermine|derail|jeopardi[sz]e|disrupt|destabili[sz]e|overshadow|"
            r"scuttle|topple|bring down|split|wreck|unravel|spill|spread|engulf|overwhelm|"
            r"delay|stall|swamp|dominate|eclipse|erode|damage|hurt|harm|cost)\b",
            _I,
        ),
    ),
    "courtroom": _Sense(
        anywhere=_words(
            r"charged (?:with|over)",
            r"convicted",
            r"sentenced",
            r"indicted",
            r"trial",
            r"court",
            r"jury",
            r"extradit\w*",
            r"pleaded",
            r"conspiracy",
        )
    ),
    "crime": _Sense(
        anywhere=_words(
            r"pirates",
            r"robbers?",
            r"thieves",
            r"muggers?",
            r"burglars?",
            r"bandits",
            r"criminals",
            r"carjackers?",
            r"gangs?",
        ),
        before=re.compile(r"\b(?:shark|crocodile|dog|bear|snake|bee)\s+$", _I),
    ),
    "civil": _Sense(
        before=re.compile(
            r"\b(?:fire|evacuation|earthquake|safety|emergency|lockdown|dental|oil|gas|"
            r"tsunami|bushfire)\s+$",
            _I,
        ),
        after=re.compile(r"^\s*(?:for|into)\s+(?:oil|gas|water|minerals)\b", _I),
    ),
    "economic": _Sense(
        anywhere=_words(
            r"to encourage",
            r"domestic (?:processing|industry|supply|prices)",
            r"smelters?",
            r"at home",
            r"local (?:industry|processing|producers)",
            r"food security",
            r"shortages?",
            r"curb (?:prices|inflation)",
        )
    ),
    "nature": _Sense(
        anywhere=_words(
            r"bushfires?",
            r"wildfires?",
            r"blazes?",
            r"fire-?fighters",
            r"flood\w*",
            r"storms?",
            r"cyclones?",
            r"hurricanes?",
            r"typhoons?",
            r"drought",
            r"weather",
            r"diseases?",
            r"virus",
            r"extinction",
            r"erosion",
            r"injur\w*",
            r"species",
            r"heatwave",
            r"epidemic",
            r"pandemic",
            r"locusts",
            r"swarms?",
            r"pests",
            r"weeds",
            r"insects",
            r"mice",
            r"rats",
            r"toads",
        )
    ),
    "legal": _Sense(
        anywhere=_words(
            r"court",
            r"trial",
            r"jury",
            r"judge",
            r"magistrate",
            r"prosecut\w*",
            r"pleaded",
            r"charged with",
            r"convicted",
            r"sentenced",
            r"murder\w*",
            r"rape",
            r"fraud",
            r"lawyers?",
            r"the accused",
            r"bail",
            r"inquest",
        ),
        after=re.compile(r"^\s*to\s+(?:sue|take legal action)\b", _I),
    ),
}

SENSES: Final = frozenset(_SENSES)
"""Names of the non-military senses a lexicon act may ask to be checked for."""

# Clause boundaries that stop negation, conditions and history from reaching across.
_STRONG_BOUNDARY = re.compile(r";|\s[\u2013\u2014-]\s|,\s+(?:and|but|while|whereas)\b|\bbut\b", _I)
# Punctuation that ends a short word window.
_WINDOW_STOP = re.compile(r"[,;:()\"\u201c\u201d]")

_DOUBLE_NEGATIVE = re.compile(
    r"\b(?:not|never|refused to|refuses to|declined to|won't|wouldn't|didn't|hasn't|haven't)"
    r"\s+(?:[\w-]+\s+){0,2}?(?:rule|rules|ruled|ruling)\s+out\b"
    r"|\b(?:not|never)\s+(?:[\w-]+\s+)?(?:renounce|renounced|abandoned)\b",
    _I,
)
_DENIAL = re.compile(
    r"\b(?=[bdfgnr])(?:den(?:y|ies|ied|ying)|ruled out|rules out|ruling out|rule out|no plans? to|"
    r"no intention|no evidence|no sign|no reports? of|baseless|groundless|fabricated|"
    r"(?:rejected|rejects|rejecting|dismissed|dismisses|dismissing|refuted|refutes)\s+"
    r"(?:[\w'-]+\s+){0,3}?(?:reports?|claims?|allegations?|accusations?|suggestions?|"
    r"speculation|charges?|the idea|rumou?rs?))\b",
    _I,
)
# "reports of a ramming were false": the denial comes after the act.
_DENIED_AFTER = re.compile(
    r"\b(?:was|were|is|are|as|been)\s+(?:completely\s+|totally\s+|entirely\s+)?(?:false|untrue|"
    r"baseless|groundless|fabricated|fake|incorrect|inaccurate|unfounded|nonsense)\b",
    _I,
)
_SHORT_NEGATION = re.compile(
    r"(?:\b(?:not(?!\s+only)|never|no|without|neither|nor|stopped short of|"
    r"refrain(?:s|ed|ing)? from|renounc(?:e|es|ed|ing)|non-use of|"
    r"declined to|refused to|avoided)\b|n't\b)",
    _I,
)
_HISTORY = re.compile(
    r"\b(?=[acdefhilmnrstw0-9])(?:anniversary|anniversaries|commemorat\w*|memorial|"
    r"during the cold war|"
    r"in the cold war|cold war era|(?:a|half a) century ago|centuries ago|"
    r"(?:\d{2,}|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|"
    r"ninety|a hundred) years ago|decades? ago|"
    r"world war (?:i|ii|one|two|1|2)|(?:first|second) world war|"
    r"in the (?:1[0-9]|20)[0-9]0s|memories|remembrance|look(?:ed|s|ing)? back|"
    r"historians?|a (?:new )?history of|exhibition|museum|archives?|archival|"
    r"from the (?:period|era|time)|"
    r"(?:\d{2,}|ten|fifteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety) years "
    r"(?:after|since|on)|decade (?:after|since|on|later))\b",
    _I,
)
_BARE_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
# "since the September 11 attacks", "the December 13 attack", "Indonesia's 1975 invasion":
# an act named by its date or used as a time anchor is background, not news.
_TIME_ANCHOR = re.compile(r"\bsince(?:\s+[\w'-]+){0,3}\s*$", _I)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|march|april|may|june|july|aug(?:ust)?|sept?(?:ember)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATED_EVENT = re.compile(
    rf"(?:\b{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?|\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}|"
    r"\b9/11)(?:\s+[\w-]+)?\s*$",
    _I,
)
# The words that make a number a date: "in 1995", "the 1975 invasion", "July 1995",
# "April 2, 1982", "3 October 1993".
_YEAR_LEAD = re.compile(
    r"(?:\b(?:in|during|of|by|until|between|the)\s+(?:(?:early|late|mid-?)\s*)?"
    rf"|\b{_MONTH}\.?(?:\s+\d{{1,2}}(?:st|nd|rd|th)?,?)?\s+"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\.?,?\s+)$",
    _I,
)
# "after Russia's invasion of Ukraine", "since Russia's attack on Ukraine": a campaign named
# as a time anchor is background, unless the sentence dates it in the news' own time.
_CAMPAIGNS = frozenset({"invasion", "annexation", "occupation", "attack", "war", "offensive"})
_AFTER_ANCHOR = re.compile(
    r"\b(?:after|following|before|since|until|because of)\s+(?:the\s+|[\w.-]+['\u2019]s?\s+)"
    r"(?:[\w-]+\s+){0,2}$",
    _I,
)
# "A Chinese invasion of Taiwan would fail": an act as the subject of a modal is imagined.
_INDEFINITE_BEFORE = re.compile(r"\b(?:a|an|any|such)\s+(?:[\w-]+\s+){0,3}$", _I)
_MODAL_AFTER = re.compile(r"^(?:\s+[\w'\u2019.,-]+){0,5}?\s+(?:would|could|might)\b", _I)
# "attack on Tuesday": the preposition introduces a date, not a target.
_PREPOSITIONS = (" on", " upon", "-on")
_DATE_AFTER = re.compile(
    r"\s+(?:(?:early|late)\s+)?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    rf"{_MONTH}\.?\s+\d|\d{{1,2}}(?:st|nd|rd|th)?\b|the\s+(?:night|morning|evening|weekend)\b|"
    r"(?:this|last)\s+(?:week|weekend|month|morning|night)\b)",
    _I,
)
# A sentence saying when it happened in the news' own time: "on Tuesday", "overnight".
_CURRENT = re.compile(
    r"\b(?=[eflmnostwy])(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|"
    r"tonight|overnight|"
    r"yesterday|this (?:week|weekend|month|morning|afternoon|evening)|last (?:night|week|weekend)|"
    r"hours? ago|earlier today|now)\b",
    _I,
)
_YEAR_MODIFIER = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})(?:['\u2019]s)?(?:\s+[\w-]+)?\s*$")
_CONDITION = re.compile(
    r"\b(?:if|were to|in the event|in case of|what if|unless|whether)\b|^\s*should\b", _I
)
_IMAGINED = re.compile(
    r"\b(?=[fhistw])(?:in theory|theoretically|hypothetical\w*|war[\s-]?gam(?:e|ed|ing)|"
    r"wargam(?:e|ed|ing)|"
    r"scenarios?|simulat\w*|tabletop|imagin\w*|fictional)\b",
    _I,
)
_SPECULATION = re.compile(r"\b(?:could|might|may|possibly|perhaps|any)\b", _I)
# An act feared, planned or prepared for has not happened (yet).
_PROSPECT = re.compile(
    r"\b(?:threat of|risk of|danger of|fears? of|prepare for|preparing for|possibility of|"
    r"prospect of|plann(?:ing|ed)|plott(?:ing|ed)|plot to|conspir\w*|would-be|"
    r"want(?:s|ed)? to|wish(?:es|ed)? to)\b",
    _I,
)
_INTENT = re.compile(
    r"\b(?:will|would|shall|can|plans? to|planning to|intends? to|ready to|prepared to|"
    r"threaten(?:s|ed|ing)? to|vow(?:s|ed|ing)? to|pledg(?:es|ed|ing) to|"
    r"promis(?:es|ed|ing) to|warn(?:s|ed)? (?:that )?it would)\b|'ll\b",
    _I,
)
_UNREALISED_KINDS = frozenset({"mobilise", "coerce", "use_force"})


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the context made of a hit: a veto reason, or counted (possibly as a threat)."""

    reason: str | None = None
    threatened: bool = False


COUNTS: Final = Verdict()


class Context:
    """The context checks, compiled once; safe to share between threads (read-only)."""

    def __init__(self, *, reference_year: int | None = None) -> None:
        self.reference_year = reference_year if reference_year is not None else date.today().year

    def judge(
        self, sentence: str, start: int, end: int, *, kind: str, senses: frozenset[str]
    ) -> Verdict:
        """Judge the hit ``sentence[start:end]`` of an act of ``kind``.

        Checks run in this order and the first that applies wins: non-military sense (or a
        date after "attack on"), negation or denial, history, condition or imagined scenario,
        speculation; then an announced use of force becomes a threat.
        """
        lo, hi = _clause(sentence, start, end)
        prefix, suffix = sentence[lo:start], sentence[end:hi]
        if senses and _has_sense(
            _combined(senses),
            f"{sentence[:start]} \u2026 {sentence[end:]}",
            sentence[max(0, start - _NEAR) : start],
            sentence[end : end + _NEAR],
        ):
            return Verdict(NON_MILITARY)
        phrase = sentence[start:end].lower()
        if phrase.endswith(_PREPOSITIONS) and _DATE_AFTER.match(sentence, end):
            return Verdict(NON_MILITARY)
        if _negated(prefix) or _DENIED_AFTER.search(suffix):
            return Verdict(NEGATED)
        if self._historical(f"{prefix} \u2026 {suffix}", _window(prefix)) or (
            phrase.split()[0].lower() in _CAMPAIGNS
            and _AFTER_ANCHOR.search(prefix[-_NEAR:])
            and not _CURRENT.search(sentence)
        ):
            return Verdict(HISTORICAL)
        if (
            _CONDITION.search(prefix)
            or _IMAGINED.search(f"{prefix} \u2026 {suffix}")
            or (_INDEFINITE_BEFORE.search(prefix[-_NEAR:]) and _MODAL_AFTER.match(suffix))
        ):
            return Verdict(HYPOTHETICAL)
        if kind in _UNREALISED_KINDS:
            window = _window(prefix, words=3)
            if _SPECULATION.search(window) or _PROSPECT.search(" ".join(prefix.split()[-6:])):
                return Verdict(HYPOTHETICAL)
            if kind == "use_force" and _INTENT.search(window):
                return Verdict(threatened=True)
        return COUNTS

    def _historical(self, clause: str, window: str) -> bool:
        if _HISTORY.search(clause) or _TIME_ANCHOR.search(window) or _DATED_EVENT.search(window):
            return True
        cutoff = self.reference_year - HISTORY_YEARS
        # Years are rare and most are recent: test the words before a year only when it is old.
        years = [
            int(found.group(1))
            for found in _BARE_YEAR.finditer(clause)
            if int(found.group(1)) <= cutoff
            and _YEAR_LEAD.search(clause, max(0, found.start() - 24), found.start())
        ]
        if modifier := _YEAR_MODIFIER.search(window):
            years.append(int(modifier.group(1)))
        return any(year <= cutoff for year in years)

    def other_sense(self, text: str, senses: frozenset[str]) -> bool:
        """Whether ``text`` (say, the sentence a pronoun's actor came from) reads in one of
        ``senses``: "We attacked well," after a sentence about a coach, is sport."""
        return bool(senses) and _has_sense(_combined(senses), text, "", "")

    def retrospective(self, lede: str) -> bool:
        """Whether an article's opening sentences frame it as history: an anniversary, a
        memorial, "ten years ago", or a year long past. Its undated acts are then background."""
        return self._historical(lede, "")


def is_current(sentence: str) -> bool:
    """Whether a sentence dates itself in the news' own time ("on Tuesday", "overnight")."""
    return bool(_CURRENT.search(sentence))


def _clause(sentence: str, start: int, end: int) -> tuple[int, int]:
    lo, hi = 0, len(sentence)
    for boundary in _STRONG_BOUNDARY.finditer(sentence):
        if boundary.end() <= start:
            lo = boundary.end()
        elif boundary.start() >= end:
            hi = boundary.start()
            break
    return lo, hi


def _window(prefix: str, *, words: int = 4) -> str:
    """The last ``words`` words before a hit, not reaching back past punctuation."""
    stops = list(_WINDOW_STOP.finditer(prefix))
    tail = prefix[stops[-1].end() :] if stops else prefix
    return " ".join(tail.split()[-words:])


def _negated(prefix: str) -> bool:
    cleared = _DOUBLE_NEGATIVE.sub(" ", prefix)
    return bool(_DENIAL.search(cleared) or _SHORT_NEGATION.search(_window(cleared)))


_NEAR = 80
"""Characters either side of a hit that a sense's before/after cue may span."""


@cache
def _combined(senses: frozenset[str]) -> _Sense:
    """One pattern per position for a set of senses: one search instead of one per sense."""

    def join(patterns: list[re.Pattern[str] | None]) -> re.Pattern[str] | None:
        found = [p.pattern for p in patterns if p is not None]
        return re.compile("|".join(f"(?:{p})" for p in found), _I) if found else None

    chosen = [_SENSES[name] for name in sorted(senses)]
    return _Sense(
        anywhere=join([s.anywhere for s in chosen]),
        before=join([s.before for s in chosen]),
        after=join([s.after for s in chosen]),
    )


def _has_sense(sense: _Sense, around: str, before: str, after: str) -> bool:
    return bool(
        (sense.anywhere is not None and sense.anywhere.search(around))
        or (sense.before is not None and sense.before.search(before))
        or (sense.after is not None and sense.after.search(after))
    )
