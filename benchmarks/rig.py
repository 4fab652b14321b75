"""Time and peak memory of rigging a foreign head (`pipelines/rig.py`) at 10k, 50k, 200k vertices.

Each size runs in a fresh process (so peak memory is that job's): the quick start's
head, re-meshed to the size, moved to another frame (centimetres, another up axis,
yawed), then rigged end to end — face search with MediaPipe, fit, registration,
transfer, GLB. Building the test mesh is not timed.

Run: .venv/bin/python benchmarks/rig.py [--sizes 10000 50000 200000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one(size: int) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    import numpy as np

    from headsculpt.export.mesh_reader import InputMesh
    from headsculpt.pipelines.parametric import ParametricPipeline
    from headsculpt.pipelines.rig import RigPipeline
    from headsculpt.prior.head_model import load_head_model
    from headsculpt.text.parser import DescriptionParser
    from rig_cases import project_head, remesh, z_up_centimetres_yawed

    model = load_head_model()
    prompt = "a weathered fisherman in his seventies with a bulbous nose"
    result = ParametricPipeline(model, DescriptionParser.from_pretrained())(prompt)
    head = project_head(model, result.parameters["head"])
    vertices, triangles = remesh(head.vertices, head.triangles, size, np.random.default_rng(0))
    vertices = z_up_centimetres_yawed().apply(vertices)
    pipeline = RigPipeline(model)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    rigged = pipeline(InputMesh.single(vertices, triangles))
    seconds = time.perf_counter() - started
    return {
        "vertices": len(vertices),
        "triangles": len(triangles),
        "seconds": round(seconds, 2),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
        "peak_before_mb": round(before / 1024, 0),
        "stages": rigged.report["seconds"],
        "glb_mb": round(len(rigged.glb) / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 50000, 200000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    print("| vertices | triangles | seconds | peak MB (process) | stages (s) |")
    print("|---|---|---|---|---|")
    for size in args.sizes:
        completed = subprocess.run(
            [sys.executable, __file__, "--one", str(size)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        row = json.loads(completed.stdout.strip().splitlines()[-1])
        stages = ", ".join(f"{k} {v:.1f}" for k, v in row["stages"].items())
        print(f"| {row['vertices']:,} | {row['triangles']:,} | {row['seconds']:.1f} | "
              f"{row['peak_mb']:.0f} (before the rig: {row['peak_before_mb']:.0f}) | {stages} |",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
