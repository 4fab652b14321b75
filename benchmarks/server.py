"""Job server latency and throughput for parametric jobs, over HTTP on loopback.

Starts `headsculpt serve` in a fresh data folder, warms it with one job, then
measures submit → succeeded latency for jobs sent one at a time, the throughput of
a burst submitted at once, cancel latency, 1,000 sequential requests on one
keep-alive connection (what the add-on's polling pays), and how soon SIGTERM in a
burst ends the process. Usage:

    .venv/bin/python benchmarks/server.py [--jobs 10] [--burst 30] [--quality draft]
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import random
import signal
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from backend_server import BackendServer, wait_for_job  # noqa: E402


def run_job(client, prompt: str, quality: str) -> float:
    started = time.perf_counter()
    job = client.post("/v1/jobs", json={"prompt": prompt, "quality": quality}).json()
    status = wait_for_job(client, job["id"])
    assert status["state"] == "succeeded", status
    return time.perf_counter() - started


def cancel_latency(client, k: int) -> float:
    """Cancel a long job (16 heads, 2048², high-quality previews) at a random moment."""
    job = client.post(
        "/v1/jobs",
        json={
            "prompt": f"a {30 + k}-year-old man",
            "variants": 16,
            "texture_size": 2048,
            "quality": "high",
        },
    ).json()
    wait_for_job(client, job["id"], until=lambda s: s["state"] == "running" and s["progress"] > 0)
    time.sleep(random.Random(k).uniform(0.0, 3.0))
    started = time.perf_counter()
    client.post(f"/v1/jobs/{job['id']}/cancel")
    assert wait_for_job(client, job["id"])["state"] == "cancelled"
    return time.perf_counter() - started


def keep_alive_seconds(url: str, count: int) -> float:
    """``count`` sequential GET /v1/health on one keep-alive connection."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    started = time.perf_counter()
    for _ in range(count):
        connection.request("GET", "/v1/health")
        response = connection.getresponse()
        response.read()
        assert response.status == 200 and not response.will_close
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def shutdown_seconds(data: Path, quality: str) -> float:
    """SIGTERM while a long job runs and five wait: seconds until the process has exited."""
    with BackendServer(data) as server, server.client() as client:
        long = {"prompt": "an old man", "variants": 16, "texture_size": 2048, "quality": quality}
        job = client.post("/v1/jobs", json=long).json()["id"]
        for _ in range(5):
            client.post("/v1/jobs", json={"prompt": "a man", "quality": quality})
        wait_for_job(client, job, until=lambda s: s["state"] == "running" and s["progress"] > 0)
        started = time.perf_counter()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=60)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--burst", type=int, default=30)
    parser.add_argument("--cancels", type=int, default=8)
    parser.add_argument("--keep-alive", type=int, default=1000)
    parser.add_argument("--shutdowns", type=int, default=3)
    parser.add_argument("--quality", default="standard", choices=("draft", "standard", "high"))
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with (
        tempfile.TemporaryDirectory() as data,
        BackendServer(Path(data)) as server,
        server.client() as client,
    ):
        warm = run_job(client, "a warm-up head", args.quality)
        latencies = [
            run_job(client, f"a {20 + k}-year-old man with a long nose", args.quality)
            for k in range(args.jobs)
        ]

        def one(k: int) -> float:
            with server.client() as own:
                return run_job(own, f"a {20 + k}-year-old woman with full lips", args.quality)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.burst) as pool:
            burst = list(pool.map(one, range(args.burst)))
        elapsed = time.perf_counter() - started
        cancels = [cancel_latency(client, k) for k in range(args.cancels)]
        keep_alive = keep_alive_seconds(server.url, args.keep_alive)
    shutdowns = []
    for _ in range(args.shutdowns):
        with tempfile.TemporaryDirectory() as data:
            shutdowns.append(shutdown_seconds(Path(data), args.quality))
    latencies.sort()
    print(f"| measure (quality {args.quality}, 1024² texture, preview) | value |")
    print("|---|---|")
    print(f"| first job right after start (waits for model load + texture bake) | {warm:.2f} s |")
    print(
        f"| latency, one at a time: median (n={args.jobs}) | {statistics.median(latencies):.2f} s |"
    )
    print(f"| latency, one at a time: slowest | {latencies[-1]:.2f} s |")
    print(f"| burst of {args.burst} submitted at once: all done after | {elapsed:.1f} s |")
    print(f"| burst throughput | {args.burst / elapsed * 60:.0f} jobs/min |")
    print(f"| burst: slowest submit → succeeded | {max(burst):.1f} s |")
    print(
        f"| cancel → cancelled, running 2048²/high job: median (n={len(cancels)}) | "
        f"{statistics.median(cancels):.2f} s |"
    )
    print(f"| cancel → cancelled: slowest | {max(cancels):.2f} s |")
    print(
        f"| {args.keep_alive} sequential requests on one keep-alive connection | "
        f"{keep_alive:.2f} s ({keep_alive / args.keep_alive * 1000:.1f} ms each) |"
    )
    print(
        f"| SIGTERM during a burst → process exited: slowest of {len(shutdowns)} | "
        f"{max(shutdowns):.2f} s |"
    )


if __name__ == "__main__":
    main()
