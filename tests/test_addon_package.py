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
    assert "backend/headsculpt/cli.py" in names
    assert not any("__pycache__" in n for n in names)
