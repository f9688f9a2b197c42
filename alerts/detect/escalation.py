"""How escalatory one article reads: distinct hostile acts, weighted by kind, and a level.

One Hyperscan pass finds every lexicon phrase; only the sentences holding a hit are looked
at again, by the context checks (:mod:`alerts.detect.context`) and for a state, military
or armed-group actor near the act (:mod:`alerts.detect.actors`). What survives is scored
once per distinct act, so a story that repeats "air strikes" five times is one strike,
while a story reporting a build-up, a threat and a shoot-down is three acts.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, replace
from functools import cache

from alerts.config.models import EscalationLevels
from alerts.detect.actors import ActorMention, find_actors
from alerts.detect.context import HISTORICAL, NO_ACTOR, NON_MILITARY, Context, is_current
from alerts.detect.lexicon import Act, Lexicon, load_lexicon
from alerts.detect.matcher import Hit, PhraseMatcher
from alerts.detect.sentences import Sentence, split_sentences
from alerts.model import Escalation, Level, Match, Veto

THREAT_KIND = "threaten"

# A sentence whose subject is a pronoun ("It sent warships ...") takes its actor from the
# sentence before.
_PRONOUN = re.compile(r"\b(?:it|its|they|their|he|his|she|her|we|our)\b", re.IGNORECASE)


_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")

# A definite article right before an act refers back to an earlier mention of it.
_DEFINITE = re.compile(r"\b(?:the|that|this)\s+$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Counted:
    key: str
    kind: str
    weight: float
    match: Match


@cache
def default_lexicon() -> Lexicon:
    """The packaged lexicon, read and checked once per process."""
    return load_lexicon()


def level_for(score: float, levels: EscalationLevels) -> Level:
    """The level a score reaches: ``none`` below ``watch``, thresholds inclusive."""
    if score >= levels.critical:
        return "critical"
    if score >= levels.warning:
        return "warning"
    if score >= levels.watch:
        return "watch"
    return "none"


class EscalationDetector:
    """Scores articles for escalatory acts. Build once (it compiles), share freely."""

    def __init__(
        self,
        levels: EscalationLevels | None = None,
        *,
        rule: str = "escalation",
        lexicon: Lexicon | None = None,
        reference_year: int | None = None,
    ) -> None:
        self.levels = levels if levels is not None else EscalationLevels()
        self.rule = rule
        self.lexicon = lexicon if lexicon is not None else default_lexicon()
        self._matcher = PhraseMatcher((), regexes=self.lexicon.patterns)
        self._context = Context(reference_year=reference_year)
        self._threat_weight = self.lexicon.kinds[THREAT_KIND].weight

    def analyze(self, text: str) -> Escalation:
        """Score ``text``: counted acts as matches, and every vetoed hit with its reason."""
        hits = _outermost(self._matcher.find(text))
        if not hits:
            return Escalation(0.0, "none")
        document = _Document(text)
        counted: list[_Counted] = []
        vetoed: list[Veto] = []
        past_acts: set[str] = set()
        for hit in hits:
            act = self.lexicon.acts[self.lexicon.owners[hit.index]]
            where = document.locate(hit.start)
            sentence = document.sentence(where)
            phrase = text[hit.start : hit.end]
            verdict = self._context.judge(
                sentence.text,
                hit.start - sentence.start,
                hit.end - sentence.start,
                kind=act.kind,
                senses=act.senses,
            )
            reason = verdict.reason
            if reason == HISTORICAL:
                past_acts.add(act.id)
            elif (
                reason is None
                and act.id in past_acts
                and _DEFINITE.search(text, max(0, hit.start - 8), hit.start)
            ):
                reason = HISTORICAL  # "the invasion" again, after "the 1975 invasion"
            actor: ActorMention | None = None
            if reason is None:
                actor = document.actor_for(hit, where)
                if actor is None:
                    reason = NO_ACTOR
                elif actor.start < sentence.start and self._context.other_sense(
                    text[actor.start : sentence.start], act.senses
                ):
                    reason = NON_MILITARY  # the pronoun's sentence is about a match or a film
            if reason is not None:
                vetoed.append(Veto(phrase, act.kind, hit.start, hit.end, sentence.text, reason))
                continue
            counted.append(self._count(act, verdict.threatened, phrase, hit, sentence, actor))
        if counted and self._retrospective(document, counted):
            vetoed += [_as_history(item.match) for item in counted]
            vetoed.sort(key=lambda v: v.start)
            counted = []
        matches = self._distinct(counted)
        score = round(sum(m.weight for m in matches), 2)
        return Escalation(score, level_for(score, self.levels), matches, tuple(vetoed))

    def _retrospective(self, document: _Document, counted: list[_Counted]) -> bool:
        """An anniversary piece or a look back: its lede is history and no act it reports is
        dated in the news' own time ("on Tuesday"), so every act is background."""
        if any(is_current(item.match.sentence) for item in counted):
            return False
        return self._context.retrospective(document.lede())

    def _count(
        self,
        act: Act,
        threatened: bool,
        phrase: str,
        hit: Hit,
        sentence: Sentence,
        actor: ActorMention | None,
    ) -> _Counted:
        kind, weight, key = act.kind, act.weight, act.id
        if threatened:
            kind, weight, key = THREAT_KIND, self._threat_weight, f"{act.id} (threatened)"
        match = Match(
            rule=self.rule,
            phrase=phrase,
            kind=kind,
            weight=weight,
            start=hit.start,
            end=hit.end,
            sentence=sentence.text,
            actor=actor.name if actor is not None else None,
        )
        return _Counted(key, kind, weight, match)

    def _distinct(self, counted: list[_Counted]) -> tuple[Match, ...]:
        """First occurrence of each act; per kind, the heaviest ``max_acts`` acts."""
        first: dict[str, _Counted] = {}
        for item in counted:
            first.setdefault(item.key, item)
        by_kind: dict[str, list[_Counted]] = {}
        for item in first.values():
            by_kind.setdefault(item.kind, []).append(item)
        kept: list[Match] = []
        for kind, items in by_kind.items():
            items.sort(key=lambda i: (-i.weight, i.match.start))
            kept += [i.match for i in items[: self.lexicon.kinds[kind].max_acts]]
        return tuple(sorted(kept, key=lambda m: m.start))


def _as_history(match: Match) -> Veto:
    return Veto(match.phrase, match.kind, match.start, match.end, match.sentence, HISTORICAL)


def _outermost(hits: list[Hit]) -> list[Hit]:
    """Drop hits lying inside a longer one ("strike" inside "air strike")."""
    kept: list[Hit] = []
    reach = -1
    for hit in hits:  # sorted by start, longest first
        if hit.end <= reach:
            continue
        kept.append(hit)
        reach = max(reach, hit.end)
    return kept


class _Document:
    """One text's sentences and actors, worked out only where a hit is.

    Most of an article holds no hit: sentences are split per paragraph holding a hit, and
    actors are looked for per sentence holding one, so a long article costs little more than
    its few interesting sentences.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        breaks = list(_PARAGRAPH_BREAK.finditer(text))
        self._starts = [0] + [b.end() for b in breaks]
        self._ends = [b.start() for b in breaks] + [len(text)]
        self._sentences: dict[int, list[Sentence]] = {}
        self._actors: dict[tuple[int, int], list[ActorMention]] = {}

    def lede(self, sentences: int = 2) -> str:
        """The article's first sentences (a headline counts as one)."""
        found: list[str] = []
        for paragraph in range(len(self._starts)):
            found += [s.text for s in self.sentences(paragraph)[: sentences - len(found)]]
            if len(found) >= sentences:
                break
        return " ".join(found)

    def locate(self, offset: int) -> tuple[int, int]:
        """(paragraph, sentence) holding ``offset``."""
        paragraph = max(bisect_right(self._starts, offset) - 1, 0)
        starts = [s.start for s in self.sentences(paragraph)]
        return paragraph, max(bisect_right(starts, offset) - 1, 0)

    def sentence(self, where: tuple[int, int]) -> Sentence:
        return self.sentences(where[0])[where[1]]

    def sentences(self, paragraph: int) -> list[Sentence]:
        found = self._sentences.get(paragraph)
        if found is None:
            base = self._starts[paragraph]
            chunk = self.text[base : self._ends[paragraph]]
            found = [
                Sentence(s.text, s.start + base, s.end + base) for s in split_sentences(chunk)
            ] or [Sentence(chunk, base, base + len(chunk))]
            self._sentences[paragraph] = found
        return found

    def previous(self, where: tuple[int, int]) -> tuple[int, int] | None:
        paragraph, index = where
        if index > 0:
            return paragraph, index - 1
        if paragraph > 0:
            return paragraph - 1, len(self.sentences(paragraph - 1)) - 1
        return None

    def actors_in(self, where: tuple[int, int]) -> list[ActorMention]:
        """Actors named in one sentence (read with the sentence before, so "officials" can
        take the state named just before them)."""
        found = self._actors.get(where)
        if found is None:
            sentence = self.sentence(where)
            lead = self.sentences(where[0])[where[1] - 1].start if where[1] else sentence.start
            found = [
                replace(m, start=m.start + lead, end=m.end + lead)
                for m in find_actors(self.text[lead : sentence.end])
                if m.start + lead >= sentence.start
            ]
            self._actors[where] = found
        return found

    def _is_object(self, actor: ActorMention) -> bool:
        return bool(_OBJECT_BEFORE.search(self.text, max(0, actor.start - 20), actor.start))

    def actor_for(self, hit: Hit, where: tuple[int, int]) -> ActorMention | None:
        """The actor nearest the act in its sentence, else the last one of the sentence
        before when this one's subject is a pronoun."""
        inside = self.actors_in(where)
        if inside:
            return min(
                inside,
                key=lambda a: (
                    _distance(a, hit) + _OBJECT_PENALTY * self._is_object(a),
                    a.start > hit.start,
                ),
            )
        sentence = self.sentence(where)
        before = self.previous(where)
        if before is not None and _PRONOUN.search(sentence.text, 0, hit.start - sentence.start):
            mentions = self.actors_in(before)
            if mentions:
                return mentions[-1]
        return None


_OBJECT_PENALTY = 60
"""Characters added to the distance of an actor that is a prepositional object or a place:
in "Beijing's military ties with Russia and alleged use of spy balloons over Japanese
territory" the balloons are Beijing's, although Russia and Japan stand nearer."""
_OBJECT_BEFORE = re.compile(
    r"\b(?:with|against|from|toward|towards|between|among|over|into|in|near|across|above|"
    r"off|inside)\s+(?:the\s+)?$",
    re.I,
)


def _distance(actor: ActorMention, hit: Hit) -> int:
    if actor.end <= hit.start:
        return hit.start - actor.end
    if actor.start >= hit.end:
        return actor.start - hit.end
    return 0
