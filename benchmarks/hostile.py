"""A mesh can't take the server down (issue 33): time and peak memory of every hostile file,
uploads at once, and a draft head beside a rig — measured with the OS's own accounting.

1. The hostile corpus (tests/hostile_meshes.py) through ``headsculpt rig``, each in a
   fresh process: exit code, seconds, the process's peak resident memory (``wait4``'s
   ru_maxrss), whether it names the expected budget or damage, whether a traceback shows.
2. The same files through one server (`headsculpt serve`): upload, then (when the upload is
   kept) a rig job; seconds from upload to the final state, the answer, and the peak
   resident memory of the server's whole process tree (the server, its rig worker and the
   worker's MediaPipe helper, VmRSS summed every 20 ms), next to the tree before the case.
3. A rig's cancel while it reads (163,842 vertices) and while it looks for the face.
4. Three 200 MiB uploads at once: the server process's resident memory before and at its
   peak (sampled every 10 ms).
5. A draft parametric head alone, and submitted while a rig runs (median of 3 each).

Run: .venv/bin/python benchmarks/hostile.py [--skip-cli] [--skip-uploads] [--skip-lanes]
Prints markdown tables (docs/benchmarks.md, "Hostile meshes").
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hostile_meshes import BESIDE_CASES, CASES  # noqa: E402

from backend_server import BackendServer, wait_for_job  # noqa: E402

MB = 2**20


def rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (Linux /proc)."""
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                stack += [int(c) for c in (task / "children").read_text().split()]
    return found


class Sampler:
    """The peak of a process tree's summed resident memory while it runs."""

    def __init__(self, pid: int, every: float = 0.02, whole_tree: bool = True) -> None:
        self.pid, self.every, self.whole_tree = pid, every, whole_tree
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.is_set():
            pids = tree(self.pid) if self.whole_tree else [self.pid]
            self.peak = max(self.peak, sum(rss(p) for p in pids))
            time.sleep(self.every)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


def cli_rows(folder: Path) -> list[str]:
    rows = [
        "| case | what | exit | seconds | peak MB (process) | names it | traceback |",
        "|---|---|---|---|---|---|---|",
    ]
    for case in CASES + BESIDE_CASES:
        path = case.make(folder / "cli" / case.name)
        started = time.monotonic()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "headsculpt",
                "rig",
                str(path),
                "--out",
                str(folder / "cli" / "out.glb"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        error = process.stderr.read().decode("utf-8", "replace")
        process.returncode = os.waitstatus_to_exitcode(status)
        rows.append(
            f"| {case.name} | {case.what} | {process.returncode} | {seconds:.1f} | "
            f"{usage.ru_maxrss / 1024:.0f} | {'yes' if case.expected in error else 'NO'} | "
            f"{'YES' if 'Traceback' in error else 'no'} |"
        )
        print(rows[-1], flush=True)
    return rows


def warm_rig(server: BackendServer) -> None:
    """Start the rig's worker (an upload asks for it) and wait until it is ready, so the
    rows below measure the cases, not the worker's ~10 s start."""
    with server.client() as client:
        client.post("/v1/uploads", params={"name": "warm.obj"}, content=b"v 0 0 0\nf 1 1 1\n")
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if client.get("/v1/health").json()["pipelines"]["rig"]["reason"] == "":
                return
            time.sleep(0.5)


def server_rows(server: BackendServer, folder: Path) -> list[str]:
    rows = [
        "| case | answer | seconds | tree MB before → peak | names it |",
        "|---|---|---|---|---|",
    ]
    pid = server.process.pid
    with server.client() as client:
        for case in CASES:
            path = case.make(folder / "server" / case.name)
            before = sum(rss(p) for p in tree(pid))
            started = time.monotonic()
            with Sampler(pid) as sampler:
                upload = client.post(
                    "/v1/uploads",
                    params={"name": path.name},
                    content=path.read_bytes(),
                    timeout=120,
                )
                if upload.status_code != 201:
                    answer, message = f"{upload.status_code} at upload", upload.json()["error"]
                else:
                    job = client.post(
                        "/v1/jobs", json={"kind": "rig", "parent_id": upload.json()["id"]}
                    )
                    done = wait_for_job(client, job.json()["id"], timeout=600)
                    answer, message = f"job {done['state']}", done["message"]
            seconds = time.monotonic() - started
            rows.append(
                f"| {case.name} | {answer} | {seconds:.2f} | {before / MB:.0f} → "
                f"{sampler.peak / MB:.0f} | {'yes' if case.expected in message else 'NO'} |"
            )
            print(rows[-1], flush=True)
    return rows


def cancel_rows(server: BackendServer, folder: Path) -> list[str]:
    import trimesh

    rows = ["| stage | vertices | cancel → cancelled (s) |", "|---|---|---|"]
    with server.client() as client:
        for subdivisions, stage in ((7, "read"), (4, "find face")):
            sphere = trimesh.creation.icosphere(subdivisions=subdivisions, radius=0.1)
            path = folder / f"ball{subdivisions}.obj"
            sphere.export(path)
            upload = client.post(
                "/v1/uploads", params={"name": path.name}, content=path.read_bytes()
            ).json()
            job = client.post("/v1/jobs", json={"kind": "rig", "parent_id": upload["id"]})
            job_id = job.json()["id"]
            wait_for_job(
                client, job_id, until=lambda s, stage=stage: s["stage"] == stage, timeout=300
            )
            started = time.monotonic()
            client.post(f"/v1/jobs/{job_id}/cancel")
            done = wait_for_job(client, job_id, timeout=60)
            rows.append(
                f"| {stage} | {len(sphere.vertices):,} | "
                f"{time.monotonic() - started:.2f} ({done['state']}) |"
            )
            print(rows[-1], flush=True)
    return rows


def upload_rows(server: BackendServer) -> list[str]:
    size, piece = 200 * MB, MB
    pid = server.process.pid
    _settle(server)
    before = rss(pid)

    def one(index: int, answers: list) -> None:
        def body():
            head = b"ply\nformat ascii 1.0\n"
            yield head + b"0" * (piece - len(head))
            for _ in range(size // piece - 1):
                yield b"0" * piece

        with server.client() as client:
            answers.append(
                client.post(
                    "/v1/uploads", params={"name": f"big{index}.ply"}, content=body(), timeout=600
                ).status_code
            )

    answers: list[int] = []
    started = time.monotonic()
    with Sampler(pid, every=0.01, whole_tree=False) as sampler:
        threads = [threading.Thread(target=one, args=(k, answers)) for k in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    seconds = time.monotonic() - started
    row = (
        f"| three 200 MiB uploads at once | {sorted(answers)} | {seconds:.1f} s | "
        f"{before / MB:.0f} → {sampler.peak / MB:.0f} MB (+{(sampler.peak - before) / MB:.0f}) |"
    )
    print(row, flush=True)
    return ["| what | answers | seconds | server RSS before → peak |", "|---|---|---|---|", row]


def _settle(server: BackendServer) -> None:
    with server.client() as client:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            pipelines = client.get("/v1/health").json()["pipelines"].values()
            if not any("loading" in p["reason"] for p in pipelines):
                return
            time.sleep(0.5)


def lane_rows(server: BackendServer, folder: Path) -> list[str]:
    import trimesh

    from headsculpt.prior.head_model import load_head_model
    from rig_cases import project_head, z_up_centimetres_yawed

    head = project_head(load_head_model(), {})
    scan = folder / "scan.obj"
    trimesh.Trimesh(z_up_centimetres_yawed().apply(head.vertices), head.triangles).export(scan)
    _settle(server)

    def draft(client) -> float:
        started = time.monotonic()
        job = client.post("/v1/jobs", json={"prompt": "an old man", "quality": "draft"}).json()
        done = wait_for_job(client, job["id"], timeout=300)
        assert done["state"] == "succeeded", done
        return time.monotonic() - started

    with server.client() as client:
        draft(client)  # warm
        alone = [draft(client) for _ in range(3)]
        upload = client.post(
            "/v1/uploads", params={"name": "scan.obj"}, content=scan.read_bytes()
        ).json()
        job = client.post(
            "/v1/jobs", json={"kind": "rig", "parent_id": upload["id"], "quality": "draft"}
        ).json()
        started = time.monotonic()
        wait_for_job(client, job["id"], until=lambda s: s["stage"] == "find face", timeout=300)
        beside = [draft(client) for _ in range(3)]
        still = client.get(f"/v1/jobs/{job['id']}").json()["state"]
        rig = wait_for_job(client, job["id"], timeout=900)
        rig_seconds = time.monotonic() - started
    rows = [
        "| draft parametric head | median s (n=3) | runs |",
        "|---|---|---|",
        f"| alone | {statistics.median(alone):.2f} | {', '.join(f'{s:.2f}' for s in alone)} |",
        f"| submitted during a rig ({still} while they ran) | "
        f"{statistics.median(beside):.2f} | {', '.join(f'{s:.2f}' for s in beside)} |",
        f"| the rig itself (a {len(head.vertices):,}-vertex project head) | "
        f"{rig_seconds:.1f} | {rig['state']} |",
    ]
    for row in rows[2:]:
        print(row, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--skip-uploads", action="store_true")
    parser.add_argument("--skip-lanes", action="store_true")
    parser.add_argument("--cancels", type=int, default=1, help="times to cancel at each stage")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="hostile-"))
    tables = []
    if not args.skip_cli:
        tables.append(cli_rows(folder))
    with BackendServer(folder / "data") as server:
        _settle(server)
        warm_rig(server)
        tables.append(server_rows(server, folder))
        for _ in range(args.cancels):
            tables.append(cancel_rows(server, folder))
        if not args.skip_lanes:
            tables.append(lane_rows(server, folder))
        pids = tree(server.process.pid)
        tables.append(
            ["| process | VmHWM MB (lifetime peak) |", "|---|---|"]
            + [
                f"| {Path(f'/proc/{p}/cmdline').read_bytes()[:60]!r} | {hwm(p) / MB:.0f} |"
                for p in pids
            ]
        )
    if not args.skip_uploads:
        with BackendServer(folder / "uploads") as server:
            tables.append(upload_rows(server))
    print()
    for table in tables:
        print("\n".join(table), end="\n\n")


if __name__ == "__main__":
    main()
