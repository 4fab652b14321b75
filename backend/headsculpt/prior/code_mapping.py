"""From a descriptive code to the Anny head's parameters.

Each scalar attribute drives one or more Anny local changes with a gain (the
value in [-1, 1] times the gain, summed and clipped to [-1, 1]); a few drive
phenotypes. ``face.shape`` and ``expression`` are combinations. Attributes the
text leaves open get seeded noise within a fraction of their range, as
Describe3D adds noise for diversity: different seeds give different heads that
all agree with what the text said.

The tables below are the mapping's documentation; docs/parametric.md explains them.
"""

from __future__ import annotations

import numpy as np

from headsculpt.descriptive_code import ANCESTRIES, SCALAR_ATTRIBUTES, DescriptiveCode
from headsculpt.prior.head_model import HeadParameters


def _both(change: str, gain: float = 1.0) -> tuple[tuple[str, float], ...]:
    """A change applied to the left and right side alike."""
    return ((f"l-{change}", gain), (f"r-{change}", gain))


# attribute → ((local change, gain), …); positive attribute values push toward the name.
LOCAL_CHANGE_MAP: dict[str, tuple[tuple[str, float], ...]] = {
    "head.width": (("head-scale-horiz-incr", 0.8),),
    "head.length": (("head-scale-vert-incr", 0.8),),
    "forehead.height": (("forehead-scale-vert-incr", 1.0),),
    "forehead.slope": (("forehead-trans-forward", -1.0),),
    "eyebrows.height": (("eyebrows-trans-up", 1.0),),
    "eyebrows.angle": (("eyebrows-angle-up", 1.0),),
    "eyes.size": _both("eye-scale-incr", 0.9),
    "eyes.spacing": _both("eye-trans-out", 0.9),
    # corner1 is the outer corner, corner2 the inner one: upturned eyes lift the outer
    # corner and lower the inner one.
    "eyes.tilt": _both("eye-corner1-up", 0.8) + _both("eye-corner2-up", -0.8),
    # Anny's "push-out" moves the lids back into the head: deep-set eyes.
    "eyes.depth": _both("eye-push1-out", 0.8) + _both("eye-push2-out", 0.8),
    "eyes.bags": _both("eye-bag-incr", 1.0) + _both("eye-bag-out", 0.5),
    "eyes.hooded": _both("eye-eyefold-up", -1.0),
    "nose.size": (("nose-volume-incr", 0.7), ("nose-scale-vert-incr", 0.4),
                  ("nose-scale-horiz-incr", 0.4)),
    "nose.length": (("nose-scale-vert-incr", 0.9), ("nose-trans-up", -0.3)),
    "nose.width": (("nose-scale-horiz-incr", 0.8), ("nose-nostrils-width-incr", 0.5)),
    "nose.bridge": (("nose-greek-incr", 0.6), ("nose-scale-depth-incr", 0.4)),
    "nose.hump": (("nose-hump-incr", 1.0), ("nose-curve-convex", 0.4)),
    "nose.tip": (("nose-point-up", 1.0),),
    "mouth.width": (("mouth-scale-horiz-incr", 0.9),),
    "lips.thickness": (("mouth-upperlip-volume-incr", 0.9), ("mouth-lowerlip-volume-incr", 0.9),
                       ("mouth-lowerlip-height-incr", 0.4), ("mouth-upperlip-height-incr", 0.4)),
    "mouth.corners": (("mouth-angles-up", 1.0),),
    "cheeks.fullness": _both("cheek-volume-incr", 1.0) + _both("cheek-inner-incr", 0.6),
    "cheekbones.prominence": _both("cheek-bones-incr", 1.0),
    "chin.length": (("chin-height-incr", 1.0),),
    "chin.width": (("chin-width-incr", 1.0),),
    "chin.prominence": (("chin-prominent-incr", 1.0), ("chin-prognathism-incr", 0.3)),
    "chin.cleft": (("chin-cleft-incr", 1.0),),
    "jaw.width": (("chin-bones-incr", 0.9), ("chin-width-incr", 0.3)),
    "ears.size": _both("ear-scale-incr", 0.9),
    "ears.protrusion": _both("ear-flap-incr", 0.8) + _both("ear-wing-incr", 0.6),
    # Anny's opposite of "ear-shape-triangle" is its "ear-shape-pointed" target.
    "ears.pointed": _both("ear-shape-triangle", -1.0),
    "neck.thickness": (("neck-scale-horiz-incr", 0.8), ("neck-scale-depth-incr", 0.8)),
    "skin.wrinkles": (("head-age-incr", 0.6),),
}  # fmt: skip

# Features the face has or has not: a negative value ("no cleft") keeps the neutral shape
# (Anny's opposite targets would carve a feature of their own).
ONE_SIDED: frozenset[str] = frozenset({"chin.cleft"})

# attribute → (phenotype, centre, half range): value v gives centre + v · half range.
PHENOTYPE_MAP: dict[str, tuple[str, float, float]] = {
    "gender": ("gender", 0.5, -0.5),  # Anny: 0 = male, 1 = female; the code: +1 masculine
    "weight": ("weight", 0.5, 0.5),
    "muscle": ("muscle", 0.5, 0.5),
}

FACE_SHAPES: dict[str, dict[str, float]] = {
    "oval": {"head.length": 0.2, "chin.width": -0.2},
    "round": {"head.width": 0.6, "cheeks.fullness": 0.6, "chin.length": -0.4, "head.length": -0.3},
    "square": {"jaw.width": 0.8, "chin.width": 0.6, "head.width": 0.3},
    "long": {"head.length": 0.7, "chin.length": 0.5, "head.width": -0.4},
    "heart": {"chin.width": -0.7, "cheekbones.prominence": 0.4, "jaw.width": -0.4},
    "diamond": {"cheekbones.prominence": 0.8, "chin.width": -0.5, "head.width": -0.2},
    "triangle": {"jaw.width": 0.8, "head.width": -0.3, "chin.width": 0.3},
}

EXPRESSIONS: dict[str, dict[str, float]] = {
    "neutral": {},
    "smile": {"mouthSmileLeft": 0.6, "mouthSmileRight": 0.6, "cheekSquintLeft": 0.25,
              "cheekSquintRight": 0.25},
    "laugh": {"mouthSmileLeft": 0.9, "mouthSmileRight": 0.9, "jawOpen": 0.3,
              "cheekSquintLeft": 0.5, "cheekSquintRight": 0.5, "eyeSquintLeft": 0.3,
              "eyeSquintRight": 0.3},
    "frown": {"browDownLeft": 0.6, "browDownRight": 0.6, "mouthFrownLeft": 0.4,
              "mouthFrownRight": 0.4},
    "sad": {"browInnerUp": 0.7, "mouthFrownLeft": 0.6, "mouthFrownRight": 0.6,
            "mouthShrugLower": 0.3},
    "angry": {"browDownLeft": 0.9, "browDownRight": 0.9, "noseSneerLeft": 0.4,
              "noseSneerRight": 0.4, "eyeSquintLeft": 0.3, "eyeSquintRight": 0.3,
              "mouthPressLeft": 0.4, "mouthPressRight": 0.4},
    "surprised": {"browInnerUp": 0.8, "browOuterUpLeft": 0.8, "browOuterUpRight": 0.8,
                  "eyeWideLeft": 0.6, "eyeWideRight": 0.6, "jawOpen": 0.35},
    "disgust": {"noseSneerLeft": 0.7, "noseSneerRight": 0.7, "mouthUpperUpLeft": 0.5,
                "mouthUpperUpRight": 0.5, "browDownLeft": 0.3, "browDownRight": 0.3},
    "fear": {"browInnerUp": 0.8, "eyeWideLeft": 0.7, "eyeWideRight": 0.7,
             "mouthStretchLeft": 0.5, "mouthStretchRight": 0.5},
}  # fmt: skip

# What age does to a face beyond Anny's age phenotype (which mostly scales the body):
# a child's face is small under a large cranium — small nose and jaw, big eyes, full
# cheeks, a high forehead; an old face sags — thinner lips, drooping corners, bags and
# hooded lids, a longer nose, larger ears, hollower cheeks. Added to unstated attributes
# (like a face shape's), in full at YOUNG_AGES[0] / OLD_AGES[1] years, fading to nothing
# at the other end of each range.
YOUNG_FACE: dict[str, float] = {
    "nose.size": -0.7, "nose.length": -0.5, "nose.bridge": -0.6, "nose.tip": 0.4,
    "jaw.width": -0.6, "chin.length": -0.5, "chin.prominence": -0.5, "eyes.size": 0.5,
    "cheeks.fullness": 0.6, "cheekbones.prominence": -0.5, "forehead.height": 0.6,
    "eyebrows.height": 0.3, "neck.thickness": -0.5,
}  # fmt: skip
OLD_FACE: dict[str, float] = {
    "lips.thickness": -0.7, "mouth.corners": -0.5, "eyes.bags": 0.7, "eyes.hooded": 0.6,
    "nose.length": 0.4, "ears.size": 0.5, "cheeks.fullness": -0.4,
    "cheekbones.prominence": 0.3,
}  # fmt: skip
# What a feminine face has beyond Anny's gender phenotype (whose heads, bald, read
# androgynous): fuller lips, a smaller nose, a softer jaw and chin, larger eyes and
# higher brows. Added to unstated attributes in proportion to how feminine the code is;
# nothing is added for a masculine code (a broader jaw let the judge find a man's face
# in profile from behind, docs/parametric.md).
FEMININE_FACE: dict[str, float] = {
    "lips.thickness": 0.6, "nose.size": -0.5, "nose.width": -0.4, "jaw.width": -0.5,
    "chin.width": -0.4, "eyes.size": 0.3, "eyebrows.height": 0.35,
    "cheekbones.prominence": 0.3, "head.width": -0.2,
}  # fmt: skip
YOUNG_AGES = (6.0, 17.0)  # full young face at or below the first, none from the second
OLD_AGES = (50.0, 85.0)  # none up to the first, the full old face from the second


def gender_face(gender: float) -> dict[str, float]:
    """The offsets femininity adds to a face's attributes (``gender``: the code's, +1
    masculine … −1 feminine; empty from 0 up)."""
    feminine = float(np.clip(-gender, 0.0, 1.0))
    return {name: feminine * amount for name, amount in FEMININE_FACE.items()} if feminine else {}


def age_face(years: float) -> dict[str, float]:
    """The offsets age adds to a face's attributes (empty for a grown adult)."""
    young = float(np.clip((YOUNG_AGES[1] - years) / (YOUNG_AGES[1] - YOUNG_AGES[0]), 0.0, 1.0))
    old = float(np.clip((years - OLD_AGES[0]) / (OLD_AGES[1] - OLD_AGES[0]), 0.0, 1.0))
    offsets: dict[str, float] = {}
    for table, weight in ((YOUNG_FACE, young), (OLD_FACE, old)):
        if weight > 0.0:
            for name, amount in table.items():
                offsets[name] = offsets.get(name, 0.0) + weight * amount
    return offsets


# Anny's age phenotype is piecewise linear in these (years, value) anchors.
AGE_ANCHORS = ((1.0, 0.0), (11.0, 1.0 / 3.0), (25.0, 2.0 / 3.0), (90.0, 1.0))
DEFAULT_VARIATION = 0.35
DEFAULT_AGE_YEARS = 35.0


def age_to_phenotype(years: float) -> float:
    ages, values = zip(*AGE_ANCHORS, strict=True)
    return float(np.interp(years, ages, values))


# Scalars that are not the head's shape or skin: hair.length is read with the hairstyle
# (prior/hair_choices.py), and draws nothing here (so adding it moved no other draw).
NOT_DRAWN_HERE = frozenset({"hair.length"})


def scalar_values(
    code: DescriptiveCode, rng: np.random.Generator, variation: float = DEFAULT_VARIATION
) -> dict[str, float]:
    """Every scalar attribute's value for the head: stated ones as stated, the others drawn
    within ±variation and moved by the face shape's defaults.

    One draw per attribute, stated or not, so stating one (a text word, or an edit) does
    not reshuffle the draws of all the others.
    """
    values: dict[str, float] = {}
    for name in SCALAR_ATTRIBUTES:
        if name in NOT_DRAWN_HERE:
            continue
        stated = code.scalar(name)
        noise = float(rng.uniform(-variation, variation))
        values[name] = stated if stated is not None else noise
    shape = code.attributes.get("face.shape")
    age = float(code.attributes.get("age", DEFAULT_AGE_YEARS))
    for defaults in (FACE_SHAPES.get(shape, {}), age_face(age), gender_face(values["gender"])):
        for name, amount in defaults.items():
            if code.scalar(name) is None:  # an explicit attribute beats these defaults
                values[name] = float(np.clip(values[name] + amount, -1.0, 1.0))
    return values


def head_parameters(
    code: DescriptiveCode, rng: np.random.Generator, variation: float = DEFAULT_VARIATION
) -> HeadParameters:
    """Anny parameters that honour ``code``; unstated attributes vary within ±variation."""
    values = scalar_values(code, rng, variation)
    local_changes: dict[str, float] = {}
    for attribute, changes in LOCAL_CHANGE_MAP.items():
        for change, gain in changes:
            value = max(values[attribute], 0.0) if attribute in ONE_SIDED else values[attribute]
            local_changes[change] = local_changes.get(change, 0.0) + gain * value
    local_changes = {k: float(np.clip(v, -1.0, 1.0)) for k, v in local_changes.items()}

    phenotypes = {
        phenotype: float(np.clip(centre + half * values[attribute], 0.0, 1.0))
        for attribute, (phenotype, centre, half) in PHENOTYPE_MAP.items()
    }
    phenotypes["age"] = age_to_phenotype(code.attributes.get("age", DEFAULT_AGE_YEARS))
    ancestry = code.attributes.get("ancestry") or dict.fromkeys(ANCESTRIES, 1.0)
    total = sum(ancestry.values())
    for name in ANCESTRIES:
        phenotypes[name] = float(ancestry.get(name, 0.0) / total)

    expression = dict(EXPRESSIONS[code.attributes.get("expression", "neutral")])
    return HeadParameters(phenotypes=phenotypes, local_changes=local_changes, expression=expression)
