"""The extension zip: manifest and add-on at the root, the backend bundled."""

import zipfile

import tomllib

import build_addon
from conftest import ROOT


def test_zip_has_manifest_addon_and_backend(tmp_path):
    target = build_addon.build(tmp_path)
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    assert target.name == f"headsculpt-{manifest['version']}.zip"
    names = set(zipfile.ZipFile(target).namelist())
    assert {"blender_manifest.toml", "__init__.py", "backend/pyproject.toml"} <= names
    backend = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "backend" / "headsculpt").rglob("*")
        if path.suffix in (".py", ".json") and "__pycache__" not in path.parts
    }
    assert backend <= names, backend - names  # the whole backend travels (bundled install)
    assert "core/choices.py" in names  # the add-on's copy of the job kinds
    assert not any("__pycache__" in n for n in names)
