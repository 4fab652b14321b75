"""Build the Blender extension zip: dist/headsculpt-<version>.zip.

The zip holds the manifest and the add-on package at its root, as Blender's
"Install from Disk" expects, plus the backend source under ``backend/`` so the
add-on can install it ("bundled" mode). Run: python build_addon.py
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent
SKIP_PARTS = {"__pycache__", ".pytest_cache"}


def _files(folder: Path):
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not SKIP_PARTS & set(path.parts) and ".egg-info" not in str(path):
            yield path


def build(out_dir: Path = ROOT / "dist") -> Path:
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{manifest['id']}-{manifest['version']}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(ROOT / "blender_manifest.toml", "blender_manifest.toml")
        for path in _files(ROOT / "blender_headsculpt"):
            archive.write(path, path.relative_to(ROOT / "blender_headsculpt").as_posix())
        for path in _files(ROOT / "backend"):
            archive.write(path, path.relative_to(ROOT).as_posix())
    return target


if __name__ == "__main__":
    print(build())
