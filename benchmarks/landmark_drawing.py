"""How long the landmark ControlNet's drawing of one view takes (target: ≤ 5 ms at 512²
on one CPU thread), front, three-quarter and side-back views of a parametric head.

Run: .venv/bin/python benchmarks/landmark_drawing.py [--size 512] [--repeats 200]
     [--device cpu|cuda] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from headsculpt.prior.head_model import HeadParameters, load_head_model
    from headsculpt.prior.landmarks import load_landmark_embedding
    from headsculpt.render.camera import FACE_FORWARD
    from headsculpt.render.camera_sampler import CameraSampler
    from headsculpt.render.landmark_condition import LandmarkPainter, drawing_scope, off_front

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    embedding = load_landmark_embedding()
    mesh = load_head_model()(HeadParameters())
    landmarks = embedding.positions(torch.from_numpy(mesh.vertices).float()).float().to(device)
    centre = landmarks.mean(0).tolist()
    painter = LandmarkPainter(embedding.connections, args.size)
    sampler = CameraSampler.around(mesh.vertices)
    print(f"device: {device} ({args.threads} thread(s)); {args.size}² drawings, "
          f"median of {args.repeats}")  # fmt: skip
    print("| view | scope | ms |")
    print("|---|---|---|")
    for azimuth in (0.0, 45.0, 120.0):
        view = sampler.view(azimuth, 5.0, 30.0, 1.0)
        scope = drawing_scope(off_front(view.camera, centre, FACE_FORWARD), view.label == "back")
        times = []
        for _ in range(args.repeats + 5):
            sync()
            started = time.perf_counter()
            painter([view.camera], landmarks, [scope])
            sync()
            times.append(1000 * (time.perf_counter() - started))
        print(f"| {azimuth:.0f}° | {scope} | {statistics.median(times[5:]):.2f} |")


if __name__ == "__main__":
    main()
