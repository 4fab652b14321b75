"""``headsculpt train-back-token``: learn the ``<back-view>`` token from backs of heads."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from headsculpt.cli.common import progress_bar


def add_parser(commands) -> None:
    train = commands.add_parser(
        "train-back-token",
        help="learn the <back-view> textual-inversion token from images of backs of heads",
    )
    train.add_argument("--images", required=True, help="a folder of back-of-head images")
    train.add_argument(
        "--base-model",
        default=None,
        help="Stable Diffusion: diffusers folder, .safetensors file or hub id "
        "(default $HEADSCULPT_BASE_MODEL)",
    )
    train.add_argument(
        "--base-model-config", default=None, help="for a .safetensors base model: its config folder"
    )
    train.add_argument("--out", default="back_view.safetensors", help="embedding file to write")
    train.add_argument("--steps", type=int, default=1000)
    train.add_argument("--learning-rate", type=float, default=5e-4)
    train.add_argument("--batch-size", type=int, default=1)
    train.add_argument("--resolution", type=int, default=512)
    train.add_argument("--token", default="<back-view>")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--allow-download", action="store_true", help="fetch a hub id's weights (needs network)"
    )
    train.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from PIL import Image

    from headsculpt.guidance.back_view_token import (
        TokenTraining,
        image_files,
        save_embedding,
        train_back_view_token,
    )
    from headsculpt.guidance.models import DiffusionModels, ModelSources

    out = Path(args.out)
    if out.suffix != ".safetensors":
        raise ValueError(f"--out must name a .safetensors file, got {args.out!r}")
    settings = TokenTraining(
        steps=args.steps,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        resolution=args.resolution,
        token=args.token,
        seed=args.seed,
    )
    images = [Image.open(path) for path in image_files(Path(args.images))]
    sources = ModelSources(
        base_model=args.base_model or os.environ.get("HEADSCULPT_BASE_MODEL", ""),
        base_model_config=args.base_model_config or "",
        allow_download=args.allow_download,
    )
    print(f"learning {settings.token} from {len(images)} images", file=sys.stderr)
    models = DiffusionModels.from_sources(sources, need=())
    vector, losses = train_back_view_token(models, images, settings, progress_bar())
    save_embedding(out, settings.token, vector)
    first, last = sum(losses[:10]) / len(losses[:10]), sum(losses[-10:]) / len(losses[-10:])
    print(f"wrote {out} (mean loss {first:.4f} over the first steps, {last:.4f} over the last)")
    return 0
