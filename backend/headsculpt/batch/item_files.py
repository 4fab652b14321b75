"""Where a batch puts things in ``--out``, and how an item's files appear all at once.

    DIR/manifest.jsonl            one row per item (batch/manifest.py)
    DIR/00007/head.glb, .json, .png   item 7's files (head_1.glb … with variants)
    DIR/contact_sheet.png         --sheet
    DIR/.batch/lock               held while a batch writes DIR
    DIR/.batch/work/00007/        item 7 while it is made: attempt-N/ (its files being
                                  written), scratch/ (the pipeline's checkpoints)

An item's files are written into its attempt folder, each atomically (files.py), and the
folder is renamed to ``DIR/00007`` when the last is written: the item's folder either
does not exist or holds every file of one run, whatever is killed when. A worker that
dies leaves only its attempt folder, which the driver removes before the item is tried
again; the scratch folder stays until the item succeeds, so a retried sculpt resumes
from its checkpoints.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from pathlib import Path

BATCH_FOLDER = ".batch"
SHEET_NAME = "contact_sheet.png"


def item_folder(out: Path, item: str) -> Path:
    return Path(out) / item


def work_folder(out: Path, item: str) -> Path:
    return Path(out) / BATCH_FOLDER / "work" / item


def attempt_folder(out: Path, item: str, attempt: int) -> Path:
    return work_folder(out, item) / f"attempt-{attempt}"


def scratch_folder(out: Path, item: str) -> Path:
    return work_folder(out, item) / "scratch"


def publish(staging: Path, final: Path) -> None:
    """Rename the finished ``staging`` folder to ``final``, replacing an older run's folder.

    Each rename is atomic; between the two (a crash there) ``final`` is missing and the
    manifest has no success for it, so the next run makes the item again.
    """
    staging, final = Path(staging), Path(final)
    old = None
    if final.exists():
        old = staging.with_name(f"{staging.name}.old-{secrets.token_hex(4)}")
        os.rename(final, old)
    os.rename(staging, final)
    _fsync_folder(final.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def discard(folder: Path) -> None:
    """Remove an unfinished attempt (the worker that wrote it is gone)."""
    shutil.rmtree(folder, ignore_errors=True)


def finish_work(out: Path, item: str) -> None:
    """The item succeeded: its work folder (attempts, checkpoints) is no longer needed."""
    shutil.rmtree(work_folder(out, item), ignore_errors=True)


def tidy_work(out: Path) -> None:
    """Remove the empty folders under ``DIR/.batch/work`` (an unfinished item's scratch
    that held no checkpoint); a folder with anything in it stays."""
    work = Path(out) / BATCH_FOLDER / "work"
    for folder in [*sorted(work.glob("*/*")), *sorted(work.glob("*")), work]:
        with contextlib.suppress(OSError):  # not empty, not a folder, or already gone
            folder.rmdir()


def stale_attempts(out: Path) -> list[Path]:
    """Attempt folders nobody is writing (call while holding the batch's lock)."""
    return sorted((Path(out) / BATCH_FOLDER / "work").glob("*/attempt-*"))


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
