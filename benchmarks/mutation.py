"""Mutation testing of the modules that carry the product's promises (mutmut 3).

    scripts/mutation_check.sh prior/code_mapping.py export/glb.py [--sample 60] [--budget 1800]

For each module (a path under backend/headsculpt/) a scratch copy of the project is
made under --work (the checkout is never touched): the package as ``src/headsculpt``,
the tests, ``benchmarks/`` and a pyproject.toml whose ``[tool.mutmut]`` mutates only
that module and runs only the tests listed for it in ``MODULE_TESTS``. mutmut first
generates every mutant; ``--sample N`` then runs a seeded random sample of N of them
(large modules), else all. ``--budget`` is the wall time per module, after which the
mutants not yet run are counted as "not run". A table per module is printed at the end:
mutants, killed, survived, timed out, no tests, not run, equivalent (listed in
``EQUIVALENT`` with the reason) and the kill rate = killed / (run − equivalent).
Survivors are printed with ``mutmut show`` so they can be killed or listed.

mutmut mutates function bodies only, so the mapping's *tables* (the gains of
prior/code_mapping.py) get their own mutants with ``--tables``: every gain of every
attribute flipped in sign and set to zero, one at a time, in this process; a table
mutant is killed when the attribute's meaning test in tests/test_meaning_shape.py fails
(the docs-table test would catch them all, so it is not counted here).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "backend" / "headsculpt"

# module → the tests that state its promises (fast ones; no subprocess of the product,
# since a child interpreter would import the unmutated package).
MODULE_TESTS: dict[str, list[str]] = {
    "prior/code_mapping.py": ["tests/test_meaning_shape.py", "tests/test_code_mapping.py"],
    "export/glb.py": [
        "tests/test_glb_writer_paths.py",
        "tests/test_meaning_glb.py",
        "tests/test_glb.py",
    ],
    "text/parser.py": ["tests/test_parser_negation.py", "tests/test_parser.py"],
    "texture/skin_parameters.py": [
        "tests/test_skin_parameters.py",
        "tests/test_meaning_shape.py::test_painted_attribute_moves_the_texture_the_documented_way",
        "tests/test_parser_negation.py",
        "tests/test_code_mapping.py",
    ],
    # The MediaPipe end-to-end tests (test_judge.py) take minutes per mutant; the rules
    # are pinned with scripted detector answers.
    "eval/judge.py": ["tests/test_judge_rules.py"],
    # The server's auth (token resolution, token files, the bearer check) in process.
    "api/serve.py": ["tests/test_api_auth.py"],
    "api/app.py": ["tests/test_api_auth.py", "tests/test_api_routes.py"],
    "api/job_store.py": ["tests/test_job_store.py", "tests/test_job_runner.py"],
    "api/runner.py": ["tests/test_job_runner.py"],
    "pipelines/contract.py": ["tests/test_contract.py"],
}

# Mutants that cannot change behaviour, by mutmut name, with the reason (docs/testing.md).
_ZIP = "zip(strict=…) only differs for rows of unequal length; AGE_ANCHORS holds pairs"
EQUIVALENT: dict[str, str] = {
    "headsculpt.prior.code_mapping.x__both__mutmut_1": "the default gain of _both is never used: "
    "every call passes its gain",
    "headsculpt.prior.code_mapping.x_age_to_phenotype__mutmut_2": _ZIP,
    "headsculpt.prior.code_mapping.x_age_to_phenotype__mutmut_4": _ZIP,
    "headsculpt.prior.code_mapping.x_age_to_phenotype__mutmut_5": _ZIP,
    **dict.fromkeys(
        [f"headsculpt.prior.code_mapping.x_head_parameters__mutmut_{k}" for k in (40, 41, 48)],
        "the phenotype clip to [0, 1]: centre ± half range with v in [−1, 1] never leaves it",
    ),
    "headsculpt.prior.code_mapping.x_head_parameters__mutmut_68": "the default ancestry's "
    "equal weights (1.0 → 2.0) are normalised to thirds all the same",
    **dict.fromkeys(
        [f"headsculpt.export.glb.x__own_png__mutmut_{k}" for k in (8, 12, 13)],
        "format 'png' (PIL reads either case) or another zlib level: the same image, other bytes",
    ),
    "headsculpt.prior.code_mapping.x_scalar_values__mutmut_3": "break instead of continue at "
    "hair.length: it is the last scalar attribute, so both stop at the same place",
    "headsculpt.texture.skin_parameters.x_appearance_choices__mutmut_43": "tone − N(0, "
    "0.1) instead of + N(0, 0.1): the noise is symmetric, its distribution is the same",
    **dict.fromkeys(
        [f"headsculpt.texture.skin_parameters.x_appearance_choices__mutmut_{k}" for k in (38, 51)],
        "the lower clip of a drawn tone: uniform(−0.6, 0.6) or an ancestry tone ≥ −0.45 plus "
        "N(0, 0.1) reaches −1 with a probability under 1e-4 per head",
    ),  # fmt: skip
    **dict.fromkeys(
        [
            f"headsculpt.texture.skin_parameters.xǁSkinParametersǁfrom_code__mutmut_{k}"
            for k in (62, 63, 72)
        ],
        "the clip of a stated beard to [0, 1]: 0.5·(v + 1) with v in [−1, 1] never leaves it",
    ),  # fmt: skip
    "headsculpt.texture.skin_parameters.x__default_hair__mutmut_47": "rng.random() <= 0.6 "
    "instead of < 0.6 differs only when the draw is exactly 0.6",
    "headsculpt.text.parser.xǁ_ClauseReaderǁ_read_clause__mutmut_227": "negated=None for a "
    "named feature: every region with a presence value also has an absence value, so this "
    "branch runs only when not negated, where None and False agree",
    **dict.fromkeys(
        [f"headsculpt.text.parser.x__apply_modifiers__mutmut_{k}" for k in (7, 8, 19, 20)],
        "an age boundary moved by a year: no age word sits at 20 or 40 years (they are 1, 3, "
        "6, 8, 16, 22, 48, 68, 78)",
    ),
    "headsculpt.text.parser.x__apply_modifiers__mutmut_50": "value ≥ 0 instead of > 0 "
    "for a negated presence word: none of them sets 0",
    "headsculpt.export.glb.xǁ_Builderǁ_accessor__mutmut_1": "bounds=True by default: every "
    "accessor gets min/max, which are optional and still correct",
    "headsculpt.export.glb.xǁ_Builderǁadd_part__mutmut_9": "uint16 indices up to 65535 "
    "vertices instead of 65534: differs only for a part of exactly 65535 vertices",
    "headsculpt.export.glb.xǁ_Builderǁadd_part__mutmut_41": "no bufferView target on the UVs: "
    "the target is an optional hint (the validator accepts it, importers infer it)",
    "headsculpt.export.glb.xǁ_Builderǁadd_skeleton__mutmut_12": "zip(strict=True) dropped: "
    "names, parents and matrices of a Skeleton always have the same length",
    **dict.fromkeys(
        [f"headsculpt.api.serve.x_load_or_create_token__mutmut_{k}" for k in (9, 11, 42, 45, 49)],
        "the encoding named in another case, or the locale's: a token is printable ASCII "
        "(checked), which every encoding reads and writes the same",
    ),
    "headsculpt.pipelines.contract.x_default_seed__mutmut_7": "'UTF-8' and 'utf-8' name "
    "the same codec",
    "headsculpt.api.serve.x_load_or_create_token__mutmut_28": "token_urlsafe(None) draws "
    "secrets' default, 32 bytes: the same as token_urlsafe(32)",
    "headsculpt.api.job_store.x__remove_partial_files__mutmut_3": "unlink(missing_ok=None): "
    "the file was just listed by glob, and nothing else removes it while the store opens",
    "headsculpt.api.runner.xǁJobRunnerǁ_run__mutmut_7": "setdefault(job_id) without a default: "
    "submit() gives every queued job its cancel event first, so the default is never used",
    "headsculpt.api.runner.xǁJobRunnerǁstop__mutmut_2": "None instead of the stop sentinel: "
    "any item wakes a lane waiting on its queue, and stop() has set _stopping first, so the "
    "lane returns whatever it takes",
    "headsculpt.api.app.x__chunks__mutmut_2": "read(None) sends the whole file as one "
    "chunk: the same bytes, only held in memory at once",
    **dict.fromkeys(
        ["headsculpt.api.app.x__docs_page__mutmut_5", "headsculpt.api.app.x__docs_page__mutmut_39"],
        "a default dropped from schema.get(…): FastAPI's schema always has paths and schemas",
    ),
    "headsculpt.api.app.x__plain_problem__mutmut_13": "an index kept as text: no request "
    "field is a list, so a validation location never holds an index",
    "headsculpt.api.app.x__plain_problem__mutmut_33": "another default message: pydantic's "
    "errors always carry one",
    "headsculpt.api.app.xǁ_BodyLimitǁ__call____mutmut_23": "another default path: an HTTP "
    "scope always has one",
    "headsculpt.export.glb.xǁ_Builderǁadd_skeleton__mutmut_36": "first − i instead of first + i "
    "for the roots: the rig has one root, bone 0, so i = 0",
}

KILLED = {1, 3}
SURVIVED = {0}
TIMEOUT = {24, -24, 36, 152, 255}
NO_TESTS = {5, 33}


@dataclass
class Tally:
    module: str
    names: list[str] = field(default_factory=list)
    codes: dict[str, int | None] = field(default_factory=dict)

    def count(self, codes: set) -> int:
        return sum(1 for name in self.names if self.codes.get(name) in codes)

    @property
    def equivalent(self) -> list[str]:
        return [n for n in self.names if n in EQUIVALENT and self.codes.get(n) in SURVIVED]

    @property
    def survivors(self) -> list[str]:
        return [n for n in self.names if self.codes.get(n) in SURVIVED and n not in EQUIVALENT]

    def row(self) -> str:
        killed, timeout = self.count(KILLED), self.count(TIMEOUT)
        survived = len(self.survivors)
        no_tests = self.count(NO_TESTS)
        not_run = sum(1 for n in self.names if self.codes.get(n) is None)
        equivalent = len(self.equivalent)
        judged = killed + timeout + survived + no_tests
        rate = f"{100.0 * (killed + timeout) / judged:.1f} %" if judged else "—"
        return (
            f"| `{self.module}` | {len(self.names)} | {killed} | {survived} | {timeout} | "
            f"{no_tests} | {not_run} | {equivalent} | {rate} |"
        )


def _scratch(module: str, work: Path) -> Path:
    """A copy of the project in which mutmut mutates only ``module``."""
    slug = module.replace("/", "_").removesuffix(".py")
    where = work / slug
    shutil.rmtree(where, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    shutil.copytree(PACKAGE, where / "src" / "headsculpt", ignore=ignore)
    for folder in ("tests", "benchmarks", "docs"):
        shutil.copytree(ROOT / folder, where / folder, ignore=ignore)
    (where / "mutants").mkdir()
    for tool in (".cache", ".venv-mediapipe", ".venv-blender"):  # test tools, by link
        if (ROOT / tool).exists():
            (where / "mutants" / tool).symlink_to(ROOT / tool)
    tests = json.dumps(MODULE_TESTS[module])
    (where / "pyproject.toml").write_text(
        f"""[tool.mutmut]
source_paths = ["src/headsculpt"]
only_mutate = ["src/headsculpt/{module}"]
pytest_add_cli_args_test_selection = {tests}
pytest_add_cli_args = ["-p", "no:cacheprovider", "-x", "-q"]
also_copy = ["benchmarks", "docs"]
use_git_change_detection = false

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]
markers = ["blender: bpy", "validator: glTF validator"]
"""
    )
    return where


def _mutmut(where: Path, *args: str, timeout: float | None = None) -> int:
    # mutmut forks a child per mutant from a process that has run torch: with more than
    # one OpenMP thread such a child can hang forever, so everything runs single-threaded.
    threads = {k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    env = {**os.environ, **threads, "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "mutmut", *args]
    try:
        completed = subprocess.run(
            command, cwd=where, env=env, timeout=timeout, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        print(f"    budget spent in {where.name}", flush=True)
        return 124
    tail = completed.stdout.strip().splitlines()[-3:]
    print("    " + "\n    ".join(tail), flush=True)
    return completed.returncode


def _meta(where: Path, module: str) -> dict[str, int | None]:
    path = where / "mutants" / "src" / "headsculpt" / f"{module}.meta"
    return json.loads(path.read_text())["exit_code_by_key"] if path.exists() else {}


def _save_codes(where: Path, module: str, codes: dict[str, int | None]) -> None:
    path = where / "mutants" / "src" / "headsculpt" / f"{module}.meta"
    meta = json.loads(path.read_text())
    meta["exit_code_by_key"] = {**meta["exit_code_by_key"], **codes}
    path.write_text(json.dumps(meta, indent=4))


def check(
    module: str, work: Path, sample: int | None, budget: float, seed: int, only: list[str]
) -> Tally:
    """Run ``module``'s mutants; with ``only``, rerun those (e.g. the survivors after new
    tests) and keep the previous run's results for the rest."""
    import fnmatch
    import time

    print(f"== {module}: tests {' '.join(MODULE_TESTS[module])}", flush=True)
    slug = module.replace("/", "_").removesuffix(".py")
    source = hashlib.sha256((PACKAGE / module).read_bytes()).hexdigest()
    stamp = work / slug / "source.sha256"
    same_source = stamp.exists() and stamp.read_text() == source
    previous = {}  # mutant names mean the same mutations only for the same source
    if only and same_source:
        previous = {k: v for k, v in _meta(work / slug, module).items() if v is not None}
    where = _scratch(module, work)
    (where / "source.sha256").write_text(source)
    start = time.monotonic()
    # Generate every mutant and record which tests reach which function, running none.
    _mutmut(where, "run", "--max-children", "1", "no.such.mutant*", timeout=budget)
    names = sorted(_meta(where, module))
    chosen = [n for n in names if any(fnmatch.fnmatch(n, p) for p in only)] if only else names
    if sample and sample < len(chosen):
        chosen = sorted(random.Random(seed).sample(chosen, sample))
    names = sorted(set(previous) | set(chosen))
    tally = Tally(module, names)
    left = budget - (time.monotonic() - start)
    batch = 40  # results land in the meta file batch by batch, so a spent budget keeps them
    for k in range(0, len(chosen), batch):
        if left <= 0:
            break
        began = time.monotonic()
        _mutmut(where, "run", "--max-children", "1", *chosen[k : k + batch], timeout=left)
        left -= time.monotonic() - began
    tally.codes = {**previous, **{n: c for n, c in _meta(where, module).items() if n in chosen}}
    if only:  # the merged results stay in the meta file for the next run
        _save_codes(where, module, tally.codes)
    for name in tally.survivors:
        shown = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=where,
                               capture_output=True, text=True).stdout  # fmt: skip
        print(f"-- survived: {name}\n{shown.strip()}\n", flush=True)
    return tally


def table_mutants() -> tuple[int, int, list[str]]:
    """(mutants, killed by a meaning test, survivors) of the mapping's gain tables."""
    from unittest import mock

    sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]
    import test_meaning_shape as meaning

    from headsculpt.prior import code_mapping

    probe = meaning.ShapeProbe()

    def meaning_holds(attribute: str) -> bool:
        try:
            if attribute in meaning.MEASURES:
                meaning.test_attribute_moves_its_measure_the_documented_way(probe, attribute)
            elif attribute == "chin.cleft":
                meaning.test_a_cleft_only_when_stated(probe)
            elif attribute == "ears.pointed":
                meaning.test_pointed_ears_lift_the_helix(probe)
            return True
        except AssertionError:
            return False

    total, killed, survivors = 0, 0, []
    for attribute, changes in code_mapping.LOCAL_CHANGE_MAP.items():
        assert meaning_holds(attribute), f"{attribute} fails unmutated"
        for k, (change, gain) in enumerate(changes):
            for mutated, how in ((-gain, "sign flipped"), (0.0, "zeroed")):
                patched = (*changes[:k], (change, mutated), *changes[k + 1 :])
                with mock.patch.dict(code_mapping.LOCAL_CHANGE_MAP, {attribute: patched}):
                    total += 1
                    if meaning_holds(attribute):
                        survivors.append(f"{attribute}: {change} ×{gain:g} {how}")
                    else:
                        killed += 1
    return total, killed, survivors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"any of {', '.join(sorted(MODULE_TESTS))}")
    parser.add_argument("--tables", action="store_true", help="mutate the mapping's gains")
    parser.add_argument("--sample", type=int, default=None, help="run N mutants per module")
    parser.add_argument("--budget", type=float, default=1800.0, help="seconds per module")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample")
    parser.add_argument(
        "--only",
        nargs="*",
        default=[],
        help="run only these mutants (fnmatch patterns, e.g. "
        "'*x__apply_modifiers*'), keeping earlier results for the others",
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/headsculpt-mutation"))
    args = parser.parse_args(argv)
    unknown = sorted(set(args.modules) - set(MODULE_TESTS))
    if unknown:
        parser.error(f"no tests listed for {unknown}; add them to MODULE_TESTS")
    tallies = [
        check(m, args.work, args.sample, args.budget, args.seed, args.only) for m in args.modules
    ]
    print("\n| module | mutants | killed | survived | timed out | no tests | not run | "
          "equivalent | kill rate |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for tally in tallies:
        print(tally.row())
    if args.tables:
        total, killed, survivors = table_mutants()
        print(f"\nmapping tables: {total} mutants, {killed} killed by a meaning test "
              f"({100.0 * killed / total:.1f} %)")  # fmt: skip
        for survivor in survivors:
            print(f"  survived: {survivor}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
