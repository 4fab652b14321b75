"""A keyword reader: description → descriptive code, from a fixed vocabulary.

It knows a few hundred words and phrases, intensity words ("very",
"slightly") and negation ("not"); it reports the words it could not use in
``ignored``. The Describe3D-style parser with a sentence encoder replaces it
behind the same call (:func:`parse_description`).
"""

from __future__ import annotations

import re
from typing import Any

from headsculpt.descriptive_code import DescriptiveCode, Phrase

MAX_DESCRIPTION_CHARS = 2000

_INTENSITY = {
    "very": 1.5, "extremely": 1.8, "really": 1.4, "quite": 1.2, "so": 1.3, "huge": 1.5,
    "slightly": 0.5, "somewhat": 0.6, "a bit": 0.5, "a little": 0.5, "mildly": 0.5,
}  # fmt: skip
_NEGATION = {"not", "no", "never", "without", "isn't", "aren't", "hardly"}
_STOP = {
    "a", "an", "the", "with", "and", "of", "in", "his", "her", "their", "he", "she", "is", "has",
    "have", "who", "that", "this", "looks", "look", "face", "head", "person", "someone", "but",
    "at", "on", "to", "for", "from", "by", "wearing", "having", "features", "which", "it", "its",
    "s", "'s", "are", "was", "them", "they",
}  # fmt: skip
_DECADES = {
    "teens": 16, "twenties": 25, "thirties": 35, "forties": 45, "fifties": 55, "sixties": 65,
    "seventies": 75, "eighties": 85,
}  # fmt: skip

# phrase → attribute values. Scalars in [-1, 1]; "age" in years; others categorical.
_VOCABULARY: dict[str, dict[str, Any]] = {
    # who
    "man": {"gender": 0.9}, "woman": {"gender": -0.9},
    "boy": {"gender": 0.8, "age": 11}, "girl": {"gender": -0.8, "age": 11},
    "male": {"gender": 0.9}, "female": {"gender": -0.9}, "masculine": {"gender": 0.7},
    "feminine": {"gender": -0.7}, "gentleman": {"gender": 0.9, "age": 50},
    "lady": {"gender": -0.9}, "grandfather": {"gender": 0.9, "age": 72},
    "grandmother": {"gender": -0.9, "age": 72}, "fisherman": {"gender": 0.9},
    "child": {"age": 9}, "kid": {"age": 9}, "baby": {"age": 1}, "teenager": {"age": 16},
    "teenage": {"age": 16}, "young": {"age": 22}, "youthful": {"age": 24},
    "middle-aged": {"age": 48}, "old": {"age": 72}, "elderly": {"age": 78}, "aged": {"age": 70},
    "weathered": {"skin.wrinkles": 0.6}, "wrinkled": {"skin.wrinkles": 0.8},
    "wrinkles": {"skin.wrinkles": 0.7},
    # build
    "fat": {"weight": 0.8}, "heavy": {"weight": 0.7}, "chubby": {"weight": 0.6,
    "cheeks.fullness": 0.7}, "plump": {"weight": 0.5}, "thin": {"weight": -0.6},
    "skinny": {"weight": -0.8}, "gaunt": {"weight": -0.8, "cheeks.fullness": -0.8},
    "slim": {"weight": -0.5}, "muscular": {"muscle": 0.8}, "athletic": {"muscle": 0.5},
    "hollow cheeks": {"cheeks.fullness": -0.9}, "full cheeks": {"cheeks.fullness": 0.7},
    "high cheekbones": {"cheekbones.prominence": 0.8},
    # ancestry and skin
    "african": {"ancestry": {"african": 1.0}}, "black": {"ancestry": {"african": 1.0}},
    "asian": {"ancestry": {"asian": 1.0}}, "east asian": {"ancestry": {"asian": 1.0}},
    "caucasian": {"ancestry": {"caucasian": 1.0}}, "white": {"ancestry": {"caucasian": 1.0}},
    "european": {"ancestry": {"caucasian": 1.0}}, "pale": {"skin.tone": -0.8},
    "fair": {"skin.tone": -0.6}, "fair-skinned": {"skin.tone": -0.6}, "tan": {"skin.tone": 0.2},
    "tanned": {"skin.tone": 0.2}, "olive": {"skin.tone": 0.0}, "dark-skinned": {"skin.tone": 0.8},
    "dark skin": {"skin.tone": 0.8}, "freckles": {"skin.freckles": 0.8},
    "freckled": {"skin.freckles": 0.8},
    # hair on the face
    "beard": {"beard": 0.9}, "bearded": {"beard": 0.9}, "full beard": {"beard": 1.0},
    "stubble": {"beard": -0.2}, "unshaven": {"beard": -0.2}, "clean-shaven": {"beard": -1.0},
    "shaved": {"beard": -1.0}, "bushy eyebrows": {"eyebrows.thickness": 0.9},
    "thick eyebrows": {"eyebrows.thickness": 0.8}, "thin eyebrows": {"eyebrows.thickness": -0.8},
    "arched eyebrows": {"eyebrows.angle": 0.8},
    # features
    "big nose": {"nose.size": 0.8}, "large nose": {"nose.size": 0.8},
    "small nose": {"nose.size": -0.7}, "bulbous nose": {"nose.size": 0.7, "nose.width": 0.6},
    "long nose": {"nose.length": 0.8}, "short nose": {"nose.length": -0.7},
    "wide nose": {"nose.width": 0.8}, "narrow nose": {"nose.width": -0.7},
    "hooked nose": {"nose.hump": 0.9}, "aquiline nose": {"nose.hump": 0.7},
    "button nose": {"nose.size": -0.6, "nose.tip": 0.6}, "upturned nose": {"nose.tip": 0.8},
    "flat nose": {"nose.bridge": -0.8}, "thin lips": {"lips.thickness": -0.8},
    "full lips": {"lips.thickness": 0.8}, "thick lips": {"lips.thickness": 0.8},
    "wide mouth": {"mouth.width": 0.8}, "small mouth": {"mouth.width": -0.7},
    "big eyes": {"eyes.size": 0.8}, "large eyes": {"eyes.size": 0.8},
    "small eyes": {"eyes.size": -0.7}, "deep-set eyes": {"eyes.depth": 0.8},
    "wide-set eyes": {"eyes.spacing": 0.8}, "close-set eyes": {"eyes.spacing": -0.8},
    "bags": {"eyes.bags": 0.8}, "strong jaw": {"jaw.width": 0.8, "chin.prominence": 0.4},
    "square jaw": {"jaw.width": 0.9}, "weak chin": {"chin.prominence": -0.8},
    "pointed chin": {"chin.width": -0.8}, "cleft chin": {"chin.cleft": 0.9},
    "big ears": {"ears.size": 0.8}, "small ears": {"ears.size": -0.7},
    "pointy ears": {"ears.pointed": 0.9}, "pointed ears": {"ears.pointed": 0.9},
    "thick neck": {"neck.thickness": 0.8}, "high forehead": {"forehead.height": 0.8},
    "round face": {"face.shape": "round"}, "square face": {"face.shape": "square"},
    "long face": {"face.shape": "long"}, "oval face": {"face.shape": "oval"},
    "heart-shaped face": {"face.shape": "heart"},
    # colours
    "blue eyes": {"eyes.color": "blue"}, "green eyes": {"eyes.color": "green"},
    "brown eyes": {"eyes.color": "brown"}, "gray eyes": {"eyes.color": "gray"},
    "grey eyes": {"eyes.color": "gray"}, "hazel eyes": {"eyes.color": "hazel"},
    "blond": {"eyebrows.color": "blond"}, "blonde": {"eyebrows.color": "blond"},
    "redhead": {"eyebrows.color": "red", "skin.freckles": 0.5},
    "red-haired": {"eyebrows.color": "red"}, "gray-haired": {"eyebrows.color": "gray"},
    "grey-haired": {"eyebrows.color": "gray"}, "white-haired": {"eyebrows.color": "white"},
    # expressions
    "smiling": {"expression": "smile"}, "smile": {"expression": "smile"},
    "laughing": {"expression": "laugh"}, "frowning": {"expression": "frown"},
    "frown": {"expression": "frown"}, "sad": {"expression": "sad"},
    "angry": {"expression": "angry"}, "surprised": {"expression": "surprised"},
    "scared": {"expression": "fear"}, "afraid": {"expression": "fear"},
    "disgusted": {"expression": "disgust"},
}  # fmt: skip

_TOKEN = re.compile(r"[a-z]+(?:[-'][a-z]+)*|\d+")


def parse_description(text: str) -> DescriptiveCode:
    """Read ``text`` into a descriptive code. Raises ValueError on over-long input."""
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise ValueError(
            f"prompt is {len(text)} characters long; the limit is {MAX_DESCRIPTION_CHARS}"
        )
    lowered = text.lower()
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(lowered)]
    attributes: dict[str, Any] = {}
    phrases: list[Phrase] = []
    ignored: list[str] = []
    longest = max(len(k.split()) for k in _VOCABULARY)
    i = 0
    while i < len(tokens):
        match = _match_at(tokens, i, longest)
        if match is None:
            word = tokens[i][0]
            if word not in _STOP and word not in _INTENSITY and word not in _NEGATION:
                ignored.append(text[tokens[i][1] : tokens[i][2]])
            i += 1
            continue
        length, values = match
        scale, negated, first = _modifiers(tokens, i)
        start, end = tokens[first][1], tokens[i + length - 1][2]
        applied = _apply_modifiers(values, scale, negated)
        note = "overrides an earlier statement" if set(applied) & set(attributes) else ""
        attributes.update(applied)
        if applied:
            phrases.append(Phrase(text[start:end], start, end, applied, note))
        i += length
    return DescriptiveCode(attributes=attributes, ignored=ignored, phrases=phrases)


def _match_at(tokens, i: int, longest: int):
    """The longest vocabulary phrase starting at token i, with ages read from numbers."""
    word = tokens[i][0]
    if word.isdigit() and 1 <= int(word) <= 90:
        following = " ".join(t[0] for t in tokens[i + 1 : i + 3])
        if following.startswith(("year", "years", "yo")):
            return 1, {"age": int(word)}
    if word in _DECADES:
        return 1, {"age": _DECADES[word]}
    for length in range(min(longest, len(tokens) - i), 0, -1):
        phrase = " ".join(t[0] for t in tokens[i : i + length])
        if phrase in _VOCABULARY:
            return length, _VOCABULARY[phrase]
    return None


def _modifiers(tokens, i: int) -> tuple[float, bool, int]:
    """Intensity and negation words just before token i (up to three back)."""
    scale, negated, first = 1.0, False, i
    for back in range(1, 4):
        if i - back < 0:
            break
        word = tokens[i - back][0]
        pair = " ".join(t[0] for t in tokens[max(i - back - 1, 0) : i - back + 1])
        if pair in _INTENSITY:
            scale *= _INTENSITY[pair]
            first = i - back - 1
        elif word in _INTENSITY:
            scale *= _INTENSITY[word]
            first = i - back
        elif word in _NEGATION:
            negated = True
            first = i - back
        elif word not in {"a", "an", "the", "very"}:
            break
    return scale, negated, first


def _apply_modifiers(values: dict[str, Any], scale: float, negated: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, float) and name != "age":
            signed = -value if negated else value
            out[name] = max(-1.0, min(1.0, signed * scale))
        elif not negated:
            out[name] = value
    return out
