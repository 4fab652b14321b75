"""The add-on's "Install backend" step, on a tiny package: venv, pip, progress, errors."""

import subprocess
import sys

import pytest

from blender_headsculpt.core.errors import HeadSculptError
from blender_headsculpt.core.local_backend import install_bundled_backend


def test_creates_a_venv_and_installs_the_source_with_progress(tmp_path):
    source = tmp_path / "tiny"
    (source / "tiny_backend").mkdir(parents=True)
    (source / "tiny_backend" / "__init__.py").write_text("ANSWER = 42\n")
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "tiny-backend"\nversion = "0.1"\n'
    )
    reports = []
    python = install_bundled_backend(
        sys.executable,
        str(tmp_path / "venv"),
        str(source),
        lambda fraction, line: reports.append((fraction, line)),
    )
    answer = subprocess.run(
        [python, "-c", "import tiny_backend; print(tiny_backend.ANSWER)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert answer.stdout.strip() == "42"
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("tiny" in line.lower() for _, line in reports)


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(HeadSculptError, match="No bundled backend"):
        install_bundled_backend(
            sys.executable,
            str(tmp_path / "venv"),
            str(tmp_path / "none"),
            lambda fraction, line: None,
        )
