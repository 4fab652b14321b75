"""Time and memory of the parametric job on this machine; prints a Markdown table.

cold: a new `headsculpt generate` process (model cache already built), GLB only.
warm: the pipeline already loaded in this process; the median of several heads.
Run: .venv/bin/python benchmarks/parametric.py
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from headsculpt.pipelines.parametric import ParametricConfig, ParametricPipeline

PROMPTS = (
    "a weathered fisherman in his seventies with a bulbous nose",
    "a young woman with freckles, green eyes and full lips",
    "a heavy middle-aged man with a full beard and a square jaw",
    # hair (issue 17): the heaviest styles
    "a woman with long wavy red hair",
    "a Pacific Islander man with long curly black hair and a full beard",
)


def cold_run(prompt: str) -> tuple[float, float]:
    """Seconds and peak MiB of one fresh `headsculpt generate` process."""
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "headsculpt", "generate", prompt, "--out",
             os.path.join(folder, "head.glb")],
            check=True, capture_output=True,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, peak_kib / 1024.0


def warm_runs(pipeline: ParametricPipeline, size: int, repeats: int = 3) -> list[float]:
    config = ParametricConfig(texture_size=size)
    pipeline(PROMPTS[0], seed=0, config=config)  # builds this size's texture space once
    times = []
    for prompt in PROMPTS:
        for seed in range(repeats):
            started = time.perf_counter()
            pipeline(prompt, seed=seed + 1, config=config)
            times.append(time.perf_counter() - started)
    return times


def main() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}\n")  # fmt: skip
    cold_seconds, cold_mib = cold_run(PROMPTS[0])
    started = time.perf_counter()
    pipeline = ParametricPipeline.from_defaults()
    load_seconds = time.perf_counter() - started
    print("| measure | texture | value |")
    print("|---|---|---|")
    print(f"| cold: new process, head + GLB | 1024² | {cold_seconds:.2f} s |")
    print(f"| cold: peak memory of that process | 1024² | {cold_mib:.0f} MiB |")
    print(f"| load: head model (cache built) + description parser | – | {load_seconds:.2f} s |")
    for size in (1024, 2048):
        times = warm_runs(pipeline, size)
        print(f"| warm: median per head (n={len(times)}) | {size}² | "
              f"{statistics.median(times):.3f} s |")  # fmt: skip
        print(f"| warm: slowest head | {size}² | {max(times):.3f} s |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"| warm: peak memory of this process | both | {peak:.0f} MiB |")


if __name__ == "__main__":
    main()
