"""The registry of job kinds: every copy agrees with it, and a new kind needs no api/ or
cli/ change.

The throwaway kind below is registered from a plugin module (HEADSCULPT_PLUGINS),
then run through a real `headsculpt serve` process and the real command line.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import typing

import pytest

import blender_headsculpt.core.choices as addon
from backend_server import BackendServer, wait_for_job
from headsculpt import limits
from headsculpt.api import schemas
from headsculpt.api.runner import JobRunner
from headsculpt.cli import build_parser
from headsculpt.limits import RequestError
from headsculpt.pipelines.registry import find_kind, job_kinds

GENERATE_MODES = [k.mode for k in job_kinds() if k.kind == "generate"]

# --- every copy of the choices agrees with the registry ---------------------------------


def _choices(parser, command: str, option: str) -> list:
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return list(next(a for a in sub._actions if option in a.option_strings).choices)


def test_the_http_schema_is_derived_from_the_registry():
    kinds = {k.kind for k in job_kinds()}
    assert set(typing.get_args(schemas.JobKind)) == kinds
    assert set(typing.get_args(schemas.JobMode)) == {k.mode for k in job_kinds() if k.mode}
    assert set(typing.get_args(schemas.QualityPreset)) == {
        p for k in job_kinds() for p in k.presets
    }
    assert set(typing.get_args(schemas.ModelSlot)) == set(limits.MODEL_SLOTS)
    assert set(typing.get_args(schemas.TextureSize)) == set(limits.TEXTURE_SIZES)
    fields = schemas.JobRequest.model_fields
    assert fields["variants"].metadata[1].le == limits.MAX_VARIANTS
    assert fields["prompt"].metadata[0].max_length == limits.MAX_PROMPT_CHARS


def test_the_cli_offers_what_the_registry_has():
    parser = build_parser()
    assert _choices(parser, "generate", "--mode") == GENERATE_MODES
    assert set(_choices(parser, "generate", "--quality")) == {
        p for k in job_kinds() for p in k.presets
    }
    assert tuple(_choices(parser, "generate", "--texture-size")) == limits.TEXTURE_SIZES


def test_the_runner_has_a_lane_for_every_kind(tmp_path):
    from headsculpt.api.job_store import JobStore

    runner = JobRunner(JobStore(tmp_path), {})
    assert runner.lanes == {k.name: k.lane for k in job_kinds()}
    assert runner.lanes["parametric"] == "cpu" and runner.lanes["sculpt"] == "gpu"


def test_the_addon_copy_matches_the_registry():
    modes = [m for m, _, _ in addon.MODES]
    assert modes == GENERATE_MODES
    for mode, _, description in addon.MODES:
        kind = find_kind("generate", mode)
        assert addon.PRESETS[mode] == kind.presets and description == kind.summary
        assert kind.default_preset == addon.DEFAULT_PRESET
    assert set(addon.PRESET_PROPERTY) == set(modes)
    assert addon.TEXTURE_SIZES == limits.TEXTURE_SIZES
    assert addon.MAX_VARIANTS == limits.MAX_VARIANTS
    assert addon.EDIT_SCALE_RANGE == limits.EDIT_SCALE_RANGE
    assert addon.EDIT_SCALE_DEFAULT == limits.EDIT_SCALE_DEFAULT
    assert limits.SEED_RANGE[1] > addon.SEED_MAX


def test_every_built_pipeline_has_the_presets_the_registry_names():
    for kind in job_kinds():
        if kind.built:
            assert tuple(kind.load_pipeline_class().PRESETS) == kind.presets, kind.name


# --- a kind checks its own limits, naming the field --------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"prompt": "a man", "quality": "test"}, "quality"),  # a sculpt preset
        ({"prompt": "a man", "variants": 17}, "variants"),
        ({"prompt": "a man", "texture_size": 512}, "texture_size"),
        ({"prompt": "a man", "seed": 2**32}, "seed"),
        ({"prompt": " \u200b\t"}, "prompt"),
        ({"prompt": "a man", "negative_prompt": "x\x00"}, "negative_prompt"),
    ],
)
def test_parametric_limits_name_the_field(values, field):
    with pytest.raises(RequestError) as error:
        find_kind("generate", "parametric").check(values)
    assert error.value.field == field and str(error.value).startswith(f"{field}: ")


def test_checked_values_are_trimmed_and_get_the_default_preset():
    checked = find_kind("generate", "parametric").check({"prompt": "  a man \u200b\n"})
    assert checked["prompt"] == "a man" and checked["quality"] == "standard"
    edit = find_kind("edit", "parametric")
    with pytest.raises(RequestError, match="^parent_id"):
        edit.check({"instruction": "older"})


# --- a throwaway kind, through the server and the CLI -------------------------------------

PLUGIN = '''
"""A throwaway job kind: echoes its prompt, and its parent's GLB magic when it has one."""

from dataclasses import dataclass

from headsculpt.pipelines.registry import JobKind, register


@dataclass
class EchoRequest:
    prompt: str
    variants: int = 1


class EchoPipeline:
    Request = EchoRequest
    PRESETS = {"only": None}

    @classmethod
    def from_defaults(cls):
        return cls()

    def run(self, request, outputs, progress):
        progress("echo", 0.5)
        text = request.prompt * request.variants
        if outputs.parent is not None:
            text += "|" + outputs.parent.read("head.glb")[:4].decode()
            text += "|" + ",".join(sorted(outputs.parent.names()))
        (outputs.scratch / "checkpoint").write_text("scratch is writable")
        outputs.write("echo.txt", text.encode())


register(JobKind(name="echo", kind="generate", mode="echo", lane="cpu",
                 pipeline="echo_kind:EchoPipeline", presets=("only",), default_preset="only",
                 summary="Echo the prompt", max_variants=3))
'''


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("plugin")
    (folder / "echo_kind.py").write_text(textwrap.dedent(PLUGIN))
    path = os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])
    return {"PYTHONPATH": path, "HEADSCULPT_PLUGINS": "echo_kind"}


@pytest.fixture(scope="module")
def plugin_server(tmp_path_factory, plugin_env, monkeypatch_module):
    for name, value in plugin_env.items():
        monkeypatch_module.setenv(name, value)
    with BackendServer(tmp_path_factory.mktemp("plugin-data")) as running:
        yield running


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_a_registered_kind_runs_through_the_server_with_lineage(plugin_server):
    with plugin_server.client() as client:
        health = client.get("/v1/health").json()
        assert health["pipelines"]["echo"]["available"] is True
        refused = client.post("/v1/jobs", json={"mode": "echo", "prompt": "hi", "variants": 4})
        assert refused.status_code == 422 and refused.json()["field"] == "variants"

        parent = client.post("/v1/jobs", json={"prompt": "an old man", "quality": "draft"}).json()
        assert wait_for_job(client, parent["id"])["state"] == "succeeded"
        job = client.post(
            "/v1/jobs",
            json={"mode": "echo", "prompt": "hi", "variants": 2, "parent_id": parent["id"]},
        )
        assert job.status_code == 202, job.text
        done = wait_for_job(client, job.json()["id"])
        assert done["state"] == "succeeded" and done["parent_id"] == parent["id"]
        echoed = client.get(f"/v1/jobs/{done['id']}/files/echo.txt").text
        assert echoed == "hihi|glTF|head.glb,head.json,head.png"
        assert [o["name"] for o in done["outputs"]] == ["echo.txt"]  # scratch is not listed

        # A parametric child records its parent in its status and its sidecar.
        child = client.post("/v1/jobs", json={"prompt": "a man", "parent_id": parent["id"]})
        finished = wait_for_job(client, child.json()["id"])
        sidecar = client.get(f"/v1/jobs/{finished['id']}/files/head.json").json()
        assert finished["parent_id"] == sidecar["parent"] == parent["id"]


def test_a_parent_must_exist_and_have_finished(plugin_server):
    with plugin_server.client() as client:
        missing = client.post(
            "/v1/jobs", json={"prompt": "a", "parent_id": "20260101T000000Z-deadbeef"}
        )
        assert missing.status_code == 404 and missing.json()["field"] == "parent_id"
        running = client.post("/v1/jobs", json={"prompt": "a man", "variants": 4}).json()
        early = client.post("/v1/jobs", json={"prompt": "a", "parent_id": running["id"]})
        assert early.status_code == 409 and early.json()["field"] == "parent_id"
        wait_for_job(client, running["id"])


def test_a_registered_kind_runs_through_the_cli(plugin_env, tmp_path):
    env = {**os.environ, **plugin_env}
    command = [sys.executable, "-m", "headsculpt", "generate", "hello", "--mode", "echo",
               "--variants", "3", "--out", str(tmp_path / "out" / "x.glb")]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert completed.returncode == 0, completed.stderr
    written = tmp_path / "out" / "echo.txt"
    assert written.read_text() == "hellohellohello"
    assert completed.stdout.split() == [str(written)]
    too_many = subprocess.run([*command[:-2], "--variants", "4", *command[-2:]],
                              capture_output=True, text=True, env=env, check=False)  # fmt: skip
    assert too_many.returncode == 2 and "--variants: must be between 1 and 3" in too_many.stderr


def test_cli_outputs_name_files_after_out_and_preview(tmp_path):
    from headsculpt.pipelines.folder_outputs import FileParent, FolderOutputs

    outputs = FolderOutputs(tmp_path / "a" / "fisher.glb", tmp_path, preview=tmp_path / "p.png")
    for name in ("head.glb", "head_2.json", "head_2.png", "notes.txt"):
        outputs.write(name, name.encode())
    expected = ["a/fisher.glb", "a/fisher_2.json", "p_2.png", "a/notes.txt"]
    assert [str(p.relative_to(tmp_path)) for p in outputs.written] == expected
    parent = FileParent(tmp_path / "a" / "fisher.glb")
    assert parent.read("head.glb") == b"head.glb" and parent.names() == ["head.glb"]
    with pytest.raises(FileNotFoundError, match="no head.json"):
        parent.read("head.json")
