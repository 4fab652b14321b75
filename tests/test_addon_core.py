"""The add-on's bpy-free package (``blender_headsculpt/core``), in the backend's Python:
it imports without bpy, tells a HeadSculpt backend from another web server, starts a
local backend with a fresh log, and words failures for the panel."""

from __future__ import annotations

import http.server
import pkgutil
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

import blender_headsculpt.core
from blender_headsculpt.core.client import BackendClient, with_scheme
from blender_headsculpt.core.errors import HeadSculptError
from blender_headsculpt.core.local_backend import LocalBackend
from blender_headsculpt.core.messages import (
    backend_stopped,
    for_the_panel,
    job_failure,
    recovered_notice,
    waiting,
)
from blender_headsculpt.core.placement import free_shift
from blender_headsculpt.core.sculpt_request import sculpt_fields
from blender_headsculpt.core.versions import version_labels
from conftest import BLENDER_PYTHON, ROOT

BLOCK_BPY = """
import importlib, importlib.abc, pkgutil, sys

class NoBpy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "bpy" or name.startswith(("bpy.", "bpy_", "mathutils")):
            raise ImportError(f"{name} imported by the bpy-free package")
        return None

sys.meta_path.insert(0, NoBpy())
import blender_headsculpt.core as core
names = [m.name for m in pkgutil.iter_modules(core.__path__)]
for name in names:
    importlib.import_module(f"blender_headsculpt.core.{name}")
print(" ".join(sorted(names)))
"""


def test_the_core_package_imports_with_bpy_blocked():
    # Every module of core/, lazy imports at module level included, in a fresh interpreter
    # where importing bpy (or mathutils) raises.
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_BPY], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = set(done.stdout.split())
    expected = {m.name for m in pkgutil.iter_modules(blender_headsculpt.core.__path__)}
    assert found == expected and {"client", "job_monitor", "local_backend", "session"} <= found


@pytest.fixture
def other_web_server(tmp_path) -> Iterator[str]:
    """Python's own http.server on a loopback port: 404 for /v1/..., 501 for POST."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_another_web_server_is_named_and_gets_no_job_hints(other_web_server):
    client = BackendClient(other_web_server, timeout=5)
    calls = {
        "health": client.health,
        "job": lambda: client.job("abc"),
        "submit": lambda: client.submit({"kind": "generate", "prompt": "a man"}),
        "jobs": client.jobs,
    }
    for name, call in calls.items():
        with pytest.raises(HeadSculptError) as caught:
            call()
        message = str(caught.value)
        assert "not a HeadSculpt backend" in message and other_web_server in message, name
        assert "Parametric" not in message and "no longer exists" not in message, name


def test_a_headsculpt_backend_says_what_it_is_and_keeps_its_job_hints(tmp_path):
    from backend_server import BackendServer

    with BackendServer(tmp_path) as server:
        client = BackendClient(server.url.removeprefix("http://"), timeout=10)  # no scheme
        health = client.health()
        assert health["service"] == "headsculpt" and health["version"]
        with pytest.raises(HeadSculptError) as caught:
            client.job("20261207T000000Z-0123abcd")  # well formed, never made
        assert caught.value.status == 404 and "no longer exists" in caught.value.hint


def test_a_url_without_a_scheme_gets_http():
    assert with_scheme(" 127.0.0.1:8000 ") == "http://127.0.0.1:8000"
    assert with_scheme("https://heads.example:443") == "https://heads.example:443"
    assert BackendClient("gpu-box:8000").url == "http://gpu-box:8000"


def test_a_failed_start_quotes_only_its_own_log_lines_and_keeps_the_last_log(tmp_path):
    log = tmp_path / "backend.log"
    log.write_text("STALE line one from an earlier run\nSTALE line two from an earlier run\n")
    # Blender's Python has no backend installed: the start fails, for a reason of its own.
    backend = LocalBackend(str(BLENDER_PYTHON), str(tmp_path / "jobs"), str(log))
    backend.start()
    with pytest.raises(HeadSculptError) as caught:
        backend.wait_ready(timeout=60)
    assert "No module named headsculpt" in str(caught.value)
    assert "STALE" not in str(caught.value)
    assert "STALE" not in log.read_text()
    assert "STALE" in (tmp_path / "backend.log.1").read_text()  # the earlier run's, kept


REAL_MESSAGES = {  # as the backend words them (eval/face_finder.py, api/runner.py)
    "no face": (
        "rig",
        "no face was found on the mesh in the 24 axis-aligned orientations. Is it a head "
        "with a face? If it is, name its up and front axes (--up/--front, e.g. --up +z "
        "--front -y), or if the mesh is already in the head prior's frame, say so",
    ),
    "too few landmarks": (
        "rig",
        "MediaPipe saw a face but too few of its landmarks lie on the mesh; try --up/--front",
    ),
    "internal": (
        "generate",
        "an internal error stopped the job (KeyError: '/srv/jobs/20261207T2100Z-1a2b/scratch/"
        "coarse.pt'); error.log in the job's folder has the details — submit it again",
    ),
}


@pytest.mark.parametrize("case", sorted(REAL_MESSAGES))
def test_job_failures_are_worded_for_the_panel(case):
    kind, message = REAL_MESSAGES[case]
    text = str(job_failure(kind, "failed", message))
    for cli in ("--up", "--front", "say so", "KeyError", "Error:", "/srv/", "The job ended"):
        assert cli not in text, (cli, text)
    if kind == "rig":
        assert "Set Up and Front" in text and "Rig a head" in text
    else:
        assert "coarse.pt" in text  # the file's name is kept, its folder is not


def test_plain_messages_pass_unchanged():
    assert for_the_panel("the prompt is empty") == "the prompt is empty"
    assert str(job_failure("edit", "cancelled", "")) == "The edit was cancelled"


def test_history_labels_by_kind_with_versions_along_edits():
    jobs = [
        {"id": "head", "kind": "generate", "mode": "parametric"},
        {"id": "edit1", "kind": "edit", "parent_id": "head"},
        {"id": "edit2", "kind": "edit", "parent_id": "edit1"},
        {"id": "mesh", "kind": "upload"},
        {"id": "rigged", "kind": "rig", "parent_id": "mesh"},
        {"id": "rig-of-edit", "kind": "rig", "parent_id": "edit2"},
        {"id": "target-sculpt", "kind": "generate", "mode": "sculpt", "parent_id": "mesh"},
        {"id": "edit-of-rig", "kind": "edit", "parent_id": "rigged"},
    ]
    assert version_labels(jobs) == {
        "head": "v1", "edit1": "v2", "edit2": "v3", "mesh": "upload", "rigged": "rig",
        "rig-of-edit": "rig", "target-sculpt": "sculpt", "edit-of-rig": "v2",
    }  # fmt: skip


def test_a_copy_goes_beside_its_source_and_past_earlier_copies():
    source = ((0.0, 0.0, 0.0), (2.0, 1.0, 1.0))
    assert free_shift(source, []) == 2.5  # 1.25 widths
    first = ((2.5, 0.0, 0.0), (4.5, 1.0, 1.0))  # a copy already there
    shift = free_shift(source, [first])
    assert shift >= 4.5 and free_shift(source, [first, ((shift, 0, 0), (shift + 2, 1, 1))]) > shift
    elsewhere = ((2.5, 5.0, 0.0), (4.5, 6.0, 1.0))  # in another row: no conflict
    assert free_shift(source, [elsewhere]) == 2.5


def test_a_waiting_job_says_why_in_the_panels_words():
    """From the status's ``queue`` (docs/server.md): what the lane runs, where the job is."""
    pausing = {"lane": "cpu", "position": 1, "running": "X", "running_recovered": True}
    assert "pausing a job it recovered after a restart" in waiting(pausing)
    assert waiting(pausing).startswith("waiting (next)")
    behind = {"lane": "cpu", "position": 2, "running": "X", "running_recovered": False}
    assert waiting(behind) == "waiting (2nd in line): the backend is finishing another job"
    assert "loading its models" in waiting({"position": 1, "lane_ready": False})
    assert waiting(None).startswith("waiting")  # an older backend: no ``queue``


def test_a_job_the_backend_stopped_on_is_kept_not_failed_and_its_end_is_announced():
    stopped = str(backend_stopped("generate"))
    assert "stopped" in stopped and "restart" in stopped and "fail" not in stopped
    done = recovered_notice("generate", "J1", {"state": "succeeded"})
    assert "J1" in done and "finished" in done and "History" in done
    gone = {"state": "failed", "message": "KeyError: /tmp/x/y/z.glb"}
    failed = recovered_notice("generate", "J1", gone)
    assert "did not finish" in failed and "KeyError" not in failed and "/tmp" not in failed


def test_a_reference_sculpt_sends_its_target_as_a_file_or_the_historys_head(tmp_path):
    target = tmp_path / "Target.glb"
    target.write_bytes(b"glTF")
    assert sculpt_fields("sd", "FILE", "", "") == ({"guidance": "sd"}, None)
    assert sculpt_fields("reference", "FILE", str(target), "job-1") == (
        {"guidance": "reference"}, str(target),
    )  # fmt: skip
    assert sculpt_fields("reference", "HISTORY", str(target), "job-1") == (
        {"guidance": "reference", "parent_id": "job-1"}, None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("target", "path", "history_job", "words"),
    [("HISTORY", "", "", "No head is selected in the History"),
     ("FILE", "", "job-1", "Pick the target head's .glb file"),
     ("FILE", "head.obj", "", "is not a .glb file"),
     ("FILE", "missing.glb", "", "does not exist")],
)  # fmt: skip
def test_a_reference_sculpt_without_a_usable_target_is_refused_before_anything_is_sent(
    tmp_path, target, path, history_job, words
):
    if path:
        path = str(tmp_path / path)
        if path.endswith(".obj"):
            (tmp_path / "head.obj").write_text("v 0 0 0")
    with pytest.raises(HeadSculptError, match=words) as refused:
        sculpt_fields("reference", target, path, history_job)
    assert str(tmp_path) not in str(refused.value)  # the file's name, not its folder
