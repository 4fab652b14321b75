"""Free-form description → descriptive code (the first stage of Describe3D).

The parser reads in three steps:

1. **Words.** The text is cut into words, and known phrases are looked up in
   the curated vocabulary (text/lexicon.py): region nouns ("nose"),
   descriptors ("hooked"), intensity ("very"), negation ("not"), ages ("in
   his seventies"), ancestry. Comparatives ("longer"), "-ish" forms and
   compounds ("hook-nosed", "blue-eyed") are reduced to their base word.
2. **Clauses.** Punctuation and joining words ("and", "with", "who") cut the
   text into clauses. A descriptor attaches to a region noun of its clause; a
   clause without one ("It is long", "and very thin") refers back to the last
   region mentioned, unless it is about the person ("She is thin"). Intensity
   and negation words apply to the descriptors after them.
3. **Unseen words.** Words the vocabulary does not know are matched with the
   sentence encoder against the prototypes of their region (text/semantic.py);
   below the confidence threshold they go to ``abstract`` (impressions and
   features we cannot shape: "kind eyes", "looks trustworthy") or ``ignored``.

Statements apply in reading order: a later statement about the same attribute
wins, and its phrase notes what it overrode.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from headsculpt.descriptive_code import (
    AGE_RANGE_YEARS,
    CATEGORICAL_ATTRIBUTES,
    DescriptiveCode,
    Phrase,
)
from headsculpt.limits import MAX_PROMPT_CHARS
from headsculpt.text import lexicon
from headsculpt.text.encoder import SentenceEncoder
from headsculpt.text.semantic import PERSON, MatchThresholds, PrototypeIndex

_MAX_PHRASE_WORDS = 5

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*|[.,;:!?()\[\]/]")
_CLAUSE_WORDS = frozenset(
    {
        "and",
        "but",
        "with",
        "while",
        "who",
        "whose",
        "which",
        "that",
        "whereas",
        "although",
        "though",
        "plus",
        "yet",
        "or",
        "has",
        "have",
        "having",
        "is",
        "are",
        "was",
        "were",
    }
)
# Of the clause words, these only separate when a region noun follows them ("is" in
# "the nose is long" must not cut "nose" from "long").
_SOFT_CLAUSE_WORDS = frozenset({"has", "have", "having", "is", "are", "was", "were"})
# After these a clause continues the noun before them ("a nose that is long").
_RELATIVE_WORDS = frozenset({"that", "which", "whose"})
_DETERMINERS = frozenset(
    {
        "a",
        "an",
        "the",
        "his",
        "her",
        "their",
        "its",
        "my",
        "your",
        "some",
        "no",
        "this",
        "that",
        "these",
        "those",
    }
)
# Features we cannot shape, named as nouns ("glasses", "hat", "scar").
_THINGS = frozenset(lexicon.IMPRESSIONS)
_SENTENCE_MARKS = frozenset({".", "!", "?", ";"})
_PUNCTUATION = frozenset({".", ",", ";", ":", "!", "?", "(", ")", "[", "]", "/"})
# A bare number right after these is an age.
_AGE_CUES = frozenset(
    {
        "about",
        "around",
        "roughly",
        "approximately",
        "nearly",
        "almost",
        "maybe",
        "perhaps",
        "is",
        "looks",
        "look",
        "looking",
        "turned",
        "turning",
        "over",
        "under",
    }
)
# "a boy of six", "a woman of eighty-five": a number after "of" is an age when "of"
# follows one of these (not "a mother of three", "a face of two halves").
_AGED_PERSONS = frozenset(
    {"man", "woman", "boy", "girl", "child", "kid", "person", "guy", "gentleman", "lady",
     "fellow", "lad", "lass", "chap", "gal", "toddler", "youngster", "youth", "teenager",
     "teen", "adult", "individual", "elder", "senior"}
)  # fmt: skip
_YEAR_WORDS = frozenset({"year", "years", "yr", "yrs", "yo", "y/o"})
_AGE_COMPOUND = re.compile(r"^(.+?)-(?:years?|yrs?)(?:-old)?$")
_DECADE_COMPOUND = re.compile(r"^(early|mid|late)-(.+)$")
_GENDER_SUFFIXES = (
    ("woman", -lexicon.STRONG),
    ("women", -lexicon.STRONG),
    ("man", lexicon.STRONG),
    ("men", lexicon.STRONG),
)
_NOT_GENDERED = frozenset(
    {
        "human",
        "humans",
        "german",
        "germans",
        "roman",
        "romans",
        "shaman",
        "ottoman",
        "talisman",
        "caiman",
        "cayman",
    }
)


@dataclass
class _Entry:
    """Everything a word or phrase can be; the clause decides which reading holds."""

    region: str | None = None
    meanings: dict[str, dict[str, Any]] = field(default_factory=dict)  # region/person → values
    scale: float | None = None
    negation: bool = False
    comparison: float | None = None  # +1 "more", -1 "less"
    filler: bool = False


def _vocabulary() -> dict[str, _Entry]:
    table: dict[str, _Entry] = {}

    def entry(phrase: str) -> _Entry:
        return table.setdefault(phrase, _Entry())

    for region, nouns in lexicon.REGION_NOUNS.items():
        for noun in nouns:
            entry(noun).region = region
    for region, descriptors in lexicon.REGION_DESCRIPTORS.items():
        for word, values in descriptors.items():
            entry(word).meanings[region] = values
    for word, values in lexicon.PERSON_DESCRIPTORS.items():
        entry(word).meanings[PERSON] = values
    for word, weights in lexicon.ANCESTRY_WORDS.items():
        entry(word).meanings.setdefault(PERSON, {"ancestry": weights})
    for word, scale in lexicon.INTENSIFIERS.items():
        entry(word).scale = scale
    for word in lexicon.NEGATIONS:
        entry(word).negation = True
    for word in lexicon.MORE_WORDS:
        entry(word).comparison = 1.0
    for word in lexicon.LESS_WORDS:
        entry(word).comparison = -1.0
    for phrase in lexicon.COMPARATIVE_CUES:
        entry(phrase).filler = True
    return table


_VOCABULARY = _vocabulary()


@dataclass
class _Token:
    text: str  # lower case, normalised
    start: int
    end: int


@dataclass
class _Item:
    """One reading unit: a known phrase, an age, a clause mark or an unknown word."""

    kind: str  # region|descriptor|modifier|age|boundary|sentence|pronoun|filler|unknown
    start: int
    end: int
    words: str
    entry: _Entry | None = None
    years: float | None = None
    region: str | None = None  # region nouns: the region; pronouns: None = the person,
    # "previous" = the region talked about last ("it", "they")


@dataclass
class _Statement:
    """Values one span of the text sets, in reading order."""

    order: float
    start: int
    end: int
    values: dict[str, Any]
    note: str = ""


@dataclass
class _Query:
    """An unknown phrase for the sentence encoder, with the context it came in."""

    order: float
    start: int
    end: int
    words: list[str]
    region: str  # a region name or PERSON
    noun: str
    scale: float
    negated: bool
    # Holds a word the vocabulary knows but could not attach here ("small" in "small
    # round glasses"): the encoder is not asked to guess what else it might mean.
    has_known_word: bool = False


@dataclass
class ParserConfig:
    """Knobs of the parser; the defaults are what docs/benchmarks.md measured."""

    thresholds: MatchThresholds = field(default_factory=MatchThresholds)


class DescriptionParser:
    """Vocabulary + sentence encoder → descriptive code. Load once, call per text."""

    def __init__(self, index: PrototypeIndex, config: ParserConfig | None = None) -> None:
        self.index = index
        self.config = config or ParserConfig()

    @classmethod
    def from_pretrained(
        cls, encoder_path: str | None = None, config: ParserConfig | None = None
    ) -> DescriptionParser:
        """Load the sentence encoder from its local folder and embed the vocabulary."""
        config = config or ParserConfig()
        encoder = SentenceEncoder.from_pretrained(encoder_path)
        return cls(PrototypeIndex(encoder, config.thresholds), config)

    def __call__(self, text: str) -> DescriptiveCode:
        if not isinstance(text, str):
            raise ValueError(f"prompt must be text, got {type(text).__name__}")
        if len(text) > MAX_PROMPT_CHARS:
            raise ValueError(
                f"prompt is {len(text)} characters long; the limit is {MAX_PROMPT_CHARS}"
            )
        normalised = _normalise(text)
        items = _read_items(_tokens(normalised))
        reading = _ClauseReader(items)
        reading.read()
        self._resolve_queries(reading)
        return _assemble(text, reading)

    def _resolve_queries(self, reading: _ClauseReader) -> None:
        """Map unknown phrases through the encoder, in one batch."""
        queries = reading.queries
        self.index.warm([_query_text(q) for q in queries])
        for query in queries:
            phrase = _query_text(query)  # a person query has no noun: just its words
            guess = query.region != PERSON or not query.has_known_word
            match = self.index.nearest(phrase, query.region) if guess else None
            if match is not None:
                values = _apply_modifiers(match.values, query.scale, query.negated)
                if values:
                    note = f"read as '{match.prototype.text}' (similarity {match.similarity:.2f})"
                    reading.statements.append(
                        _Statement(query.order, query.start, query.end, values, note)
                    )
                    continue
            if query.region != PERSON or self.index.is_impression(phrase):
                reading.abstract.append(phrase)
            else:
                reading.ignored.extend(query.words)


def _normalise(text: str) -> str:
    """Lower case with compatibility forms folded; same length as the input."""
    folded = unicodedata.normalize("NFKC", text)
    if len(folded) != len(text):  # keep character offsets valid for the phrases
        folded = text
    return folded.lower().replace("’", "'").replace("‘", "'")


def _tokens(text: str) -> list[_Token]:
    tokens = []
    for match in _WORD.finditer(text):
        word = match.group()
        if word.endswith("'s") and len(word) > 2:  # "man's" → "man"
            tokens.append(_Token(word[:-2], match.start(), match.end()))
        else:
            tokens.append(_Token(word, match.start(), match.end()))
    return tokens


def _number(word: str) -> float | None:
    """12, "twelve", "forty-five" → the number; anything else → None."""
    if word.isdigit():
        return float(word)
    parts = word.split("-")
    if all(p in lexicon.NUMBER_WORDS for p in parts) and 1 <= len(parts) <= 2:
        return float(sum(lexicon.NUMBER_WORDS[p] for p in parts))
    return None


def _read_age(tokens: list[_Token], i: int) -> tuple[float, int] | None:
    """An age expression starting at token i: (years, tokens used)."""
    word = tokens[i].text
    following = [t.text for t in tokens[i + 1 : i + 4]]
    compound = _AGE_COMPOUND.match(word)
    if compound and _number(compound.group(1)) is not None:  # "45-year-old"
        used = 2 if following[:1] == ["old"] else 1
        return _number(compound.group(1)), used
    number = _number(word)
    if number is not None and following[:1] and following[0] in _YEAR_WORDS:
        used = 3 if following[1:2] == ["old"] else 2  # "45 years old"
        return number, used
    previous = tokens[i - 1].text if i > 0 else ""
    if number is not None and previous in _AGE_CUES and 1 <= number <= 100:
        return number, 1  # "she looks about sixty", "he is 45"
    person = tokens[i - 2].text if i > 1 else ""
    if number is not None and previous == "of" and person in _AGED_PERSONS and number <= 110:
        return number, 1  # "a boy of six"
    if word in ("aged", "age", "ages"):  # "aged 60", "age of 60"
        offset = 2 if following[:1] == ["of"] else 1
        if len(following) >= offset and _number(following[offset - 1]) is not None:
            return _number(following[offset - 1]), offset + 1
    decade = _DECADE_COMPOUND.match(word)
    if decade and decade.group(2) in lexicon.DECADES:  # "mid-forties"
        return lexicon.DECADES[decade.group(2)] + lexicon.DECADE_PARTS[decade.group(1)], 1
    if word in lexicon.DECADE_PARTS and following[:1] and following[0] in lexicon.DECADES:
        return lexicon.DECADES[following[0]] + lexicon.DECADE_PARTS[word], 2
    if word in lexicon.DECADES:
        return lexicon.DECADES[word], 1
    return None


def _lookup_word(word: str) -> _Entry | None:
    """A single word the vocabulary knows only in another form."""
    for base in _base_forms(word):
        if base in _VOCABULARY:
            found = _VOCABULARY[base]
            if word.endswith("ish") and found.meanings:  # "longish": a weaker long
                return _Entry(meanings=found.meanings, scale=0.5)
            return found
    if word not in _NOT_GENDERED:
        for suffix, gender in _GENDER_SUFFIXES:  # "fisherman", "chairwoman"
            if word.endswith(suffix) and len(word) > len(suffix) + 2:
                return _Entry(meanings={PERSON: {"gender": gender}})
        if word.endswith("ess") and len(word) > 6 and not word.endswith(("ness", "less")):
            return _Entry(meanings={PERSON: {"gender": -lexicon.STRONG}})  # "seamstress"
    if "-" in word:  # "hook-nosed", "blue-eyed", "round-faced"
        head, _, stem = word.rpartition("-")
        region = lexicon.COMPOUND_STEMS.get(stem) or (_VOCABULARY.get(stem) or _Entry()).region
        if region is not None:
            known = _VOCABULARY.get(head) or _lookup_word(head)
            if known is not None and region in known.meanings:
                return _Entry(meanings={PERSON: known.meanings[region]})
    return None


def is_comparative(word: str) -> bool:
    """ "bigger", "fuller", "heavier": a descriptor the vocabulary knows in its base form
    ("big"), said as a comparison (edit instructions read these as relative changes)."""
    if not word.endswith("er") or len(word) < 5:
        return False
    return any(base in _VOCABULARY and _VOCABULARY[base].meanings for base in _base_forms(word))


def _base_forms(word: str) -> list[str]:
    """Candidate base words: "longer" → "long", "bigger" → "big", "heavier" → "heavy"."""
    forms = []
    for suffix in ("est", "er", "ish"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stem = word[: -len(suffix)]
            forms += [stem, stem + "e"]
            if stem.endswith("i"):
                forms.append(stem[:-1] + "y")
            if len(stem) > 2 and stem[-1] == stem[-2]:
                forms.append(stem[:-1])
    if word.endswith("s") and len(word) > 3:
        forms.append(word[:-1])
    return forms


def _read_items(tokens: list[_Token]) -> list[_Item]:
    """Tokens → items, taking the longest known phrase at each position."""
    items: list[_Item] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        age = _read_age(tokens, i)
        if age is not None:
            years, used = age
            end = tokens[i + used - 1].end
            items.append(_Item("age", token.start, end, token.text, years=years))
            i += used
            continue
        if token.text in _PUNCTUATION:
            kind = "sentence" if token.text in _SENTENCE_MARKS else "boundary"
            items.append(_Item(kind, token.start, token.end, token.text))
            i += 1
            continue
        length, entry = _longest_phrase(tokens, i)
        words = " ".join(t.text for t in tokens[i : i + length])
        start, end = token.start, tokens[i + length - 1].end
        if entry is None:
            items.append(_classify_plain_word(token))
        elif entry.region is not None and not entry.meanings:
            items.append(_Item("region", start, end, words, entry, region=entry.region))
        elif entry.meanings:
            items.append(_Item("descriptor", start, end, words, entry, region=entry.region))
        elif entry.scale is not None or entry.negation or entry.comparison is not None:
            items.append(_Item("modifier", start, end, words, entry))
        else:
            items.append(_Item("filler", start, end, words, entry))
        i += length
    return _reinterpret_size_words(items)


def _longest_phrase(tokens: list[_Token], i: int) -> tuple[int, _Entry | None]:
    for length in range(min(_MAX_PHRASE_WORDS, len(tokens) - i), 1, -1):
        phrase = " ".join(t.text for t in tokens[i : i + length])
        if phrase in _VOCABULARY:
            return length, _VOCABULARY[phrase]
    word = tokens[i].text
    if word in _VOCABULARY:
        return 1, _VOCABULARY[word]
    if word in _CLAUSE_WORDS or word in lexicon.FUNCTION_WORDS:
        return 1, None
    return 1, _lookup_word(word)


def _classify_plain_word(token: _Token) -> _Item:
    word = token.text
    if word in lexicon.PERSON_PRONOUNS or word in lexicon.PRONOUN_GENDER:
        return _Item("pronoun", token.start, token.end, word, region=None)
    if word in lexicon.REGION_PRONOUNS:
        return _Item("pronoun", token.start, token.end, word, region="previous")
    if word in _CLAUSE_WORDS:
        return _Item("boundary", token.start, token.end, word)
    plural_of_filler = word.endswith("s") and word[:-1] in lexicon.FUNCTION_WORDS  # "tips"
    if word in lexicon.FUNCTION_WORDS or plural_of_filler or word.isdigit():
        return _Item("filler", token.start, token.end, word)
    return _Item("unknown", token.start, token.end, word)


def _reinterpret_size_words(items: list[_Item]) -> list[_Item]:
    """ "a little nose": "a little" read as intensity is really a size before a noun."""
    for index, item in enumerate(items[:-1]):
        following = items[index + 1]
        if item.kind == "modifier" and following.kind in ("region", "descriptor"):
            last_word = item.words.split()[-1]
            entry = _VOCABULARY.get(last_word)
            if following.kind == "region" and entry is not None and entry.meanings:
                item.kind, item.entry, item.words = "descriptor", entry, last_word
    return items


class _ClauseReader:
    """Walk the items clause by clause, attaching descriptors to regions."""

    def __init__(self, items: list[_Item]) -> None:
        self.items = items
        self.statements: list[_Statement] = []
        self.queries: list[_Query] = []
        self.abstract: list[str] = []
        self.ignored: list[str] = []
        self.pronoun_gender: list[tuple[_Item, float]] = []
        self.ancestry_tones: list[tuple[_Item, float]] = []  # tones ancestry words imply
        self.last_region: tuple[str, str] | None = None  # (region, noun as written)
        self.sentence_ancestry: list[dict[str, float]] = []  # ancestry words this sentence

    def read(self) -> None:
        for clause, about_person, continues in _merge_adjective_lists(_split_clauses(self.items)):
            self._read_clause(clause, about_person, continues)
            if clause and clause[-1].kind == "sentence":
                self.sentence_ancestry = []

    def _read_clause(self, clause: list[_Item], about_person: bool, continues: bool) -> None:
        clause = [item for item in clause if item.kind not in ("boundary", "sentence")]
        if not clause:
            return
        nouns = [(n, item) for n, item in enumerate(clause) if item.kind == "region"]
        for n, item in enumerate(clause):  # a descriptor word can also name a region
            if item.kind == "descriptor" and item.entry.region and not _is_noun_at(nouns, n):
                nouns.append((n, item))
        nouns.sort(key=lambda pair: pair[0])
        about_person = about_person or _mentions_person(clause)
        points_back = continues or any(item.kind == "pronoun" and item.region for item in clause)
        scale, negated, comparison, modifier_start = 1.0, False, 0.0, None
        unknown: list[_Item] = []
        attached_nouns: set[int] = set()

        def flush_unknown(position: int) -> None:
            nonlocal unknown
            if unknown:
                self._queue_unknown(
                    clause, unknown, nouns, position, scale, negated, about_person, points_back
                )
                unknown = []

        for n, item in enumerate(clause):
            if item.kind == "modifier":
                entry = item.entry
                modifier_start = item.start if modifier_start is None else modifier_start
                if entry.scale is not None:
                    scale *= entry.scale
                if entry.negation:
                    negated = True
                if entry.comparison is not None:
                    comparison = entry.comparison
                continue
            if item.kind == "unknown":
                unknown.append(item)
                continue
            flush_unknown(n)
            if item.kind == "pronoun" and item.words in lexicon.PRONOUN_GENDER:
                self.pronoun_gender.append((item, lexicon.PRONOUN_GENDER[item.words]))
            elif item.kind == "age":
                self._state(item, item.start, item.end, {"age": _clip_age(item.years)})
            elif item.kind == "descriptor":
                target = self._target(item, n, nouns, about_person, points_back)
                if target and target[0] == PERSON and _describes_a_thing(clause, n):
                    target = None  # "small round glasses": about the glasses, not the person
                if target is None:
                    unknown.append(item)
                    continue
                region, noun_index = target
                if noun_index is not None:
                    attached_nouns.add(noun_index)
                values = dict(item.entry.meanings[region])
                effective_scale = scale * (item.entry.scale or 1.0)
                if comparison < 0:
                    negated = True
                elif comparison > 0:
                    effective_scale *= 1.2
                values = _apply_modifiers(values, effective_scale, negated)
                start = item.start if modifier_start is None else modifier_start
                end = item.end
                if noun_index is not None:
                    start = min(start, clause[noun_index].start)
                    end = max(end, clause[noun_index].end)
                self._state(item, start, end, values)
                if region != PERSON:
                    noun = clause[noun_index].words if noun_index is not None else None
                    self._remember(region, noun)
                scale, comparison, modifier_start = 1.0, 0.0, None
        flush_unknown(len(clause))
        for n, item in nouns:  # "a beard", "no beard", "no eyebrows"
            if n in attached_nouns or item.kind != "region":
                continue
            presence = lexicon.REGION_PRESENCE.get(item.region)
            absence = lexicon.REGION_ABSENCE.get(item.region) if negated else None
            # "no beard" at the very start: the phrase starts at the modifier (0 is a start)
            start = item.start if modifier_start is None else modifier_start
            if absence:
                self._state(item, start, item.end, dict(absence))
            elif presence:
                self._state(
                    item,
                    start,
                    item.end,
                    _apply_modifiers(presence, 1.0, negated),
                )
        if nouns:
            n, item = nouns[-1]
            self._remember(item.region, item.words)

    def _target(self, item: _Item, n: int, nouns, about_person: bool, points_back: bool):
        """(region or PERSON, index of the noun it attaches to) for descriptor ``item``."""
        meanings = item.entry.meanings
        nouns = [(m, noun) for m, noun in nouns if m != n]  # "dark circles" names itself
        after = [(m, noun) for m, noun in nouns if m > n and noun.region in meanings]
        before = [(m, noun) for m, noun in reversed(nouns) if m < n and noun.region in meanings]
        if after:
            return after[0][1].region, after[0][0]
        if before:
            return before[0][1].region, before[0][0]
        if item.region is not None and item.region in meanings:  # "freckles", "beard"
            return item.region, None
        regions = meanings.keys() - {PERSON}
        if not nouns and PERSON not in meanings and len(regions) == 1 and not points_back:
            only = next(iter(regions))  # "with freckles", "aquiline": the word names its region
            if not (self.last_region and self.last_region[0] in meanings):
                return only, None
        previous = self.last_region[0] if self.last_region else None
        refers_back = (not nouns or points_back) and (points_back or not about_person)
        if refers_back and previous in meanings:
            return previous, None
        if PERSON in meanings:
            return PERSON, None
        return None

    def _queue_unknown(
        self, clause, unknown, nouns, position, scale, negated, about_person, points_back
    ) -> None:
        """Send a run of unknown words to the encoder, aimed at their region."""
        first = clause.index(unknown[0])
        last = clause.index(unknown[-1])
        # Only a noun in the same noun phrase: nothing but adjectives between them
        # ("a beaky nose", "her nose beaky"), not "Notice | a nose".
        after = [
            (m, noun) for m, noun in nouns if m >= position and _adjacent(clause[last + 1 : m])
        ]
        before = [
            (m, noun)
            for m, noun in reversed(nouns)
            if m < first and _adjacent(clause[m + 1 : first])
        ]
        if after or before:
            region, noun = (after or before)[0][1].region, (after or before)[0][1].words
        elif not nouns and self.last_region and points_back:
            region, noun = self.last_region
        else:
            region, noun = PERSON, ""
        words = [item.words for item in unknown]
        self.queries.append(
            _Query(
                order=unknown[0].start,
                start=unknown[0].start,
                end=unknown[-1].end,
                words=words,
                region=region,
                noun=noun if region != PERSON else "",
                scale=scale,
                negated=negated,
                has_known_word=any(item.kind == "descriptor" for item in unknown),
            )
        )

    def _state(self, item: _Item, start: int | None, end: int, values: dict[str, Any]) -> None:
        if not values:
            return
        start = item.start if start is None else start
        statement = _Statement(item.start, start, end, values)
        if "ancestry" in values and item.words in lexicon.ANCESTRY_TONES:
            self.ancestry_tones.append((item, lexicon.ANCESTRY_TONES[item.words]))
        if "ancestry" in values:  # "half Japanese, half Irish": one sentence mixes
            self.sentence_ancestry.append(values["ancestry"])
            mixed: dict[str, float] = {}
            for weights in self.sentence_ancestry:
                for name, weight in weights.items():
                    mixed[name] = mixed.get(name, 0.0) + weight / len(self.sentence_ancestry)
            statement.values = {**values, "ancestry": mixed}
        self.statements.append(statement)

    def _remember(self, region: str, noun: str | None) -> None:
        if noun is None:
            noun = (
                self.last_region[1]
                if self.last_region and self.last_region[0] == region
                else lexicon.REGION_NOUNS[region][0]
            )
        self.last_region = (region, noun)


def _adjacent(between: list[_Item]) -> bool:
    """Whether only adjectives and intensity words separate a word from a noun."""
    return all(item.kind in ("descriptor", "modifier", "unknown") for item in between)


def _describes_a_thing(clause: list[_Item], n: int) -> bool:
    """Whether the words after position n, up to the first non-adjective, name a thing the
    vocabulary lists as a feature we cannot shape (glasses, hat, scar)."""
    for item in clause[n + 1 :]:
        if item.kind == "unknown":
            return item.words in _THINGS or item.words.rstrip("s") in _THINGS
        if item.kind not in ("descriptor", "modifier"):
            return False
    return False


def _is_noun_at(nouns, n: int) -> bool:
    return any(m == n for m, _ in nouns)


def _split_clauses(items: list[_Item]) -> list[list[_Item]]:
    """Cut at punctuation and joining words; each clause keeps its closing mark."""
    clauses: list[list[_Item]] = [[]]
    for item in items:
        soft = item.kind == "boundary" and item.words in _SOFT_CLAUSE_WORDS
        if item.kind == "boundary" and soft:
            continue  # "is", "has": not a cut, and no meaning of their own
        clauses[-1].append(item)
        if item.kind in ("boundary", "sentence"):
            clauses.append([])
    return [c for c in clauses if c]


def _merge_adjective_lists(
    clauses: list[list[_Item]],
) -> list[tuple[list[_Item], bool, bool]]:
    """Join "a long, thin, hooked | nose" back together; flag what a clause follows.

    Returns (clause, about the person: it follows "who", continues the previous
    noun: it follows "that"/"which").

    A clause of descriptors alone, closed by a comma, "and" or "or" and followed
    by a clause that names a region or the person, is part of that clause.
    """

    def closing(clause: list[_Item]) -> str:
        return clause[-1].words if clause[-1].kind in ("boundary", "sentence") else ""

    def descriptors_only(clause: list[_Item]) -> bool:
        """Only adjectives (and maybe a leading pronoun): "a long,", "They have thin,"."""
        content = [
            i
            for i in clause
            if i.kind not in ("boundary", "sentence") and i.words not in _DETERMINERS
        ]
        if content and content[0].kind == "pronoun":
            content = content[1:]
        if not content or sum(i.kind == "unknown" for i in content) > 1 or len(content) > 3:
            return False  # a list item is a word or two, not a clause of its own
        return all(
            i.kind in ("descriptor", "modifier", "unknown")
            and not (i.kind == "descriptor" and (i.entry.region or _mentions_person([i])))
            for i in content
        )

    # Walk backwards: a run of descriptor-only clauses feeds the clause after it.
    feeds_next = [False] * len(clauses)
    for index in range(len(clauses) - 2, -1, -1):
        following = clauses[index + 1]
        names_something = any(i.kind == "region" for i in following) or _mentions_person(following)
        if following[0].words in _DETERMINERS:  # "…, a heart-shaped face": a new phrase
            names_something = False
        feeds_next[index] = (
            closing(clauses[index]) in (",", "and", "or")
            and descriptors_only(clauses[index])
            and (names_something or feeds_next[index + 1])
        )
    merged: list[tuple[list[_Item], bool, bool]] = []
    carry: list[_Item] = []
    previous_closing = ""
    for index, clause in enumerate(clauses):
        if feeds_next[index] and previous_closing not in _RELATIVE_WORDS:
            carry += [item for item in clause if item.kind not in ("boundary", "sentence")]
            continue
        merged.append(
            (
                carry + clause,
                previous_closing == "who",
                previous_closing in _RELATIVE_WORDS and not carry,
            )
        )
        carry = []
        previous_closing = closing(clause)
    return merged


def _mentions_person(clause: list[_Item]) -> bool:
    """A pronoun or a word for the person ("man", "grandmother") is in the clause."""
    for item in clause:
        if item.kind == "pronoun" and item.region is None:
            return True
        if item.kind == "descriptor":
            person = item.entry.meanings.get(PERSON, {})
            if "gender" in person and len(item.entry.meanings) == 1:
                return True
    return False


def _apply_modifiers(values: dict[str, Any], scale: float, negated: bool) -> dict[str, Any]:
    """Scale strengths by intensity; negation flips them (or means "none", or drops)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name == "age":
            years = float(value)
            if years >= 20:
                years = 35.0 + (years - 35.0) * scale
            if negated:
                years = 30.0 if value >= 40 else 50.0
            out[name] = _clip_age(years)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            if not negated:
                out[name] = value
            elif name == "expression":
                out[name] = "neutral"
            elif name == "facial_hair.style" and value != "none":
                out[name] = "none"  # "not bearded", "without a moustache": none at all
            elif name in CATEGORICAL_ATTRIBUTES:
                out[_RULED_OUT + name] = value  # "not blue eyes": blue is ruled out
        elif negated and name in lexicon.PRESENCE_ATTRIBUTES and value > 0:
            out[name] = -1.0 if name == "beard" else -lexicon.PLAIN  # "no beard": none
        elif negated and name in lexicon.PRESENCE_ATTRIBUTES:
            out[name] = lexicon.NEGATED_STRENGTH  # "not clean-shaven": some
        elif negated:
            out[name] = float(-np.sign(value) * lexicon.NEGATED_STRENGTH)
        else:
            out[name] = float(np.clip(value * scale, -1.0, 1.0))
    return out


def _clip_age(years: float) -> float:
    low, high = AGE_RANGE_YEARS
    return float(np.clip(years, low, high))


def _query_text(query: _Query) -> str:
    words = " ".join(query.words)
    return f"{words} {query.noun}".strip()


_PARTIAL_FACIAL_HAIR = ("moustache", "goatee", "stubble")
_RULED_OUT = "not "  # a key prefix in a statement's values: a categorical value ruled out


def _assemble(text: str, reading: _ClauseReader) -> DescriptiveCode:
    """Apply statements in reading order; later ones win and say so."""
    attributes: dict[str, Any] = {}
    phrases: list[Phrase] = []
    setter: dict[str, str] = {}
    excluded: dict[str, list[str]] = {}
    for statement in sorted(reading.statements, key=lambda s: s.order):
        values = {
            k: (round(v, 3) if isinstance(v, float) else v) for k, v in statement.values.items()
        }
        for key in [k for k in values if k.startswith(_RULED_OUT)]:
            name, value = key.removeprefix(_RULED_OUT), values.pop(key)
            if value not in excluded.setdefault(name, []):
                excluded[name].append(value)
        if not values:
            continue
        span = text[statement.start : statement.end]
        overridden = [
            f"{k} from '{setter[k]}'" for k in values if k in setter and attributes[k] != values[k]
        ]
        if values.get("facial_hair.style") == "none" and attributes.get(
            "facial_hair.style") in _PARTIAL_FACIAL_HAIR:  # fmt: skip
            # "a moustache but no beard": the beard is what is missing, not the moustache
            values = {k: v for k, v in values.items() if k not in ("facial_hair.style", "beard")}
        notes = [statement.note] if statement.note else []
        if overridden:
            notes.append("overrides " + ", ".join(overridden))
        for name, value in values.items():
            attributes[name] = value
            setter[name] = span
        phrases.append(Phrase(span, statement.start, statement.end, values, "; ".join(notes)))
    if "gender" not in attributes and reading.pronoun_gender:
        votes = sum(g for _, g in reading.pronoun_gender)
        if votes != 0:
            item = reading.pronoun_gender[0][0]
            attributes["gender"] = float(np.sign(votes) * lexicon.PLAIN)
            phrases.append(
                Phrase(
                    text[item.start : item.end],
                    item.start,
                    item.end,
                    {"gender": attributes["gender"]},
                    "implied by pronouns",
                )
            )
    if "skin.tone" not in attributes and reading.ancestry_tones:
        # Peoples the head model has no phenotype for ("South Asian") still have a skin
        # tone; a tone the text states outright wins over it.
        item = reading.ancestry_tones[0][0]
        tone = round(float(np.mean([t for _, t in reading.ancestry_tones])), 3)
        attributes["skin.tone"] = tone
        phrases.append(Phrase(text[item.start : item.end], item.start, item.end,
                              {"skin.tone": tone}, "implied by ancestry"))  # fmt: skip
    return DescriptiveCode(
        attributes=attributes,
        abstract=list(dict.fromkeys(reading.abstract)),
        ignored=list(dict.fromkeys(reading.ignored)),
        phrases=phrases,
        excluded={k: v for k, v in excluded.items() if attributes.get(k) not in v},
    )
