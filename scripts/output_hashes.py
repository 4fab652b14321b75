"""SHA-256 of what the pipelines write, so a refactor can show it changed nothing.

Every scalp hairstyle × facial-hair style on three seeds, for an adult and a child
description (the parametric GLB, sidecar and preview), one rig of a foreign mesh (a
parametric head's skin written as OBJ and rigged), and optionally one ``test``-preset
reference sculpt (``--sculpt``: about eight minutes here; its GLB). One line per file,
``<sha256>  <case>/<file>``, sorted; compare two runs with ``diff``. Sidecars are hashed
without their timings. About 6 minutes with ``--quick`` (one seed) on the 2-core CPU.

Run: .venv/bin/python scripts/output_hashes.py --out hashes.txt [--sculpt] [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from headsculpt.descriptive_code import FACIAL_HAIR_STYLES, HAIR_STYLES
from headsculpt.pipelines.parametric import ParametricPipeline

# Each style is set on these descriptions' codes (facial hair on the adult only: the
# hair choices leave a child's face bare whatever the code says).
DESCRIPTIONS = {
    "adult": "a middle-aged man with a square jaw",
    "child": "a seven-year-old girl with freckles",
}
SEEDS = (0, 1, 2)
PREVIEW_SIZE = 256  # small: the preview's hash, not its look, is what is compared


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sidecar_digest(data: bytes) -> str:
    """A sidecar's digest without its timings (``seconds`` at any depth: they differ run
    to run), keys sorted."""

    def timeless(value):
        if isinstance(value, dict):
            return {k: timeless(v) for k, v in value.items() if k != "seconds"}
        if isinstance(value, list):
            return [timeless(v) for v in value]
        return value

    canonical = json.dumps(timeless(json.loads(data)), sort_keys=True).encode()
    return _digest(canonical)


def parametric_hashes(pipeline: ParametricPipeline, quick: bool) -> dict[str, str]:
    hashes = {}
    seeds = SEEDS[:1] if quick else SEEDS
    for who, description in DESCRIPTIONS.items():
        base = pipeline.parse(description)
        beards = FACIAL_HAIR_STYLES if who == "adult" else ("none",)
        for hair in HAIR_STYLES:
            for beard in beards:
                attributes = {**base.attributes, "hair.style": hair, "facial_hair.style": beard}
                code = replace(base, attributes=attributes)
                for seed in seeds:
                    result = pipeline.from_code(code, description, seed)
                    case = f"parametric/{who}/{hair}/{beard}/{seed}"
                    hashes[f"{case}/head.glb"] = _digest(result.glb)
                    hashes[f"{case}/head.json"] = _sidecar_digest(result.sidecar_json())
                    preview = result.preview(PREVIEW_SIZE)
                    hashes[f"{case}/head.png"] = _digest(preview.tobytes())
    return hashes


def rig_hashes(pipeline: ParametricPipeline, folder: Path) -> dict[str, str]:
    """``headsculpt rig`` on a parametric head's skin written as OBJ (no rig, no UVs)."""
    import subprocess

    import trimesh

    mesh = pipeline(DESCRIPTIONS["adult"], seed=5).mesh
    source = folder / "foreign.obj"
    trimesh.Trimesh(mesh.vertices, mesh.triangles, process=False).export(source)
    out = folder / "rigged.glb"
    subprocess.run([sys.executable, "-m", "headsculpt", "rig", str(source), "--out", str(out),
                    "--preview", str(folder / "rigged.png")], check=True)  # fmt: skip
    files = {p.name: p.read_bytes() for p in folder.glob("rigged.*")}
    return {f"rig/{name}": (_sidecar_digest if name.endswith(".json") else _digest)(data)
            for name, data in files.items()}  # fmt: skip


def sculpt_hashes(pipeline: ParametricPipeline, folder: Path) -> dict[str, str]:
    from headsculpt.pipelines.rig import RigPipeline
    from headsculpt.pipelines.sculpt import SculptPipeline, SculptRequest
    from headsculpt.pipelines.sculpt_presets import SCULPT_PRESETS

    target = folder / "target.glb"
    target.write_bytes(pipeline(DESCRIPTIONS["adult"], seed=8).glb)
    request = SculptRequest("an old man with a long face", seed=1, quality="test",
                            guidance="reference", reference=str(target), device="cpu")  # fmt: skip
    sculpt = SculptPipeline(pipeline, RigPipeline(pipeline.head, pipeline.landmarks))
    (folder / "scratch").mkdir()
    result = sculpt.sculpt(request, SCULPT_PRESETS["test"], 1, folder / "scratch")
    return {"sculpt/head.glb": _digest(result["glb"])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sculpt", action="store_true", help="also a test-preset sculpt")
    parser.add_argument("--quick", action="store_true", help="one seed, not three")
    args = parser.parse_args()
    pipeline = ParametricPipeline.from_defaults()
    hashes = parametric_hashes(pipeline, args.quick)
    # A fixed folder: the rig's sidecar names its input's path.
    work = args.out.with_suffix(".work")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    hashes |= rig_hashes(pipeline, work)
    if args.sculpt:
        hashes |= sculpt_hashes(pipeline, work)
    lines = [f"{digest}  {case}" for case, digest in sorted(hashes.items())]
    args.out.write_text("\n".join(lines) + "\n")
    print(f"{len(lines)} files hashed into {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
