"""Commitments: a state or group saying it will do something, with amount and deadline.

A commitment is an actor from the gazetteer, a verb of commitment ("will", "plans to",
"agreed to", "said it would", "pledged", ...) and the action that follows, trimmed to a short
readable verb phrase. One Hyperscan pass over the article finds the verbs; only sentences
holding one get the finer, rule-based reading, so the cost stays near a plain scan.

What is deliberately *not* a commitment: hopes and wishes, demands on others, completed
past acts, negated intents, modal consequences ("a conflict would trigger ..."), states of
affairs ("relations will not change") and anything whose subject is not a known actor.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from alerts.detect.actors import ActorMention, find_actors, gazetteer, unnamed_heads
from alerts.detect.matcher import PhraseMatcher
from alerts.detect.sentences import Sentence, split_sentences
from alerts.model import Commitment

# How a verb phrase continues. MODAL takes a bare verb next ("will double"); TO takes "to"
# and a verb, perhaps after a time or a partner ("agreed on Wednesday to cut", "agreed with
# the IMF to build up"); OBJECT also takes a noun phrase ("pledged $5 billion in aid"); SIGN
# takes a deal ("signed a contract to buy ...", "signed a trade agreement").
# PLAN takes a named plan and its purpose ("approved a $73 million support programme to help").
_MODAL, _TO, _OBJECT, _SIGN, _PLAN = "modal", "to", "object", "sign", "plan"
# PROGRESSIVE: "is expelling two diplomats", a decided action already under way.
_PROGRESSIVE = "progressive"


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


def _forms(*forms: str) -> tuple[str, ...]:
    return forms


_VERBS: tuple[tuple[str, str], ...] = (
    ("will", _MODAL),
    ("would", _MODAL),
    *((f"{be} {word} to", _MODAL) for be in ("is", "are") for word in ("set", "going")),
    ("is to", _MODAL),
    ("are to", _MODAL),
    *((f"{be} preparing to", _TO) for be in ("is", "are")),
    *((f"{be} committed to", _TO) for be in ("is", "are", "remains", "remain")),
    *((f"{f} to", _TO) for f in _forms("plan", "plans", "planned", "planning")),
    *((f, _TO) for f in _forms("agree", "agrees", "agreed", "decide", "decides", "decided")),
    *((f, _TO) for f in _forms("intend", "intends", "intended", "aim", "aims", "aiming")),
    *((f, _TO) for f in _forms("resolve", "resolves", "resolved", "vote", "votes", "voted")),
    *((f, _TO) for f in _forms("commit", "commits", "vow", "vows", "vowed", "pledge")),
    *((f, _TO) for f in _forms("promise", "set a target of", "sets a target of", "set a goal of")),
    *((f, _OBJECT) for f in _forms("pledged", "pledges", "promised", "promises", "committed")),
    *(
        (f"{verb} {plan} to", _TO)
        for verb in ("announced", "announces", "unveiled", "unveils", "approved", "approves")
        for plan in ("plans", "a plan", "a programme", "a program")
    ),
    *((f, _SIGN) for f in _forms("signed", "signs", "inked", "struck", "reached", "clinched")),
    *(
        (f, _PLAN)
        for f in _forms(
            "approved",
            "approves",
            "announced",
            "announces",
            "unveiled",
            "unveils",
            "adopted",
            "adopts",
            "launched",
            "launches",
            "passed",
            "passes",
            "authorised",
            "authorized",
            "authorises",
            "authorizes",
            "greenlit",
            "greenlighted",
            "greenlights",
            "endorsed",
            "endorses",
            "ordered",
            "orders",
            "declared",
            "declares",
        )
    ),
    *((f, _TO) for f in _forms("chose", "chosen", "chooses", "opted", "opts")),
    *(
        (f"{be} {doing}", _PROGRESSIVE)
        for be in ("is", "are")
        for doing in _set(
            "expelling sending deploying dispatching imposing closing withdrawing pulling "
            "providing supplying giving buying purchasing acquiring suspending extending "
            "raising increasing doubling lifting boosting recalling banning freezing"
        )
    ),
)
_LEMMAS = {
    "pledged": "pledge",
    "pledges": "pledge",
    "promised": "promise",
    "promises": "promise",
    "committed": "commit",
    "agree": "agree on",
    "agrees": "agree on",
    "agreed": "agree on",
    "signed": "sign",
    "signs": "sign",
    "inked": "sign",
    "struck": "strike",
    "reached": "reach",
    "clinched": "clinch",
    "approved": "approve",
    "approves": "approve",
    "announced": "announce",
    "announces": "announce",
    "unveiled": "unveil",
    "unveils": "unveil",
    "adopted": "adopt",
    "adopts": "adopt",
    "launched": "launch",
    "launches": "launch",
    "passed": "pass",
    "passes": "pass",
    "authorised": "authorise",
    "authorized": "authorize",
    "authorises": "authorise",
    "authorizes": "authorize",
    "greenlit": "greenlight",
    "greenlighted": "greenlight",
    "greenlights": "greenlight",
    "endorsed": "endorse",
    "endorses": "endorse",
    "ordered": "order",
    "orders": "order",
    "declared": "declare",
    "declares": "declare",
}
_DEALS = (
    r"agreements?|deals?|pacts?|treaty|treaties|accords?|contracts?|memorandums?|memoranda|"
    r"MoUs?|memorandum of understanding|declarations?|communiques?|partnerships?|roadmaps?"
)
# Between a verb and its "to": "agreed early on Wednesday to", "agreed with the IMF to".
_TO_GAP = re.compile(
    r"(?:\s+(?:early|late|unanimously|formally|officially|jointly|also|in principle|"
    r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|\d+[-\u2013]\d+|"
    r"at\s+(?:[\w-]+\s+)?talks(?:\s+in\s+[A-Z]\w+)?|"
    r"on\s+\w+|last\s+\w+|this\s+\w+|at\s+(?:a|the|their|its)\s+\w+(?:\s+\w+)?|in\s+[A-Z]\w+|"
    r"with\s+(?:the\s+)?[A-Z][\w.'-]*(?:\s+(?:of\s+)?[A-Z][\w.'-]*)*))*\s+to\s+"
)
# "signed a comprehensive trade agreement", "signed agreements worth $8 billion".
_SIGNED_DEAL = re.compile(
    rf"\s+(?:(?:an?|the|two|three|several|new|\d+)\s+)?(?:[\w.$-]+\s+){{0,4}}?(?:{_DEALS})\b"
)
# "a 1.3 billion lei ($73 million) support programme", "a new plan": what PLAN verbs name.
_PLAN_NOUN = re.compile(
    r"\s+(?:(?:an?|the|its|their|new)\s+(?:[^\s,;:]*[^\s,;:.]\s+){0,8}?(?:plan|programme|program|"
    r"package|scheme|strategy|roadmap|initiative|budget|bill|law|decree|measures|deal|agreement|"
    r"sale|export|purchase|supply|deployment|delivery|transfer|accession|resolution|funding|"
    r"aid|sanctions|mission|mandate|treaty|contract|ceasefire|truce)s?|plans)\b"
)
# What an approval or announcement commits to even with no "to" after it: "approved a record
# defence budget", "adopted a resolution authorizing the deployment", "announced a $2bn package".
_COMMITTING_NOUN = re.compile(
    r"\b(?:budget|bill|law|package|sale|export|purchase|supply|deployment|delivery|transfer|"
    r"accession|resolution|funding|aid|sanctions|mission|mandate|treaty|contract|ceasefire|truce|"
    r"deal|agreement|decree|measures)s?\b"
)
# "signed a peace deal in 2000": a commitment dated in a past year was fulfilled or broken.
_PAST_YEAR = re.compile(
    r"\b(?:in|during|of)\s+(?:(?:early|late|mid-?)\s*)?(?:(?:January|February|March|April|May|"
    r"June|July|August|September|October|November|December)\s+)?(1[0-9]{3}|20[0-9]{2})\b"
)
_WORD = re.compile(r"[^\W\d_][\w'\u2019.-]*|\d[\d,.]*%?|[$\u20ac\u00a3\u00a5]\S*")

# Words that may stand between a subject and its verb: "Japan also plans to",
# "Japan on Wednesday said", "the two countries have agreed to".
_GAP_WORDS = _set(
    "also now still soon further then meanwhile reportedly officially formally jointly "
    "together itself themselves already previously recently earlier later yesterday today "
    "tomorrow separately subsequently finally initially has have had is are was were "
    "would will nonetheless nevertheless however instead eventually ultimately publicly "
    "privately again broadly tentatively swiftly unanimously quickly"
)
_TIME_WORDS = _set(
    "monday tuesday wednesday thursday friday saturday sunday week month year weekend "
    "january february march april may june july august september october november december "
    "statement interview briefing morning afternoon evening night"
)
_WEEKDAYS = _set("monday tuesday wednesday thursday friday saturday sunday")
_TIME_LEADS = _set("on in last this earlier late early a joint separate")
_REPORTING = _set(
    "said says say announced announces confirmed confirms stated states declared declares "
    "told tells added adds pledged pledges promised promises vowed vows decided decides "
    "agreed agrees indicated indicates signalled signaled signals warned warns insisted "
    "insists reiterated reiterates affirmed affirms saying adding"
)
_SUBORDINATORS = frozenset({"that"})
# "took a decision that its forces will ...": nouns whose "that" clause states the commitment.
_DECISION_NOUNS = _set(
    "decision decisions agreement promise pledge commitment announcement assurance assurances "
    "guarantee guarantees resolution"
)
_WISHES = _set(
    "hope hopes hoped hoping want wants wanted wish wishes wished expect expects expected "
    "urge urges urged fear fears feared worry worries worried concerned believe believes "
    "believed think thinks thought predict predicts predicted doubt doubts doubted whether "
    "assume assumes assumed suspect suspects suspected estimate estimates estimated reckon "
    "reckons speculate speculated guess unclear unlikely likely uncertain if unless "
    "perhaps maybe asked asks demanded demands confident optimistic pessimistic sure certain "
    "convinced hopeful fearful anxious afraid when"
)
_PREPOSITIONS = _set(
    "with of from against between by to for on at about over toward towards than like "
    "including into onto upon under behind without via among amid in during across through "
    "throughout near inside outside after before within beyond beside"
)
_SINGULAR_PRONOUNS = frozenset({"it"})
_PERSON_PRONOUNS = frozenset({"he", "she"})
_PLURAL_PRONOUNS = frozenset({"they"})
_PAIR_NOUNS = _set("countries sides nations governments leaders states neighbours")
_PAIR_NOUNS |= {"neighbors", "allies", "powers", "capitals", "koreas"}
_DETERMINERS = _set("a an the its their new")
_COUNTRY_DETERMINERS = _set("the his her its their our")
_COUNTRY_NOUNS = _set("country nation kingdom republic")
_SUBJECT_WORDS = _SINGULAR_PRONOUNS | _PERSON_PRONOUNS | _PLURAL_PRONOUNS | _PAIR_NOUNS
_SUBJECT_WORDS |= _COUNTRY_NOUNS | {"and"}

# First words of a "will ..." tail that describe a state of affairs or a hedge, not a decision.
_NOT_ACTIONS = _set(
    "be been being have has need needs remain stay become change happen seem appear look "
    "feel face suffer lose see like love want hope wish depend mean trigger cause involve "
    "affect likely probably possibly certainly surely definitely not never no also the a an "
    "this that these those its it their his her our my your we they he she i you continue "
    "get go come fall rise grow drop last prove matter count cost require win play beat bat "
    "bowl lead defeat meet tour field compete race score prefer rather consider"
)
_BASE_ED = _set("need feed shed embed exceed proceed succeed speed heed seed bleed")
_BASE_ING = _set("bring ring sing spring string swing cling fling wing")
_HEDGE_AFTER_MODAL = _set("likely probably possibly perhaps certainly surely definitely not never")
_SKIP_AFTER_VERB = _set(
    "also soon now jointly further eventually quickly gradually significantly substantially "
    "formally officially immediately swiftly urgently again then first"
)
_SPORT = re.compile(
    r"\b(?=[bcfgiklmopqrstw0-9])(?:match|matches|wickets?|innings|test series|world cup|"
    r"cup final|semi-finals?|"
    r"quarter-finals?|tournament|olympics?|championships?|league|rugby|cricket|soccer|"
    r"football|tennis|golf|medals?|squad|coach|captain|batting|bowling|grand prix|"
    r"playoffs?|grand slam|fixture|kick-off|stadium|goalkeeper|striker|batsman|batsmen|"
    r"bowlers?|runs|overs|test match|(?:runs|wickets|points|goals) to win|\d+\s+for\s+\d+)\b",
    re.IGNORECASE,
)
_NEGATED_BEFORE = re.compile(
    r"(?:\bnot|\bno|\bnever|n['\u2019]t|\bneither|\bnor|\bwithout|\brefused|\bdeclined|"
    r"\bfailed|\brejected)\s+(?:\w+\s+)?$",
    re.IGNORECASE,
)

# Where a clause ends inside a sentence: past it, words belong to another statement.
_CLAUSE_END = re.compile(
    r"\s*[;:()]|\s*,\s+(?:which|who|whose|while|whereas|but|although|though|because|as|"
    r"after|when|saying|according|adding|he|she|they|it|officials?|the\s+\w+\s+said|"
    r"said|says|told)\b|\s+(?:but|while|whereas|because|although|though|unless|if|"
    r"when|after|before|since|even as|according to|that|which|who|whose)\s|"
    r"\s+as\s+(?=the\s|[A-Z])|"
    r"\s+(?:said|says|told)\s|\.$"
)
_ACTION_END = re.compile(
    r"\s*,(?!\d)|\s*[\u201c\u201d\"]|\s+[\u2018']|\s*[\u2014\u2013]|\s+-\s|\s+(?:that|which|who|so|"
    r"in order to|as part of|amid|despite|over concerns|in response|how|why|whether|until|"
    r"where)\b|"
    r"(?<!\bup)\s+(?:to|by)\s+(?=[\d$\u20ac\u00a3\u00a5]|(?:about|around|nearly|almost|some|roughly|"
    r"more than|at least|as much as|up to)\b)|"
    r"\s+(?:early\s+|late\s+)?(?:on|last|this)\s+(?:Monday|Tuesday|Wednesday|Thursday|"
    r"Friday|Saturday|Sunday|week|weekend)\b|"
    r"\s+to\s+(?!(?:the|a|an|its|their|his|her|our|this|that|these|those|all|both|each|"
    r"every|some|any|other|more|new|up|and)\b)(?=[a-z])"
)
_COORDINATION = re.compile(r",?\s+(?:and|as well as|plus)\s+(?:to\s+)?(?=([a-z]+)\b)")

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    r"forty|fifty|hundred|a hundred|hundreds of|thousands of|a dozen|dozens of|several|a few"
)
_UNITS = (
    r"troops|soldiers|personnel|marines|sailors|officers|peacekeepers|destroyers|frigates|"
    r"warships|ships|vessels|submarines|aircraft|jets|fighters|fighter jets|planes|drones|"
    r"missiles|missile systems|tanks|howitzers|rockets|launchers|satellites|helicopters|"
    r"bombers|carriers|aircraft carriers|battalions|brigades|divisions|batteries|systems|"
    r"bases|reactors|tonnes|tons|barrels|doses|refugees|people|megawatts|gigawatts|units|"
    r"rounds|shells|vehicles|armoured vehicles|armored vehicles|asylum seekers|migrants"
)
_AMOUNT = re.compile(
    r"(?:(?:US|A|C|NZ|HK|S)?\$|[\u20ac\u00a3\u00a5])\s?\d[\d,.]*(?:\s*(?:trillion|billion|"
    r"million|bn|mn|m|k)\b)?"
    r"|\b\d[\d,.]*\s*(?:trillion|billion|million)?\s*(?:dollars|euros|yen|yuan|pounds|"
    r"rupees|roubles|rubles|won)\b"
    r"|\b\d+(?:\.\d+)?\s*(?:%|per\s?cent\b|percent\b)(?:\s+of\s+(?:its\s+|their\s+|the\s+)?"
    r"(?:GDP|gross domestic product|GNP|gross national product|national income|"
    r"economic output|(?:annual\s+|defen[cs]e\s+|military\s+)?budget))?"
    rf"|\b(?:\d[\d,]*|{_NUMBER_WORDS})\s+(?:(?:more|new|additional|extra|[A-Z][\w-]*)\s+){{0,2}}"
    rf"(?:{_UNITS})\b",
)
_MONTH = r"January|February|March|April|May|June|July|August|September|October|November|December"
_SEASON = r"spring|summer|autumn|fall|winter"
_WEEKDAY = r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_SPAN = r"days|weeks|months|years|decades|day|week|month|year|decade"
_COUNT = rf"\d+|{_NUMBER_WORDS}|a couple of"
_DEADLINE = re.compile(
    rf"\bbefore\s+the\s+next\s+(?:general\s+|presidential\s+)?election\b"
    rf"|\b(?:by|before|until|till|through)\s+(?:the\s+)?(?:(?:end|start|beginning|middle)\s+of\s+"
    rf"(?:the\s+)?|early\s+|mid-?|late\s+)?(?:(?:{_MONTH})(?:\s+\d{{4}})?|\d{{4}}|"
    rf"(?:this|next)\s+(?:year|month|week|decade)|the\s+(?:year|decade|month)|"
    rf"(?:fiscal\s+)?\d{{4}}|{_SEASON}|{_WEEKDAY}|the\s+weekend|year[- ]end)\b"
    rf"|\b(?:over|within|in|during)\s+the\s+(?:next|coming)\s+(?:(?:{_COUNT})\s+)?(?:{_SPAN})\b"
    rf"|\bwithin\s+(?:{_COUNT}|a|an)\s+(?:{_SPAN})\b"
    rf"|\bover\s+(?:{_COUNT})\s+(?:{_SPAN})\b"
    rf"|\bfor\s+(?:another|a\s+further|the\s+next|an\s+additional)\s+(?:(?:{_COUNT})\s+)?"
    rf"(?:{_SPAN})\b"
    rf"|\bfrom\s+next\s+(?:week|month|year)\b"
    rf"|\bin\s+(?:{_COUNT}|a|an)\s+(?:{_SPAN})['\u2019]?\s+time\b"
    rf"|\b(?:around|in|by|this|next|early|late|from)\s+[\"\u201c\u2018']?(?:{_SEASON})\b"
    rf"(?:\s+\d{{4}})?[\"\u201d\u2019']?"
    rf"|\b(?:next|later\s+this|early\s+next|later\s+next)\s+(?:year|month|week|decade)\b"
    rf"|\b(?:in|from|starting(?:\s+in)?)\s+(?:early\s+|mid-?|late\s+)?(?:(?:{_MONTH})"
    rf"(?:\s+\d{{1,2}}(?!\d))?(?:,?\s+\d{{4}})?|\d{{4}})\b"
)
_QUOTES = str.maketrans("", "", '"\u201c\u201d\u2018\u2019')

# action_key folding: one spelling, no function words, no amounts or dates, crude stems.
_SPELLING = {
    "defence": "defense",
    "offence": "offense",
    "licence": "license",
    "programme": "program",
    "programmes": "programs",
    "centre": "center",
    "centres": "centers",
    "labour": "labor",
    "dialogue": "dialog",
    "catalogue": "catalog",
    "armour": "armor",
    "armoured": "armored",
    "harbour": "harbor",
    "neighbour": "neighbor",
    "neighbours": "neighbors",
    "honour": "honor",
    "favour": "favor",
    "travelled": "traveled",
    "cancelled": "canceled",
    "tonnes": "tons",
    "tonne": "ton",
}
_KEY_STOP = (
    _set(
        "a an the of to for on in at by with from into its their his her our it they this that "
        "these those and or as also new more further additional extra own some any all both each "
        "about around nearly almost roughly up than over next last year years month months week "
        "weeks day days percent per cent gdp gross domestic product trillion billion million "
        "total worth"
    )
    | frozenset(_MONTH.lower().split("|"))
    | frozenset(_NUMBER_WORDS.split("|"))
)
_KEY_TOKEN = re.compile(r"[a-z]+")


NEGATED, HEDGED, NO_ACTION, NO_ACTOR, SPORT, PAST = (
    "negated",
    "hedged",
    "no_action",
    "no_actor",
    "sport",
    "past",
)
REJECTIONS = (NEGATED, HEDGED, NO_ACTION, NO_ACTOR, SPORT, PAST)
"""Why a verb of commitment made no commitment: negated ("no plans to"), hedged ("will
likely"), no action after it, no actor before it, a sports story, or dated in the past."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A verb of commitment that made no commitment, and why."""

    verb: str
    start: int
    end: int
    reason: str


@dataclass(frozen=True, slots=True)
class CommitmentReading:
    """What the grammar made of an article: commitments, and the verbs it turned down."""

    commitments: tuple[Commitment, ...]
    rejected: tuple[Candidate, ...]


@dataclass(frozen=True, slots=True)
class _Subject:
    names: tuple[str, ...]
    start: int


class CommitmentDetector:
    """Finds commitments in an article's text (title, blank line, body)."""

    def __init__(self, *, reference_year: int | None = None) -> None:
        self._verbs = _VERBS
        self._matcher = PhraseMatcher([phrase for phrase, _ in _VERBS])
        self.reference_year = reference_year if reference_year is not None else date.today().year

    def find(self, text: str) -> list[Commitment]:
        """Every commitment in ``text``, in reading order, one per actor and action."""
        return list(self.read(text).commitments)

    def read(self, text: str) -> CommitmentReading:
        """The commitments in ``text`` and every verb of commitment that made none, with why."""
        hits = self._matcher.find(text)
        if not hits:
            return CommitmentReading((), ())
        doc = _Document(text, self.reference_year)
        found: dict[str, Commitment] = {}
        rejected: list[Candidate] = []
        taken = 0
        for hit in hits:
            if hit.start < taken:
                continue
            taken = hit.end
            phrase, mode = self._verbs[hit.index]
            made = doc.read(hit.start, hit.end, phrase, mode)
            if isinstance(made, str):
                rejected.append(Candidate(phrase, hit.start, hit.end, made))
                continue
            for commitment in made:
                found.setdefault(commitment.key, commitment)
        return CommitmentReading(tuple(found.values()), tuple(rejected))


class _Document:
    """One article being read. Sentences and actors are found only around candidate verbs,
    so an article whose verbs all fail the cheap local checks costs one Hyperscan scan."""

    def __init__(self, text: str, reference_year: int) -> None:
        self.text = text
        self.reference_year = reference_year
        self._sentences: dict[int, tuple[Sentence, Sentence | None]] = {}
        self._contexts: dict[int, list[ActorMention]] = {}
        self._mentions: list[ActorMention] = []
        self._previous: Sentence | None = None
        self._heads = unnamed_heads()

    def sentence_at(self, offset: int) -> tuple[Sentence, Sentence | None]:
        """The sentence holding ``offset`` and the one before it (None at the start)."""
        for sentence, previous in self._sentences.values():
            if sentence.start <= offset < sentence.end:
                return sentence, previous
        before, after = _WINDOW_BEFORE, _WINDOW_AFTER
        while True:
            low, high = max(0, offset - before), min(len(self.text), offset + after)
            pieces = [
                Sentence(p.text, p.start + low, p.end + low)
                for p in split_sentences(self.text[low:high])
            ]
            index = max(0, bisect_right([p.start for p in pieces], offset) - 1)
            if low > 0 and index <= 1:
                before *= 2  # the window's first piece may be a cut-off sentence
            elif high < len(self.text) and index == len(pieces) - 1:
                after *= 2  # ...and so may its last
            else:
                found = (pieces[index], pieces[index - 1] if index else None)
                self._sentences[pieces[index].start] = found
                return found

    def context(self, sentence: Sentence, previous: Sentence | None) -> list[ActorMention]:
        """Actor mentions in this sentence and the one before, in text offsets."""
        mentions = self._contexts.get(sentence.start)
        if mentions is None:
            low = previous.start if previous else sentence.start
            mentions = _shifted(find_actors(self.text[low : sentence.end]), low)
            self._contexts[sentence.start] = mentions
        return mentions

    def read(self, start: int, end: int, phrase: str, mode: str) -> list[Commitment] | str:
        """The commitments made with the verb at ``text[start:end]``, or why there are none."""
        text = self.text
        if _NEGATED_BEFORE.search(text, max(0, start - 40), start):
            return NEGATED
        verb = phrase
        action_start = end
        limit = min(len(text), end + _LOCAL)
        if mode == _PROGRESSIVE:
            mode, action_start, verb = _MODAL, start + len(phrase.split()[0]) + 1, phrase
        elif mode == _PLAN:
            plan = _PLAN_NOUN.match(text, end, limit)
            to = _TO_GAP.match(text, plan.end(), limit) if plan else None
            if plan is not None and to is not None:
                mode, action_start, verb = _TO, to.end(), f"{phrase} a plan to"
            elif plan is not None and _COMMITTING_NOUN.search(plan.group()):
                mode = _OBJECT  # "approved a record draft defence budget"
            else:
                return NO_ACTION
        elif mode in (_TO, _OBJECT, _SIGN) and not phrase.endswith((" to", " of")):
            to = _TO_GAP.match(text, end, limit)
            deal = _SIGNED_DEAL.match(text, end, limit) if mode == _SIGN else None
            if deal is not None:
                after_deal = _TO_GAP.match(text, deal.end(), limit)
                mode = _TO if after_deal else _OBJECT
                action_start = after_deal.end() if after_deal else end
            elif to is not None:
                mode, action_start = _TO, to.end()
            elif phrase.startswith("agree") and (on := _ON.match(text, end, limit)):
                mode, action_start = _OBJECT, on.end()  # "agreed on a ceasefire"
            elif mode != _OBJECT:
                return NO_ACTION
            if mode == _TO:
                verb = f"{phrase} to"
        tail_start = _skip_words(text, action_start, _SKIP_AFTER_VERB)
        first = _first_word(text, tail_start)
        if mode == _TO and phrase.startswith("agree") and first in _DETERMINERS:
            mode, phrase = _OBJECT, "agree to"  # "agreed to a six-month ceasefire"
        if mode == _MODAL and first in _HEDGE_AFTER_MODAL:
            return HEDGED
        passive = mode == _MODAL and first == "be" and bool(_PASSIVE.match(text, tail_start))
        if passive:
            mode = _OBJECT  # "a peacekeeping unit will be deployed": the action as written
        elif mode != _OBJECT and not _looks_like_base_verb(first, gerund_ok=True):
            return NO_ACTION
        if not passive and not self._could_have_subject(start):
            return NO_ACTOR
        sentence, previous = self.sentence_at(start)
        if _SPORT.search(sentence.text):
            return SPORT
        self._mentions = self.context(sentence, previous)
        self._previous = previous
        if passive:
            subject = self._passive_subject(sentence, start)
        else:
            subject = self._subject(sentence, previous, start, needs_reporting=phrase == "would")
        if subject is None:
            return NO_ACTOR
        clause_end = _clause_end(self.text, tail_start, sentence.end)
        if self._dated_past(phrase, subject.start, clause_end):
            return PAST
        actor = _join_names(subject.names)
        lead = _DEADLINE.search(self.text, sentence.start, subject.start)
        lead_deadline = lead if lead and lead.group().lower().startswith("by") else None
        commitments = []
        for number, (part_start, part_end) in enumerate(
            _conjuncts(self.text, tail_start, clause_end)
        ):
            part_mode = mode if number == 0 else _TO  # "signed a pact and set a target"
            action = _action(self.text, part_start, part_end, phrase, part_mode)
            if action is None:
                continue
            amount = _AMOUNT.search(self.text, part_start, part_end)
            deadline = _DEADLINE.search(self.text, part_start, part_end) or lead_deadline
            commitments.append(_commitment(actor, action, amount, deadline, sentence, verb))
        return commitments or NO_ACTION

    def _dated_past(self, phrase: str, start: int, end: int) -> bool:
        """A past-tense commitment dated in an earlier year: "signed a peace deal in 2000"."""
        if not phrase.split()[0].endswith(("ed", "struck")):
            return False
        return any(
            int(found.group(1)) < self.reference_year
            for found in _PAST_YEAR.finditer(self.text, start, end)
        )

    def _could_have_subject(self, verb_start: int) -> bool:
        """Cheap look at the words just before the verb: could an actor or pronoun end there?"""
        words = _words_before(self.text, max(0, verb_start - 100), verb_start)
        position = _skip_gap(words, len(words))
        if not position:
            return True  # the subject may be further back, past a dateline or a quote
        word = words[position - 1][0]
        lowered = word.lower()
        return (
            word[0].isupper()
            or lowered in _SUBJECT_WORDS
            or lowered in _INSTITUTION_HEADS
            or lowered in self._heads
            or lowered.rstrip("'\u2019s") in self._heads
        )

    def _subject(
        self,
        sentence: Sentence,
        previous: Sentence | None,
        verb_start: int,
        *,
        needs_reporting: bool,
    ) -> _Subject | None:
        """The actor(s) doing the verb at ``verb_start``, or None when it is not an actor."""
        words = _words_before(self.text, sentence.start, verb_start)
        position = _skip_gap(words, len(words))
        if position == 0:
            return None
        word, word_start, word_end = words[position - 1]
        lowered = word.lower()
        group = self._group_ending_at(sentence, word_end, verb_start)
        if group is None and (
            aside := _APPOSITIVE_BEFORE.search(self.text, sentence.start, verb_start)
        ):
            # "Lithuania's defence minister, Jane Doe, signed ...": the actor before the aside
            group = self._group_ending_at(sentence, aside.start(), aside.start())
        if group is not None:
            names, group_start = group
            before = _words_before(self.text, sentence.start, group_start)
            if not _subject_context_ok(before):
                return None
            if (
                needs_reporting
                and self._speaker(sentence, before) is None
                and self._attribution(sentence, verb_start) is None
            ):
                return None
            return _Subject(names, group_start)
        before = words[: position - 1]
        if lowered in _COUNTRY_NOUNS and before and before[-1][0].lower() in _COUNTRY_DETERMINERS:
            # "the country will respond" reads like "it will respond"
            lowered, word_start = "it", before[-1][1]
            before = before[:-1]
            position -= 1
        if lowered == "and" and not needs_reporting:
            # "India suspended the treaty and will close the border": the clause's subject.
            return self._clause_subject(sentence, word_start)
        if lowered in _SINGULAR_PRONOUNS | _PERSON_PRONOUNS | _PLURAL_PRONOUNS:
            speaker = self._speaker(sentence, before)
            if speaker is not None:
                if lowered in _PERSON_PRONOUNS and speaker[1] != "leader":
                    return None
                return _Subject(speaker[0], word_start)
            attributed = self._attribution(sentence, verb_start)
            if attributed is not None and lowered not in _PERSON_PRONOUNS:
                return _Subject(attributed, word_start)  # "It would respond, the ministry said."
            if position == 1 and not needs_reporting:
                personal = lowered in _PERSON_PRONOUNS
                return self._sentence_initial_pronoun(previous, word_start, personal)
            return None
        if lowered == "koreas" and before and before[-1][0].lower() in ("two", "both"):
            return _Subject(("North Korea", "South Korea"), before[-1][1])
        if lowered in _PAIR_NOUNS and len(before) >= 1:
            lead = before[-1][0].lower()
            lead2 = before[-2][0].lower() if len(before) >= 2 else ""
            if lead == "both" or (lead == "two" and lead2 == "the"):
                pair = self._recent_pair(word_start)
                if pair is None:
                    return None
                return _Subject(pair, before[-1][1] if lead == "both" else before[-2][1])
        return None

    def _passive_subject(self, sentence: Sentence, verb_start: int) -> _Subject | None:
        """Whose thing is done to in a passive: the first actor named before the verb ("A
        Chinese peacekeeping unit will be deployed" is China's)."""
        named = [m for m in self._mentions if sentence.start <= m.start < verb_start and m.name]
        return _Subject((named[0].name,), named[0].start) if named else None

    def _attribution(self, sentence: Sentence, verb_start: int) -> tuple[str, ...] | None:
        """ "..., Lavrov said." or "..., the ministry said": the actor a sentence is credited to."""
        found = _ATTRIBUTION.search(self.text, verb_start, sentence.end)
        if found is None:
            return None
        for mention in self._mentions:
            if found.start() <= mention.start < found.end():
                return (mention.name,)
        return None

    def _sentence_initial_pronoun(
        self, previous: Sentence | None, pronoun_start: int, personal: bool
    ) -> _Subject | None:
        """'It will ...' opening a sentence: the subject of the sentence before.

        "He"/"she" must find a leader there and "it"/"they" a state or body, or nothing.
        """
        if previous is None:
            return None
        opener = self._clause_subject(previous, previous.end)
        if opener is None or (self._kind_at(opener.start) == "leader") != personal:
            return None
        return _Subject(opener.names, pronoun_start)

    def _group_ending_at(
        self, sentence: Sentence, end: int, verb_start: int
    ) -> tuple[tuple[str, ...], int] | None:
        """Actor mentions ending at ``end`` (allowing an unknown name after a leader's title)."""
        mentions = [m for m in self._mentions if sentence.start <= m.start and m.end <= verb_start]
        if not mentions:
            return None
        last = mentions[-1]
        if last.kind == "armed_group" and last.name in gazetteer().states:
            return None  # "rebels said they would ...": not a state, whoever's soil it is
        gap = self.text[last.end : end]
        if last.end == end:
            if _POSSESSIVE_END.search(last.surface):
                return None  # "Japan's will", not "Japan will"
        elif not (
            (last.kind == "leader" and _NAME_AFTER_TITLE.fullmatch(gap))
            or (last.kind not in _PERSONAL_KINDS and _INSTITUTION.fullmatch(gap))
        ):
            return None
        names = [last.name]
        start = last.start
        for mention in reversed(mentions[:-1]):
            gap = self.text[mention.end : start]
            if not (_AND.fullmatch(gap) or (len(names) > 1 and _LIST_COMMA.fullmatch(gap))):
                break
            names.append(mention.name)
            start = mention.start
        return tuple(sorted(set(names))), start

    def _speaker(
        self, sentence: Sentence, before: list[tuple[str, int, int]]
    ) -> tuple[tuple[str, ...], str] | None:
        """For "X said (that) it would ...": X, when X is an actor, and X's kind."""
        position = len(before)
        while position and before[position - 1][0].lower() in _POSSESSIVE_DETERMINERS:
            position -= 1  # "said its forces would ..."
        while position and before[position - 1][0].lower() in _SUBORDINATORS:
            position -= 1
        position = _skip_gap(before, position)
        if not position or before[position - 1][0].lower() not in _REPORTING:
            return None
        verb_start = before[position - 1][1]
        if before[position - 1][0].lower() in _PARTICIPLES:
            # "Pakistan announced sanctions, saying it would ...": the clause's subject.
            opener = self._clause_subject(sentence, verb_start)
            if opener is None:
                return None
            return opener.names, self._kind_at(opener.start)
        position = _skip_gap(before, position - 1)
        if not position:
            return None
        end = before[position - 1][2]
        group = self._group_ending_at(sentence, end, verb_start)
        appositive = _APPOSITIVE.search(self.text, sentence.start, end + 1)
        if group is None and appositive is not None:
            # "Brazil, which borders both countries, said it would ..."
            group = self._group_ending_at(sentence, appositive.start(), appositive.start())
        if group is not None:
            return group[0], self._kind_at(group[1])
        pronoun = before[position - 1][0].lower()
        if position == 1 and pronoun in _SINGULAR_PRONOUNS | _PERSON_PRONOUNS | _PLURAL_PRONOUNS:
            personal = pronoun in _PERSON_PRONOUNS
            found = self._sentence_initial_pronoun(self._previous, before[0][1], personal)
            if found is not None:
                return found.names, "leader" if personal else ""
        return None

    def _kind_at(self, start: int) -> str:
        return next((m.kind for m in self._mentions if m.start == start), "")

    def _clause_subject(self, sentence: Sentence, before: int) -> _Subject | None:
        """The actor(s) opening the sentence (after any dateline), when they are its subject."""
        dateline = _DATELINE.match(self.text, sentence.start, before)
        opening = dateline.end() if dateline else sentence.start
        mentions = [m for m in self._mentions if opening <= m.start < before]
        while mentions and not _INTRO.fullmatch(self.text, opening, mentions[0].start):
            mentions.pop(0)  # "After talks with China, Japan said ...": skip the intro
        if not mentions:
            return None
        names = [mentions[0].name]
        end = mentions[0].end
        for mention in mentions[1:]:
            if not _AND.fullmatch(self.text, end, mention.start):
                break
            names.append(mention.name)
            end = mention.end
        if _POSSESSIVE_END.search(self.text[opening:end]):
            return None
        return _Subject(tuple(sorted(set(names))), mentions[0].start)

    def _recent_pair(self, offset: int) -> tuple[str, ...] | None:
        """'The two countries': the two most recent distinct states before ``offset``."""
        names: list[str] = []
        for mention in reversed(find_actors(self.text[:offset])):
            if mention.start >= offset or mention.name in names:
                continue
            if mention.kind == "organisation" or mention.kind == "armed_group":
                continue
            names.append(mention.name)
            if len(names) == 2:
                return tuple(sorted(names))
        return None


_PARTICIPLES = frozenset({"saying", "adding"})
_POSSESSIVE_DETERMINERS = frozenset({"its", "their"})
_ATTRIBUTION = re.compile(
    r"[,\u201d\"]\s+(?:[\w.'\u2019-]+\s+){0,5}?(?:said|says|told|added|announced|stated|"
    r"warned|confirmed)\b[^,;]{0,60}[.\"\u201d]*$"
)
_INSTITUTION_HEADS = _set("agency agencies mission secretariat commission council force")
_APPOSITIVE = re.compile(r",\s+[^,;:()\"\u201c\u201d]{1,80},$")
_ON = re.compile(r"\s+(?:on|upon)\s+")
_PASSIVE = re.compile(
    r"be\s+(?:deployed|sent|dispatched|stationed|built|established|set\s+up|opened|delivered|"
    r"supplied|provided|increased|raised|doubled|extended|expanded|imposed|lifted|"
    r"withdrawn|closed|expelled|allocated|spent|invested|purchased|acquired|procured)\b"
)
_APPOSITIVE_BEFORE = re.compile(r",\s+[^,;:()\"\u201c\u201d]{1,60},\s*$")
_INTRO = re.compile(r"(?:[^,.;]{0,40},\s*)?")
_LOCAL = 300  # how far past a verb its "to" or deal may lie
_WINDOW_BEFORE, _WINDOW_AFTER = 600, 400  # first guess of the text a sentence needs
_SUBJECT_REACH = 60  # a previous sentence's subject starts this near its beginning


def _shifted(mentions: list[ActorMention], offset: int) -> list[ActorMention]:
    return [
        ActorMention(m.name, m.surface, m.kind, m.start + offset, m.end + offset) for m in mentions
    ]


_PERSONAL_KINDS = frozenset({"leader", "armed_group"})
_DATELINE = re.compile(
    r"[A-Z][A-Z .'-]+(?:,\s*[A-Z][a-z]{2,4}\.?\s+\d{1,2})?\s*(?:\([^)]*\))?\s*[-\u2013\u2014]+\s*"
)
_INSTITUTION = re.compile(
    r"\s+(?:[A-Z][\w'\u2019-]*\s+){0,4}(?:Fund|Bank|Ministry|Council|Agency|Authority|"
    r"Commission|Committee|Parliament|Assembly|Senate|Congress|Cabinet|Office|Department|"
    r"Administration|Forces|Army|Navy|Guard|Corps|Court|Government|Police|Service|Board|"
    r"Reserve|Directorate|Institute)"
    r"|\s+(?:[a-z][\w-]*\s+){0,2}(?:agency|agencies|mission|secretariat|commission|council|"
    r"task force|peacekeeping force)"
)
_NAME_AFTER_TITLE = re.compile(r"(?:\s+[A-Z][\w'\u2019-]*){1,3}")
_POSSESSIVE_END = re.compile(r"['\u2019]s?$")
_AND = re.compile(r",?\s+and\s+")
_LIST_COMMA = re.compile(r"\s*,\s+")


def _words_before(text: str, start: int, end: int) -> list[tuple[str, int, int]]:
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text, start, end)]


def _skip_gap(words: Sequence[tuple[str, int, int]], position: int) -> int:
    """Step left over adverbs, auxiliaries and time phrases ("on Wednesday", "in December")."""
    while position:
        word = words[position - 1][0].lower().rstrip(",")
        if word in _GAP_WORDS:
            position -= 1
        elif (
            (word in _TIME_WORDS or word.isdigit())
            and position >= 2
            and words[position - 2][0].lower() in _TIME_LEADS
        ):
            position -= 2
            while position and words[position - 1][0].lower() in _TIME_LEADS:
                position -= 1
        elif word in _WEEKDAYS:
            position -= 1  # "announced Thursday that"
        else:
            break
    return position


def _subject_context_ok(before: list[tuple[str, int, int]]) -> bool:
    """The words before a subject must not make it a wish, a worry or an object.

    A "that" clause counts only under a verb of saying: "said that China will" is a
    commitment, "it does not follow that China will" or "confident that" is not.
    """
    position = len(before)
    subordinate = False
    while position and before[position - 1][0].lower() in _SUBORDINATORS:
        position -= 1
        subordinate = True
    position = _skip_gap(before, position)
    if not position:
        return not subordinate
    word = before[position - 1][0].lower()
    if subordinate:
        return word in _REPORTING or word in _DECISION_NOUNS
    return word not in _WISHES and word not in _PREPOSITIONS


def _skip_words(text: str, offset: int, words: frozenset[str]) -> int:
    while True:
        found = _WORD.match(text, _skip_space(text, offset))
        if found is None or found.group().lower() not in words:
            return _skip_space(text, offset)
        offset = found.end()


def _skip_space(text: str, offset: int) -> int:
    while offset < len(text) and text[offset].isspace():
        offset += 1
    return offset


def _first_word(text: str, offset: int) -> str:
    found = _WORD.match(text, offset)
    return found.group().lower() if found else ""


def _clause_end(text: str, start: int, limit: int) -> int:
    found = _CLAUSE_END.search(text, start, limit)
    return found.start() if found else limit


def _conjuncts(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split "set up X and strengthen Y" into its coordinated verb phrases."""
    parts: list[tuple[int, int]] = []
    part_start = start
    for found in _COORDINATION.finditer(text, start, end):
        explicit = found.group().rstrip().endswith(" to")  # "resume flights and to ease visas"
        if (explicit or found.group(1) in _ACTION_VERBS) and found.start() > part_start:
            parts.append((part_start, found.start()))
            part_start = found.end()
    parts.append((part_start, end))
    return parts


def _action(text: str, start: int, end: int, phrase: str, mode: str) -> str | None:
    """The verb phrase itself, short and readable, or None when it is no action at all."""
    first = _WORD.match(text, start, end)
    if first is None:
        return None
    word = first.group()
    lowered = word.lower()
    noun_object = False
    if mode == _OBJECT:
        if lowered in {"to", "that", "it", "not", "never", "they", "he", "she"}:
            return None
        noun_object = True
    elif not _looks_like_base_verb(
        word,
        gerund_ok=phrase.endswith(("committed to", " of")) or phrase.startswith(("is ", "are ")),
    ):
        return None
    if _IMPERSONAL.match(text, first.start(), end):
        return None
    cut = _ACTION_END.search(text, first.end(), end)
    deadline = _DEADLINE.search(text, first.end(), end)
    stop = min(
        cut.start() if cut else end,
        deadline.start() if deadline else end,
    )
    words = text[start:stop].translate(_QUOTES).split()
    while words and words[-1].lower() in _TRAILING:
        words.pop()
    if not words:
        return None
    if noun_object:
        amount = _AMOUNT.match(" ".join(words))
        if amount:
            rest = " ".join(words)[amount.end() :].split()
            while rest and rest[0].lower() in {"in", "of", "worth"}:
                rest.pop(0)
            words = rest
        if not words:
            return None
        words = [_LEMMAS.get(phrase, phrase), *words]
    return " ".join(words[:14])


def _looks_like_base_verb(word: str, *, gerund_ok: bool) -> bool:
    lowered = word.lower()
    if not word.isalpha() or not word.islower() or lowered in _NOT_ACTIONS:
        return False
    if lowered.endswith("ed") and lowered not in _BASE_ED:
        return False
    return gerund_ok or not lowered.endswith("ing") or lowered in _BASE_ING


# "it will take some time": how long something lasts, not a thing anyone does.
_IMPERSONAL = re.compile(
    r"take\s+(?:(?:some|a|a\s+long|a\s+little|several|many|more|much|\d+)\s+)?"
    r"(?:time|while|years|months|weeks|days|hours|longer)\b",
    re.IGNORECASE,
)
_TRAILING = _set(
    "the a an to and or of on in at by for with from its their his her our as than into onto "
    "over about between against toward towards under within"
)
_ACTION_VERBS = _set("""
    acquire adopt allocate allow apply approve arm assist back ban boost bolster build buy
    close conduct consider cooperate coordinate create cut debate declare deepen defend
    deliver deploy develop double draft eliminate end enhance ensure establish expand
    expel extend finance form freeze fund give grant halt help hold host impose improve
    increase install introduce invest issue join launch lift limit maintain make modernise
    modernize monitor move negotiate offer open organise organize pass pay phase place
    prepare procure produce promote protect provide pull purchase pursue push raise ramp
    recognise recognize reduce reinforce reform release remove renew repair replace
    resume return review revise sanction scale scrap secure seek sell send set share
    ship sign slash speed spend stage start station step stock stop strengthen suspend
    supply support take tighten train transfer triple upgrade withdraw work write
    clarify establish enact implement finalise finalize launch hold convene resume ease
    restore reopen lower hike relax accelerate admit accept respect honour honor uphold
    observe attend visit restart abolish cancel dismantle evacuate guarantee invite lend
    loosen mobilise mobilize patrol recruit reject relocate rescind restrict strike target
    veto
    """)


def _join_names(names: tuple[str, ...]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def action_key(action: str) -> str:
    """Fold an action for novelty: "double defence spending" == "doubling defense spending"."""
    lowered = action.lower().translate(_QUOTES)
    stems = set()
    for token in _KEY_TOKEN.findall(lowered):
        for part in _SPELLING.get(token, token).split():
            if part in _KEY_STOP:
                continue
            stems.add(_stem(part))
    stems.discard("")
    return " ".join(sorted(stems))


def _stem(word: str) -> str:
    """A crude suffix stripper: enough to fold tense and number, never a dictionary."""
    word = _ize(word)
    for suffix, replacement, min_length in _SUFFIXES:
        if len(word) > min_length and word.endswith(suffix) and _strippable(word, suffix):
            word = word[: -len(suffix)] + replacement
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]
    return word


_SUFFIXES = (
    ("ied", "y", 4),
    ("ies", "y", 4),
    ("ing", "", 5),
    ("ed", "", 4),
    ("es", "", 4),
    ("s", "", 3),
)


def _strippable(word: str, suffix: str) -> bool:
    if suffix == "es":
        return word[-3] in "sxz"  # "boxes" -> "box", but "missiles" loses only its "s"
    return suffix != "s" or not word.endswith(("ss", "us"))


def _ize(word: str) -> str:
    for suffix in ("ising", "ised", "ise"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)] + "ize"
    return word


def commitment_in_sentence(
    text: str, sentence: Sentence, candidate: Candidate | None = None
) -> Commitment:
    """The commitment a sentence makes, read loosely, for when the learned decision says
    there is one that the grammar did not take: the actor named nearest before the verb of
    commitment (or the sentence's first actor), what follows the verb up to the clause's
    end, and any amount and deadline."""
    mentions = find_actors(sentence.text)
    verb_at = (candidate.start - sentence.start) if candidate else len(sentence.text)
    before = [m for m in mentions if m.end <= verb_at and m.name]
    named = [m for m in mentions if m.name]
    subject = before[-1] if before else (named[0] if named else None)
    actor = subject.name if subject else "unnamed actor"
    if candidate is not None:
        action_start = _skip_space(text, candidate.end)
        verb = candidate.verb
    else:
        action_start = sentence.start + (subject.end if subject else 0)
        action_start = _skip_space(text, action_start)
        verb = ""
    clause_end = _clause_end(text, action_start, sentence.end)
    if clause_end <= action_start:
        clause_end = sentence.end
    cut = _ACTION_END.search(text, action_start, clause_end)
    stop = cut.start() if cut and cut.start() > action_start else clause_end
    words = text[action_start:stop].translate(_QUOTES).split()
    while words and words[-1].lower() in _TRAILING:
        words.pop()
    action = " ".join(words[:14]) or sentence.text.strip()[:120]
    amount = _AMOUNT.search(text, sentence.start, sentence.end)
    deadline = _DEADLINE.search(text, sentence.start, sentence.end)
    return _commitment(actor, action, amount, deadline, sentence, verb)


def _commitment(
    actor: str,
    action: str,
    amount: re.Match[str] | None,
    deadline: re.Match[str] | None,
    sentence: Sentence,
    verb: str,
) -> Commitment:
    return Commitment(
        actor=actor,
        action=action,
        amount=amount.group().strip() if amount else None,
        deadline=deadline.group().translate(_QUOTES).strip() if deadline else None,
        sentence=sentence.text,
        start=sentence.start,
        end=sentence.end,
        verb=verb,
        key=f"{actor.lower()}|{action_key(action)}",
    )
