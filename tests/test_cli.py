"""The headsculpt command as a user runs it."""

import json
import subprocess
import sys

from PIL import Image


def _run(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "headsculpt", *args], cwd=cwd, capture_output=True, text=True
    )


def test_generate_writes_glb_sidecar_and_preview(tmp_path):
    completed = _run("generate", "an old woman with green eyes", "--out", "out/h.glb",
                     "--preview", "out/h.png", "--seed", "3", cwd=tmp_path)  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "out/h.glb").read_bytes()[:4] == b"glTF"
    sidecar = json.loads((tmp_path / "out/h.json").read_text())
    assert sidecar["seed"] == 3 and sidecar["prompt"] == "an old woman with green eyes"
    assert sidecar["parent"] is None  # a head from text has no parent
    assert sidecar["descriptive_code"]["attributes"]["eyes.color"] == "green"
    assert Image.open(tmp_path / "out/h.png").size == (1024, 512)
    assert not list((tmp_path / "out").glob(".*partial"))


def test_bad_input_is_a_clear_error_not_a_traceback(tmp_path):
    completed = _run("generate", "a man", "--out", "head.obj", cwd=tmp_path)
    assert completed.returncode == 2
    assert "--out" in completed.stderr and "Traceback" not in completed.stderr
    too_long = _run("generate", "x" * 2001, cwd=tmp_path)
    assert too_long.returncode == 2 and "2000" in too_long.stderr


def test_a_bug_in_any_command_is_one_line_and_exit_1_not_a_traceback(monkeypatch, capsys):
    """Only `generate`'s pipeline run had its own net; every command now goes through main's."""
    from headsculpt import cli
    from headsculpt.cli import parse

    def broken(args):
        raise KeyError("descriptive_code")

    monkeypatch.setattr(parse, "run", broken)
    assert cli.main(["parse", "a man"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("headsculpt: error: an internal error stopped the command")
    assert "KeyError: 'descriptive_code'" in error and "report it" in error
    assert "Traceback" not in error and len(error.strip().splitlines()) == 1


def test_parse_prints_the_code_as_json(tmp_path):
    completed = _run("parse", "a gaunt old woman with a beaky nose", "--json", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    code = json.loads(completed.stdout)
    assert code["attributes"]["gender"] < 0 and code["attributes"]["nose.hump"] > 0
    assert set(code) == {"attributes", "abstract", "ignored", "phrases"}


def test_parse_reads_one_description_per_line_from_stdin(tmp_path):
    lines = ["a smiling man", "", "x" * 2001, "blorf"]
    completed = subprocess.run(
        [sys.executable, "-m", "headsculpt", "parse", "--json", "-"], cwd=tmp_path,
        input="\n".join(lines) + "\n", capture_output=True, text=True,
    )  # fmt: skip
    out = [json.loads(line) for line in completed.stdout.splitlines()]
    assert len(out) == 4  # one object per line, a bad line does not stop the batch
    assert out[0]["attributes"]["expression"] == "smile"
    assert out[1]["attributes"] == {}
    assert "2000" in out[2]["error"]
    assert out[3]["ignored"] == ["blorf"]
    assert completed.returncode == 2  # and the exit code says one line failed


def test_generate_variants_differ_but_keep_what_the_text_says(tmp_path):
    completed = _run("generate", "a bald man with a hooked nose", "--variants", "2",
                     "--seed", "5", "--out", "v.glb", cwd=tmp_path)  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    sidecars = [json.loads((tmp_path / f"v_{k}.json").read_text()) for k in (1, 2)]
    assert [s["seed"] for s in sidecars] == [5, 6]
    codes = [s["descriptive_code"]["attributes"] for s in sidecars]
    assert codes[0] == codes[1] and codes[0]["nose.hump"] > 0
    shapes = [s["parameters"]["head"]["local_changes"] for s in sidecars]
    assert shapes[0]["nose-hump-incr"] == shapes[1]["nose-hump-incr"]  # stated: same
    assert shapes[0] != shapes[1]  # unstated attributes vary
    assert (tmp_path / "v_1.glb").read_bytes() != (tmp_path / "v_2.glb").read_bytes()


def test_generate_help_describes_each_mode_once(tmp_path):
    from headsculpt.pipelines.registry import job_kinds

    completed = _run("generate", "--help", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    text = " ".join(completed.stdout.split())  # argparse wraps lines
    for kind in job_kinds():
        summary = " ".join(f"{kind.mode}: {kind.summary}.".split())
        # A generating mode is described; an edit's description belongs to `edit --help`.
        assert (summary in text) == (kind.kind == "generate" and bool(kind.mode)), summary
