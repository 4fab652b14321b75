"""The sculpt pipeline's every stage, fast: the SD path on tiny random models, resume from
checkpoints, and what each teacher is shown. The reconstruction proofs (the pipeline
rebuilding heads it cannot express) are in test_sculpt_reconstruction.py."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pygltflib
import pytest
import torch

from conftest import khronos_errors
from headsculpt.bounds import Box
from headsculpt.export.mouth_opening import MOUTH_INSIDE_PART
from headsculpt.guidance.models import SD15_CONTROLNET_SUBFOLDER
from headsculpt.guidance.random_models import random_controlnet, random_stable_diffusion
from headsculpt.guidance.sources import MissingWeightsError
from headsculpt.pipelines.sculpt import (
    OCCUPANCY_DECAY,
    REACH_VIEW_SHARE,
    SURFACE_DENSITIES,
    SculptPipeline,
    SculptRequest,
)
from headsculpt.pipelines.sculpt_presets import SCULPT_PRESETS
from headsculpt.progress import Cancelled
from headsculpt.render.occupancy import OccupancyGrid
from test_glb import ARKIT_52
from test_meaning_glb import UP, GlbHead

# Every stage, a few steps each, at sizes a 2-core CPU runs in seconds.
TINY = replace(
    SCULPT_PRESETS["test"],
    coarse_steps=4, coarse_size=32, coarse_views=2, samples_per_ray=24,
    hash_levels=6, hash_log2_table=12,
    fine_steps=3, fine_size=48, fine_views=2, tet_spacing=0.04, texture_size=256,
    checkpoint_seconds=0.0, preview_every=2, albedo_only_steps=2,
)  # fmt: skip
PROMPT = "an old man with a long face"


@pytest.fixture(scope="module")
def pipeline() -> SculptPipeline:
    return SculptPipeline.from_defaults()


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("sculpt-models")
    base = random_stable_diffusion("tiny", root / "sd")
    random_controlnet(base, root / "landmarks" / SD15_CONTROLNET_SUBFOLDER, seed=1)
    return {"base_model": str(base), "landmark_controlnet": str(root / "landmarks")}


@pytest.fixture(scope="module")
def reference_glb(pipeline, tmp_path_factory) -> Path:
    """A head of another description: the reference teacher's answer."""
    head = pipeline.parametric("a young woman with a round face", seed=5)
    path = tmp_path_factory.mktemp("reference") / "target.glb"
    path.write_bytes(head.glb)
    return path


@pytest.fixture(scope="module")
def sd_result(pipeline, tiny_models, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("sd-scratch")
    steps: list[tuple[str, object]] = []

    def progress(stage, fraction, preview=None):
        if preview is not None:
            steps.append((stage, preview))

    request = SculptRequest(prompt=PROMPT, seed=7, quality="test", models=tiny_models)
    result = pipeline.sculpt(request, TINY, 7, scratch, progress)
    glb = scratch / "head.glb"
    glb.write_bytes(result["glb"])
    return result, glb, steps


def test_sd_path_runs_every_stage_and_exports_a_rigged_glb(sd_result):
    result, glb, steps = sd_result
    sidecar = result["sidecar"]
    assert sidecar["guidance"]["kind"] == "sd"
    assert len(sidecar["losses"]["coarse"]) == TINY.coarse_steps
    assert len(sidecar["losses"]["fine"]) == TINY.fine_steps
    assert all(np.isfinite(sidecar["losses"]["coarse"] + sidecar["losses"]["fine"]))
    # Each weighted term's pull, at step 0 of each stage (every 100 steps): the guidance's
    # beside the regularisers', so a first run on new weights shows which dominates.
    norms = sidecar["gradient_norms"]
    assert set(norms["coarse"]) >= {"step", "guidance", "sparsity"} and norms["coarse"]["step"] == [
        0
    ]
    assert set(norms["fine"]) == {"step", "guidance", "laplacian", "normal_consistency"}
    assert norms["coarse"]["guidance"][0] > 0 and norms["fine"]["normal_consistency"][0] > 0
    assert sidecar["device"] == "cpu" and sidecar["guidance"]["back_view"] == "negative prompt"
    # Step previews: every 2 steps of each stage, the views of that step side by side.
    assert [stage for stage, _ in steps] == ["coarse", "coarse", "fine"]
    assert steps[0][1].size == (2 * 256, 256)
    errors, messages = khronos_errors(glb)
    assert errors == 0, messages
    gltf = pygltflib.GLTF2.load_binary(str(glb))
    head = max(gltf.meshes, key=lambda m: len(m.extras.get("targetNames", [])))
    assert set(head.extras["targetNames"]) == ARKIT_52
    assert gltf.skins and len(gltf.skins[0].joints) > 10
    assert gltf.materials[0].pbrMetallicRoughness.baseColorTexture is not None


def _welded(positions: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Triangles over one vertex per position (UV seams closed), and a vertex per position."""
    _, first, inverse = np.unique(positions.round(6), axis=0, return_index=True,
                                  return_inverse=True)  # fmt: skip
    return inverse.reshape(-1)[triangles], first


def _border(triangles: np.ndarray) -> np.ndarray:
    """Vertices on edges that only one triangle uses."""
    edges = np.sort(triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    return np.unique(unique[counts == 1])


def _slit_sides(triangles: np.ndarray, positions: np.ndarray) -> tuple[list[int], list[int]]:
    """The mouth slit's two edges, upper then lower, as welded vertex indices: the border
    is walked as one loop, cut at its leftmost and rightmost vertices (the mouth's corners,
    which belong to neither side). The sides are told apart by their mean height, not
    vertex by vertex: the cut's vertices lie a fraction of a millimetre apart on both."""
    edges = np.sort(triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    neighbours: dict[int, list[int]] = {}
    for a, b in unique[counts == 1]:
        neighbours.setdefault(int(a), []).append(int(b))
        neighbours.setdefault(int(b), []).append(int(a))
    assert all(len(n) == 2 for n in neighbours.values()), "the slit is not a simple loop"
    start = next(iter(neighbours))
    loop, previous = [start], None
    while True:
        following = next(v for v in neighbours[loop[-1]] if v != previous)
        if following == start:
            break
        previous = loop[-1]
        loop.append(following)
    assert len(loop) == len(neighbours), "the border is more than one loop"
    across = positions[loop, 0]  # glTF x: the head's left-right axis
    left, right = int(np.argmin(across)), int(np.argmax(across))
    loop = loop[left:] + loop[:left]
    right = (right - left) % len(loop)
    one, other = loop[1:right], loop[right + 1 :]
    sides = sorted((one, other), key=lambda side: -float((positions[side] @ UP).mean()))
    return sides[0], sides[1]


@pytest.fixture(scope="module")
def reference_result(pipeline, reference_glb, tmp_path_factory):
    """A few steps toward a parametric head on the test preset's tet grid (TINY's cells are
    as tall as the lips: its surface may not cross the mouth line at all)."""
    scratch = tmp_path_factory.mktemp("reference-scratch")
    preset = replace(TINY, tet_spacing=SCULPT_PRESETS["test"].tet_spacing)
    result, _ = _run(pipeline, reference_glb, scratch, preset=preset)
    glb = scratch / "head.glb"
    glb.write_bytes(result["glb"])
    return result, glb


def test_the_sculpts_lips_are_parted_so_jaw_open_opens_the_mouth(reference_result):
    """A sculpt's surface has no mouth of its own: the export cuts one along the mouth line
    and closes it from behind with the mouth's inside, so at rest the head is closed and
    jawOpen moves the lower lip away from the upper."""
    result, glb = reference_result
    assert result["sidecar"]["mouth"]["cut_vertices"] > 0
    head = GlbHead(glb.read_bytes())
    (inside,) = [m for m in head.gltf.meshes if m.name == MOUTH_INSIDE_PART]
    primitive = inside.primitives[0]
    red, green, blue, _ = head.gltf.materials[
        primitive.material
    ].pbrMetallicRoughness.baseColorFactor
    assert red > 2 * green and red > 2 * blue  # the mouth's inside, not skin
    inside_positions = head.accessor(primitive.attributes.POSITION)
    inside_triangles = head.accessor(primitive.indices).reshape(-1, 3).astype(np.int64)

    # The head alone is open along the mouth line only; with the mouth's inside, closed.
    triangles, first = _welded(head.positions, head.triangles)
    slit = _border(triangles)
    assert len(slit) >= 2 * result["sidecar"]["mouth"]["cut_vertices"]
    both = np.concatenate([head.positions, inside_positions])
    closed, _ = _welded(
        both, np.concatenate([head.triangles, inside_triangles + len(head.positions)])
    )
    assert len(_border(closed)) == 0

    # The slit is one loop whose two corners split it into the upper lip's edge and the
    # lower's; jawOpen moves the lower side down, the upper side much less.
    upper, lower = _slit_sides(triangles, head.positions[first])
    jaw_down = -(head.targets["jawOpen"][first] @ UP)
    assert jaw_down[lower].mean() > 0.005  # metres
    assert jaw_down[lower].mean() > 3 * np.abs(jaw_down[upper]).mean()


def test_sd_teacher_draws_landmarks_on_front_views_and_none_on_back_views(pipeline, tiny_models):
    request = SculptRequest(prompt=PROMPT, models=tiny_models)
    prior = pipeline.prior(PROMPT, 0)
    teacher = pipeline.teacher(request, TINY, prior)
    views = [prior.sampler.view(0.0, 5.0, 35.0, 1.1), prior.sampler.view(180.0, 5.0, 35.0, 1.1)]
    assert [v.label for v in views] == ["front", "back"]
    batch = teacher.conditions(views, "albedo", torch.zeros(2, 3), 32)
    front, back = batch.landmark_images
    assert back.abs().sum() == 0
    # The front drawing's pupils sit where the prior's pupils project (ControlNet convention).
    assert front.sum() > 0 and batch.labels == ["front", "back"]


def test_sd_path_names_the_missing_weights(pipeline):
    request = SculptRequest(prompt=PROMPT, models={})
    with pytest.raises(MissingWeightsError) as caught:
        pipeline.teacher(request, TINY, pipeline.prior(PROMPT, 0))
    assert caught.value.slot == "base_model"


def _run(pipeline, reference_glb, scratch, stop_at=None, preset=TINY):
    """A reference run; ``stop_at`` = (stage, step) cancels as that step starts, as a job
    cancel does. Returns the result and the (stage, overall fraction) of each step."""
    seen = []

    def progress(stage, fraction, preview=None):
        if preview is not None:  # a step picture, not a step
            return
        seen.append((stage, fraction))
        started = sum(1 for s, _ in seen if s == stage)  # steps of this stage begun so far
        if stop_at and stage == stop_at[0] and started == stop_at[1] + 1:
            raise Cancelled

    request = SculptRequest(prompt=PROMPT, seed=3, guidance="reference",
                            reference=str(reference_glb))  # fmt: skip
    return pipeline.sculpt(request, preset, 3, scratch, progress), seen


@pytest.mark.parametrize("stop_at", [("coarse", 3), ("fine", 2)])
def test_an_interrupted_sculpt_resumes_from_its_checkpoint_to_the_same_result(
    pipeline, reference_glb, tmp_path, stop_at
):
    whole, _ = _run(pipeline, reference_glb, tmp_path / "whole")
    with pytest.raises(Cancelled):
        _run(pipeline, reference_glb, tmp_path / "cut", stop_at)
    resumed, seen = _run(pipeline, reference_glb, tmp_path / "cut")
    # It started again from the step it was stopped at (a stop saves the stage), not from 0 …
    stage, cut_at = stop_at
    before = 0 if stage == "coarse" else TINY.coarse_steps
    total = TINY.total_steps + 2  # + the prior and the export
    first = min(f for s, f in seen if s == stage)
    assert first == pytest.approx((1 + before + cut_at) / total)
    # … and ended where the uninterrupted run did (same random streams): every step's
    # loss to float rounding (two threads may sum in another order), and the surface: its
    # size to a few tets whose signed distance sits within rounding of zero (11474 against
    # 11466 triangles on one machine), its place to the Chamfer below (xatlas may cut its
    # seams differently: vertices vary).
    for stage_name, losses in whole["sidecar"]["losses"].items():
        assert resumed["sidecar"]["losses"][stage_name] == pytest.approx(losses, rel=1e-5)
    triangles = whole["sidecar"]["mesh"]["triangles"]
    assert resumed["sidecar"]["mesh"]["triangles"] == pytest.approx(triangles, rel=0.005)
    again, first = resumed["sidecar"]["reconstruction"], whole["sidecar"]["reconstruction"]
    assert again["chamfer"] == pytest.approx(first["chamfer"], abs=1e-4)
    assert again["psnr"] == pytest.approx(first["psnr"], abs=0.1)


def test_reference_teacher_sees_the_target_in_the_students_frame(pipeline, reference_glb):
    request = SculptRequest(prompt=PROMPT, guidance="reference", reference=str(reference_glb))
    prior = pipeline.prior(PROMPT, 0)
    teacher = pipeline.teacher(request, TINY, prior)
    views = [prior.sampler.view(0.0, 5.0, 35.0, 1.1)]
    target = teacher.conditions(views, "albedo", torch.zeros(1, 3), 64).target_images[0]
    covered = (target < 0.99).any(0)  # not the white background
    rows, cols = torch.nonzero(covered, as_tuple=True)
    # Both heads are centred in the unit frame: the target fills the middle of the view.
    assert 20 < rows.float().mean() < 44 and 26 < cols.float().mean() < 38
    assert 0.1 < covered.float().mean() < 0.7


def test_sidecar_is_written_by_run(pipeline, reference_glb, tmp_path, monkeypatch):
    from headsculpt.pipelines.folder_outputs import FolderOutputs

    monkeypatch.setitem(SCULPT_PRESETS, "test", TINY)
    outputs = FolderOutputs(tmp_path / "out" / "head.glb", tmp_path / "scratch")
    request = SculptRequest(prompt=PROMPT, seed=1, quality="test", guidance="reference",
                            reference=str(reference_glb), preview=True)  # fmt: skip
    pipeline.run(request, outputs, lambda *a: None)
    names = sorted(p.name for p in outputs.written)
    assert {"head.glb", "head.json", "head.png"} <= set(names)
    sidecar = json.loads((tmp_path / "out" / "head.json").read_text())
    assert sidecar["mode"] == "sculpt" and sidecar["seed"] == 1
    assert sidecar["preset"]["coarse_steps"] == TINY.coarse_steps
    # Where DMTet started: one of the candidate densities, the one the matching chose.
    assert sidecar["surface_start_density"] in SURFACE_DENSITIES


def test_the_fine_stage_samples_headsculpts_late_timesteps(pipeline, tiny_models, tmp_path):
    """Timesteps anneal from [0.02, 0.98] to [0.02, 0.50] over the coarse stage; the fine
    stage goes on from there (it must not start the schedule again)."""
    request = SculptRequest(prompt=PROMPT, models=tiny_models)
    prior = pipeline.prior(PROMPT, 0)
    teacher = pipeline.teacher(request, TINY, prior)
    guide, sampled = teacher.guidance, []

    def recording(renders, batch, step, generator):
        output = guide(renders, batch, step=step, generator=generator)
        sampled.append(output.timesteps)
        return output

    teacher.guidance = recording
    generator = torch.Generator().manual_seed(0)
    field, _ = pipeline.coarse(prior, teacher, TINY, generator, tmp_path, lambda *a: None)
    pipeline.fine(field, prior, teacher, TINY, generator, tmp_path, lambda *a: None)
    fine = torch.cat(sampled[TINY.coarse_steps :])
    assert len(fine) == TINY.fine_steps * TINY.fine_views
    assert fine.max() <= 500 and fine.min() >= 20


def test_the_box_holds_what_reaches_past_the_head_and_the_cameras_keep_framing_it():
    """Long hair or a reference target's horn must lie inside the field's box (a field is
    empty outside it); the cameras still frame the head, so the face keeps its pixels."""
    from headsculpt.pipelines.sculpt import Prior
    from headsculpt.render.preview import TexturedMesh

    corners = np.array([[x, y, z] for x in (-0.1, 0.1) for y in (-0.12, 0.12) for z in (0, 0.3)])
    head = TexturedMesh(corners, corners, np.zeros((8, 2)), np.array([[0, 1, 2]]),
                        np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8))  # fmt: skip
    landmarks = np.zeros((478, 3))
    alone = Prior.around(head, landmarks, {})
    assert alone.box.centre == (0.0, 0.0, 0.0) and alone.box.half_extent == (0.65,) * 3
    hair_to_the_chest = np.array([[0.0, 0.05, -0.25], [0.0, 0.2, 0.1]])  # metres, below, behind
    reaching = Prior.around(head, landmarks, {}, also_contain=hair_to_the_chest)
    inside = reaching.box.contains(torch.from_numpy(reaching.to_unit_frame(hair_to_the_chest)))
    assert bool(inside.all())
    low, high = reaching.box.corners(dtype=torch.float64)
    # Grown down and back to the points plus the padding (unit frame: the head's centre at
    # 0.15 m, its largest side 0.3 m) …
    assert float(low[2]) == pytest.approx((-0.25 - 0.15) / 0.3 - 0.15)
    assert float(high[1]) == pytest.approx(0.2 / 0.3 + 0.15)
    assert [float(low[0]), float(high[2])] == pytest.approx([-0.65, 0.65])  # … nowhere else
    assert reaching.sampler.target == alone.sampler.target  # the cameras frame the head
    assert reaching.sampler.radius == alone.sampler.radius

    # … but a share of the views aims at the box's centre, so what reaches past the head
    # (hair to the chest) gets into frame; a head in a box of its own gets none of those.
    def aims(prior, count=400):
        views = prior.views(count, torch.Generator().manual_seed(0))
        return np.array([v.camera.target for v in views])

    assert np.allclose(aims(alone), alone.sampler.target)
    targets = aims(reaching)
    at_box = np.isclose(targets, reaching.box.centre).all(1)
    at_head = np.isclose(targets, reaching.sampler.target).all(1)
    assert (at_box | at_head).all()
    assert at_box.mean() == pytest.approx(REACH_VIEW_SHARE, abs=0.05)
    assert reaching.reach_sampler.radius == alone.sampler.radius  # at the head's framing


def test_the_sculpts_occupancy_forgets_a_passing_fog_within_a_few_updates():
    """Early in a run Adam lifts the air a little everywhere; the coarse stage's grid must
    let it go within ~10 updates (160 steps), or every sample is evaluated for the rest."""
    box = Box((0.0, 0.0, 0.0), 1.0)
    threshold, warm = 0.1, 256  # past the warm-up

    def sphere(points):
        return (points.norm(dim=1) < 0.4).float() * 50.0

    def fog(points):  # ten times the threshold, everywhere
        return torch.full((len(points),), 10 * threshold)

    fractions = {}
    for first in (fog, sphere):  # the same run without the fog, to compare with
        grid = OccupancyGrid(box, resolution=SCULPT_PRESETS["test"].occupancy_resolution)
        generator = torch.Generator().manual_seed(0)
        for update in range(12):
            field = first if update == 0 else sphere
            grid.update(field, warm + 16 * update, threshold=threshold, decay=OCCUPANCY_DECAY,
                        generator=generator)  # fmt: skip
            if update == 0 and first is fog:
                assert grid.occupied_fraction == 1.0
        fractions[first.__name__] = grid.occupied_fraction
    assert fractions["fog"] <= fractions["sphere"] < 0.5, fractions  # only the ball is left


def test_the_coarse_field_starts_as_the_prior_with_clear_air_it_can_still_fill(pipeline):
    """Step 0 renders the prior: solid just inside its surface, air a sample cannot see.
    Yet the air is not so empty that nothing grows there: the gradient that grows a horn
    or long hair the prior lacks scales with the density there (a floor of e^-10 starved
    it, and a horn stopped half-way — docs/sculpt.md)."""
    from headsculpt.pipelines.sculpt import SURFACE_DENSITY

    prior = pipeline.prior(PROMPT, seed=0)
    field = pipeline.coarse_field(prior, TINY)
    low, high = prior.box.corners()
    points = low + (high - low) * torch.rand(40000, 3, generator=torch.Generator().manual_seed(0))
    distance = field.prior(points)  # the prior's signed distance (the head's size is 1)
    with torch.no_grad():
        inside, _ = field(points[distance < -0.02])
        outside, _ = field(points[distance > 0.1])
    assert float(inside.min()) > SURFACE_DENSITY
    spacing = 2.0 * max(prior.box.half_extent) * 3**0.5 / SCULPT_PRESETS["test"].samples_per_ray
    assert float(outside.max()) * spacing < 2e-3  # a sample's alpha: the air is clear
    assert float(outside.min()) > float(np.exp(-5.0))  # … and still trainable


def test_face_close_ups_frame_the_face_from_its_side_in_the_share_asked(pipeline):
    """A share of the fine stage's views are close-ups of the face: every landmark in the
    frame and filling it, from the face's half of the head; the rest whole-head views."""
    from headsculpt.render.camera import to_pixels

    prior = pipeline.prior(PROMPT, seed=0)
    landmarks = torch.from_numpy(prior.landmarks).float()

    def face_width(view) -> float:  # the landmarks' extent on screen, as a share of it
        pixels, _ = to_pixels(view.camera, landmarks, 100, 100)
        assert bool(((pixels >= 0) & (pixels <= 100)).all())  # the whole face in frame
        return float(np.ptp(pixels[:, 0].numpy())) / 100

    close_ups = prior.views(60, torch.Generator().manual_seed(1), face_share=1.0)
    wholes = prior.views(60, torch.Generator().manual_seed(1), face_share=0.0)
    assert all(abs(v.azimuth) <= 60.0 for v in close_ups)
    close = np.mean([face_width(v) for v in close_ups])
    whole = np.mean([face_width(v) for v in wholes if abs(v.azimuth) <= 60.0])
    assert close > 1.5 * whole, (close, whole)
    # Seen from the front the face is the landmarks' near side: their nose tip (MediaPipe
    # 1) is nearer to the camera than their ears' neighbours (234, 454).
    front = prior.face_sampler().view(0.0, 0.0, 35.0, 1.0).camera
    _, depth = to_pixels(front, landmarks, 100, 100)
    assert float(depth[1]) < float(depth[[234, 454]].min())
    # The share: about a quarter of 800 views at 0.25, none at 0.
    mixed = prior.views(800, torch.Generator().manual_seed(2), face_share=0.25)
    face_target = prior.face_sampler().target
    share = np.mean([v.camera.target == face_target for v in mixed])
    assert 0.2 < share < 0.3
    assert all(v.camera.target == prior.sampler.target for v in wholes)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"face_view_share": 1.5}, "face_view_share"), ({"face_view_share": -0.1}, "face_view_share"),
     ({"fine_steps": 0}, "fine_steps"), ({"edit_coarse_steps": -1}, "edit_coarse_steps")],
)  # fmt: skip
def test_a_preset_names_the_setting_it_cannot_take(change, message):
    with pytest.raises(ValueError, match=message):
        replace(SCULPT_PRESETS["test"], **change)
