"""The description parser: free text → descriptive code."""

import numpy as np
import pytest

from benchmarks.parser_eval import score
from benchmarks.parser_eval_set import generate_cases
from headsculpt.descriptive_code import DescriptiveCode
from headsculpt.limits import MAX_PROMPT_CHARS


def test_reads_the_fisherman(description_parser):
    code = description_parser("a weathered fisherman in his seventies with a bulbous nose")
    assert code.attributes["age"] == 75
    assert code.attributes["gender"] > 0
    assert code.attributes["skin.wrinkles"] > 0
    assert code.attributes["nose.size"] > 0
    assert code.ignored == [] and code.abstract == []


def test_intensity_scales_and_negation_flips(description_parser):
    def nose_width(text):
        return description_parser(text).attributes["nose.width"]

    very, plain, slightly = (nose_width(f"a {w} wide nose") for w in ("very", "", "slightly"))
    assert very > plain > slightly > 0
    assert nose_width("a nose that is not wide") < 0
    assert nose_width("a wider nose than average") > 0
    assert description_parser("less prominent cheekbones").attributes["cheekbones.prominence"] < 0


def test_negated_presence_means_none(description_parser):
    code = description_parser("a man without a beard and no freckles")
    assert code.attributes["beard"] == -1.0
    assert code.attributes["skin.freckles"] < 0
    assert description_parser("not smiling").attributes["expression"] == "neutral"


def test_several_sentences_and_pronouns_keep_track_of_the_region(description_parser):
    code = description_parser("Her nose is long. It is also very hooked. She is thin.")
    a = code.attributes
    assert a["nose.length"] > 0 and a["nose.hump"] > 0.6
    assert a["weight"] < 0  # "she" turns back to the person, not the nose
    assert a["gender"] < 0  # implied by the pronouns
    eyes = description_parser("Look at his eyes. They are green and set far apart.")
    assert eyes.attributes["eyes.color"] == "green" and eyes.attributes["eyes.spacing"] > 0


def test_adjective_lists_and_relative_clauses_attach_to_their_noun(description_parser):
    a = description_parser("a long, thin, hooked nose and ears that stick out").attributes
    assert a["nose.length"] > 0 and a["nose.width"] < 0 and a["nose.hump"] > 0
    assert a["ears.protrusion"] > 0
    assert "weight" not in a


def test_conflicting_statements_later_wins_and_is_noted(description_parser):
    code = description_parser("He has a big nose. Actually, his nose is quite small.")
    assert code.attributes["nose.size"] < 0
    notes = [p.note for p in code.phrases if "nose.size" in p.sets]
    assert "overrides nose.size" in notes[-1]


def test_compounds_comparatives_and_ages(description_parser):
    a = description_parser("a hook-nosed, blue-eyed, round-faced Korean woman aged 60").attributes
    assert a["nose.hump"] > 0 and a["eyes.color"] == "blue" and a["face.shape"] == "round"
    assert a["ancestry"] == {"asian": 1.0} and a["age"] == 60 and a["gender"] < 0
    assert description_parser("a 45-year-old").attributes["age"] == 45
    assert description_parser("in her late twenties").attributes["age"] == 28
    assert description_parser("a longish nose").attributes["nose.length"] < lexicon_plain()


def lexicon_plain():
    from headsculpt.text.lexicon import PLAIN

    return PLAIN


def test_unseen_words_are_matched_by_meaning_within_their_region(description_parser):
    code = description_parser("a beaky nose")  # not in the vocabulary
    assert code.attributes == {"nose.hump": pytest.approx(0.6)}
    assert "similarity" in code.phrases[0].note


def test_impressions_go_to_abstract_not_to_shape(description_parser):
    code = description_parser("a woman with piercing eyes who looks trustworthy")
    assert set(code.attributes) == {"gender"}
    assert "trustworthy" in code.abstract and "piercing eyes" in code.abstract


@pytest.mark.parametrize(
    "text",
    ["un homme avec un grand nez", "Ein alter Mann mit einer langen Nase",
     "一个有大鼻子的老人", "blorf zxq quantum flibber"],
)  # fmt: skip
def test_foreign_or_nonsense_text_is_ignored_whole(description_parser, pipeline, text):
    code = description_parser(text)
    assert code.attributes == {} and code.abstract == []
    assert set(code.ignored) == set(text.lower().split())  # every word reported
    head = pipeline.from_code(code, text, seed=1)  # still a head, no crash
    assert head.glb[:4] == b"glTF"
    assert head.parameters["head"]["expression"] == {}


def test_empty_and_over_long_input(description_parser):
    assert description_parser("").attributes == {}
    assert description_parser("   \n").attributes == {}
    description_parser("a man " * (MAX_PROMPT_CHARS // 6))  # just under: fine
    with pytest.raises(ValueError, match="2000"):
        description_parser("a" * (MAX_PROMPT_CHARS + 1))


def test_code_round_trips_through_json(description_parser):
    code = description_parser("a smiling old Nigerian man with a grey beard and thin lips")
    assert DescriptiveCode.from_json(code.to_json()).to_json() == code.to_json()


def test_held_out_accuracy_and_spurious_rate(description_parser):
    """The issue's bar on phrasings and templates the parser was not written against."""
    cases = generate_cases(150, held_out=True, seed=11)
    result = score(cases, [description_parser(c.text) for c in cases])
    statements = [h for hits in result["hits"].values() for h in hits]
    assert sum(statements) / len(statements) >= 0.9
    for name, count in result["spurious"].items():
        unstated = len(cases) - len(result["hits"].get(name, []))
        assert count / unstated <= 0.05, name


def test_prototype_embeddings_are_cached_on_disk_and_rebuilt_when_broken(
    description_parser, tmp_path, monkeypatch
):
    from headsculpt.text.semantic import PrototypeIndex

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    encoder = description_parser.index.encoder
    first = PrototypeIndex(encoder)
    (cache,) = (tmp_path / "headsculpt").glob("prototypes-*.npy")
    second = PrototypeIndex(encoder)  # read back
    assert np.array_equal(first._impressions, second._impressions)
    cache.write_bytes(b"not an array")
    third = PrototypeIndex(encoder)  # rebuilt, not crashed
    assert np.allclose(first._impressions, third._impressions, atol=1e-5)
    assert third.nearest("beaky nose", "nose").values == {"nose.hump": 0.6}


def test_an_encoding_larger_than_the_cache_keeps_every_row(description_parser):
    """More new texts in one call than the in-memory cache holds (the prototypes alone
    are nearly 4,096): each row is still the embedding of its own text."""
    from headsculpt.text.encoder import SentenceEncoder

    shared = description_parser.index.encoder
    small = SentenceEncoder(shared.tokenizer, shared.model, max_cached=3)
    texts = ["a big nose", "thin lips", "a square jaw", "big ears", "a big nose", "red hair"]
    small.encode(["thin lips", "a round chin"])  # some cached, some to be evicted
    rows = small.encode(texts)
    alone = np.stack([shared._encode_batch([t])[0] for t in texts])
    assert rows.shape == (6, shared.dimension) and np.allclose(rows, alone, atol=1e-5)
    assert len(small._cache) == 3


def test_known_words_on_unknown_things_are_not_guessed(description_parser):
    code = description_parser("a man with small round glasses and an underbite")
    assert "weight" not in code.attributes  # "small" describes the glasses, not the man
    assert code.attributes["chin.prominence"] > 0
    assert "glasses" in " ".join(code.abstract) and "small" in code.ignored


def test_absence_bare_ages_and_self_naming_phrases(description_parser):
    a = description_parser("a bald man with no eyebrows, about sixty, with dark circles").attributes
    assert a["eyebrows.thickness"] == -1.0 and a["age"] == 60 and a["eyes.bags"] > 0
    assert description_parser("He is 45 and has 2 eyes").attributes["age"] == 45


def test_a_person_of_a_number_is_that_age_and_other_counts_are_not(description_parser):
    def age(text):
        return description_parser(text).attributes.get("age")

    assert age("a boy of six") == 6 and age("a woman of eighty-five with a bun") == 85
    assert age("an old gentleman of 90") == 90 and age("a girl of about twelve") == 12
    assert age("a mother of three") is None and age("a man of few words") is None
    assert age("a face of two halves") is None
    assert description_parser("a receding hairline").attributes["forehead.height"] > 0
