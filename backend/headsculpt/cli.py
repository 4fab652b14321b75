"""The ``headsculpt`` command."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from headsculpt import __version__


def _progress_bar(stream=sys.stderr):
    started = time.perf_counter()

    def report(stage: str, fraction: float) -> None:
        filled = int(round(fraction * 24))
        elapsed = time.perf_counter() - started
        stream.write(f"\r[{'#' * filled}{'.' * (24 - filled)}] {fraction:4.0%} {stage:<8} "
                     f"{elapsed:5.1f}s")  # fmt: skip
        if fraction >= 1.0:
            stream.write("\n")
        stream.flush()

    return report


def _generate(args: argparse.Namespace) -> int:
    from headsculpt.pipelines.parametric import ParametricConfig, ParametricPipeline

    out = Path(args.out)
    if out.suffix.lower() != ".glb":
        raise ValueError(f"--out must name a .glb file, got {args.out!r}")
    config = ParametricConfig(texture_size=args.texture_size)
    print("loading the head model (the first run on a machine builds it: about a minute)",
          file=sys.stderr)  # fmt: skip
    pipeline = ParametricPipeline.from_defaults()
    result = pipeline(args.text, seed=args.seed, config=config, progress=_progress_bar())

    out.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(out, result.glb)
    sidecar = out.with_suffix(".json")
    _write_atomically(sidecar, json.dumps(result.sidecar(), indent=2).encode("utf-8"))
    written = [out, sidecar]
    if args.preview:
        preview = Path(args.preview)
        preview.parent.mkdir(parents=True, exist_ok=True)
        result.preview().save(preview)
        written.append(preview)
    code = result.code
    if code.ignored:
        print(f"words not used: {', '.join(code.ignored)}", file=sys.stderr)
    for path in written:
        print(path)
    return 0


def _write_atomically(path: Path, data: bytes) -> None:
    """Write next to the target, then rename: a crash never leaves half a file."""
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_bytes(data)
    temporary.replace(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="headsculpt", description=__doc__)
    parser.add_argument("--version", action="version", version=f"headsculpt {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="make a rigged, textured head from text")
    generate.add_argument("text", help='a description, e.g. "an old fisherman with a big nose"')
    generate.add_argument("--out", default="head.glb", help="GLB to write (default head.glb); "
                          "a JSON sidecar with the parameters is written beside it")  # fmt: skip
    generate.add_argument("--seed", type=int, default=None,
                          help="variation seed (default: derived from the text)")  # fmt: skip
    generate.add_argument("--texture-size", type=int, default=1024, choices=(1024, 2048))
    generate.add_argument("--preview", default=None, help="also write a preview PNG here")
    generate.set_defaults(run=_generate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ValueError as error:  # bad input: say what is wrong, no traceback
        print(f"headsculpt: error: {error}", file=sys.stderr)
        return 2
