"""Which hair a head gets: the style, length and facial hair the code states, else drawn.

A text that says nothing about hair still describes a person, and a person is rarely
bald: the style is drawn (seeded, like every unstated attribute) from what is plausible
for the stated gender, age and ancestry. A stated length without a style picks one
("long hair": long and straight); a style that contradicts a stated length yields to it
("short wavy hair" is short). Facial hair is drawn for grown men only; the older
``beard`` amount still chooses a style when the code has no ``facial_hair.style``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from headsculpt.descriptive_code import DescriptiveCode

HAIR_ATTRIBUTES = ("hair.style", "hair.length", "facial_hair.style")  # what hair_choices sets

# Relative weights of the styles drawn for an unstated hairstyle, per group.
_STYLE_WEIGHTS: dict[str, dict[str, float]] = {
    "boy": {"short": 5, "buzz": 1.5, "curly": 1.5, "side_part": 1, "bob": 0.3},
    "girl": {"long_straight": 3, "ponytail": 2.5, "long_wavy": 1.5, "bob": 1, "curly": 1,
             "bun": 0.5},
    "young man": {"short": 3.2, "side_part": 1.8, "buzz": 1.4, "curly": 0.8, "receding": 0.4,
                  "long_straight": 0.5, "long_wavy": 0.4, "ponytail": 0.3, "bun": 0.3,
                  "bald": 0.3},
    "man": {"short": 3, "side_part": 1.8, "receding": 2.2, "bald": 1.2, "buzz": 1,
            "curly": 0.4, "long_straight": 0.2},
    "old man": {"receding": 3, "bald": 2.5, "short": 2.5, "side_part": 1.5, "buzz": 0.5},
    "young woman": {"long_straight": 2.5, "long_wavy": 2, "bob": 1.2, "ponytail": 1,
                    "bun": 0.8, "curly": 1, "short": 0.7, "side_part": 0.3},
    "woman": {"long_straight": 1.5, "long_wavy": 1.5, "bob": 2, "short": 1.2, "bun": 1,
              "curly": 1, "ponytail": 0.6, "side_part": 0.5},
    "old woman": {"short": 3.5, "bob": 2.5, "bun": 1.5, "curly": 1, "side_part": 1,
                  "long_straight": 0.3},
}  # fmt: skip
# Styles made likelier by African ancestry (weight ≥ the threshold), and how much.
_TEXTURED = {"afro": 2.0, "curly": 1.5, "buzz": 1.5}
_TEXTURED_ANCESTRY = 0.5
_FACIAL_WEIGHTS = {"none": 5.0, "stubble": 3.0, "short_beard": 0.9, "full_beard": 0.3,
                   "moustache": 0.4, "goatee": 0.4}  # fmt: skip
ADULT_AGE = 17.0  # facial hair is drawn from this age on
# A stated hair.length picks a style: past _LONG long and straight, from _MEDIUM a bob
# ("shoulder-length"), below _SHORT short.
_LONG, _MEDIUM, _SHORT = 0.75, 0.3, -0.3
_DRAWN_MALE_LENGTH = -0.5  # a style drawn for a man or boy sits at the short end of its range


def hair_choices(code: DescriptiveCode, rng: np.random.Generator) -> dict[str, Any]:
    """``hair.style``, ``hair.length`` and ``facial_hair.style`` of the head ``code``
    makes: as stated, else drawn. ``code`` should state gender and age (the pipeline's
    sampled identity does); missing ones count as an adult of either gender."""
    a = code.attributes
    length = code.scalar("hair.length")
    style = a.get("hair.style") or _style_from_length(length, code)
    if style is None:
        weights = _style_weights(code)
        style = _draw({k: weights[k] for k in code.allowed("hair.style", weights)}, rng)
        if length is None and (code.scalar("gender") or 0.0) >= 0:
            length = _DRAWN_MALE_LENGTH
    elif style in ("long_straight", "long_wavy") and length is not None and length <= _SHORT:
        style = "short"
    facial = a.get("facial_hair.style") or _facial_from_beard(code.scalar("beard"))
    if facial is None:
        grown_man = (code.scalar("gender") or 0.0) > 0 and _age(code) >= ADULT_AGE
        weights = {
            k: _FACIAL_WEIGHTS[k] for k in code.allowed("facial_hair.style", _FACIAL_WEIGHTS)
        }
        facial = _draw(weights, rng) if grown_man and weights else "none"
    return {"hair.style": style, "hair.length": 0.0 if length is None else length,
            "facial_hair.style": facial}  # fmt: skip


def _age(code: DescriptiveCode) -> float:
    return float(code.attributes.get("age", 35.0))


def _style_from_length(length: float | None, code: DescriptiveCode) -> str | None:
    if length is None:
        return None
    if length >= _LONG:
        return "long_straight"
    if length >= _MEDIUM:
        return "bob"
    if length <= _SHORT:
        return "short"
    return "bob" if (code.scalar("gender") or 0.0) < 0 else "short"


def _style_weights(code: DescriptiveCode) -> dict[str, float]:
    age = _age(code)
    masculine = (code.scalar("gender") or 0.0) >= 0
    if age < 13:
        group = "boy" if masculine else "girl"
    else:
        stage = "young " if age < 30 else ("old " if age >= 60 else "")
        group = stage + ("man" if masculine else "woman")
    weights = dict(_STYLE_WEIGHTS[group])
    ancestry = code.attributes.get("ancestry") or {}
    total = sum(ancestry.values())
    if total and ancestry.get("african", 0.0) / total >= _TEXTURED_ANCESTRY:
        for name, extra in _TEXTURED.items():
            weights[name] = weights.get(name, 0.0) + extra
        for name in ("long_straight", "side_part"):
            weights[name] = weights.get(name, 0.0) * 0.3
    return weights


def _facial_from_beard(beard: float | None) -> str | None:
    """The style an amount of beard (the code's ``beard``, −1 none … +1 full) reads as."""
    if beard is None:
        return None
    if beard <= -0.9:
        return "none"
    if beard <= -0.1:
        return "stubble"
    return "short_beard" if beard < 0.75 else "full_beard"


def _draw(weights: dict[str, float], rng: np.random.Generator) -> str:
    names = sorted(weights)
    p = np.array([weights[n] for n in names], dtype=float)
    return str(names[int(rng.choice(len(names), p=p / p.sum()))])
