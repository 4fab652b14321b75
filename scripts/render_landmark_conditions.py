"""Draw the landmark ControlNet conditions of a parametric head beside its renders.

Top row: the render with its condition drawn over it; bottom row: the condition
image itself, as the ControlNet gets it. Views: front, three-quarter, profile,
back (elevation 10°). Used for docs/images/landmark_conditions.png.
Run: .venv/bin/python scripts/render_landmark_conditions.py [--text T] [--out PNG]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from PIL import Image

from headsculpt.pipelines.parametric import ParametricPipeline
from headsculpt.prior.landmarks import load_landmark_embedding
from headsculpt.render.camera import FACE_FORWARD
from headsculpt.render.camera_sampler import CameraSampler
from headsculpt.render.landmark_condition import LandmarkPainter, drawing_scope, off_front
from headsculpt.render.preview import render_view

AZIMUTHS = (0.0, 35.0, 75.0, 180.0)
SIZE = 512


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--text", default="a weathered fisherman in his seventies with a bulbous nose"
    )
    parser.add_argument("--out", default="landmark_conditions.png")
    args = parser.parse_args()
    result = ParametricPipeline.from_defaults()(args.text)
    mesh = result.mesh
    vertices = torch.from_numpy(mesh.vertices).float()
    landmarks = load_landmark_embedding().positions(vertices).float()
    painter = LandmarkPainter(load_landmark_embedding().connections, SIZE)
    sampler = CameraSampler.around(mesh.vertices)
    columns = []
    for azimuth in AZIMUTHS:
        view = sampler.view(azimuth, 10.0, 30.0, 1.0)
        render = render_view(mesh, view.camera, SIZE)
        facing = off_front(view.camera, landmarks.mean(0).tolist(), FACE_FORWARD)
        scope = drawing_scope(facing, view.label == "back")
        drawing = painter([view.camera], landmarks, [scope])[0].permute(1, 2, 0).numpy()
        condition = (drawing * 255.0 + 0.5).astype(np.uint8)
        overlay = np.where(condition.sum(2, keepdims=True) > 0, condition, render)
        columns.append(np.concatenate([overlay, condition], axis=0))
    sheet = Image.fromarray(np.concatenate(columns, axis=1))
    sheet.resize((sheet.width // 2, sheet.height // 2)).save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
