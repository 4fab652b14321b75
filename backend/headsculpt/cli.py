"""The ``headsculpt`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from headsculpt import __version__
from headsculpt.files import png_bytes, write_atomically


def _progress_bar(stream=sys.stderr):
    started = time.perf_counter()

    def report(stage: str, fraction: float, preview=None) -> None:
        filled = int(round(fraction * 24))
        elapsed = time.perf_counter() - started
        stream.write(
            f"\r[{'#' * filled}{'.' * (24 - filled)}] {fraction:4.0%} {stage:<8} {elapsed:5.1f}s"
        )
        if fraction >= 1.0:
            stream.write("\n")
        stream.flush()

    return report


def _generate(args: argparse.Namespace) -> int:
    from headsculpt.pipelines.parametric import (
        MAX_VARIANTS,
        ParametricConfig,
        ParametricPipeline,
        default_seed,
        variant_stem,
    )

    out = Path(args.out)
    if out.suffix.lower() != ".glb":
        raise ValueError(f"--out must name a .glb file, got {args.out!r}")
    if not 1 <= args.variants <= MAX_VARIANTS:
        raise ValueError(f"--variants must be between 1 and {MAX_VARIANTS}, got {args.variants}")
    config = ParametricConfig(texture_size=args.texture_size)
    print(
        "loading the head model (the first run on a machine builds it: about a minute)",
        file=sys.stderr,
    )
    pipeline = ParametricPipeline.from_defaults()
    seed = default_seed(args.text) if args.seed is None else args.seed
    progress = _progress_bar()
    progress("parse", 0.0)
    code = pipeline.parse(args.text)
    written = []
    heads = pipeline.each_variant(code, args.text, args.variants, seed, config, progress)
    for k, (result, _) in enumerate(heads):  # each head is saved as soon as it is made
        glb = out.with_name(variant_stem(out.stem, k, args.variants) + out.suffix)
        preview = None
        if args.preview:
            image = Path(args.preview)
            preview = image.with_name(
                variant_stem(image.stem, k, args.variants) + (image.suffix or ".png")
            )
        written += _write_result(result, glb, preview)
    if code.ignored:
        print(f"words not used: {', '.join(code.ignored)}", file=sys.stderr)
    if code.abstract:
        print(f"not shaped (abstract): {'; '.join(code.abstract)}", file=sys.stderr)
    for path in written:
        print(path)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from headsculpt.api.serve import serve

    serve(host=args.host, port=args.port, data_dir=args.data, token_file=args.token_file)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from headsculpt.eval.judge import JudgeConfig, judge_head
    from headsculpt.eval.mediapipe_runner import MediaPipeFaces, MediaPipeUnavailableError
    from headsculpt.export.glb_reader import read_head_glb

    config = JudgeConfig(views=args.views, elevation=args.elevation, size=args.size)
    glb = Path(args.glb)
    sheet_path = Path(args.sheet) if args.sheet else glb.with_name(glb.stem + "_judge.png")
    if sheet_path.suffix.lower() != ".png":
        raise ValueError(f"--sheet must name a .png file, got {str(sheet_path)!r}")
    head = read_head_glb(glb)
    try:
        faces = MediaPipeFaces(args.mediapipe_python)
        report, sheet = judge_head(head, faces, config, _progress_bar())
    except MediaPipeUnavailableError as error:
        print(f"headsculpt: error: {error}", file=sys.stderr)
        return 3
    write_atomically(sheet_path, png_bytes(sheet))
    if args.json:
        print(json.dumps({"glb": str(glb), "contact_sheet": str(sheet_path), **report.to_dict()}))
    else:
        print(report.summary())
        print(f"contact sheet: {sheet_path}")
    return 0


def _train_back_token(args: argparse.Namespace) -> int:
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
    vector, losses = train_back_view_token(models, images, settings, _progress_bar())
    save_embedding(out, settings.token, vector)
    first, last = sum(losses[:10]) / len(losses[:10]), sum(losses[-10:]) / len(losses[-10:])
    print(f"wrote {out} (mean loss {first:.4f} over the first steps, {last:.4f} over the last)")
    return 0


def _write_result(result, glb: Path, preview: Path | None) -> list[Path]:
    """GLB, JSON sidecar beside it and (optionally) the preview PNG."""
    glb.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(glb, result.glb)
    sidecar = glb.with_suffix(".json")
    write_atomically(sidecar, result.sidecar_json())
    written = [glb, sidecar]
    if preview is not None:
        preview.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(preview, png_bytes(result.preview()))
        written.append(preview)
    return written


def _parse(args: argparse.Namespace) -> int:
    from headsculpt.text.parser import DescriptionParser

    if args.text is None:
        raise ValueError('parse needs a description, or "-" to read one per line from stdin')
    parser = DescriptionParser.from_pretrained()
    if args.text != "-":
        _print_code(parser(args.text), args.json)
        return 0
    failures = 0
    for line in sys.stdin:  # one description per line, one JSON object per line
        text = line.rstrip("\n")
        try:
            code = parser(text)
        except ValueError as error:  # a bad line does not stop the batch
            failures += 1
            print(json.dumps({"error": str(error)}), flush=True)
            continue
        _print_code(code, args.json)
    return 2 if failures else 0


def _print_code(code, as_json: bool) -> None:
    if as_json:
        print(json.dumps(code.to_json(), ensure_ascii=False), flush=True)
        return
    for name, value in sorted(code.attributes.items()):
        print(f"{name:<24} {value}")
    for phrase in code.phrases:
        note = f"  ({phrase.note})" if phrase.note else ""
        print(f"  '{phrase.text}' -> {phrase.sets}{note}")
    if code.abstract:
        print(f"abstract: {'; '.join(code.abstract)}")
    if code.ignored:
        print(f"ignored: {', '.join(code.ignored)}")
    print()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="headsculpt", description=__doc__)
    parser.add_argument("--version", action="version", version=f"headsculpt {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="make a rigged, textured head from text")
    generate.add_argument("text", help='a description, e.g. "an old fisherman with a big nose"')
    generate.add_argument(
        "--out",
        default="head.glb",
        help="GLB to write (default head.glb); "
        "a JSON sidecar with the parameters is written beside it",
    )
    generate.add_argument(
        "--seed", type=int, default=None, help="variation seed (default: derived from the text)"
    )
    generate.add_argument("--texture-size", type=int, default=1024, choices=(1024, 2048))
    generate.add_argument("--preview", default=None, help="also write a preview PNG here")
    generate.add_argument(
        "--variants",
        type=int,
        default=1,
        help="make N different heads that all match the text "
        "(head_1.glb … head_N.glb; seeds seed … seed+N-1)",
    )
    generate.set_defaults(run=_generate)

    parse = commands.add_parser("parse", help="show the descriptive code read from a text")
    parse.add_argument("text", nargs="?", help='a description, or "-" for one per line on stdin')
    parse.add_argument("--json", action="store_true", help="print the code as JSON")
    parse.set_defaults(run=_parse)

    evaluate = commands.add_parser(
        "evaluate", help="judge a head GLB with MediaPipe (face detection, landmarks, Janus)"
    )
    evaluate.add_argument("glb", help="the head to judge (.glb)")
    evaluate.add_argument(
        "--views", type=int, default=16, help="views around the head (default 16, 4–72)"
    )
    evaluate.add_argument(
        "--elevation", type=float, default=10.0, help="camera elevation in degrees (default 10)"
    )
    evaluate.add_argument("--size", type=int, default=512, help="render size (default 512)")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.add_argument(
        "--sheet", default=None, help="contact sheet PNG (default: <glb stem>_judge.png beside it)"
    )
    evaluate.add_argument(
        "--mediapipe-python",
        default=None,
        help="a Python with mediapipe==0.10.21 (default: $HEADSCULPT_MEDIAPIPE_PYTHON, "
        "this Python, or the checkout's .venv-mediapipe)",
    )
    evaluate.set_defaults(run=_evaluate)

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
    train.set_defaults(run=_train_back_token)

    from headsculpt.api.serve import DEFAULT_PORT

    serve = commands.add_parser("serve", help="run the HTTP job server (for Blender and scripts)")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; others need --token-file)",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}; 0 picks a free one and prints it)",
    )
    serve.add_argument(
        "--data", type=Path, default=None, help="job folder (default $XDG_DATA_HOME/headsculpt)"
    )
    serve.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help="bearer token file; created with a new token if missing",
    )
    serve.set_defaults(run=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ValueError as error:  # bad input (missing weights too): say what is wrong
        print(f"headsculpt: error: {error}", file=sys.stderr)
        return 2
