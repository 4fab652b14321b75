"""Add-on timings in real Blender: importing a head, and main-thread timer ticks during a job.

Run with Blender's Python (bpy 4.5); the backend runs in the project's venv:

    .venv-blender/bin/python benchmarks/addon.py [--backend-python .venv/bin/python] [--jobs 3]

Installs the extension zip into a throw-away Blender user folder, lets the add-on
start its local backend, then (1) times `import_head` on a generated GLB, and (2)
follows jobs the way the UI does (non-blocking operator + the job timer) while
calling the timer at its interval, as Blender's event loop would (timers do not
fire in background mode), and reports the longest tick. Targets: import ≤ 1 s,
tick ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USER = tempfile.mkdtemp(prefix="headsculpt-bench-")
os.environ["BLENDER_USER_RESOURCES"] = USER  # before bpy starts: never touch the real prefs

import bpy  # noqa: E402

sys.path.insert(0, str(ROOT))
import build_addon  # noqa: E402

MODULE = "bl_ext.user_default.headsculpt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend-python", default=str(ROOT / ".venv" / "bin" / "python"))
    parser.add_argument("--jobs", type=int, default=3)
    args = parser.parse_args()

    zip_path = build_addon.build(Path(USER) / "dist")
    bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo="user_default",
                                             enable_on_install=True)  # fmt: skip
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.backend_mode, prefs.python_path = "LOCAL", args.backend_python
    prefs.data_dir = str(Path(USER) / "jobs")
    operators = sys.modules[MODULE + ".operators"]
    session = sys.modules[MODULE + ".core.session"]
    importer = sys.modules[MODULE + ".importer"]

    bpy.ops.headsculpt.start_backend()
    settings = bpy.context.scene.headsculpt
    settings.prompt = "a weathered fisherman in his seventies with a bulbous nose"
    bpy.ops.headsculpt.generate()  # warm-up, blocking; leaves a GLB to import
    glb = session.get().monitor.snapshot().files["head.glb"]

    imports = []
    for _ in range(5):
        started = time.perf_counter()
        importer.import_head(bpy.context, glb, {"job_id": "bench", "mode": "parametric"})
        imports.append(time.perf_counter() - started)

    operators.tick_durations.clear()
    for k in range(args.jobs):
        settings.seed = 100 + k
        bpy.ops.headsculpt.generate(blocking="NO")
        while operators.job_tick() is not None:  # what the event loop would do
            time.sleep(operators.TICK_SECONDS)
        monitor = session.get().monitor
        snapshot = monitor.wait()
        started = time.perf_counter()  # the import after the job, measured on its own
        operators._import_results(bpy.context, snapshot.job_id, snapshot.files, snapshot.code,
                                  monitor.request, monitor.client.url)  # fmt: skip
        imports.append(time.perf_counter() - started)
    ticks = sorted(operators.tick_durations)
    session.reset()

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Blender {bpy.app.version_string}"
    )
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| import a head (GLB → HeadSculpt collection), median of {len(imports)} | "
          f"{statistics.median(imports) * 1000:.0f} ms | ≤ 1 s |")  # fmt: skip
    print(f"| import, slowest | {max(imports) * 1000:.0f} ms | ≤ 1 s |")
    print(f"| job timer ticks during {args.jobs} jobs | {len(ticks)} | – |")
    print(f"| longest tick | {ticks[-1] * 1000:.2f} ms | ≤ 20 ms |")
    print(f"| median tick | {statistics.median(ticks) * 1000:.2f} ms | – |")


if __name__ == "__main__":
    main()
