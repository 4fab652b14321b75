"""Parser accuracy and speed on the evaluation set (benchmarks/parser_eval_set.py).

Prints per-attribute sign accuracy on the attributes each description states,
categorical accuracy, how often an attribute the text never mentions is set
anyway (spurious), and warm parse time. Usage:

    .venv/bin/python benchmarks/parser_eval.py [--cases 600] [--split held-out|dev]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from benchmarks.hair_phrasings import HAIR_DESCRIPTIONS  # noqa: E402
from benchmarks.parser_eval_set import EvalCase, generate_cases, generate_hair_cases  # noqa: E402
from headsculpt.descriptive_code import DescriptiveCode  # noqa: E402
from headsculpt.prior.hair_choices import hair_choices  # noqa: E402
from headsculpt.text.parser import DescriptionParser  # noqa: E402

# Artist-style texts full of words outside the vocabulary (hair, props, jobs, moods):
# timed only, as the worst case for the encoder path.
FREE_FORM = [
    "A grizzled sea captain with a salt-and-pepper beard, deep crow's feet and a crooked nose",
    "an overweight middle-aged accountant with a double chin, thinning hair and round glasses",
    "a menacing orc-like brute with a heavy brow ridge, flat wide nose and an underbite",
    "a stern Victorian headmistress with a long narrow face and eyes behind pince-nez",
    "a dreamy bohemian painter, paint-flecked stubble, soulful droopy eyes, a beaky nose",
    "cyberpunk street kid, shaved sides, sharp jawline, tired raccoon eyes, nose ring",
    "a jolly baker with rosy apple cheeks, flour-dusted eyebrows and a gap-toothed grin",
    "weather-worn Andean shepherd, sun-creased skin, hawkish profile, obsidian-dark eyes",
]


def age_group(years: float) -> str:
    return "young" if years < 35 else ("middle" if years < 58 else "old")


def score(cases: list[EvalCase], codes: list[DescriptiveCode]) -> dict:
    """Sign hits per stated scalar, categorical hits, spurious counts per attribute."""
    hits: dict[str, list[bool]] = defaultdict(list)
    spurious: dict[str, int] = defaultdict(int)
    failures: list[tuple[str, str, object, object]] = []
    for case, code in zip(cases, codes, strict=True):
        parsed = code.attributes
        expected: dict[str, object] = dict(case.scalars)
        expected.update(case.categories)
        if case.age_group:
            expected["age"] = case.age_group
        if case.ancestry:
            expected["ancestry"] = case.ancestry
        for name, want in expected.items():
            got = parsed.get(name)
            if name in case.scalars:
                ok = got is not None and (got > 0) == (want > 0) and got != 0
            elif name == "age":
                ok = got is not None and age_group(got) == want
            elif name == "ancestry":
                ok = got is not None and max(got, key=got.get) == want
            else:
                ok = got == want
            hits[name].append(ok)
            if not ok:
                failures.append((case.text, name, want, got))
        for name in parsed:
            implied = (name == "skin.tone" and case.ancestry) or (  # "Pakistani": a tone too
                name == "facial_hair.style" and "beard" in case.scalars
            )  # "a goatee": a style
            if name not in expected and not implied:
                spurious[name] += 1
                failures.append((case.text, name, "(unstated)", parsed[name]))
    return {"hits": hits, "spurious": spurious, "failures": failures}


HAIR_KEYS = ("hair.style", "hair.color", "facial_hair.style", "facial_hair.color")


def resolved_hair(code: DescriptiveCode) -> dict[str, object]:
    """The hair the code states, as the head reads it: a length without a style picks
    one, and a style at odds with a stated length yields (prior/hair_choices.py). Nothing
    is drawn for a text that states no hair."""
    got = {k: code.attributes[k] for k in HAIR_KEYS if k in code.attributes}
    if "hair.style" in got or "hair.length" in code.attributes:
        got["hair.style"] = hair_choices(code, np.random.default_rng(0))["hair.style"]
    return got


def hair_score(expected: list[dict[str, object]], codes: list[DescriptiveCode]) -> dict:
    """Categorical hits per hair key, and the misses (text order)."""
    hits: dict[str, list[bool]] = defaultdict(list)
    misses = []
    for want, code in zip(expected, codes, strict=True):
        got = resolved_hair(code)
        for name, value in want.items():
            hits[name].append(got.get(name) == value)
            if got.get(name) != value:
                misses.append((name, value, got.get(name)))
    return {"hits": hits, "misses": misses}


def hair_table(title: str, result: dict) -> None:
    hits = result["hits"]
    print(f"\n{title}\n{'attribute':<24}{'stated':>8}{'accuracy':>10}")
    for name in HAIR_KEYS:
        if hits.get(name):
            print(f"{name:<24}{len(hits[name]):>8}{statistics.mean(hits[name]):>10.1%}")
    every = [h for name in HAIR_KEYS for h in hits.get(name, [])]
    print(f"{'all':<24}{len(every):>8}{statistics.mean(every):>10.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=600)
    parser.add_argument("--split", choices=("held-out", "dev"), default="held-out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show-failures", type=int, default=0)
    args = parser.parse_args()

    started = time.perf_counter()
    reader = DescriptionParser.from_pretrained()
    load_s = time.perf_counter() - started
    cases = generate_cases(args.cases, held_out=args.split == "held-out", seed=args.seed)
    codes, times = [], []
    for case in cases:
        reader(case.text)  # warm: the measured call is the second one
        started = time.perf_counter()
        codes.append(reader(case.text))
        times.append(time.perf_counter() - started)
    # Also time descriptions never seen before (no cached embeddings).
    fresh = generate_cases(100, held_out=args.split == "held-out", seed=args.seed + 1)
    fresh_times = []
    for case in fresh:
        started = time.perf_counter()
        reader(case.text)
        fresh_times.append(time.perf_counter() - started)

    free_times = []
    for text in FREE_FORM:
        started = time.perf_counter()
        reader(text)
        free_times.append(time.perf_counter() - started)

    result = score(cases, codes)
    hits, spurious = result["hits"], result["spurious"]
    print(f"split: {args.split}, {len(cases)} descriptions, parser load {load_s:.1f} s")
    print(f"{'attribute':<24}{'stated':>8}{'accuracy':>10}{'spurious':>10}")
    names = sorted(set(hits) | set(spurious))
    for name in names:
        stated = len(hits.get(name, []))
        accuracy = sum(hits[name]) / stated if stated else float("nan")
        unstated = len(cases) - stated
        rate = spurious.get(name, 0) / unstated if unstated else 0.0
        print(f"{name:<24}{stated:>8}{accuracy:>10.1%}{rate:>10.1%}")
    scalar_hits = [
        h
        for name, hs in hits.items()
        if "." in name or name in ("gender", "weight", "muscle", "beard")
        for h in hs
        if name not in ("face.shape", "eyes.color", "eyebrows.color")
    ]
    category_hits = [
        h
        for name, hs in hits.items()
        if name in ("face.shape", "eyes.color", "expression", "age", "ancestry")
        for h in hs
    ]
    worst_spurious = max(
        (spurious[n] / (len(cases) - len(hits.get(n, []))) for n in spurious), default=0.0
    )
    print(
        f"\nscalar sign accuracy (stated attributes): {statistics.mean(scalar_hits):.1%} "
        f"over {len(scalar_hits)} statements"
    )
    print(
        f"categorical accuracy: {statistics.mean(category_hits):.1%} "
        f"over {len(category_hits)} statements"
    )
    print(f"worst spurious rate of any attribute: {worst_spurious:.1%}")
    ms = sorted(t * 1000 for t in times)
    fresh_ms = sorted(t * 1000 for t in fresh_times)
    print(
        f"warm parse, repeated text: median {statistics.median(ms):.1f} ms, "
        f"p95 {ms[int(0.95 * len(ms))]:.1f} ms"
    )
    print(
        f"warm parse, new text: median {statistics.median(fresh_ms):.1f} ms, "
        f"p95 {fresh_ms[int(0.95 * len(fresh_ms))]:.1f} ms, max {fresh_ms[-1]:.1f} ms"
    )
    print(
        f"warm parse, free-form artist texts (n={len(FREE_FORM)}, many unknown words): "
        f"median {statistics.median(free_times) * 1000:.1f} ms, "
        f"max {max(free_times) * 1000:.1f} ms"
    )
    for text, name, want, got in result["failures"][: args.show_failures]:
        print(f"  {name}: want {want}, got {got} :: {text}")

    held_out = args.split == "held-out"
    hair_cases = generate_hair_cases(args.cases // 2, held_out=held_out, seed=args.seed)
    hair = hair_score([c.categories for c in hair_cases], [reader(c.text) for c in hair_cases])
    hair_table(f"hair ({args.split} phrasings, {len(hair_cases)} descriptions)", hair)
    if held_out:
        texts, wants = zip(*HAIR_DESCRIPTIONS, strict=True)
        described = hair_score(list(wants), [reader(t) for t in texts])
        hair_table(f"hair in {len(texts)} written descriptions (held out)", described)


if __name__ == "__main__":
    main()
