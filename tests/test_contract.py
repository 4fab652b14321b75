"""The pipeline contract's shared rules (pipelines/contract.py): the default seed, the
variants' seeds and file names, and requests built from checked values."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import pytest

from headsculpt.pipelines.contract import (
    OUTPUT_STEM,
    default_seed,
    make_request,
    variant_seed,
    variant_stem,
)


def test_the_default_seed_is_the_prompts_and_ignores_case_and_spacing():
    assert default_seed("An old  man\n") == default_seed("an old man")
    assert default_seed("an old man") == zlib.crc32(b"an old man")  # stable across releases
    assert default_seed("an old man") != default_seed("an old woman")
    assert 0 <= default_seed("x" * 1000) < 2**32


def test_variant_k_uses_seed_plus_k_wrapping_at_two_to_the_32():
    assert [variant_seed(10, k) for k in range(3)] == [10, 11, 12]
    assert variant_seed(2**32 - 1, 1) == 0
    assert variant_seed(2**32 - 1, 2) == 1


def test_variant_file_stems():
    assert variant_stem(OUTPUT_STEM, 0, 1) == "head"
    assert [variant_stem("head", k, 3) for k in range(3)] == ["head_1", "head_2", "head_3"]


@dataclass
class _Request:
    prompt: str
    seed: int | None = None


def test_a_request_keeps_the_fields_its_pipeline_reads_and_drops_the_rest():
    request = make_request(_Request, {"prompt": "a man", "seed": 4, "models": {"x": "y"}})
    assert request == _Request("a man", 4)
    with pytest.raises(TypeError):
        make_request(_Request, {"seed": 4})  # a field it needs is not silently defaulted


def test_a_job_starts_from_the_parents_head_glb_else_its_first_file_of_the_kind():
    from headsculpt.pipelines.contract import starting_file

    assert starting_file(["head_1.glb", "head.json", "head.glb"]) == "head.glb"
    assert starting_file(["head.json", "head_2.glb", "head_1.glb"]) == "head_2.glb"
    assert starting_file(["scan.OBJ", "notes.txt"], (".glb", ".obj")) == "scan.OBJ"
    assert starting_file(["head.json", "head.png"]) is None
