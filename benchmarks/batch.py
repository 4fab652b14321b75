"""Batch generation on Ray: the 200-item acceptance run, heads per minute with one and
two workers against the server's single CPU lane (in the same run), memory per worker,
and a projection for N machines. Prints Markdown tables (docs/benchmarks.md).

1. ``headsculpt batch`` on --items descriptions (a quarter of them JSON rows with their
   own seed) with 2 workers on the local Ray the command starts; checks that every item
   succeeded, that the manifest lists each once, and that every GLB and sidecar is the
   one ``headsculpt generate`` makes for its text and seed (all in this process through
   the same pipeline.run, and --generate of them by the real command in its own process,
   preview included).
2. The same with 1 worker on the first --small items.
3. ``headsculpt serve`` (one CPU lane), warmed with one job, then a burst of --jobs.
Run: .venv/bin/python benchmarks/batch.py [--items 200] [--small 60] [--jobs 40]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from backend_server import BackendServer, wait_for_job  # noqa: E402

AGES = ["young", "middle-aged", "old", "teenage", "elderly"]
PEOPLE = ["man", "woman", "boy", "girl", "fisherman", "nurse", "soldier", "baker"]
FEATURES = ["with a big nose", "with green eyes", "with a full beard", "with freckles",
            "with long curly hair", "with a square jaw", "with full lips", "with a buzz cut",
            "with a round face", "with a thick moustache"]  # fmt: skip


def texts(count: int) -> list[str]:
    """``count`` distinct descriptions."""
    combinations = len(AGES) * len(PEOPLE) * len(FEATURES)
    return [
        f"a {AGES[k % len(AGES)]} {PEOPLE[(k // len(AGES)) % len(PEOPLE)]} "
        f"{FEATURES[(k // (len(AGES) * len(PEOPLE))) % len(FEATURES)]}"
        + ("" if k < combinations else f" ({k})")
        for k in range(count)
    ]


def prompts(count: int) -> list[str]:
    """The prompts file's lines: every fourth a JSON row with its own seed."""
    return [json.dumps({"prompt": text, "seed": 1000 + k}) if k % 4 == 3 else text
            for k, text in enumerate(texts(count))]  # fmt: skip


@dataclass
class BatchRun:
    """One `headsculpt batch` process, watched from outside."""

    items: int
    workers: int
    wall: float = 0.0
    first_row: float = 0.0  # seconds from the start to the first result
    row_times: list[float] = field(default_factory=list)
    worker_peak_mib: dict[int, float] = field(default_factory=dict)
    driver_peak_mib: float = 0.0
    driver_cpu: float = 0.0  # CPU seconds of the driver and Ray's own processes (not workers)
    cpu_at_rows: list[float] = field(default_factory=list)  # driver_cpu when each row landed
    rows: list[dict] = field(default_factory=list)

    @property
    def steady_heads_per_minute(self) -> float:
        """Between the first and the last result: workers loaded, textures prepared."""
        span = self.row_times[-1] - self.row_times[0]
        return (len(self.row_times) - 1) / span * 60.0

    @property
    def overhead_per_item(self) -> float:
        """CPU seconds of the driver and Ray's processes per item, between the first and
        the last result (their start-up excluded)."""
        return (self.cpu_at_rows[-1] - self.cpu_at_rows[0]) / max(1, len(self.cpu_at_rows) - 1)

    @property
    def wall_heads_per_minute(self) -> float:
        return self.items / self.wall * 60.0


def run_batch(folder: Path, lines: list[str], workers: int) -> BatchRun:
    (folder / "prompts.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest = folder / "out" / "manifest.jsonl"
    run = BatchRun(len(lines), workers)
    started = time.perf_counter()
    # Ray runs its workers at nice 15 (they yield to everything else on the machine); the
    # server runs at 0. Measured at 0 here, so a busy machine slows both alike.
    env = {**os.environ, "RAY_worker_niceness": "0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "headsculpt", "batch", "prompts.txt", "--out", "out",
         "--workers", str(workers)],
        cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    driver = psutil.Process(process.pid)
    stderr: list[str] = []
    threading.Thread(target=lambda: stderr.append(process.stderr.read()), daemon=True).start()
    seen = 0
    workers_seen: set[int] = set()
    while process.poll() is None:
        _sample(driver, workers_seen, run)
        if manifest.exists():
            rows = manifest.read_text().splitlines()
            now = time.perf_counter() - started
            run.row_times.extend([now] * (len(rows) - seen))
            run.cpu_at_rows.extend([run.driver_cpu] * (len(rows) - seen))
            for line in rows[seen:]:
                worker = json.loads(line).get("worker")
                if worker:
                    workers_seen.add(int(worker.rsplit(":", 1)[1]))
            seen = len(rows)
        time.sleep(0.2)
    run.wall = time.perf_counter() - started
    process.wait()
    assert process.returncode == 0, "".join(stderr)[-3000:]
    run.first_row = run.row_times[0]
    run.rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    return run


def _sample(driver: psutil.Process, workers: set[int], run: BatchRun) -> None:
    """Peak resident memory of each worker and of the driver; CPU of everything but the
    workers (the driver, Ray's GCS, raylet and agents) — the per-item overhead."""
    try:
        tree = [driver, *driver.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    cpu = 0.0
    for process in tree:
        try:
            if process.pid in workers:
                peak = max(run.worker_peak_mib.get(process.pid, 0), _peak_mib(process))
                run.worker_peak_mib[process.pid] = peak
            else:
                times = process.cpu_times()
                cpu += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    run.driver_cpu = max(run.driver_cpu, cpu)
    with contextlib.suppress(psutil.NoSuchProcess):
        run.driver_peak_mib = max(run.driver_peak_mib, _peak_mib(driver))


def _peak_mib(process: psutil.Process) -> float:
    """The process's peak resident memory so far (Linux VmHWM), else its resident memory."""
    try:
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return process.memory_info().rss / 2**20


def check_acceptance(run: BatchRun, out: Path, generate: int) -> int:
    """Every item succeeded, listed once; every GLB and sidecar as `generate` makes it.
    Returns the number of files compared."""
    from headsculpt.pipelines.contract import make_request
    from headsculpt.pipelines.folder_outputs import FolderOutputs
    from headsculpt.pipelines.parametric import ParametricPipeline
    from headsculpt.pipelines.registry import find_kind
    from headsculpt.progress import no_progress

    items = [row["item"] for row in run.rows]
    assert len(items) == run.items == len(set(items)), "the manifest lists an item twice"
    assert all(row["status"] == "succeeded" for row in run.rows), "an item failed"
    pipeline = ParametricPipeline.from_defaults()
    kind = find_kind("generate", "parametric")
    compared = 0
    with tempfile.TemporaryDirectory() as scratch:
        for row in run.rows:
            values = kind.check({"kind": "generate", "mode": "parametric", "prompt": row["prompt"],
                                 "seed": row["seed"], "variants": row["variants"]})  # fmt: skip
            values["preview"] = False  # the GLB and sidecar do not depend on it
            outputs = FolderOutputs(Path(scratch) / "head.glb", Path(scratch))
            pipeline.run(make_request(type(pipeline).Request, values), outputs, no_progress)
            for path in outputs.written:
                assert (out / row["item"] / path.name).read_bytes() == path.read_bytes(), row
                compared += 1
        for row in run.rows[:generate]:  # the command itself, preview and all
            glb = Path(scratch) / "cli" / "head.glb"
            command = ["generate", row["prompt"], "--seed", str(row["seed"]), "--out", str(glb),
                       "--preview", str(glb.with_suffix(".png"))]  # fmt: skip
            subprocess.run([sys.executable, "-m", "headsculpt", *command], check=True,
                           capture_output=True)  # fmt: skip
            for name in ("head.glb", "head.json", "head.png"):
                made = (out / row["item"] / name).read_bytes()
                assert made == (glb.parent / name).read_bytes(), (row, name)
                compared += 1
    return compared


def server_lane(jobs: int) -> float:
    """Jobs a minute of one warm `headsculpt serve` CPU lane, a burst submitted at once."""
    with (
        tempfile.TemporaryDirectory() as data,
        BackendServer(Path(data)) as server,
        server.client() as client,
    ):
        warm = client.post("/v1/jobs", json={"prompt": "a warm-up head"}).json()
        assert wait_for_job(client, warm["id"], timeout=3600)["state"] == "succeeded"

        def one(k: int) -> None:
            with server.client() as own:
                job = own.post("/v1/jobs", json={"prompt": texts(jobs)[k]}).json()
                assert wait_for_job(own, job["id"], timeout=3600)["state"] == "succeeded"

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(one, range(jobs)))
        return jobs / (time.perf_counter() - started) * 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--small", type=int, default=60, help="items of the 1-worker run")
    parser.add_argument("--jobs", type=int, default=40, help="the server's burst")
    parser.add_argument("--generate", type=int, default=3, help="items checked by the CLI")
    args = parser.parse_args()
    memory = psutil.virtual_memory().total / 2**30
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GiB, "
          f"Python {platform.python_version()}\n")  # fmt: skip
    lines = prompts(args.items)
    with tempfile.TemporaryDirectory() as two_folder, tempfile.TemporaryDirectory() as one_folder:
        two = run_batch(Path(two_folder), lines, workers=2)
        print(f"2 workers: {two.steady_heads_per_minute:.1f} heads/min steady, {two.wall:.0f} s",
              flush=True)  # fmt: skip
        one = run_batch(Path(one_folder), lines[: args.small], workers=1)
        print(f"1 worker: {one.steady_heads_per_minute:.1f} heads/min steady, {one.wall:.0f} s",
              flush=True)  # fmt: skip
        lane = server_lane(args.jobs)
        print(f"server lane: {lane:.1f} jobs/min\n", flush=True)
        compared = check_acceptance(two, Path(two_folder) / "out", args.generate)
        written = sum((Path(two_folder) / "out" / name).stat().st_size
                      for row in two.rows for name in row["outputs"])  # fmt: skip
        heads = sum(row["variants"] for row in two.rows)
    print(
        f"acceptance: {two.items} items, all succeeded, each listed once; {compared} files "
        f"byte-identical to `headsculpt generate` ({args.generate} by the command itself)\n"
    )
    report(one, two, lane, args.jobs, written / heads)


def report(one: BatchRun, two: BatchRun, lane: float, jobs: int, bytes_per_head: float) -> None:
    print("| measure | 1 worker | 2 workers | server lane |")
    print("|---|---|---|---|")
    print(f"| items | {one.items} | {two.items} | {jobs} (burst) |")
    print(f"| heads/min, steady (first result → last) | {one.steady_heads_per_minute:.1f} | "
          f"{two.steady_heads_per_minute:.1f} | {lane:.1f} |")  # fmt: skip
    print(f"| heads/min, whole command (Ray start, model load) | {one.wall_heads_per_minute:.1f} "
          f"| {two.wall_heads_per_minute:.1f} | – |")  # fmt: skip
    print(f"| wall time | {one.wall:.1f} s | {two.wall:.1f} s | – |")
    print(f"| start → first result | {one.first_row:.1f} s | {two.first_row:.1f} s | – |")
    one_mem = ", ".join(f"{m:.0f}" for m in one.worker_peak_mib.values())
    two_mem = ", ".join(f"{m:.0f}" for m in two.worker_peak_mib.values())
    print(f"| peak RSS per worker (MiB) | {one_mem} | {two_mem} | – |")
    print(f"| peak RSS of the driver (MiB) | {one.driver_peak_mib:.0f} | "
          f"{two.driver_peak_mib:.0f} | – |")  # fmt: skip
    overhead = two.overhead_per_item
    print(f"| CPU of driver + Ray (not workers) per item, steady | {one.overhead_per_item:.3f} s "
          f"| {overhead:.3f} s | – |\n")  # fmt: skip

    per_machine = two.steady_heads_per_minute
    driver_cap = 60.0 / max(overhead, 1e-3)
    print("| machines (2 cores, 2 workers each) | heads/min | 10,000 heads | shared storage |")
    print("|---|---|---|---|")
    for machines in (1, 4, 16, 64):
        rate = min(machines * per_machine, driver_cap)
        storage = rate * bytes_per_head / 60.0 / 2**20
        hours = 10_000 / rate / 60.0 + two.first_row / 3600.0
        print(f"| {machines} | {rate:.0f} | {hours:.1f} h | {storage:.1f} MiB/s |")
    print(
        f"\nassumptions: each machine like this one runs 2 workers at the measured steady "
        f"{per_machine:.1f} heads/min; items are independent, so the workers add up until "
        f"the driver's overhead ({overhead * 1000:.0f} ms of CPU an item here, a cap of "
        f"{driver_cap:.0f} heads/min) is reached; every worker pays the start "
        f"({two.first_row:.0f} s here) once; files average {bytes_per_head / 2**20:.1f} MiB "
        f"a head (GLB + sidecar + preview) written to shared storage."
    )


if __name__ == "__main__":
    main()
