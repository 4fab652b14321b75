"""The batch's manifest: one JSON row per item, written as each item lands, read to resume.

``DIR/manifest.jsonl`` is appended to (and fsync'd) as results arrive, so a batch killed
at any moment keeps every result it had; the last row of an item wins. A finished run
rewrites it compacted (atomically), one row per item in line order. Running the same
command again skips an item whose last row succeeded while its request is unchanged
(the fingerprint) and its files are all there; failed and missing items run again.

A lock file keeps a second batch from writing the same DIR at the same time.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from headsculpt.batch.item_files import BATCH_FOLDER
from headsculpt.batch.items import BatchItem
from headsculpt.files import write_atomically

MANIFEST_NAME = "manifest.jsonl"
SUCCEEDED = "succeeded"
FAILED = "failed"


@dataclass
class ManifestRow:
    """What happened to one item (the columns of docs/batch.md)."""

    item: str  # "00007": the line number, and the item's folder in DIR
    line: int
    status: str  # "succeeded" or "failed"
    mode: str | None = None
    prompt: str | None = None  # generate rows
    mesh: str | None = None  # rig rows
    seed: int | None = None  # the seed the head was made with (the text's own if none given)
    variants: int | None = None
    quality: str | None = None  # the preset (it sets the preview's size)
    texture_size: int | None = None
    outputs: list[str] = field(default_factory=list)  # paths relative to DIR
    seconds: float | None = None  # the worker's time on the item (its last attempt)
    worker: str | None = None  # "host:pid" of the worker that made (or failed) it
    attempts: int = 0  # tries started by workers (1 unless a worker died under it)
    error: str | None = None  # why it failed: "field: message" for a refused line
    fingerprint: str | None = None  # the request it was made from (BatchItem.fingerprint)

    @classmethod
    def for_item(cls, item: BatchItem, status: str, **values: Any) -> ManifestRow:
        return cls(
            item=item.id,
            line=item.line,
            status=status,
            mode=item.mode,
            prompt=item.prompt,
            mesh=item.mesh,
            seed=item.seed,
            variants=item.values.get("variants") if item.ok else None,
            quality=item.values.get("quality"),
            texture_size=item.values.get("texture_size"),
            fingerprint=item.fingerprint() if item.ok else None,
            **values,
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ManifestRow:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


class Manifest:
    """The manifest of one DIR, held (locked) while a batch writes there."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.path = self.out / MANIFEST_NAME
        self.rows: dict[str, ManifestRow] = {}
        self._lock: int | None = None

    @classmethod
    def open(cls, out: Path) -> Manifest:
        """Lock DIR and read its manifest (ValueError when another batch holds DIR)."""
        manifest = cls(out)
        (manifest.out / BATCH_FOLDER).mkdir(parents=True, exist_ok=True)
        descriptor = os.open(manifest.out / BATCH_FOLDER / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise ValueError(
                f"--out {str(out)!r}: another headsculpt batch is writing there"
            ) from None
        manifest._lock = descriptor
        manifest.rows = read_rows(manifest.path)
        return manifest

    def close(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the lock
            self._lock = None

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def finished(self, item: BatchItem) -> bool:
        """Whether ``item`` is done: its last row succeeded, for the same request, and
        its files are still there."""
        row = self.rows.get(item.id)
        return (
            row is not None
            and row.status == SUCCEEDED
            and item.ok
            and row.fingerprint == item.fingerprint()
            and bool(row.outputs)
            and all((self.out / name).is_file() for name in row.outputs)
        )

    def record(self, row: ManifestRow) -> None:
        """Append ``row`` and flush it to disk before going on (it wins over older rows)."""
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(row.to_json() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.rows[row.item] = row

    def compact(self, items: Iterable[BatchItem]) -> None:
        """Rewrite the manifest with one row per item: ``items`` in order, then the rows
        of items no longer in the file (their folders are still in DIR)."""
        order = [item.id for item in items]
        listed = set(order)
        ids = [i for i in order if i in self.rows] + sorted(set(self.rows) - listed)
        text = "".join(self.rows[i].to_json() + "\n" for i in ids)
        write_atomically(self.path, text.encode("utf-8"))


def read_rows(path: Path) -> dict[str, ManifestRow]:
    """The last row of each item in a manifest file (none when there is no file).

    A line that is not a row (the torn last line of a batch killed while appending) is
    skipped: the item it was about runs again.
    """
    rows: dict[str, ManifestRow] = {}
    with (
        contextlib.suppress(FileNotFoundError),
        open(path, encoding="utf-8", errors="replace") as handle,
    ):
        for line in handle:
            try:
                row = ManifestRow.from_json(json.loads(line))
            except (json.JSONDecodeError, TypeError, AttributeError):
                continue
            rows[row.item] = row
    return rows
