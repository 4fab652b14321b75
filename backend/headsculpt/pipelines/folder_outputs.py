"""A job's outputs as plain files, for the CLI: ``head.glb`` lands where ``--out`` says.

The pipeline names its files with the stem ``head`` (head.glb, head.json, head_2.png);
here that stem becomes the stem of ``--out`` (and of ``--preview`` for images), so
``--out fisherman.glb`` gives fisherman.glb, fisherman.json and, for variants,
fisherman_1.glb … Other names land beside ``--out`` as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from headsculpt.files import write_atomically
from headsculpt.pipelines.contract import OUTPUT_STEM


class FolderOutputs:
    """JobOutputs writing into the folder of ``out``; remembers what it wrote."""

    def __init__(
        self,
        out: Path,
        scratch: Path,
        preview: Path | None = None,
        parent: FileParent | InputFile | None = None,
    ) -> None:
        self.out = Path(out)
        self.preview = Path(preview) if preview is not None else None
        self.scratch = Path(scratch)
        self.parent = parent
        self.written: list[Path] = []
        self.code: dict[str, Any] | None = None

    def path_for(self, name: str) -> Path:
        """Where the output ``name`` goes."""
        stem, suffix = Path(name).stem, Path(name).suffix
        if not stem.startswith(OUTPUT_STEM):
            return self.out.with_name(name)
        rest = stem[len(OUTPUT_STEM) :]  # "" or "_2"
        if suffix == ".png" and self.preview is not None:
            return self.preview.with_name(
                self.preview.stem + rest + (self.preview.suffix or ".png")
            )
        return self.out.with_name(self.out.stem + rest + suffix)

    def write(self, name: str, data: bytes) -> None:
        path = self.path_for(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)
        self.written.append(path)

    def set_code(self, code: dict[str, Any]) -> None:
        self.code = code


class FileParent:
    """A parent given as a file (a GLB and the JSON sidecar beside it), as the CLI has it."""

    def __init__(self, glb: Path) -> None:
        self.glb = Path(glb)
        self.id = str(self.glb)
        self._files = {
            f"{OUTPUT_STEM}.glb": self.glb,
            f"{OUTPUT_STEM}.json": self.glb.with_suffix(".json"),
        }

    def names(self) -> list[str]:
        return [name for name, path in self._files.items() if path.is_file()]

    def read(self, name: str) -> bytes:
        path = self._files.get(name)
        if path is None or not path.is_file():
            raise FileNotFoundError(f"the parent {self.id} has no {name} (looked for {path})")
        return path.read_bytes()

    def describe(self, name: str) -> str:
        """The file as the user named it (or the sidecar beside it)."""
        return str(self._files.get(name, self.glb))

    def local_path(self, name: str) -> Path | None:
        path = self._files.get(name)
        return path if path is not None and path.is_file() else None


class InputFile:
    """A parent that is one file the user gave (a mesh to rig), under its own name.

    ``mesh``: the file as already read and checked (the CLI reads it before it loads the
    models, so a file that cannot be rigged is refused at once); the pipeline uses it
    instead of reading the file again.
    """

    def __init__(self, path: Path, mesh: Any = None) -> None:
        self.path = Path(path)
        self.id = str(self.path)
        self.mesh = mesh

    def describe(self, name: str) -> str:
        """The path as the user gave it."""
        return str(self.path)

    def local_path(self, name: str) -> Path | None:
        """The user's file itself: read in place (a .gltf finds the files beside it)."""
        return self.path if name == self.path.name and self.path.is_file() else None

    def names(self) -> list[str]:
        return [self.path.name] if self.path.is_file() else []

    def read(self, name: str) -> bytes:
        if name != self.path.name or not self.path.is_file():
            raise FileNotFoundError(f"no file {self.path}")
        return self.path.read_bytes()
