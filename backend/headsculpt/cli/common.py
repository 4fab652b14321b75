"""What every command shares: the progress bar and turning errors into messages."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from headsculpt.limits import MODEL_SLOTS
from headsculpt.pipelines.contract import ParentFiles, make_request
from headsculpt.pipelines.folder_outputs import FolderOutputs
from headsculpt.pipelines.registry import JobKind
from headsculpt.progress import ProgressCallback


def bar(fraction: float) -> str:
    """The bar every command draws: 24 cells and the percentage (``[######......]  25%``)."""
    filled = int(round(fraction * 24))
    return f"[{'#' * filled}{'.' * (24 - filled)}] {fraction:4.0%}"


def progress_bar(stream=sys.stderr) -> ProgressCallback:
    """A one-line bar on stderr (stage, percentage, seconds so far)."""
    started = time.perf_counter()

    def report(stage: str, fraction: float, preview=None) -> None:
        elapsed = time.perf_counter() - started
        stream.write(f"\r{bar(fraction)} {stage:<8} {elapsed:5.1f}s")
        if fraction >= 1.0:
            stream.write("\n")
        stream.flush()

    return report


def option_name(field: str) -> str:
    """The command-line option for a request field or model slot: seed → --seed."""
    return "--" + field.replace("_", "-")


def error_message(error: ValueError) -> str:
    """The message for a bad input, with where to fix it on the command line.

    Lower layers name request fields and model slots, not options: this is where
    the CLI's own names are added.
    """
    message = str(error)
    slot = getattr(error, "slot", None)  # guidance's MissingWeightsError
    if slot:
        return f"{message} (set it with {option_name(slot)})"
    field = getattr(error, "field", None)  # a RequestError from the limits or a job kind
    if field and field != "prompt" and message.startswith(f"{field}:"):
        return option_name(field) + message[len(field) :]
    return message


def check_writable(path: Path, option: str) -> None:
    """Refuse, before any work, a file option that names a folder or a place that cannot
    be written (ValueError naming the option)."""
    if path.is_dir():
        raise ValueError(f"{option} {str(path)!r} is a folder; give a file name")
    folder = path.parent
    while not folder.exists():  # the nearest folder that exists will hold the new ones
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"{option} {str(path)!r}: {str(folder)!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"{option} {str(path)!r} cannot be written (no permission)")


def checked_outputs(out: str, preview: str | None) -> Path:
    """``--out`` (a .glb) and ``--preview``, refused before any work when they cannot be
    written; the GLB's path."""
    path = Path(out)
    if path.suffix.lower() != ".glb":
        raise ValueError(f"--out must name a .glb file, got {out!r}")
    check_writable(path, "--out")
    if preview is not None:
        check_writable(Path(preview), "--preview")
    return path


def run_job(
    kind: JobKind,
    values: dict,
    out: Path,
    preview: str | None,
    loading: str,
    parent: ParentFiles | None = None,
) -> FolderOutputs:
    """Load ``kind``'s pipeline and run one job whose files land beside ``out``."""
    values = {**values, "preview": preview is not None}
    pipeline_class = kind.load_pipeline_class()
    print(loading, file=sys.stderr)
    pipeline = pipeline_class.from_defaults()
    with tempfile.TemporaryDirectory(prefix="headsculpt-") as scratch:
        outputs = FolderOutputs(out, Path(scratch), preview=preview, parent=parent)
        try:
            pipeline.run(make_request(pipeline_class.Request, values), outputs, progress_bar())
        except (ValueError, OSError):
            raise  # the input, or the disk: main() says what is wrong
        except MemoryError:
            raise CommandError(
                "this machine ran out of memory; make the input smaller (decimate the mesh, "
                "shrink its textures) and try again"
            ) from None
        except Exception as error:  # a bug: a message and what to do, not a traceback
            raise CommandError(internal_error_message(error)) from None
    return outputs


class CommandError(ValueError):
    """What a command could not do, said for a person (main() prints it, exit 2)."""


def internal_error_message(error: BaseException) -> str:
    """An unexpected error as one line: what broke, and what to do (report it)."""
    detail = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
    where = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
    return (
        f"an internal error stopped the command ({where}); run it again, and if it happens "
        "again report it with the input that caused it"
    )


def add_model_options(group, target_use: str) -> None:
    """--guidance, --reference and one option per model slot (sculpt and its edits)."""
    group.add_argument(
        "--guidance",
        default="sd",
        choices=("sd", "reference"),
        help="sd: Stable Diffusion with the landmark ControlNet (needs --base-model and "
        f"--landmark-controlnet); reference: {target_use} --reference by score distillation "
        "(no weights; the reconstruction proof)",
    )
    group.add_argument("--reference", default=None, help="the target GLB for --guidance reference")
    group.add_argument(
        "--device",
        default=os.environ.get("HEADSCULPT_DEVICE", "auto"),
        help="where the sculpt computes: auto (the first CUDA device when there is one, else "
        "the CPU), cpu, cuda, cuda:N or mps (or HEADSCULPT_DEVICE)",
    )
    for slot in MODEL_SLOTS:
        group.add_argument(
            option_name(slot),
            dest=slot,
            default=os.environ.get(f"HEADSCULPT_{slot.upper()}", ""),
            help=f"a local folder, .safetensors file or hub id (or HEADSCULPT_{slot.upper()})",
        )


def model_values(args: argparse.Namespace, kind: JobKind) -> dict:
    """The request values of the options :func:`add_model_options` made, checked."""
    if not kind.model_slots:
        if args.guidance != "sd" or args.reference:
            raise ValueError(f"--guidance and --reference are for sculpted heads, not {kind.name}")
        if args.device not in ("auto", os.environ.get("HEADSCULPT_DEVICE", "auto")):
            raise ValueError(f"--device is for sculpted heads, not {kind.name}")
        return {}
    values = {"models": {slot: getattr(args, slot) for slot in MODEL_SLOTS},
              "guidance": args.guidance, "device": args.device}  # fmt: skip
    if args.guidance == "reference":
        if not args.reference:
            raise ValueError("--guidance reference needs --reference TARGET.glb")
        if not Path(args.reference).is_file():
            raise ValueError(f"--reference {args.reference!r}: no such file")
        values["reference"] = args.reference
    return values
