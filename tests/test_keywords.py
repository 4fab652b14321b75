"""The interim keyword reader."""

import pytest

from headsculpt.text.keywords import MAX_DESCRIPTION_CHARS, parse_description


def test_reads_age_gender_and_features():
    code = parse_description("a weathered fisherman in his seventies with a bulbous nose")
    assert code.attributes["age"] == 75
    assert code.attributes["gender"] > 0
    assert code.attributes["nose.size"] > 0


def test_intensity_and_negation():
    very = parse_description("a very thin woman").attributes["weight"]
    plain = parse_description("a thin woman").attributes["weight"]
    slightly = parse_description("a slightly thin woman").attributes["weight"]
    assert very < plain < slightly < 0
    assert parse_description("not thin").attributes["weight"] > 0


def test_later_statement_wins_and_is_noted():
    code = parse_description("a big nose. actually a small nose")
    assert code.attributes["nose.size"] < 0
    assert any("overrides" in p.note for p in code.phrases)


def test_unknown_words_are_reported_not_guessed():
    code = parse_description("zxqv blorp")
    assert code.attributes == {}
    assert code.ignored == ["zxqv", "blorp"]


def test_too_long_input_is_refused_with_the_limit():
    with pytest.raises(ValueError, match=str(MAX_DESCRIPTION_CHARS)):
        parse_description("a " * MAX_DESCRIPTION_CHARS)
