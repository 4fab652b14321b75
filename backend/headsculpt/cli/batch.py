"""``headsculpt batch``: a prompts file made into heads on Ray workers (docs/batch.md).

Exit codes: 0 every item succeeded; 1 some failed (the manifest says why; the rest are
made); 2 the command itself was refused (no Ray, a bad option, no such file); 130
interrupted (Ctrl-C): running the same command again finishes what is left.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from headsculpt.batch.driver import BatchProgress, BatchSummary, run_batch
from headsculpt.batch.items import BatchOptions, batch_kind, batch_modes, check_options
from headsculpt.batch.scheduler import ClusterOptions, import_ray
from headsculpt.batch.sheet import write_sheet
from headsculpt.cli.common import add_model_options, bar, model_values
from headsculpt.limits import TEXTURE_SIZES
from headsculpt.pipelines.registry import all_presets

INTERRUPTED = 130  # as a shell reports a command ended by SIGINT
SHOWN_FAILURES = 10


def add_parser(commands) -> None:
    batch = commands.add_parser(
        "batch", help="make heads by the hundred from a file of prompts, on Ray workers"
    )
    batch.add_argument(
        "prompts",
        help="a text file (one description per line; with --mode rig one mesh path per "
        "line) or JSONL (one request per line: prompt, mode, seed, variants, quality, "
        "texture_size; rig rows: mesh, up, front)",
    )
    batch.add_argument(
        "--out", required=True, help="folder for the heads (a subfolder per line) and the manifest"
    )
    batch.add_argument("--mode", default="parametric", choices=batch_modes(),
                       help="the mode of rows that name none (default parametric)")  # fmt: skip
    batch.add_argument("--quality", "--preset", dest="quality", default=None,
                       choices=all_presets(), help="the mode's quality preset")  # fmt: skip
    batch.add_argument("--seed", type=int, default=None,
                       help="the seed of rows without one (default: each text's own)")  # fmt: skip
    batch.add_argument("--texture-size", type=int, default=TEXTURE_SIZES[0], choices=TEXTURE_SIZES)
    batch.add_argument("--variants", type=int, default=1, help="heads per row (default 1)")
    batch.add_argument(
        "--ray-address",
        default=None,
        help="join this Ray cluster (auto, or HOST:PORT); default: start Ray inside the "
        "command, on this machine",
    )
    batch.add_argument("--workers", type=int, default=None,
                       help="workers per mode (default: a CPU each; a GPU for sculpt)")  # fmt: skip
    batch.add_argument("--retries", type=int, default=2,
                       help="tries more for an item whose worker died (default 2)")  # fmt: skip
    batch.add_argument("--sheet", action="store_true",
                       help="also write contact_sheet.png of the previews into --out")  # fmt: skip
    add_model_options(batch.add_argument_group("sculpt mode"), "rebuild")
    batch.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import_ray()  # nothing works without it: say how to install it before anything else
    prompts, out = Path(args.prompts), Path(args.out)
    if not prompts.is_file():
        raise ValueError(f"prompts {str(prompts)!r}: no such file")
    _check_folder(out)
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    if args.retries < 0:
        raise ValueError(f"--retries must be 0 or more, got {args.retries}")
    options = BatchOptions(
        mode=args.mode,
        seed=args.seed,
        variants=args.variants,
        quality=args.quality,
        texture_size=args.texture_size,
        models=_models(args),
    )
    check_options(options)  # a bad --variants or --seed refuses the command, not each row
    cluster = ClusterOptions(address=args.ray_address, workers=args.workers, retries=args.retries)
    stop = threading.Event()
    try:
        with _stop_on_interrupt(stop):
            summary = run_batch(prompts, out, options, cluster, _progress_line(), stop)
    except ValueError:  # refused once the bar was drawn (no cluster at the address)
        print(file=sys.stderr)
        raise
    except KeyboardInterrupt:  # a second Ctrl-C: stopped at once; the manifest is consistent
        print(f"\ninterrupted: run the same command again to finish {out}", file=sys.stderr)
        return INTERRUPTED
    print(file=sys.stderr)  # end the progress line
    print(summary.manifest)
    if args.sheet:
        sheet = write_sheet(out, summary.rows)
        if sheet is not None:
            print(sheet)
    return _report(summary)


def _models(args: argparse.Namespace) -> dict[str, dict]:
    """Model options (sculpt: weights, guidance) for every mode that loads models."""
    kinds = [batch_kind(mode) for mode in batch_modes()]
    return {kind.name: model_values(args, kind) for kind in kinds if kind.model_slots}


def _check_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file; give a folder")
    folder = out
    while not folder.exists():  # the nearest folder that exists will hold the new ones
        folder = folder.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"--out {str(out)!r} cannot be written (no permission)")


@contextmanager
def _stop_on_interrupt(stop: threading.Event) -> Iterator[None]:
    """The first Ctrl-C asks the run to stop (no new items; the manifest is compacted);
    a second one stops at once."""

    def interrupt(signum, frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("\nstopping: items in progress are dropped (Ctrl-C again to quit now)",
              file=sys.stderr)  # fmt: skip

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _progress_line(stream=sys.stderr):
    """The bar with items done, heads a minute and the time left, redrawn in place."""

    def report(state: BatchProgress) -> None:
        fraction = state.done / state.total if state.total else 1.0
        rate = state.heads_per_minute
        eta = state.eta_seconds
        line = f"\r{bar(fraction)} {state.done}/{state.total} items"
        line += f"  {rate:.1f} heads/min" if rate is not None else "  starting workers"
        line += f"  ETA {_duration(eta)}" if eta is not None else ""
        line += f"  {state.failed} failed" if state.failed else ""
        stream.write(line.ljust(90))
        stream.flush()

    return report


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


def _report(summary: BatchSummary) -> int:
    """Say how the run ended (stderr); the exit code."""
    failed = summary.failed
    done = f"{summary.succeeded} of {summary.items} items done"
    done += f" ({summary.made} now, {summary.earlier} before)" if summary.earlier else ""
    if summary.interrupted:
        print(f"interrupted: {done}; run the same command again to finish the rest",
              file=sys.stderr)  # fmt: skip
        return INTERRUPTED
    print(f"{done}, {len(failed)} failed" if failed else done, file=sys.stderr)
    for row in failed[:SHOWN_FAILURES]:
        print(f"  line {row.line}: {row.error}", file=sys.stderr)
    if len(failed) > SHOWN_FAILURES:
        print(f"  … and {len(failed) - SHOWN_FAILURES} more: see {summary.manifest}",
              file=sys.stderr)  # fmt: skip
    return 1 if failed else 0
