"""`headsculpt batch`: a prompts file made into heads on Ray workers, as a user runs it.

The file's lines are checked with the registry's own checks (in process, no Ray); the
runs are real `python -m headsculpt batch` processes on a real Ray: the first starts
Ray inside the command (the default), the others join one local Ray cluster this
module starts (`--ray-address`), which saves a Ray start each. Every GLB is compared
byte for byte with what `headsculpt generate` makes for the same text and seed — the
workers run torch on one thread each, the command on every core.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from headsculpt.batch.item_files import BATCH_FOLDER, SHEET_NAME, publish
from headsculpt.batch.items import BatchOptions, check_options, read_items
from headsculpt.batch.manifest import MANIFEST_NAME, Manifest, ManifestRow
from headsculpt.limits import RequestError
from headsculpt.pipelines.contract import make_request
from headsculpt.pipelines.folder_outputs import FolderOutputs
from headsculpt.pipelines.registry import find_kind
from headsculpt.progress import no_progress

FISHERMAN = "a weathered fisherman in his seventies with a bulbous nose"
LONG = "x" * 5000
FIRST_LINES = [
    FISHERMAN,  # 1: the text's own seed (the case that once depended on the thread count)
    "",  # 2: empty
    '{"prompt": "a young woman with freckles, green eyes and full lips", "seed": 11}',
    LONG,  # 4: too long
    '{"prompt": "a bald man with a hooked nose", "variants": 2, "seed": 5}',
    '{"prompt": "a man", "seed": 3,',  # 6: not JSON
    '{"prompt": "a woman", "colour": "red"}',  # 7: unknown key
    "a heavy middle-aged man with a full beard and a square jaw",
    '{"prompt": "a girl", "seed": -1}',  # 9: out of its limits
    '{"prompt": "a boy", "variants": "two"}',  # 10: the wrong type
    '{"prompt": "an old woman with white hair in a bun", "quality": "draft"}',
]
FIRST_GOOD = {1, 3, 5, 8, 11}
FIRST_ERRORS = {
    2: "prompt: is empty",
    4: "prompt: is 5000 characters long; the limit is 2000",
    6: "row: not valid JSON",
    7: "colour: unknown key",
    9: "seed: must be in [0, 2**32), got -1",
    10: "variants: must be a whole number, got text",
}


# --- reading the file: no Ray ---------------------------------------------------------


def _read(tmp_path: Path, lines: list[str], name: str = "prompts.txt", **options):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {item.line: item for item in read_items(path, BatchOptions(**options))}


def test_a_bad_line_carries_its_reason_naming_the_field_and_the_rest_are_requests(tmp_path):
    items = _read(tmp_path, FIRST_LINES)
    assert sorted(items) == list(range(1, 12))  # the final line break starts no empty line
    assert {n for n, item in items.items() if item.ok} == FIRST_GOOD
    for line, reason in FIRST_ERRORS.items():
        assert items[line].error.startswith(reason), (line, items[line].error)
    assert items[5].values["variants"] == 2 and items[5].seed == 5
    assert items[11].values["quality"] == "draft" and items[1].values["quality"] == "standard"
    assert items[1].id == "00001" and items[11].id == "00011"


@pytest.mark.parametrize(
    "row",
    [
        {"prompt": LONG},
        {"prompt": "a man", "seed": 2**32},
        {"prompt": "a man", "variants": 17},
        {"prompt": "a man", "texture_size": 512},
        {"prompt": "a man", "quality": "ultra"},
        {"prompt": "a man\x07"},
        {"prompt": "a man", "mode": "sculpt", "variants": 8},
    ],
)
def test_a_row_is_refused_with_the_message_generate_gives(tmp_path, row):
    """The registry's own check refuses the same values with the same words."""
    mode = row.get("mode", "parametric")
    values = {"kind": "generate", "mode": mode, **row}
    with pytest.raises(RequestError) as refused:
        find_kind("generate", mode).check(values)
    (item,) = _read(tmp_path, [json.dumps(row)]).values()
    assert item.error == str(refused.value)


def test_types_keys_modes_and_rig_rows_are_checked_before_the_limits(tmp_path):
    mesh = tmp_path / "scan.obj"
    mesh.write_text("v 0 0 0\n")
    items = _read(tmp_path, [
        '{"prompt": "a man", "seed": 1.5}', '{"prompt": "a man", "variants": true}',
        '{"prompt": "a man", "row": 1}', '{"prompt": "a man", "mode": "edit"}', '{"mode": "rig"}',
        '{"mode": "rig", "mesh": "scan.obj", "seed": 3}',
        '{"mode": "rig", "mesh": "missing.obj"}', '{"mode": "rig", "mesh": "scan.obj", "up": "q"}',
        '{"mode": "rig", "mesh": "scan.obj", "up": "+z"}', '{"prompt": 7}',
    ])  # fmt: skip
    assert items[1].error == "seed: must be a whole number, got 1.5"
    assert items[2].error == "variants: must be a whole number, got true"
    assert items[3].error.startswith("row: unknown key")
    assert items[4].error.startswith("mode: must be one of parametric, sculpt, rig")
    assert items[5].error == "mesh: rig rows need the mesh to rig"
    assert items[6].error.startswith("seed: is not for rig rows")
    assert items[7].error == "mesh: 'missing.obj': no such file"
    assert items[8].error.startswith("up: must be an axis")
    assert items[9].ok and items[9].mesh == str(mesh.resolve()) and items[9].kind == "rig"
    assert items[10].error == "prompt: must be text, got int"
    rig = _read(tmp_path, ["scan.obj"], name="meshes.txt", mode="rig")[1]
    assert rig.ok and rig.values["parent_id"] == str(mesh.resolve())


def test_a_jsonl_file_holds_json_rows_only_and_bytes_that_are_not_utf8_fail(tmp_path):
    jsonl = _read(tmp_path, ["a man", '{"prompt": "a man"}', '["a man"]'], name="prompts.jsonl")
    assert jsonl[1].error.startswith("row: not valid JSON") and jsonl[2].ok
    assert jsonl[3].error == "row: a JSON row must be an object, got list"
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"\xef\xbb\xbfa man\r\nun gar\xe7on\n")
    first, second = read_items(path, BatchOptions())
    assert first.prompt == "a man"  # the byte-order mark and the CR are not the prompt's
    assert second.error.startswith("line: not UTF-8 text")


def test_the_commands_own_options_are_checked_once_before_any_line():
    with pytest.raises(RequestError, match="variants"):
        check_options(BatchOptions(variants=0))
    with pytest.raises(RequestError, match="quality"):
        check_options(BatchOptions(mode="sculpt", quality="draft"))
    check_options(BatchOptions(mode="rig"))


# --- the manifest and the output folder: no Ray -----------------------------------------


def test_the_last_row_wins_a_torn_row_is_skipped_and_compaction_lists_each_once(tmp_path):
    items = list(_read(tmp_path, ["a man", "a woman", "a boy"]).values())
    with Manifest.open(tmp_path / "out") as manifest:
        manifest.record(ManifestRow.for_item(items[0], "failed", error="its worker died"))
        manifest.record(ManifestRow.for_item(items[1], "succeeded", outputs=["00002/head.glb"]))
        manifest.record(ManifestRow.for_item(items[0], "succeeded", outputs=["00001/head.glb"]))
        with pytest.raises(ValueError, match="another headsculpt batch"):
            Manifest.open(tmp_path / "out")  # one writer at a time
    path = tmp_path / "out" / MANIFEST_NAME
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"item": "00003", "line": 3, "sta')  # killed while appending
    with Manifest.open(tmp_path / "out") as manifest:
        assert manifest.rows["00001"].status == "succeeded"  # the last row of an item wins
        assert "00003" not in manifest.rows
        assert not manifest.finished(items[0])  # its file is not there
        (tmp_path / "out" / "00001").mkdir()
        (tmp_path / "out" / "00001" / "head.glb").write_bytes(b"glTF")
        assert manifest.finished(items[0])
        changed = list(_read(tmp_path, ["a man, older", "a woman"]).values())[0]
        assert not manifest.finished(changed)  # another request on that line: made again
        manifest.compact(items)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["item"], r["status"]) for r in rows] == [("00001", "succeeded"),
                                                        ("00002", "succeeded")]  # fmt: skip


def test_publishing_replaces_an_older_run_of_the_item_whole(tmp_path):
    final = tmp_path / "00001"
    final.mkdir()
    (final / "head.glb").write_bytes(b"old")
    (final / "head_2.glb").write_bytes(b"old variant")
    staging = tmp_path / ".batch" / "work" / "00001" / "attempt-1"
    staging.mkdir(parents=True)
    (staging / "head.glb").write_bytes(b"new")
    publish(staging, final)
    assert sorted(p.name for p in final.iterdir()) == ["head.glb"]
    assert (final / "head.glb").read_bytes() == b"new" and not staging.exists()
    assert list(staging.parent.iterdir()) == []  # the older run is gone


# --- the command ----------------------------------------------------------------------


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "headsculpt", "batch", *args]


def _batch(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(_command(*args), cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def _manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines()]


def _leftovers(out: Path) -> list[Path]:
    """Partial files and unfinished attempts: there must be none once a run has ended."""
    partial = [p for p in out.rglob("*") if p.name.endswith(".partial")]
    return partial + list((out / BATCH_FOLDER).glob("work/*"))  # attempts, empty scratch


def _write_prompts(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _same_as_generate(pipeline, row: dict, out: Path, tmp_path: Path) -> None:
    """The row's GLBs and sidecars equal those of `headsculpt generate` with its text,
    seed and options (the same checks, pipeline.run and folder outputs, in this process;
    without the previews, which the GLB does not depend on: line 1's is compared below)."""
    kind = find_kind("generate", "parametric")
    request = {key: row[key] for key in ("prompt", "seed", "variants", "quality", "texture_size")}
    values = kind.check({"kind": "generate", "mode": "parametric", **request})
    values["preview"] = False
    folder = tmp_path / f"generate-{row['item']}"
    outputs = FolderOutputs(folder / "head.glb", tmp_path)
    pipeline.run(make_request(type(pipeline).Request, values), outputs, no_progress)
    names = sorted(name.split("/")[1] for name in row["outputs"])
    assert sorted(p.name for p in outputs.written) == [n for n in names if n.endswith(".json")
                                                       or n.endswith(".glb")]  # fmt: skip
    assert len(names) == 3 * row["variants"]  # and a preview each
    for path in outputs.written:
        made = out / row["item"] / path.name
        assert made.read_bytes() == path.read_bytes(), f"{made} differs from generate's"


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """The bad-input file on Ray started inside the command (the default), 2 workers."""
    folder = tmp_path_factory.mktemp("batch")
    _write_prompts(folder / "prompts.txt", FIRST_LINES)
    completed = _batch("prompts.txt", "--out", "out", "--workers", "2", "--sheet", cwd=folder)
    return folder, completed


def test_bad_rows_fail_with_reasons_the_rest_succeed_and_the_exit_code_says_so(first_run):
    folder, completed = first_run
    assert completed.returncode == 1, completed.stderr[-3000:]
    rows = _manifest(folder / "out")
    assert [row["line"] for row in rows] == list(range(1, 12))  # each line once, in order
    assert {r["line"] for r in rows if r["status"] == "succeeded"} == FIRST_GOOD
    for line, reason in FIRST_ERRORS.items():
        assert rows[line - 1]["status"] == "failed" and rows[line - 1]["error"].startswith(reason)
        assert f"line {line}: {reason}" in completed.stderr
    assert "5 of 11 items done, 6 failed" in completed.stderr
    assert completed.stdout.splitlines() == [str(Path("out") / MANIFEST_NAME),
                                             str(Path("out") / SHEET_NAME)]  # fmt: skip
    assert len({r["worker"] for r in rows if r["worker"]}) == 2  # both workers took items
    assert not _leftovers(folder / "out")


def test_each_glb_is_the_one_generate_makes_for_its_text_and_seed(first_run, pipeline, tmp_path):
    folder, _ = first_run
    rows = [r for r in _manifest(folder / "out") if r["status"] == "succeeded"]
    for row in rows:
        assert row["attempts"] == 1 and row["seconds"] > 0
        assert all((folder / "out" / name).is_file() for name in row["outputs"])
        _same_as_generate(pipeline, row, folder / "out", tmp_path)
    # And the command itself, in its own process (every core's threads), for line 1.
    generated = tmp_path / "cli" / "head.glb"
    subprocess.run([sys.executable, "-m", "headsculpt", "generate", FISHERMAN, "--out",
                    str(generated), "--preview", str(generated.with_suffix(".png"))],
                   check=True, capture_output=True)  # fmt: skip
    for name in ("head.glb", "head.json", "head.png"):
        made = (folder / "out" / "00001" / name).read_bytes()
        assert made == (generated.parent / name).read_bytes(), name


def test_the_contact_sheet_shows_every_head(first_run):
    folder, _ = first_run
    heads = sum(len([n for n in r["outputs"] if n.endswith(".png")])
                for r in _manifest(folder / "out"))  # fmt: skip
    assert heads == 6  # five lines, one of them with two variants
    with Image.open(folder / "out" / SHEET_NAME) as sheet:
        assert sheet.size == (5 * 256, 2 * (128 + 2 * 13 + 5))  # 5 a row, captions under


def test_without_ray_the_command_says_how_to_install_it(tmp_path):
    code = (
        "import sys; sys.modules['ray'] = None\n"  # `import ray` now fails
        "from headsculpt.cli import main\n"
        "raise SystemExit(main(['batch', 'p.txt', '--out', 'out']))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                               text=True)  # fmt: skip
    assert completed.returncode == 2
    assert "headsculpt batch needs Ray: pip install 'headsculpt[batch]'" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_an_address_where_no_cluster_answers_is_refused_at_once(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _write_prompts(tmp_path / "p.txt", ["a man"])
    # Not Ray's own client: it would keep trying for minutes.
    completed = _batch("p.txt", "--out", "out", "--ray-address", f"127.0.0.1:{port}",
                       cwd=tmp_path, timeout=60)  # fmt: skip
    assert completed.returncode == 2
    assert f"--ray-address '127.0.0.1:{port}': no Ray cluster answers there" in completed.stderr


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A local Ray cluster the runs below join with --ray-address (one start for all).

    Its workers start in a folder of their own, not the driver's: a relative path that
    reached them would land there, not in --out (the tests look in --out)."""
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("ray"))
    try:
        context = ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR,
                           object_store_memory=128 * 2**20)  # fmt: skip
    finally:
        os.chdir(here)
    yield context.address_info["gcs_address"]
    ray.shutdown()


def test_a_second_run_skips_what_is_done_and_retries_what_failed(first_run, ray_cluster, tmp_path):
    folder, _ = first_run
    out = tmp_path / "out"
    shutil.copytree(folder / "out", out)  # copy2: the files keep their times
    before = {r["item"]: r for r in _manifest(out)}
    times = {p: p.stat().st_mtime_ns for p in out.glob("*/head*")}
    lines = list(FIRST_LINES)
    lines[1] = "a smiling man"  # the empty line, now filled in: made this time
    lines[7] = json.dumps({"prompt": lines[7], "seed": 8})  # another request: made again
    _write_prompts(tmp_path / "prompts.txt", lines)
    completed = _batch("prompts.txt", "--out", "out", "--ray-address", ray_cluster, cwd=tmp_path)
    assert completed.returncode == 1, completed.stderr[-3000:]  # lines 4, 6, 7, 9, 10 still bad
    assert "6 of 11 items done (2 now, 4 before), 5 failed" in completed.stderr
    rows = {r["item"]: r for r in _manifest(out)}
    assert len(_manifest(out)) == 11
    for item in ("00001", "00003", "00005", "00011"):  # not made again
        assert rows[item] == before[item]
    assert all(p.stat().st_mtime_ns == t for p, t in times.items() if p.parts[-2] != "00008")
    assert rows["00002"]["status"] == "succeeded" and before["00002"]["status"] == "failed"
    assert rows["00008"]["seed"] == 8 and rows["00008"]["worker"] != before["00008"]["worker"]
    assert rows["00009"]["error"] == before["00009"]["error"]  # retried, refused again
    for row in rows.values():  # in --out, wherever the workers run
        assert all((out / name).is_file() for name in row["outputs"]), row
    assert not _leftovers(out)


def _wait_for_rows(out: Path, count: int, process: subprocess.Popen) -> list[dict]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if (out / MANIFEST_NAME).exists():
            rows = [r for r in _manifest(out) if r["status"] == "succeeded"]
            if len(rows) >= count:
                return rows
        assert process.poll() is None, process.communicate()[1][-3000:]
        time.sleep(0.05)
    raise AssertionError("no rows in time")


def test_a_worker_killed_mid_run_has_its_item_made_by_another(ray_cluster, pipeline, tmp_path):
    texts = ["a young man with curly blue hair", "a woman with shoulder-length pink hair",
             "a clean-shaven bald man in his fifties"]  # fmt: skip
    _write_prompts(tmp_path / "prompts.txt", texts)
    process = subprocess.Popen(
        _command("prompts.txt", "--out", "out", "--variants", "2", "--quality", "draft",
                 "--workers", "2", "--ray-address", ray_cluster),
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    (first,) = _wait_for_rows(tmp_path / "out", 1, process)[:1]
    victim = int(first["worker"].rsplit(":", 1)[1])  # the actor's own pid, as it reported it
    # The first worker to finish was handed line 3: kill it once the first of that item's
    # two heads is written into its attempt folder, the second not yet — mid-item.
    attempt = tmp_path / "out" / BATCH_FOLDER / "work" / "00003" / "attempt-1"
    deadline = time.monotonic() + 300
    while not (attempt / "head_1.glb").exists():
        assert time.monotonic() < deadline and process.poll() is None, "line 3 never started"
        time.sleep(0.02)
    os.kill(victim, signal.SIGKILL)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-3000:]
    rows = _manifest(tmp_path / "out")
    assert [r["status"] for r in rows] == ["succeeded"] * 3
    retried = [r for r in rows if r["attempts"] == 2]
    assert retried, "no item was tried again: the kill did not land on a busy worker"
    assert all(r["worker"] != first["worker"] for r in retried)  # made elsewhere
    assert not _leftovers(tmp_path / "out")
    assert not (tmp_path / "out" / BATCH_FOLDER / "work").exists()
    for row in retried:
        _same_as_generate(pipeline, row, tmp_path / "out", tmp_path)


def test_ctrl_c_stops_cleanly_and_the_same_command_finishes_only_the_rest(ray_cluster, tmp_path):
    texts = [f"a {20 + 5 * k}-year-old man with a long nose" for k in range(6)]
    _write_prompts(tmp_path / "prompts.txt", texts)
    args = ("prompts.txt", "--out", "out", "--quality", "draft", "--ray-address", ray_cluster)
    process = subprocess.Popen(_command(*args), cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    _wait_for_rows(tmp_path / "out", 2, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-3000:]
    assert "stopping: items in progress are dropped" in stderr  # the handler, not a traceback
    assert "run the same command again" in stderr
    out = tmp_path / "out"
    done = {r["item"]: r for r in _manifest(out)}
    assert 2 <= len(done) < 6 and all(r["status"] == "succeeded" for r in done.values())
    assert not _leftovers(out)
    folders = {p.name: sorted(f.name for f in p.iterdir()) for p in out.glob("0*")}
    assert set(done) <= set(folders)  # (one may be published as the run stopped: all of it)
    assert all(names == ["head.glb", "head.json", "head.png"] for names in folders.values())
    times = {p: p.stat().st_mtime_ns for p in out.glob("*/head*")}

    again = _batch(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"6 of 6 items done ({6 - len(done)} now, {len(done)} before)" in again.stderr
    rows = {r["item"]: r for r in _manifest(out)}
    assert len(rows) == 6 and all(r["status"] == "succeeded" for r in rows.values())
    assert all(rows[item] == row for item, row in done.items())
    assert all(p.stat().st_mtime_ns == t for p, t in times.items())
