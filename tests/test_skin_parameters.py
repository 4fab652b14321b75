"""Appearance rules: how a descriptive code becomes the painter's parameters
(texture/skin_parameters.py), and what is drawn when the text leaves something open."""

from __future__ import annotations

import numpy as np
import pytest

from headsculpt.descriptive_code import DescriptiveCode
from headsculpt.texture.skin_parameters import HAIR_COLOURS, IRIS_COLOURS, SkinParameters

SEEDS = range(400)


def _skin(seed: int = 0, **attributes) -> SkinParameters:
    attributes = {k.replace("_", "."): v for k, v in attributes.items()}
    return SkinParameters.from_code(
        DescriptiveCode(attributes=attributes), np.random.default_rng(seed)
    )


def _tones(**attributes) -> np.ndarray:
    return np.array([_skin(seed, **attributes).tone for seed in SEEDS])


def test_a_stated_tone_is_used_as_it_is():
    assert _skin(skin_tone=-0.3, ancestry={"african": 1.0}).tone == -0.3
    assert _skin(skin_tone=1.0).tone == 1.0


@pytest.mark.parametrize(
    ("ancestry", "mean"),
    [({"african": 1.0}, 0.75), ({"caucasian": 1.0}, -0.45), ({"asian": 1.0}, -0.2),
     ({"african": 1.0, "caucasian": 1.0}, 0.15), ({"african": 3.0, "asian": 1.0}, 0.5125)],
)  # fmt: skip
def test_ancestry_sets_the_tone_with_a_little_noise(ancestry, mean):
    tones = _tones(ancestry=ancestry)
    assert tones.mean() == pytest.approx(mean, abs=0.03)
    assert 0.07 < tones.std() < 0.13  # N(0, 0.1)
    assert tones.max() <= 1.0 and tones.min() >= -1.0


def test_a_tone_past_the_darkest_is_clipped():
    tones = np.array([_skin(seed, ancestry={"african": 1.0}).tone for seed in range(2000)])
    assert tones.max() == 1.0  # 0.75 + noise reaches past 1 in a few of 2000 draws


def test_without_ancestry_or_tone_any_middle_tone():
    tones = _tones()
    assert abs(tones.mean()) < 0.06
    assert tones.min() < -0.5 and tones.max() > 0.5  # uniform in ±0.6, plus noise
    assert tones.min() > -1.0 and tones.max() < 1.0


def test_age_is_the_stated_one_or_35():
    assert _skin(age=70.0).age_years == 70.0
    assert _skin().age_years == 35.0


@pytest.mark.parametrize(
    ("attributes", "beard"),
    [({"gender": 0.9}, 0.25 * 0.9), ({"gender": -0.9}, 0.0), ({}, 0.0),
     ({"gender": 0.9, "beard": -1.0}, 0.0), ({"beard": 0.6}, 0.8), ({"beard": 1.0}, 1.0),
     ({"gender": -0.9, "beard": 0.0}, 0.5)],
)  # fmt: skip
def test_beard_amount(attributes, beard):
    """Men get a little shadow, women none; a stated beard v gives 0.5·(v + 1)."""
    assert _skin(**attributes).beard == pytest.approx(beard)


def test_brows_colour_density_and_beard_colour():
    skin = _skin(eyebrows_color="red", eyebrows_thickness=0.5, age=40.0)
    assert skin.eyebrow_colour == HAIR_COLOURS["red"] == skin.beard_colour
    assert skin.eyebrow_density == pytest.approx(0.8)
    assert _skin(eyebrows_color="red").eyebrow_density == pytest.approx(0.6)
    assert _skin(eyebrows_thickness=-1.0).eyebrow_density == pytest.approx(0.2)
    # Beards grey past 60 (ages come from the text in whole years), unless already white.
    assert _skin(eyebrows_color="red", age=60.0).beard_colour == HAIR_COLOURS["red"]
    assert _skin(eyebrows_color="red", age=61.0).beard_colour == HAIR_COLOURS["gray"]
    assert _skin(eyebrows_color="white", age=80.0).beard_colour == HAIR_COLOURS["white"]


def test_default_hair_by_age_and_tone():
    """Past 65 grey; dark skin black (most) or brown; fair skin any of five colours."""
    assert _skin(age=66.0, skin_tone=-0.8).eyebrow_colour == HAIR_COLOURS["gray"]
    at_65 = {_skin(seed, age=65.0, skin_tone=-0.8).eyebrow_colour for seed in range(50)}
    assert HAIR_COLOURS["gray"] not in at_65
    dark = [_skin(seed, age=30.0, skin_tone=-0.2).eyebrow_colour for seed in SEEDS]
    black = dark.count(HAIR_COLOURS["black"]) / len(dark)
    assert 0.5 < black < 0.7 and set(dark) == {HAIR_COLOURS["black"], HAIR_COLOURS["brown"]}
    fair = [_skin(seed, age=30.0, skin_tone=-0.3).eyebrow_colour for seed in SEEDS]
    names = {"brown", "blond", "black", "red"}
    assert set(fair) == {HAIR_COLOURS[n] for n in names}
    assert 0.3 < fair.count(HAIR_COLOURS["brown"]) / len(fair) < 0.5  # brown twice as likely


def test_iris_colour_stated_or_drawn():
    assert _skin(eyes_color="amber", skin_tone=0.8).iris_colour == IRIS_COLOURS["amber"]
    dark = {_skin(seed, skin_tone=-0.2).iris_colour for seed in range(50)}
    assert dark == {IRIS_COLOURS["brown"]}
    drawn = {IRIS_COLOURS[n] for n in ("brown", "blue", "green", "gray", "hazel")}
    for fair_tone in (-0.8, -0.3):  # −0.3 ("slightly fair") is already fair
        assert {_skin(seed, skin_tone=fair_tone).iris_colour for seed in SEEDS} == drawn


def test_freckles_and_wrinkles_never_below_none():
    assert _skin(skin_freckles=0.6, skin_wrinkles=0.9).freckles == pytest.approx(0.6)
    assert _skin(skin_wrinkles=0.9).wrinkles == pytest.approx(0.9)
    assert _skin(skin_freckles=-0.6, skin_wrinkles=-0.6).freckles == 0.0
    assert _skin(skin_wrinkles=-0.6).wrinkles == 0.0
    assert _skin().freckles == 0.0 and _skin().wrinkles == 0.0


def _skin_of(attributes: dict, seed: int = 0, excluded: dict | None = None) -> SkinParameters:
    code = DescriptiveCode(attributes=attributes, excluded=excluded or {})
    return SkinParameters.from_code(code, np.random.default_rng(seed))


@pytest.mark.parametrize(
    ("style", "cover", "region"),
    [("bald", 0.0, "scalp"), ("buzz", 0.55, "scalp"), ("long_straight", 0.9, "scalp"),
     ("receding", 0.9, "scalp_receding"), ("side_part", 0.9, "scalp_side_part"),
     (None, 0.0, "scalp")],
)  # fmt: skip
def test_the_scalp_under_a_style_takes_the_hair_colour(style, cover, region):
    skin = _skin_of({} if style is None else {"hair.style": style})
    assert (skin.scalp_cover, skin.scalp_region) == (cover, region)


@pytest.mark.parametrize(
    ("style", "beard", "amount", "region"),
    [("moustache", None, 0.8, "moustache"), ("goatee", None, 0.8, "goatee"),
     ("full_beard", None, 1.0, "beard"), ("stubble", None, 0.35, "beard"),
     ("stubble", 0.9, 0.35, "beard"),  # stubble stays stubble however dense
     ("moustache", -0.5, 0.6, "moustache"),  # a stated style is always visible
     ("short_beard", 0.9, 0.95, "beard")],
)  # fmt: skip
def test_a_facial_hair_style_paints_its_region(style, beard, amount, region):
    attributes = {"gender": 0.9, "facial_hair.style": style}
    if beard is not None:
        attributes["beard"] = beard
    skin = _skin_of(attributes)
    assert skin.beard == pytest.approx(amount) and skin.beard_region == region


def test_a_natural_hair_colour_is_the_brows_a_dyed_one_is_not():
    red = _skin_of({"hair.color": "red", "age": 30.0})
    assert red.hair_colour == red.eyebrow_colour == HAIR_COLOURS["red"]
    pink = [_skin_of({"hair.color": "pink", "age": 30.0}, seed) for seed in range(12)]
    assert {p.hair_colour for p in pink} == {HAIR_COLOURS["pink"]}
    assert HAIR_COLOURS["pink"] not in {p.eyebrow_colour for p in pink}


@pytest.mark.parametrize(
    ("attributes", "excluded", "expected"),
    [
        ({"age": 80.0}, {"hair.color": ["gray"]}, {"white"}),
        ({"age": 80.0}, {"hair.color": ["gray", "white"]}, {"black"}),
        ({"age": 30.0, "skin.tone": 0.5}, {"hair.color": ["black"]}, {"brown"}),
        ({"age": 30.0, "skin.tone": 0.5}, {"hair.color": ["brown"]}, {"black"}),
    ],
)
def test_a_colour_ruled_out_is_never_the_drawn_hair(attributes, excluded, expected):
    drawn = {_skin_of(attributes, seed, excluded).hair_colour for seed in range(16)}
    assert drawn == {HAIR_COLOURS[c] for c in expected}


def test_dark_hair_ruled_out_draws_from_what_is_left():
    excluded = {"hair.color": ["black", "brown"]}
    drawn = {_skin_of({"age": 30.0, "skin.tone": 0.5}, s, excluded).hair_colour
             for s in range(32)}  # fmt: skip
    assert len(drawn) >= 3 and not drawn & {HAIR_COLOURS["black"], HAIR_COLOURS["brown"]}
