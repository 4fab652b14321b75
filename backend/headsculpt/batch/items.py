"""A prompts file read into batch items, each checked as ``headsculpt generate`` checks it.

A line is a description (or, with ``--mode rig``, a mesh path) or a JSON object whose
keys are the request's fields (prompt, mode, seed, variants, quality, texture_size; for
rig rows mesh, up, front). A ``.jsonl``/``.ndjson`` file holds JSON rows only; in any
other file a line starting with ``{`` is a JSON row and the rest are descriptions.

A line that cannot be a job (empty, too long, not JSON, an unknown key, a value out of
its limits) becomes an item that carries its reason instead of a request: the batch
records it as failed and goes on. Values are checked by the job kind's own
:meth:`JobKind.check` and :func:`clean_prompt`, so a row is refused exactly when the
same options on the command line would be, with the same message naming the field.
No Ray here: the file is read and checked before any worker starts.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headsculpt.limits import AXIS_PATTERN, MESH_SUFFIXES, TEXTURE_SIZES, RequestError
from headsculpt.pipelines.contract import default_seed
from headsculpt.pipelines.registry import JobKind, find_kind, job_kinds

JSON_SUFFIXES = (".jsonl", ".ndjson")
MAX_ROW_CHARS = 32_768  # a JSON row with a 2,000-character prompt fits, escapes and all
GENERATE_KEYS = ("prompt", "mode", "seed", "variants", "quality", "texture_size")
RIG_KEYS = ("mesh", "mode", "quality", "up", "front")
WHOLE_NUMBERS = ("seed", "variants", "texture_size")
TEXTS = ("mode", "quality", "mesh", "up", "front")


def batch_modes() -> tuple[str, ...]:
    """The modes a batch row may ask for: every generating mode, and rig."""
    generating = [k.mode for k in job_kinds() if k.kind == "generate" and k.mode]
    return (*generating, "rig")


def batch_kind(mode: str) -> JobKind:
    """The job kind a batch ``mode`` runs (RequestError naming ``mode`` when none does)."""
    if mode == "rig":
        return find_kind("rig", None)
    if mode not in batch_modes():
        raise RequestError("mode", f"must be one of {', '.join(batch_modes())}; got {mode!r}")
    return find_kind("generate", mode)


@dataclass(frozen=True)
class BatchOptions:
    """The command's options: every row's defaults (a JSON row may set its own)."""

    mode: str = "parametric"
    seed: int | None = None  # None: each prompt's own seed, as `generate` picks it
    variants: int = 1
    quality: str | None = None  # None: the kind's default preset
    texture_size: int = TEXTURE_SIZES[0]
    models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # kind → model values


@dataclass(frozen=True)
class BatchItem:
    """One line of the prompts file: a checked request, or the reason it is not one."""

    id: str  # the line number, zero-padded: "00007"; also the item's folder in --out
    line: int
    mode: str | None = None
    kind: str | None = None  # the job kind's name ("parametric", "rig", "sculpt")
    values: Mapping[str, Any] = field(default_factory=dict)  # checked request values
    mesh: str | None = None  # rig: the mesh to rig (absolute path)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def prompt(self) -> str | None:
        return self.values.get("prompt")

    @property
    def seed(self) -> int | None:
        """The seed the head is made with: the row's, else the text's own (rig: none)."""
        if self.prompt is None:
            return None
        seed = self.values.get("seed")
        return default_seed(self.prompt) if seed is None else seed

    @property
    def heads(self) -> int:
        return int(self.values.get("variants", 1)) if self.ok else 0

    def fingerprint(self) -> str:
        """What the item's files depend on: a finished item is skipped only while this
        matches (an edited line, or a changed mesh to rig, is made again)."""
        source = None
        if self.mesh is not None and os.path.exists(self.mesh):
            stat = os.stat(self.mesh)
            source = [self.mesh, stat.st_size, stat.st_mtime_ns]
        payload = {"kind": self.kind, "values": self.values, "mesh": source}
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def item_id(line: int) -> str:
    return f"{line:05d}"


def read_items(path: Path, options: BatchOptions) -> list[BatchItem]:
    """Every line of ``path`` as an item (refused lines included, with their reason).

    A final line break ends the last line; it does not start an empty one. A relative
    mesh path (rig) is read from the file's folder, wherever the command runs.
    """
    data = Path(path).read_bytes()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    json_only = Path(path).suffix.lower() in JSON_SUFFIXES
    base = Path(path).resolve().parent
    return [read_line(n, raw, options, json_only, base) for n, raw in enumerate(lines, start=1)]


def read_line(
    number: int, raw: bytes, options: BatchOptions, json_only: bool, base: Path
) -> BatchItem:
    """One line as an item; a bad line's item carries the reason (``field: message``)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return BatchItem(item_id(number), number, error=f"line: not UTF-8 text ({error.reason})")
    if number == 1:
        text = text.removeprefix("\ufeff")  # a byte-order mark some editors write
    text = text.removesuffix("\r")
    try:
        if json_only or text.lstrip().startswith("{"):
            row = _json_row(text)
        else:
            row = {"mesh" if options.mode == "rig" else "prompt": text}
        return _item(number, row, options, base)
    except RequestError as error:
        return BatchItem(item_id(number), number, error=str(error))


def check_options(options: BatchOptions) -> None:
    """The command's own options, refused before any line is read (RequestError naming the
    option's field). The kind's check needs its text: a placeholder stands in for it."""
    kind = batch_kind(options.mode)
    placeholder = {"mesh": "-"} if options.mode == "rig" else {"prompt": "a head"}
    _values(kind, {**placeholder, "mode": options.mode}, options, None)


def _json_row(text: str) -> dict[str, Any]:
    if len(text) > MAX_ROW_CHARS:
        raise RequestError(
            "row", f"is {len(text)} characters long; a row's limit is {MAX_ROW_CHARS}"
        )
    try:
        row = json.loads(text)
    except json.JSONDecodeError as error:
        raise RequestError("row", f"not valid JSON: {error.msg} at column {error.colno}") from None
    if not isinstance(row, dict):
        raise RequestError("row", f"a JSON row must be an object, got {type(row).__name__}")
    return row


def _item(number: int, row: dict[str, Any], options: BatchOptions, base: Path) -> BatchItem:
    mode = row.get("mode", options.mode)
    if not isinstance(mode, str):
        raise RequestError("mode", f"must be text, got {_json_type(mode)}")
    kind = batch_kind(mode)
    values = _values(kind, row, options, base)
    mesh = values.get("parent_id") if kind.needs_parent else None
    return BatchItem(item_id(number), number, mode, kind.name, values, mesh)


def _values(
    kind: JobKind, row: dict[str, Any], options: BatchOptions, base: Path | None
) -> dict[str, Any]:
    """The request values of ``row`` for ``kind``, the options filling what it leaves out
    (``base``: the folder of relative mesh paths; None: the mesh is not looked for)."""
    allowed = RIG_KEYS if kind.needs_parent else GENERATE_KEYS
    for key in row:
        if key not in GENERATE_KEYS + RIG_KEYS:
            raise RequestError(str(key)[:40], f"unknown key; a row takes {', '.join(allowed)}")
        if key not in allowed:
            raise RequestError(key, f"is not for {kind.name} rows; they take {', '.join(allowed)}")
    for key in WHOLE_NUMBERS:
        value = row.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise RequestError(key, f"must be a whole number, got {_json_type(value)}")
    for key in TEXTS:
        value = row.get(key)
        if value is not None and not isinstance(value, str):
            raise RequestError(key, f"must be text, got {_json_type(value)}")
    quality = row.get("quality", options.quality)
    if kind.needs_parent:  # rig: a mesh, its axes; no text, seed or variants
        mesh = _mesh_path(row.get("mesh"), base)
        for axis in ("up", "front"):
            if row.get(axis) is not None and not re.match(AXIS_PATTERN, row[axis]):
                raise RequestError(axis, f"must be an axis such as +y or -z, got {row[axis]!r}")
        request = {"kind": kind.kind, "parent_id": mesh, "quality": quality,
                   "up": row.get("up"), "front": row.get("front")}  # fmt: skip
    else:
        request = {
            "kind": kind.kind,
            "mode": kind.mode,
            "prompt": row.get("prompt", ""),
            "seed": row.get("seed", options.seed),
            "quality": quality,
            "variants": row.get("variants", options.variants),
            "texture_size": row.get("texture_size", options.texture_size),
        }
    values = kind.check(request)
    values.update(options.models.get(kind.name, {}))
    values["preview"] = True  # every item gets its preview (and the contact sheet its tiles)
    return values


def _mesh_path(mesh: object, base: Path | None) -> str:
    if not mesh or not isinstance(mesh, str):
        raise RequestError("mesh", "rig rows need the mesh to rig")
    if base is None:
        return mesh
    path = Path(mesh) if os.path.isabs(mesh) else base / mesh
    if not path.is_file():
        raise RequestError("mesh", f"{mesh!r}: no such file")
    if not path.name.lower().endswith(MESH_SUFFIXES):
        raise RequestError("mesh", f"{mesh!r}: give a {', '.join(MESH_SUFFIXES)} file")
    return str(path.resolve())


def _json_type(value: object) -> str:
    """How a JSON value is named in a message: numbers and true/false as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    names = {str: "text", list: "a list", dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)
