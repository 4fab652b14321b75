"""What every job kind implements, and what it is handed: one contract for the CLI and
the server.

A pipeline class (named in pipelines/registry.py) has

- ``Request``: a dataclass of the request fields it reads (names as in the HTTP
  request and the CLI options: prompt, seed, quality, variants, ...);
- ``PRESETS``: its quality presets by name (the registry lists the same names);
- ``from_defaults()``: load its models once (slow; the server keeps it warm);
- ``run(request, outputs, progress)``: make the job's files.

``outputs`` is the only way a pipeline touches storage: it writes files atomically
(each one listed on the job as soon as it is written, so a cancel or crash keeps
what was finished), reads the parent job's files (edit, rig), and owns a scratch
folder for checkpoints that survives a restart of the server. ``progress`` is the
one progress interface (headsculpt.progress): raising ``Cancelled`` from it stops
the pipeline at its next step.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from headsculpt.progress import ProgressCallback

OUTPUT_STEM = "head"  # outputs are head.glb, head.json, head.png (head_1.glb … for variants)

RequestT = TypeVar("RequestT")


class ParentFiles(Protocol):
    """The finished job (or file) a job starts from."""

    id: str  # the parent's job id, or its file path for a CLI run

    def names(self) -> list[str]:
        """Its output file names (head.glb, head.json, ...)."""

    def read(self, name: str) -> bytes:
        """One output's bytes; FileNotFoundError naming the parent when it has no such file."""

    # Optional (the built-in parents have them; a pipeline falls back when they are missing):
    # ``describe(name) -> str``: the file as the user knows it, for messages (an upload's
    # own name, the path given on the command line — never a temporary copy or a server
    # path); ``local_path(name) -> Path | None``: a file on this machine holding the output,
    # to read in place (large files are then never held whole in memory).


class JobOutputs(Protocol):
    """Where a pipeline puts what it makes."""

    scratch: Path  # this job's own folder for checkpoints; not an output
    parent: ParentFiles | None

    def write(self, name: str, data: bytes) -> None:
        """Store an output file (atomically) under a plain name such as ``head.glb``."""

    def set_code(self, code: dict[str, Any]) -> None:
        """Record the descriptive code the job read from its text."""


class Pipeline(Protocol):
    """A job kind's pipeline, as the runner and the CLI use it."""

    Request: ClassVar[type]
    PRESETS: ClassVar[Mapping[str, Any]]

    @classmethod
    def from_defaults(cls) -> Pipeline:
        """The pipeline with its models loaded (once per process)."""

    def run(self, request: Any, outputs: JobOutputs, progress: ProgressCallback) -> None:
        """Make the job's files; stop at the next step when ``progress`` raises Cancelled."""


def make_request(request_type: type[RequestT], values: Mapping[str, Any]) -> RequestT:
    """The pipeline's request from checked request values (fields it does not read are
    dropped: a parametric job has no use for ``models``)."""
    names = {f.name for f in fields(request_type)}
    return request_type(**{k: v for k, v in values.items() if k in names})


def default_seed(prompt: str) -> int:
    """The seed used when none is given: stable for a prompt, different between prompts."""
    return zlib.crc32(" ".join(prompt.lower().split()).encode("utf-8"))


def variant_seed(seed: int, index: int) -> int:
    """Variant ``index`` (from 0) of a job with ``seed`` uses seed + index (wrapping)."""
    return (seed + index) % 2**32


def variant_stem(stem: str, index: int, count: int) -> str:
    """File stem of variant ``index`` (from 0): "head" alone, else "head_1" … "head_N"."""
    return stem if count == 1 else f"{stem}_{index + 1}"


def starting_file(names: Iterable[str], suffixes: tuple[str, ...] = (".glb",)) -> str | None:
    """The parent's file a job starts from: ``head.glb`` when it has one, else the first of
    ``names`` ending in one of ``suffixes`` (a variant, an upload); None when there is none."""
    candidates = [n for n in names if n.lower().endswith(suffixes)]
    if f"{OUTPUT_STEM}.glb" in candidates:
        return f"{OUTPUT_STEM}.glb"
    return candidates[0] if candidates else None
