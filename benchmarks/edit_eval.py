"""Instruction edits on (parent description, instruction) pairs: do the asked-for changes
happen, and does everything else stay? Usage:

    .venv/bin/python benchmarks/edit_eval.py [--pairs tests/data/edit_pairs_heldout.json]

A pair expects attributes to go up ("+"), down ("-"), to a category or (age) to a number
of years; an expected scalar must move by more than 0.15 (age: 5 years) the right way.
Every attribute the pair does not list must stay within 0.05 of the parent (age: 0.5
years, categories: the same), except those an expected change acts through: a face
shape's offsets, and the brows an age edit greys or un-greys. Words the pair lists as
unsupported must be reported, not guessed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from headsculpt.descriptive_code import CATEGORICAL_ATTRIBUTES, SCALAR_ATTRIBUTES  # noqa: E402
from headsculpt.pipelines.contract import default_seed  # noqa: E402
from headsculpt.pipelines.edit import EditPipeline, ParentHead  # noqa: E402
from headsculpt.prior.code_mapping import (  # noqa: E402
    FACE_SHAPES,
    FEMININE_FACE,
    OLD_FACE,
    YOUNG_FACE,
)
from headsculpt.texture.skin_parameters import GREYING_AGES  # noqa: E402

HELD_OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "edit_pairs_heldout.json"
SCALAR_MOVE = 0.15
AGE_MOVE = 5.0
KEEP = 0.05
AGE_KEEP = 0.5


@dataclass
class EditScore:
    """Expected changes that happened, attributes that moved although not asked, misses."""

    hits: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    kept: list[bool] = field(default_factory=list)  # per (pair, unlisted attribute)
    reported: list[bool] = field(default_factory=list)  # per unsupported word
    failures: list[str] = field(default_factory=list)

    @property
    def change_rate(self) -> float:
        flat = [h for hs in self.hits.values() for h in hs]
        return sum(flat) / max(len(flat), 1)

    @property
    def keep_rate(self) -> float:
        return sum(self.kept) / max(len(self.kept), 1)

    @property
    def report_rate(self) -> float:
        return sum(self.reported) / max(len(self.reported), 1)


def parent_head(pipeline: EditPipeline, description: str) -> ParentHead:
    """A parametric parent as its sidecar would describe it (no head needs to be made)."""
    code = pipeline.parametric.parse(description)
    sidecar = {"mode": "parametric", "prompt": description, "seed": default_seed(description),
               "texture_size": 1024, "descriptive_code": code.to_json()}  # fmt: skip
    return ParentHead(description, sidecar, "head.glb")


def score_pairs(pipeline: EditPipeline, pairs: list[dict]) -> EditScore:
    score = EditScore()
    for pair in pairs:
        parent = parent_head(pipeline, pair["parent"])
        reading = pipeline.read_instruction(pair["instruction"])
        child, notes = pipeline.edit_code(parent, reading)
        seed = int(parent.sidecar["seed"])
        before = pipeline.parametric.resolve(pipeline.parametric.parse(pair["parent"]), seed)
        after = pipeline.parametric.resolve(child, seed)
        expect = pair["expect"]
        driven = _driven_by(expect)
        for name, want in expect.items():
            ok = _moved(name, before.get(name), after.get(name), want)
            score.hits[name].append(ok)
            if not ok:
                score.failures.append(
                    f"{pair['instruction']!r} on {pair['parent']!r}: {name} "
                    f"{before.get(name)!r} → {after.get(name)!r}, expected {want!r}"
                )
        for name in (*SCALAR_ATTRIBUTES, "age", *CATEGORICAL_ATTRIBUTES):
            if name in expect or name in driven:
                continue
            ok = _kept(name, before.get(name), after.get(name))
            score.kept.append(ok)
            if not ok:
                score.failures.append(
                    f"{pair['instruction']!r}: {name} moved {before.get(name)!r} → "
                    f"{after.get(name)!r} though not asked"
                )
        said = " ".join(reading.not_applied + notes).lower()
        for word in pair.get("unsupported", []):
            score.reported.append(word.lower() in said)
            if word.lower() not in said:
                score.failures.append(f"{pair['instruction']!r}: {word!r} not reported")
    return score


def _driven_by(expect: dict) -> set[str]:
    """Attributes an expected change acts through: a face shape is its offsets (see
    FACE_SHAPES), an age is the face of that age (YOUNG_FACE, OLD_FACE) and the painter
    greys or un-greys brows, hair and beard with it."""
    driven: set[str] = set()
    if "face.shape" in expect:
        driven.update(n for offsets in FACE_SHAPES.values() for n in offsets)
    if "age" in expect:
        driven.update(GREYING_AGES)
        driven.update(YOUNG_FACE, OLD_FACE)
    if "gender" in expect:  # a feminine face comes with its offsets (FEMININE_FACE)
        driven.update(FEMININE_FACE)
    if "beard" in expect:  # a beard's amount and its style are one change
        driven.add("facial_hair.style")
    return driven


def _moved(name: str, before, after, want) -> bool:
    if name in CATEGORICAL_ATTRIBUTES:
        return after == want
    if after is None or before is None:
        return False
    if name == "age" and not isinstance(want, str):
        return abs(float(after) - float(want)) <= 1.0
    step = AGE_MOVE if name == "age" else SCALAR_MOVE
    delta = float(after) - float(before)
    return delta > step if want == "+" else delta < -step


def _kept(name: str, before, after) -> bool:
    if name in CATEGORICAL_ATTRIBUTES or before is None or after is None:
        return before == after
    limit = AGE_KEEP if name == "age" else KEEP
    return abs(float(after) - float(before)) <= limit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", default=str(HELD_OUT))
    parser.add_argument("--failures", action="store_true", help="list every failure")
    args = parser.parse_args()
    pairs = json.loads(Path(args.pairs).read_text())
    pipeline = EditPipeline.from_defaults()
    started = time.perf_counter()
    score = score_pairs(pipeline, pairs)
    seconds = (time.perf_counter() - started) / len(pairs)
    print(f"| pairs | expected changes right | unlisted attributes kept | unsupported reported "
          f"| read + apply (ms) |\n|---|---|---|---|---|\n"
          f"| {len(pairs)} | {score.change_rate:.1%} | {score.keep_rate:.1%} "
          f"| {score.report_rate:.1%} | {1000 * seconds:.0f} |")  # fmt: skip
    print("\n| attribute | expected changes | right |\n|---|---|---|")
    for name, hits in sorted(score.hits.items()):
        print(f"| {name} | {len(hits)} | {sum(hits) / len(hits):.0%} |")
    if args.failures:
        print("\n" + "\n".join(score.failures))


if __name__ == "__main__":
    main()
