"""Instruction edits of parametric heads: the instruction reader, the code edit, the
identity it keeps, the sidecar and the CLI (server and add-on: test_server.py and the
bpy session)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from benchmarks.edit_eval import HELD_OUT, parent_head, score_pairs
from headsculpt.pipelines.edit import EditPipeline, ParentHead
from headsculpt.pipelines.parametric import ParametricConfig, ParametricPipeline
from headsculpt.prior.code_mapping import LOCAL_CHANGE_MAP
from headsculpt.prior.head_model import HeadParameters

CONFIG = ParametricConfig(texture_size=1024)


@pytest.fixture(scope="module")
def editor() -> EditPipeline:
    return EditPipeline(ParametricPipeline.from_defaults())


def _parent(editor: EditPipeline, prompt: str, seed: int = 3):
    made = editor.parametric(prompt, seed=seed, config=CONFIG)
    return made, ParentHead("parent.glb", json.loads(made.sidecar_json()), "head.glb")


def _child(editor: EditPipeline, parent: ParentHead, instruction: str, scale: float = 1.0):
    return editor.edit_parametric(parent, editor.read_instruction(instruction), scale)


# --- reading instructions -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("instruction", "attribute", "sign"),
    [
        ("make him older", "age", 1), ("a good deal younger", "age", -1),
        ("make him thirty years younger", "age", -1), ("age her by a decade", "age", 1),
        ("bigger nose", "nose.size", 1), ("make the lips thinner", "lips.thickness", -1),
        ("a bit wider jaw", "jaw.width", 1), ("heavier", "weight", 1),
        ("lose some weight", "weight", -1), ("fewer freckles", "skin.freckles", -1),
        ("less prominent cheekbones", "cheekbones.prominence", -1),
        ("his chin is too prominent", "chin.prominence", -1), ("darker skin", "skin.tone", 1),
    ],
)  # fmt: skip
def test_relative_changes_move_the_named_attribute_the_named_way(
    editor, instruction, attribute, sign
):
    changes = editor.read_instruction(instruction).changes
    assert [c.attribute for c in changes] == [attribute]
    assert changes[0].relative and np.sign(changes[0].amount) == sign


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("make him 80", {"age": 80.0}), ("she should be twenty-five", {"age": 25.0}),
        ("brown eyes", {"eyes.color": "brown"}), ("make her smile", {"expression": "smile"}),
        ("shave off the beard", {"beard": -1.0, "facial_hair.style": "none"}),
        ("give him a beard", {"beard": 0.6, "facial_hair.style": "full_beard"}),
        ("remove the freckles", {"skin.freckles": -0.6}),
    ],
)  # fmt: skip
def test_absolute_changes_set_the_value(editor, instruction, expected):
    changes = editor.read_instruction(instruction).changes
    assert {c.attribute: c.value for c in changes} == expected
    assert not any(c.relative for c in changes)


def test_several_changes_in_one_sentence_and_what_cannot_be_done_is_reported(editor):
    reading = editor.read_instruction("make him older, add glasses and a scar, bigger ears")
    assert {c.attribute for c in reading.changes} == {"age", "ears.size"}
    assert "glasses" in " ".join(reading.not_applied) and "scar" in " ".join(reading.not_applied)
    assert "add" not in " ".join(reading.not_applied).split()


def test_an_empty_instruction_is_refused_naming_the_field(editor):
    with pytest.raises(ValueError, match="^instruction"):
        editor.read_instruction("   ")


def test_held_out_pairs_meet_the_bar(editor):
    """Pairs written without looking at the vocabulary (tests/data/README): ≥ 90 % of the
    expected changes right, attributes not mentioned kept within 0.05."""
    score = score_pairs(editor, json.loads(HELD_OUT.read_text()))
    assert score.change_rate >= 0.90, score.failures
    assert score.keep_rate >= 0.98, score.failures
    assert score.report_rate >= 0.85, score.failures


# --- the code edit --------------------------------------------------------------------------
def test_a_relative_change_starts_from_what_the_head_has_not_from_zero(editor):
    parent = parent_head(editor, "a tall man with a beard")  # his nose size is drawn
    seed = int(parent.sidecar["seed"])
    code = editor.parametric.parse("a tall man with a beard")
    drawn = editor.parametric.resolve(code, seed)["nose.size"]
    child, _ = editor.edit_code(parent, editor.read_instruction("a bigger nose"))
    assert child.attributes["nose.size"] == pytest.approx(drawn + 0.4, abs=1e-3)
    older, _ = editor.edit_code(parent, editor.read_instruction("ten years older"))
    drawn_age = editor.parametric.resolve(code, seed)["age"]
    assert older.attributes["age"] == pytest.approx(drawn_age + 10.0, abs=0.1)


def test_edit_scale_interpolates_and_zero_gives_back_the_parent_byte_for_byte(editor):
    made, parent = _parent(editor, "a young woman with a small nose and freckles")
    unchanged, _ = _child(editor, parent, "much bigger nose, brown eyes", scale=0.0)
    assert unchanged.glb == made.glb
    half, _ = editor.edit_code(parent, editor.read_instruction("much bigger nose"), 0.5)
    full, _ = editor.edit_code(parent, editor.read_instruction("much bigger nose"), 1.0)
    start = parent.sidecar["descriptive_code"]["attributes"]["nose.size"]
    assert half.attributes["nose.size"] == pytest.approx(
        (start + full.attributes["nose.size"]) / 2, abs=1e-3
    )


def test_a_skin_tone_edit_keeps_the_drawn_eye_and_brow_colours(editor):
    for seed in range(6):
        parent = parent_head(editor, f"a person number {seed}")
        parent.sidecar["seed"] = seed
        code = editor.parametric.parse(parent.sidecar["prompt"])
        before = editor.parametric.resolve(code, seed)
        child, _ = editor.edit_code(parent, editor.read_instruction("much paler skin"))
        after = editor.parametric.resolve(child, seed)
        assert after["skin.tone"] < before["skin.tone"] - 0.15
        assert (after["eyes.color"], after["eyebrows.color"]) == (
            before["eyes.color"],
            before["eyebrows.color"],
        ), seed


def test_a_nose_edit_moves_only_the_nose_and_keeps_the_texture(editor):
    made, parent = _parent(editor, "a middle-aged man with a thin face")
    child, _ = _child(editor, parent, "make his nose a lot bigger")
    head = editor.parametric.head
    neutral = head(HeadParameters()).vertices
    reach = np.zeros(len(neutral))
    for change, _gain in LOCAL_CHANGE_MAP["nose.size"]:
        for value in (-1.0, 1.0):
            moved = head(HeadParameters(local_changes={change: value})).vertices - neutral
            reach = np.maximum(reach, np.linalg.norm(moved, axis=1))
    nose = reach > 1e-7
    shift = np.linalg.norm(child.mesh.vertices - made.mesh.vertices, axis=1)
    assert shift[nose].max() > 1e-3  # the nose grew by millimetres
    assert shift[~nose].max() < 1e-6  # nothing outside it moved
    assert np.array_equal(child.mesh.base_color, made.mesh.base_color)


def test_the_sidecar_records_parent_instruction_and_both_codes(editor):
    _, parent = _parent(editor, "an old man with a big nose")
    _, sidecar = _child(editor, parent, "give him a beard and a hat")
    assert sidecar["parent"] == "parent.glb" and sidecar["mode"] == "parametric"
    assert sidecar["edit"]["instruction"] == "give him a beard and a hat"
    assert sidecar["edit"]["code_before"] == parent.sidecar["descriptive_code"]
    assert sidecar["descriptive_code"]["attributes"]["beard"] > 0
    assert "beard" not in sidecar["edit"]["code_before"]["attributes"]
    assert "hat" in sidecar["edit"]["not_applied"]
    assert sidecar["seed"] == parent.sidecar["seed"]


# --- the command ----------------------------------------------------------------------------
def test_cli_edit_writes_the_child_beside_its_sidecar(tmp_path):
    def headsculpt(*args):
        command = [sys.executable, "-m", "headsculpt", *args]
        return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)

    made = headsculpt("generate", "a young man", "--out", "p.glb")
    assert made.returncode == 0, made.stderr
    edited = headsculpt("edit", "p.glb", "much older, add a scar", "--out", "c.glb")
    assert edited.returncode == 0, edited.stderr
    assert "not applied: scar" in edited.stderr
    child = json.loads((tmp_path / "c.json").read_text())
    parent = json.loads((tmp_path / "p.json").read_text())
    assert child["parent"] == "p.glb" and child["seed"] == parent["seed"]
    assert (tmp_path / "c.glb").read_bytes()[:4] == b"glTF"
    (tmp_path / "p.json").unlink()
    orphan = headsculpt("edit", "p.glb", "older", "--out", "d.glb")
    assert orphan.returncode == 2 and "sidecar" in orphan.stderr and "parent" in orphan.stderr
    assert not (tmp_path / "d.glb").exists()
