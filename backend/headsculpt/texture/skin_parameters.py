"""Appearance parameters of a head, and how a descriptive code sets them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from headsculpt.descriptive_code import NATURAL_HAIR_COLOURS, DescriptiveCode

RGB = tuple[float, float, float]

# sRGB colours (0–1). Skin tones run from very fair (-1) to very dark (+1).
SKIN_TONES: tuple[RGB, ...] = (
    (0.96, 0.82, 0.74),
    (0.91, 0.74, 0.63),
    (0.80, 0.60, 0.47),
    (0.66, 0.46, 0.33),
    (0.45, 0.30, 0.21),
    (0.27, 0.17, 0.12),
)
IRIS_COLOURS: dict[str, RGB] = {
    "brown": (0.36, 0.21, 0.10),
    "blue": (0.30, 0.50, 0.75),
    "green": (0.32, 0.50, 0.30),
    "gray": (0.52, 0.56, 0.60),
    "hazel": (0.52, 0.40, 0.20),
    "amber": (0.72, 0.48, 0.16),
}
HAIR_COLOURS: dict[str, RGB] = {
    "black": (0.06, 0.05, 0.05),
    "brown": (0.25, 0.16, 0.10),
    "auburn": (0.40, 0.15, 0.07),
    "blond": (0.70, 0.56, 0.36),
    "red": (0.55, 0.22, 0.10),
    "gray": (0.55, 0.54, 0.52),
    "white": (0.86, 0.85, 0.82),
    # dyed (scalp hair only: brows and beards keep a natural colour)
    "platinum": (0.88, 0.85, 0.76),
    "blue": (0.12, 0.24, 0.62),
    "pink": (0.88, 0.42, 0.60),
    "green": (0.14, 0.48, 0.28),
    "purple": (0.40, 0.16, 0.52),
}
# How much skin shadow a facial-hair style paints, and where (its strands come on top).
_STYLE_PAINT = {"none": 0.0, "stubble": 0.35, "moustache": 0.8, "goatee": 0.8,
                "short_beard": 0.75, "full_beard": 1.0}  # fmt: skip
_STYLE_REGION = {"moustache": "moustache", "goatee": "goatee"}
# How much of the hair colour the scalp under a style takes (its shells leave gaps).
_SCALP_COVER = {"bald": 0.0, "buzz": 0.55, "mohawk": 0.3}  # every other: 0.9; mohawk: shaved sides
_SCALP_REGION = {"receding": "scalp_receding", "side_part": "scalp_side_part"}  # else "scalp"
# Past these ages an unstated colour turns grey (the beard first).
GREYING_AGES = {"eyebrows.color": 65.0, "hair.color": 65.0, "facial_hair.color": 60.0}
# How strongly each ancestry weight shifts the skin tone when the text names no tone.
_ANCESTRY_TONE = {"african": 0.75, "asian": -0.2, "caucasian": -0.45}


@dataclass
class SkinParameters:
    """Everything the procedural painter needs; all fields have sane defaults."""

    tone: float = -0.2  # -1 very fair … +1 very dark
    lip_colour: RGB | None = None  # None: derived from the skin tone
    iris_colour: RGB = IRIS_COLOURS["brown"]
    eyebrow_colour: RGB = HAIR_COLOURS["brown"]
    eyebrow_density: float = 0.6  # 0 sparse … 1 bushy
    brow_arch: float = 0.0  # 0 the brow ridge's own line … 1 a groomed arch (as the cards)
    hair_colour: RGB = HAIR_COLOURS["brown"]
    beard_colour: RGB = HAIR_COLOURS["brown"]
    beard: float = 0.0  # 0 clean shaven, ~0.35 stubble, 1 full beard
    beard_region: str = "beard"  # the surface region painted: beard, moustache or goatee
    scalp_cover: float = 0.0  # how much the scalp under the hair takes the hair colour
    scalp_region: str = "scalp"  # scalp, scalp_receding or scalp_side_part
    freckles: float = 0.0  # 0 none … 1 many
    age_years: float = 30.0
    wrinkles: float = 0.0  # 0 smooth … 1 deeply lined (added to what age brings)

    @classmethod
    def from_code(cls, code: DescriptiveCode, rng: np.random.Generator) -> SkinParameters:
        """Read the appearance attributes; draw plausible values for the unstated ones."""
        a = code.attributes
        age = float(a.get("age", 35.0))
        chosen = appearance_choices(code, rng)
        tone, brows, iris = chosen["skin.tone"], chosen["eyebrows.color"], chosen["eyes.color"]
        masculine = code.scalar("gender")
        beard = code.scalar("beard")
        style = a.get("facial_hair.style", "none")
        if beard is None and style == "none":  # men get a little shadow, women none
            beard_amount = 0.25 * max(masculine, 0.0) if masculine is not None else 0.0
        elif beard is None:
            beard_amount = _STYLE_PAINT[style]
        else:
            beard_amount = float(np.clip(0.5 * (beard + 1.0), 0.0, 1.0))
            if style == "stubble":
                beard_amount = min(beard_amount, _STYLE_PAINT["stubble"])
            elif style != "none":
                beard_amount = max(beard_amount, 0.6)
        thickness = code.scalar("eyebrows.thickness")
        return cls(
            tone=tone,
            iris_colour=IRIS_COLOURS[iris],
            eyebrow_colour=HAIR_COLOURS[brows],
            eyebrow_density=0.6 + 0.4 * (thickness if thickness is not None else 0.0),
            hair_colour=HAIR_COLOURS[chosen["hair.color"]],
            beard_colour=HAIR_COLOURS[chosen["facial_hair.color"]],
            beard=beard_amount,
            beard_region=_STYLE_REGION.get(style, "beard"),
            scalp_cover=_SCALP_COVER.get(a.get("hair.style", "bald"), 0.9),
            scalp_region=_SCALP_REGION.get(a.get("hair.style", "bald"), "scalp"),
            freckles=max(code.scalar("skin.freckles") or 0.0, 0.0),
            age_years=age,
            wrinkles=max(code.scalar("skin.wrinkles") or 0.0, 0.0),
        )


def appearance_choices(code: DescriptiveCode, rng: np.random.Generator) -> dict[str, Any]:
    """Skin tone, hair, brow and beard colours and iris colour: as stated, else drawn from
    what the code does say (ancestry, age). An edit pins these so a change elsewhere keeps
    them.

    One natural colour is drawn for a person (unless stated): the brows take it, the
    scalp hair too unless it is said to be another (dyed) colour, and the beard too unless
    stated, greying past 60. A stated natural hair colour is the brows' as well.
    """
    a = code.attributes
    age = float(a.get("age", 35.0))
    tone = code.scalar("skin.tone")
    if tone is None:
        ancestry = a.get("ancestry")
        if ancestry:
            total = sum(ancestry.values())
            tone = sum(_ANCESTRY_TONE[k] * w for k, w in ancestry.items()) / total
        else:
            tone = float(rng.uniform(-0.6, 0.6))
        tone = float(np.clip(tone + rng.normal(0.0, 0.1), -1.0, 1.0))
    stated_hair = a.get("hair.color")
    natural = stated_hair if stated_hair in NATURAL_HAIR_COLOURS else None
    brows = a.get("eyebrows.color") or natural or _default_hair(tone, age, rng, code)
    irises = code.allowed("eyes.color", ["brown", "blue", "green", "gray", "hazel", "amber"])
    iris = a.get("eyes.color") or (
        "brown" if tone > -0.3 and "brown" in irises else str(rng.choice(irises[:5]))
    )
    beard = a.get("facial_hair.color") or (
        "gray" if age > GREYING_AGES["facial_hair.color"] and brows != "white" else brows
    )
    return {"skin.tone": tone, "eyebrows.color": brows, "eyes.color": iris,
            "hair.color": stated_hair or brows, "facial_hair.color": beard}  # fmt: skip


def _default_hair(tone: float, age: float, rng: np.random.Generator, code: DescriptiveCode) -> str:
    """A natural hair colour for the person, avoiding colours the text ruled out."""
    allowed = code.allowed("hair.color", code.allowed("eyebrows.color", NATURAL_HAIR_COLOURS))
    if age > GREYING_AGES["eyebrows.color"]:
        return "gray" if "gray" in allowed else ("white" if "white" in allowed else allowed[0])
    if tone > -0.3:
        dark = [c for c in ("black", "brown") if c in allowed]
        if len(dark) == 2:
            return "black" if rng.random() < 0.6 else "brown"
        return dark[0] if dark else str(rng.choice(allowed))
    return str(rng.choice([c for c in ["brown", "brown", "blond", "black", "red"] if c in allowed]
                          or allowed))  # fmt: skip
