"""Edit instructions → changes to a head's descriptive code ("make him older", "add a beard").

An instruction is read in three steps, on top of the description parser:

1. **Ages.** Relative ages ("older", "much younger", "twenty years older", "age him by
   a decade") and stated ones ("make him 80", "she should be 25") are read first and
   cut out of the text: the parser would read "older" as the age of an old person.
2. **Verbs.** Verbs that say which way to go are turned into the words the parser
   reads ("enlarge the nose" → "bigger the nose", "remove the freckles" → "without
   the freckles", "put on weight" → "heavier").
3. **Phrases.** The parser reads what is left. A phrase with a comparative ("bigger",
   "fuller", "more", "fewer") is a *relative* change: the attribute moves from the
   parent's value by a step that grows with the intensity words ("a bit", "much").
   Any other phrase sets its values outright ("brown eyes", "a beard", "smile").

Pronouns do not state a gender here ("make him older" says nothing new about him),
and what the parser could not use (a scar, glasses) is reported, never guessed.
:func:`apply_changes` then moves a parent's resolved attributes by the reading.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from headsculpt.descriptive_code import (
    AGE_RANGE_YEARS,
    CATEGORICAL_ATTRIBUTES,
    DescriptiveCode,
)
from headsculpt.text import lexicon
from headsculpt.text.parser import is_comparative

AGE_STEP_YEARS = 15.0  # "older": fifteen years; "a bit older" half that, "much older" more
SCALAR_STEP = 0.4  # "bigger nose": the attribute moves 0.4 of its half range
MIN_SCALAR_STEP = 0.2  # the smallest relative step ("a tiny bit bigger")
MAX_SCALAR_STEP = 0.7

# Verbs that name a direction, as the comparative the parser reads.
_VERB_REWRITES: tuple[tuple[str, str], ...] = (
    (r"put on (?:some |a little |a bit of |a lot of )?weight", "heavier"),
    (r"(?:gain|add) (?:some |a little |a bit of |a lot of )?weight", "heavier"),
    (r"lose (?:some |a little |a bit of |a lot of )?weight", "slimmer"),
    (r"slim (?:him |her |them )?down", "slimmer"),
    (r"bulk (?:him |her |them )?up", "more muscular"),
    (r"(?:plump|puff) up", "fuller"),
    (r"fill out", "fuller"),
    (r"enlarge|magnify|scale up|blow up", "bigger"),
    (r"shrink|scale down", "smaller"),
    (r"widen|broaden", "wider"),
    (r"thicken", "thicker"),
    (r"lengthen|elongate|stretch", "longer"),
    (r"shorten", "shorter"),
    (r"deepen", "deeper"),
    (r"darken", "darker"),
    (r"lighten|brighten", "lighter"),
    (r"sharpen", "sharper"),
    (r"soften", "softer"),
    (r"fatten", "fatter"),
    (r"raise|lift", "higher"),
    (r"increase|boost|add more|intensify|strengthen|emphasi[sz]e", "more"),
    (r"thin out", "thinner"),
    (r"shave (?:his |her |their |the )?(?:head|scalp)(?: bald)?|go bald", "bald"),
    (r"(?:dye|colou?r|tint|bleach) (?:his |her |their |the )?hair", "hair"),
    (
        r"let (?:his |her |their |the )?hair grow(?: out)?|grow (?:his |her |their |the )?hair"
        r"(?: out)?",
        "longer hair",
    ),
    (
        r"cut (?:his |her |their |the )?hair(?: short)?|crop (?:his |her |their |the )?hair",
        "shorter hair",
    ),
    (r"reduce|decrease|lessen|tone down|minimi[sz]e|weaken", "less"),
)
# Verbs that take something away ("shave off the beard"): read as "without".
_REMOVAL = (
    r"(?:remove|removing|get rid of|take away|take off|take out|erase|delete|eliminate"
    r"|shave off|shave away|shave|lose|drop|clear up|clear away|wipe away|wipe out"
    r"|no longer (?:have|has|with))(?: (?:the|his|her|their|its|all|any|those|that))?"
)
# Words of the instruction itself, not of the head: never reported as unused.
_INSTRUCTION_WORDS = frozenset({
    "make", "made", "give", "add", "grow", "let", "turn", "change", "set", "put", "should",
    "be", "look", "looks", "looking", "appear", "please", "can", "could", "would", "you",
    "now", "also", "him", "her", "them", "it", "into", "to", "get", "gets", "bit", "some",
    "so", "slightly", "even", "just", "instead", "rather", "keep", "same", "want", "like",
    "i", "we", "need", "more", "less", "up", "down", "over",
})  # fmt: skip
_INTENSITY_EXTRA = {"a lot": 1.5, "lots": 1.5, "significantly": 1.4, "considerably": 1.4,
                    "dramatically": 1.6, "a good deal": 1.4, "substantially": 1.4,
                    "a tiny bit": 0.4, "a touch": 0.4, "a smidge": 0.4, "even": 1.0}  # fmt: skip
_INTENSITY = {**lexicon.INTENSIFIERS, **_INTENSITY_EXTRA}
_INTENSITY_PATTERN = "|".join(re.escape(w) for w in sorted(_INTENSITY, key=len, reverse=True))
_NUMBER_WORDS = "|".join(sorted(lexicon.NUMBER_WORDS, key=len, reverse=True))
_YEARS_SAID = rf"\d{{1,2}}|(?:{_NUMBER_WORDS})(?:[ -](?:{_NUMBER_WORDS}))?"  # 80, forty-five
_NUMBER = rf"\d{{1,2}}(?:\.\d)?|{_YEARS_SAID}|a few|a couple of|a couple|several|some|a|an"
_COMPARISON_WORDS = frozenset({"more", "less", "fewer", "lesser"})
_YOUNGER_VERBS = ("de-age", "deage", "rejuvenate", "un-age", "take")
_SUBJECT = r"(?:him|her|them|it|he|she|they|the (?:man|woman|person|guy|girl|boy|head|character))"

_RELATIVE_AGE = re.compile(
    rf"(?:(?P<count>{_NUMBER})[ -](?P<unit>years?|yrs?|decades?)(?: or so)?[ -]"
    rf"(?P<way>older|younger|from now|later|on|into the future))"
    rf"|(?:(?P<scale>{_INTENSITY_PATTERN}) )?(?P<plain>older|younger|elder|aged up|aged down)"
    rf"|(?:(?P<verb>age|de-age|deage|rejuvenate|un-age|add|take)(?: {_SUBJECT})?(?! to )"
    rf"(?: (?P<updown>up|down))?(?: by)?(?: (?P<vcount>{_NUMBER})[ -](?P<vunit>years?|decades?))?"
    rf"(?: (?:off|on|to (?:his|her|their) age))?)(?=\W|$)"
)
_STATED_AGE = re.compile(
    rf"(?:make|making|turn|set|age)(?: {_SUBJECT})?(?: (?:into|to|look|appear))?"
    rf"(?: (?:about|around|roughly))?(?: (?:a|an))? (?P<a>{_YEARS_SAID})(?!\s*%)"
    rf"(?:[ -](?:years?|yrs?)(?:[ -]old)?)?(?=\W|$)"
    rf"|(?:should be|to be|is now|be now|now|aged?|at age|at the age of)"
    rf" (?:about |around |roughly )?(?P<b>{_YEARS_SAID})(?:[ -](?:years?|yrs?)(?:[ -]old)?)?"
    rf"(?=\W|$)"
)


@dataclass
class Change:
    """One attribute the instruction changes: by ``amount`` (relative) or to ``value``."""

    attribute: str
    phrase: str  # the words that asked for it
    amount: float | None = None  # relative: signed step (years for age)
    value: Any = None  # absolute: the new value

    @property
    def relative(self) -> bool:
        return self.amount is not None


@dataclass
class EditReading:
    """What an instruction asks for, and what of it the code cannot hold."""

    instruction: str
    changes: list[Change] = field(default_factory=list)
    not_applied: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class InstructionReader:
    """Read edit instructions with the description parser (load it once, call per text)."""

    def __init__(self, parse: Callable[[str], DescriptiveCode]) -> None:
        self.parse = parse

    def __call__(self, instruction: str) -> EditReading:
        if not isinstance(instruction, str) or not instruction.strip():
            raise ValueError("instruction: say what to change, e.g. 'make him older'")
        reading = EditReading(instruction)
        text = " ".join(instruction.lower().replace("’", "'").split())
        text = _read_ages(text, reading)
        for pattern, word in _VERB_REWRITES:  # first: "lose weight" is not a removal
            text = re.sub(rf"\b(?:{pattern})\b", word, text)
        text = re.sub(rf"\b{_REMOVAL}\b", "without the", text)
        if text.strip(" ,.;!?"):
            self._read_phrases(text, reading)
        return reading

    def _read_phrases(self, text: str, reading: EditReading) -> None:
        code = self.parse(text)
        aged = any(c.attribute == "age" for c in reading.changes)
        for phrase in code.phrases:
            if phrase.note == "implied by pronouns":
                continue  # "make him older" does not state a gender
            words = phrase.text.split()
            too = "too" in words  # "it's too prominent": less of it
            relative = too or any(w in _COMPARISON_WORDS or is_comparative(w) for w in words)
            values = phrase.sets
            if too or any(w in _COMPARISON_WORDS for w in words):
                values = self._compared(phrase.text, values)
            scale = 1.0 if too else _intensity(words)
            for name, value in values.items():
                if name == "age" and aged:
                    continue  # a number of years said outright beats "like a teenager"
                reading.changes = [c for c in reading.changes if c.attribute != name]
                if relative and name == "age":
                    way = 1.0 if float(value) >= 40.0 else -1.0
                    reading.changes.append(Change(name, phrase.text, way * AGE_STEP_YEARS * scale))
                elif relative and isinstance(value, int | float) and name != "ancestry":
                    step = np.clip(SCALAR_STEP * scale, MIN_SCALAR_STEP, MAX_SCALAR_STEP)
                    amount = float(np.sign(value) * step)
                    reading.changes.append(Change(name, phrase.text, amount=amount))
                else:
                    reading.changes.append(Change(name, phrase.text, value=value))
        unused = [_without_instruction_words(w) for w in code.abstract + code.ignored]
        reading.not_applied.extend(dict.fromkeys(w for w in unused if w))

    def _compared(self, text: str, values: dict[str, Any]) -> dict[str, Any]:
        """ "fewer freckles", "less prominent cheekbones", "too big": the direction is the
        thing named (read without the comparison word), turned round by "less" or "too"."""
        words = text.split()
        way = -1.0 if any(w in ("less", "fewer", "lesser", "too") for w in words) else 1.0
        plain = " ".join(w for w in words if w not in _COMPARISON_WORDS | {"too"})
        named = self.parse(plain).attributes if plain else {}
        out = {}
        for name, value in values.items():
            base = named.get(name, value)
            if isinstance(base, int | float) and name != "ancestry" and base != 0:
                out[name] = way * float(base)
            else:
                out[name] = value
        return out


def _without_instruction_words(phrase: str) -> str:
    """ "add glasses" → "glasses": the words that name the thing, not the asking."""
    return " ".join(w for w in phrase.split() if w not in _INSTRUCTION_WORDS)


def _intensity(words: list[str]) -> float:
    """The strongest intensity word or phrase among ``words`` (1 when none)."""
    text = " ".join(words)
    found = [s for w, s in _INTENSITY.items() if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text)]
    if not found:
        return 1.0
    return max(found, key=lambda s: abs(s - 1.0))


def _count(words: str | None) -> float:
    if words is None:
        return 1.0
    if words in ("a", "an"):
        return 1.0
    if words in ("a few", "several"):
        return 3.0
    if words == "some":
        return AGE_STEP_YEARS
    if words.startswith("a couple"):
        return 2.0
    said = re.split(r"[ -]", words)
    if all(w in lexicon.NUMBER_WORDS for w in said):  # "forty-five"
        return float(sum(lexicon.NUMBER_WORDS[w] for w in said))
    return float(words)


def _read_ages(text: str, reading: EditReading) -> str:
    """Take relative and stated ages out of ``text`` into ``reading``; the rest is returned."""
    for match in _RELATIVE_AGE.finditer(text):
        groups = match.groupdict()
        if groups["way"]:
            unit = 10.0 if groups["unit"].startswith("decade") else 1.0
            if groups["count"] == "some":
                unit = 1.0  # "some years older": the plain step
            way = -1.0 if groups["way"] == "younger" else 1.0
            amount = way * unit * _count(groups["count"])
        elif groups["plain"]:
            way = 1.0 if groups["plain"] in ("older", "elder", "aged up") else -1.0
            scale = _INTENSITY[groups["scale"]] if groups["scale"] else 1.0
            amount = way * AGE_STEP_YEARS * scale
        else:
            verb, updown = groups["verb"], groups["updown"]
            has_count = groups["vcount"] is not None
            if verb in ("add", "take") and not has_count:
                continue  # "add a beard" is not about age
            younger = updown == "down" or verb in _YOUNGER_VERBS
            if verb == "age" and not (has_count or updown or _names_subject(match.group(0))):
                continue  # "age" alone may be a noun ("his age")
            unit = 10.0 if (groups["vunit"] or "").startswith("decade") else 1.0
            years = unit * _count(groups["vcount"]) if has_count else AGE_STEP_YEARS
            amount = (-1.0 if younger else 1.0) * years
        reading.changes = [c for c in reading.changes if c.attribute != "age"]
        reading.changes.append(Change("age", match.group(0), amount=amount))
        text = text.replace(match.group(0), " , ", 1)
    # Then stated ages (after the relative ones: "thirty years younger" is not "make him 30").
    for match in _STATED_AGE.finditer(text):
        years = _count(match.group("a") or match.group("b"))
        low, high = AGE_RANGE_YEARS
        stated = float(np.clip(years, low, high))
        reading.changes.append(Change("age", match.group(0), value=stated))
    text = _STATED_AGE.sub(" , ", text)
    return text


def _names_subject(words: str) -> bool:
    return re.search(rf"\b{_SUBJECT}\b", words) is not None


def apply_changes(
    parent: Mapping[str, Any],
    resolved: Mapping[str, Any],
    reading: EditReading,
    edit_scale: float = 1.0,
) -> tuple[dict[str, Any], list[str]]:
    """The child's stated attributes: the parent's, plus each change made from what the
    parent head *has* (``resolved``: stated or drawn). ``edit_scale`` scales the change
    (0 keeps the parent, 1 as asked, more goes further); a categorical change applies
    from 0.5 up. Returns (attributes, notes on changes that could not go further).
    """
    child = dict(parent)
    notes: list[str] = []
    for change in reading.changes:
        name = change.attribute
        before = resolved.get(name, parent.get(name))
        if name in CATEGORICAL_ATTRIBUTES or name == "ancestry":
            if edit_scale >= 0.5:
                child[name] = change.value
            continue
        start = float(before) if before is not None else _neutral(name)
        target = start + change.amount if change.relative else float(change.value)
        value = start + edit_scale * (target - start)
        low, high = AGE_RANGE_YEARS if name == "age" else (-1.0, 1.0)
        clipped = float(np.clip(value, low, high))
        if change.relative and abs(clipped - start) < 0.5 * abs(value - start):
            notes.append(f"{name} is already at its limit ('{change.phrase}')")
        child[name] = round(clipped, 1) if name == "age" else round(clipped, 4)
    return child, notes


def _neutral(name: str) -> float:
    return 35.0 if name == "age" else 0.0
