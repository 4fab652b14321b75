"""Negation, intensity and comparison read exactly as docs/parser.md says.

Values are pinned, not just signs: "very" ×1.5, "slightly" and "-ish" ×0.5, "more"
×1.2, a plain descriptor PLAIN (0.6), a negated one −0.35 whatever its intensity,
"no beard" −1 and "no freckles" −PLAIN; a negated colour, face shape or ancestry sets
nothing (and a negated expression is the neutral one).
"""

from __future__ import annotations

import numpy as np
import pytest

from headsculpt.descriptive_code import DescriptiveCode
from headsculpt.text.lexicon import NEGATED_STRENGTH, PLAIN
from headsculpt.texture.skin_parameters import HAIR_COLOURS, IRIS_COLOURS, SkinParameters


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a wide nose", {"nose.width": PLAIN}),
        ("a very wide nose", {"nose.width": 1.5 * PLAIN}),
        ("a slightly wide nose", {"nose.width": 0.5 * PLAIN}),
        ("a widish nose", {"nose.width": 0.5 * PLAIN}),
        ("an extremely wide nose", {"nose.width": 1.0}),  # clipped to the range
        ("more prominent cheekbones", {"cheekbones.prominence": 1.2 * PLAIN}),
        ("less prominent cheekbones", {"cheekbones.prominence": -NEGATED_STRENGTH}),
        ("a nose that is not wide", {"nose.width": -NEGATED_STRENGTH}),
        ("not very wide nose", {"nose.width": -NEGATED_STRENGTH}),
        ("thin lips", {"lips.thickness": -PLAIN}),
        ("a big nose that is not long", {"nose.size": PLAIN, "nose.length": -NEGATED_STRENGTH}),
        ("no beard", {"beard": -1.0, "facial_hair.style": "none"}),
        ("no freckles", {"skin.freckles": -PLAIN}),
        ("without wrinkles", {"skin.wrinkles": -PLAIN}),
        ("not young", {"age": 50.0}),
        ("a very young woman", {"age": 15.5, "gender": -0.9}),  # 35 + (22 − 35) × 1.5
        ("a man who is not old", {"age": 30.0, "gender": 0.9}),  # an old word negated
        ("a woman who is not young", {"age": 50.0, "gender": -0.9}),  # a young one
    ],
)
def test_intensity_negation_and_comparison_values(description_parser, text, expected):
    assert description_parser(text).attributes == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("eyes that are not blue", "eyes.color"),
        ("not blue eyes", "eyes.color"),
        ("a man whose eyes are not blue", "eyes.color"),
        ("a woman with eyes that aren't green", "eyes.color"),
        ("his eyebrows are not red", "eyebrows.color"),
        ("a face that is not long", "face.shape"),
        ("a face that is not round", "face.shape"),
        ("she is not Korean", "ancestry"),
    ],
)
def test_negated_colours_and_categories_set_nothing(description_parser, text, absent):
    code = description_parser(text)
    assert absent not in code.attributes
    assert all(absent not in phrase.sets for phrase in code.phrases)


@pytest.mark.parametrize("text", ["not smiling", "not angry", "a face that is not sad"])
def test_negated_expression_is_neutral(description_parser, text):
    assert description_parser(text).attributes["expression"] == "neutral"


def test_a_later_plain_colour_still_counts(description_parser):
    assert description_parser("eyes that are not blue but green").attributes == {
        "eyes.color": "green"
    }
    assert description_parser("blue eyes").attributes == {"eyes.color": "blue"}


def test_stated_colours_are_painted(description_parser):
    for colour in ("blue", "green", "amber"):
        code = description_parser(f"a man with {colour} eyes")
        skin = SkinParameters.from_code(code, np.random.default_rng(0))
        assert skin.iris_colour == IRIS_COLOURS[colour]


def test_eyes_that_are_not_blue_are_never_painted_blue(description_parser):
    """A negated colour sets nothing but rules the colour out of what is drawn (the
    code's ``excluded``); the same for hair colours and hairstyles."""
    code = description_parser("a pale man whose eyes are not blue")
    assert "eyes.color" not in code.attributes and code.excluded == {"eyes.color": ["blue"]}
    irises = {SkinParameters.from_code(code, np.random.default_rng(s)).iris_colour
              for s in range(48)}  # fmt: skip
    assert IRIS_COLOURS["blue"] not in irises and len(irises) >= 3
    fair = description_parser("a pale young man")  # the same draws, blue allowed
    assert IRIS_COLOURS["blue"] in {
        SkinParameters.from_code(fair, np.random.default_rng(s)).iris_colour for s in range(48)
    }
    hair = description_parser("a pale young man whose hair is not blond")
    assert hair.excluded == {"hair.color": ["blond"]}
    colours = {SkinParameters.from_code(hair, np.random.default_rng(s)).hair_colour
               for s in range(48)}  # fmt: skip
    assert HAIR_COLOURS["blond"] not in colours and len(colours) >= 2
    assert DescriptiveCode.from_json(code.to_json()).excluded == code.excluded


def test_a_hairstyle_ruled_out_is_never_drawn(description_parser):
    from headsculpt.prior.hair_choices import hair_choices

    assert description_parser("her hair is not curly").excluded == {"hair.style": ["curly"]}
    code = DescriptiveCode(attributes={"gender": -0.9, "age": 25.0},
                           excluded={"hair.style": ["long_straight", "long_wavy"]})  # fmt: skip
    styles = {hair_choices(code, np.random.default_rng(s))["hair.style"] for s in range(64)}
    assert not styles & {"long_straight", "long_wavy"} and len(styles) >= 3


def test_negated_colour_leaves_the_default_colour(description_parser):
    """Eyes "not blue" are painted what no colour at all would paint: the negation adds nothing."""
    negated = description_parser("a dark-skinned man whose eyes are not blue")
    plain = description_parser("a dark-skinned man")
    assert negated.attributes == plain.attributes
    a = SkinParameters.from_code(negated, np.random.default_rng(3))
    plain_code = DescriptiveCode(attributes=plain.attributes)
    b = SkinParameters.from_code(plain_code, np.random.default_rng(3))
    assert a.iris_colour == b.iris_colour == IRIS_COLOURS["brown"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("he is not bearded", {"beard": -1.0, "gender": 0.6, "facial_hair.style": "none"}),
        (
            "a man without a moustache",
            {"beard": -1.0, "gender": 0.9, "facial_hair.style": "none"},
        ),  # fmt: skip
        ("a man who is not clean-shaven", {"beard": 0.35, "gender": 0.9}),
        ("a face that is not freckled", {"skin.freckles": -PLAIN}),
        ("skin that is not wrinkled", {"skin.wrinkles": -PLAIN}),
    ],
)
def test_a_negated_presence_word_means_none(description_parser, text, expected):
    assert description_parser(text).attributes == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("no beard", [("no beard", 0, 8)]),
        ("a man with no beard", [("man", 2, 5), ("no beard", 11, 19)]),
        ("a very big nose", [("very big nose", 2, 15)]),
        ("not a big nose", [("not a big nose", 0, 14)]),
        ("He is 45 years old", [("45 years old", 6, 18), ("He", 0, 2)]),
        ("Her nose is long. It is also hooked.", [("nose is long", 4, 16), ("hooked", 29, 35),
                                                   ("Her", 0, 3)]),
    ],
)  # fmt: skip
def test_phrases_span_the_words_that_set_them(description_parser, text, spans):
    """A phrase covers its modifiers and its noun, and nothing else."""
    phrases = description_parser(text).phrases
    assert [(p.text, p.start, p.end) for p in phrases] == spans
    assert all(text[p.start : p.end] == p.text for p in phrases)


@pytest.mark.parametrize(
    ("word", "gender"),
    [("chairwoman", -0.9), ("postman", 0.9), ("seamstress", -0.9), ("German", None),
     ("human", None), ("business", None)],
)  # fmt: skip
def test_person_nouns_imply_a_gender(description_parser, word, gender):
    assert description_parser(f"a {word}").attributes.get("gender") == gender


def test_compounds_read_as_descriptor_and_region(description_parser):
    assert description_parser("a long-nosed woman").attributes == pytest.approx(
        {"nose.length": PLAIN, "gender": -0.9}
    )
    unknown = description_parser("a blorf-nosed man")  # an unknown head: not guessed, no crash
    assert unknown.attributes == {"gender": 0.9}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a man with a beard", {"gender": 0.9, "beard": PLAIN, "facial_hair.style": "full_beard"}),
        ("freckles", {"skin.freckles": PLAIN}),
        ("a man with many freckles", {"gender": 0.9, "skin.freckles": 0.9}),  # not PLAIN again
        ("a thick beard", {"beard": 0.9, "facial_hair.style": "full_beard"}),
        ("no bags under his eyes", {"eyes.bags": -PLAIN}),
        ("a big-nose man", {"nose.size": PLAIN, "gender": 0.9}),  # compound on a region noun
        ("a wide-mouth man", {"mouth.width": PLAIN, "gender": 0.9}),
        ("dark circles", {"eyes.bags": PLAIN}),
    ],
)
def test_named_features_and_their_descriptors(description_parser, text, expected):
    assert description_parser(text).attributes == pytest.approx(expected)
