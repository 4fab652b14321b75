"""The add-on's bpy-free parts (client, code summary), in the backend's Python."""

import socket

import pytest

from blender_headsculpt.core.client import BackendClient
from blender_headsculpt.core.code_summary import summarize_code
from blender_headsculpt.core.errors import HeadSculptError
from blender_headsculpt.core.job_monitor import JobMonitor
from blender_headsculpt.core.rig_request import rig_request
from blender_headsculpt.core.versions import version_labels


def _dead_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_unreachable_backend_says_how_to_fix_it():
    with pytest.raises(HeadSculptError) as caught:
        BackendClient(_dead_url(), timeout=2).health()
    assert "not reachable" in caught.value.message
    assert caught.value.hint.startswith("Start the backend")


def test_monitor_reports_a_dead_backend_instead_of_dying():
    url = _dead_url()
    monitor = JobMonitor(lambda: BackendClient(url, timeout=2), {"prompt": "a man"}, "/tmp")
    snapshot = monitor.start().wait(timeout=30)
    assert snapshot.done and snapshot.state == "failed"
    assert "not reachable" in snapshot.message


def test_code_summary_shows_what_was_read_and_what_was_not():
    lines = summarize_code({
        "attributes": {"age": 75.0, "nose.size": 0.6, "ancestry": {"asian": 1.0},
                       "expression": "smile"},
        "abstract": ["piercing eyes"], "ignored": ["blorf"],
    })  # fmt: skip
    text = " | ".join(lines)
    assert "age 75" in text and "nose.size +0.60" in text and "ancestry asian 100%" in text
    assert lines[-2:] == ["Not shaped: piercing eyes", "Not used: blorf"]
    assert all(len(line) <= 48 for line in lines)
    assert summarize_code({"attributes": {}}) == ["(nothing concrete: a neutral head)"]
    assert summarize_code(None) == []


def test_a_wrong_token_says_to_check_the_token(tmp_path):
    from backend_server import BackendServer

    token_file = tmp_path / "token"
    token_file.write_text("s" * 40)
    token_file.chmod(0o600)
    with BackendServer(tmp_path, "--token-file", str(token_file)) as server:
        for token in ("s" * 39, "s" * 41, "", "S" * 40):  # exact match only
            with pytest.raises(HeadSculptError) as caught:
                BackendClient(server.url, token=token, timeout=10).health()
            assert caught.value.status == 401
            assert caught.value.hint == "Check the token in the HeadSculpt preferences"
        assert BackendClient(server.url, token="s" * 40, timeout=10).health()["status"] == "ok"


def test_rig_axes_are_sent_in_gltf_frame():
    # The exporter writes Blender (x, y, z) as glTF (x, z, −y): Blender's up +Z is glTF's
    # +Y, and a face looking toward Blender's −Y (the front view) looks along glTF's +Z.
    assert rig_request("+Z", "-Y") == {"kind": "rig", "up": "+y", "front": "+z"}
    assert rig_request("-X", "+Y") == {"kind": "rig", "up": "-x", "front": "-z"}
    assert rig_request() == {"kind": "rig"}  # the backend finds the face
    with pytest.raises(HeadSculptError, match="same axis"):
        rig_request("+Z", "-Z")


def test_versions_count_along_each_chain_of_edits():
    jobs = [
        {"id": "c", "parent_id": "b"},
        {"id": "b", "parent_id": "a"},
        {"id": "a", "parent_id": None},
        {"id": "x"},
        {"id": "orphan", "parent_id": "gone"},  # its parent is not listed: counts from there
    ]
    assert version_labels(jobs) == {"a": "v1", "b": "v2", "c": "v3", "x": "v1", "orphan": "v2"}
