"""The IESD edit of a sculpted head (pipelines/sculpt_edit.py).

- the reference edit teacher's blend, w_e · ε̂(B) + (1 − w_e) · ε̂(A), on images;
- the real IESD path (random tiny Stable Diffusion, landmark and InstructPix2Pix
  ControlNets) end to end through SculptEditor to a rigged GLB;
- the proof on this CPU: A is a project head, B the same head with other proportions (the
  edit's known answer); w_e = 0 keeps A, w_e = 1 reaches B, w_e = 0.5 lands between.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pygltflib
import pytest
import torch

from headsculpt.eval.reconstruction import measure_reconstruction
from headsculpt.export.glb_reader import read_head_glb
from headsculpt.guidance.iesd import IESDConfig
from headsculpt.guidance.models import SD15_CONTROLNET_SUBFOLDER
from headsculpt.guidance.random_models import random_controlnet, random_stable_diffusion
from headsculpt.guidance.reference import ReferenceEditGuidance, ReferenceGuidance
from headsculpt.guidance.score_distillation import GuidanceBatch
from headsculpt.guidance.sources import MissingWeightsError
from headsculpt.pipelines.sculpt import SURFACE_DENSITIES, SculptPipeline
from headsculpt.pipelines.sculpt_edit import SculptEditor, SculptEditRequest
from headsculpt.pipelines.sculpt_presets import SCULPT_PRESETS
from headsculpt.progress import Cancelled
from sculpt_targets import non_human
from test_glb import ARKIT_52

DESCRIPTION = "a young woman with a round face and short black hair"
# Every stage for a few steps, at sizes a 2-core CPU runs in seconds.
TINY = replace(
    SCULPT_PRESETS["test"],
    coarse_size=32, coarse_views=2, samples_per_ray=24, hash_levels=6, hash_log2_table=12,
    fine_size=48, fine_views=2, tet_spacing=0.04, texture_size=256,
    checkpoint_seconds=0.0, preview_every=2,
    edit_coarse_steps=2, edit_steps=2,
)  # fmt: skip
# The proof's edit: the test preset with smaller volume renders and fewer steps (the start
# is already a head): 200 volume steps at 32² × 32 samples, 30 fine steps at 64², tet grid 48.
PROOF = replace(
    SCULPT_PRESETS["test"], coarse_size=32, samples_per_ray=32, edit_coarse_steps=200,
    edit_steps=30, fine_size=64, tet_spacing=1.3 / 48, texture_size=256,
    checkpoint_seconds=1e9, preview_every=1000,
)  # fmt: skip
STRETCH = (1.1, 1.1, 1.3)  # B: A wider, deeper and much taller (Chamfer A–B 0.027–0.030)


# --- the reference edit teacher -------------------------------------------------------
def test_reference_edit_teacher_blends_the_edit_and_the_identity_answers():
    """ε̂ = w_e · ε̂(B) + (1 − w_e) · ε̂(A), each as the reference teacher predicts it; so
    the pull is toward w_e · B + (1 − w_e) · A (ε̂ is affine in x̂₀)."""
    rng = torch.Generator().manual_seed(0)
    edited, identity = torch.rand(2, 3, 8, 8, generator=rng), torch.rand(2, 3, 8, 8, generator=rng)
    noisy, timesteps = torch.randn(2, 3, 8, 8, generator=rng), torch.tensor([100, 700])
    batch = GuidanceBatch(["front", "side"], target_images=edited, identity_images=identity)
    single = ReferenceGuidance()

    def toward(answer: torch.Tensor) -> torch.Tensor:
        return single.predict_noise(
            noisy, timesteps, GuidanceBatch(batch.labels, target_images=answer)
        )

    toward_b, toward_a = toward(edited), toward(identity)
    for scale in (0.0, 0.25, 1.0):
        teacher = ReferenceEditGuidance(IESDConfig(edit_scale=scale))
        blended = teacher.predict_noise(noisy, timesteps, batch)
        assert torch.allclose(blended, scale * toward_b + (1 - scale) * toward_a, atol=1e-5)
        mixed = GuidanceBatch(
            ["front", "side"], target_images=scale * edited + (1 - scale) * identity
        )
        assert torch.allclose(blended, single.predict_noise(noisy, timesteps, mixed), atol=1e-4)
    with pytest.raises(ValueError, match="identity_images"):
        teacher(torch.rand(2, 3, 8, 8), GuidanceBatch(["front", "side"], target_images=edited))


def test_reference_edit_teacher_pulls_images_to_the_blend():
    rng = torch.Generator().manual_seed(1)
    edited, identity = (
        torch.rand(1, 3, 16, 16, generator=rng),
        torch.rand(1, 3, 16, 16, generator=rng),
    )
    image = torch.full((1, 3, 16, 16), 0.5, requires_grad=True)
    teacher = ReferenceEditGuidance(IESDConfig(edit_scale=0.75))
    batch = GuidanceBatch(["front"], target_images=edited, identity_images=identity)
    optimizer = torch.optim.Adam([image], lr=0.05)
    for step in range(200):
        optimizer.zero_grad()
        teacher(image, batch, step, generator=rng).loss.backward()
        optimizer.step()
    goal = 0.75 * edited + 0.25 * identity
    assert (image - goal).abs().mean() < 0.05 * (0.5 - goal).abs().mean()


# --- the pipeline ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def sculpt(one_torch_thread) -> SculptPipeline:
    return SculptPipeline.from_defaults()


@pytest.fixture(scope="module")
def identity_glb(sculpt, tmp_path_factory) -> Path:
    """A: a project head (a parametric GLB carries its landmarks, as a sculpt's does)."""
    path = tmp_path_factory.mktemp("identity") / "a.glb"
    path.write_bytes(sculpt.parametric(DESCRIPTION, seed=3).glb)
    return path


@pytest.fixture(scope="module")
def edited_glb(identity_glb, tmp_path_factory) -> Path:
    """B: A with other proportions (a bigger skull, a much longer face), a shape the edit
    must reach and the head model cannot express, far from A (Chamfer 0.027–0.030)."""
    path = tmp_path_factory.mktemp("edited") / "b.glb"
    return non_human(read_head_glb(identity_glb).mesh, STRETCH).write(path)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("edit-models")
    base = random_stable_diffusion("tiny", root / "sd")
    random_controlnet(base, root / "landmarks" / SD15_CONTROLNET_SUBFOLDER, seed=1)
    random_controlnet(base, root / "ip2p", seed=2)
    return {
        "base_model": str(base),
        "landmark_controlnet": str(root / "landmarks"),
        "edit_controlnet": str(root / "ip2p"),
    }


def test_iesd_on_tiny_random_models_exports_a_rigged_glb(
    sculpt, identity_glb, tiny_models, tmp_path, monkeypatch
):
    monkeypatch.setitem(SCULPT_PRESETS, "test", TINY)
    previews = []
    request = SculptEditRequest(
        parent_glb=identity_glb, description=DESCRIPTION, instruction="give her a long face",
        edit_scale=0.7, quality="test", seed=1, models=tiny_models,
    )  # fmt: skip
    result = SculptEditor(sculpt)(request, tmp_path, lambda s, f, p=None: previews.append(s))
    sidecar = result["sidecar"]
    assert sidecar["mode"] == "sculpt" and sidecar["guidance"]["kind"] == "sd-iesd"
    assert sidecar["edit"] == {"method": "iesd", "edit_scale": 0.7,
                               "instruction": "give her a long face",
                               "description": DESCRIPTION}  # fmt: skip
    losses = sidecar["losses"]
    assert len(losses["edit-coarse"]) == 2 and len(losses["edit-fine"]) == 2
    assert np.isfinite(losses["edit-coarse"] + losses["edit-fine"]).all()
    assert sidecar["resumed_from"] == {"edit-coarse": 0, "edit-fine": 0}
    assert sidecar["surface_start_density"] in SURFACE_DENSITIES  # the volume stage's restart
    assert {"parent", "initialise", "edit", "export"} <= set(sidecar["seconds"])
    assert {"edit-coarse", "edit-fine"} <= set(previews)
    gltf = pygltflib.GLTF2.load_from_bytes(result["glb"])
    head = max(gltf.meshes, key=lambda m: len((m.extras or {}).get("targetNames", [])))
    assert set(head.extras["targetNames"]) == ARKIT_52
    assert gltf.skins and len(gltf.skins[0].joints) > 10
    # The result carries its landmarks, so it can be edited again.
    (tmp_path / "edited.glb").write_bytes(result["glb"])
    assert read_head_glb(tmp_path / "edited.glb").landmarks is not None


def test_iesd_names_the_missing_edit_controlnet(sculpt, identity_glb, tiny_models, tmp_path):
    models = {k: v for k, v in tiny_models.items() if k != "edit_controlnet"}
    request = SculptEditRequest(parent_glb=identity_glb, description=DESCRIPTION,
                                instruction="x", models=models)  # fmt: skip
    with pytest.raises(MissingWeightsError) as caught:
        SculptEditor(sculpt)(request, tmp_path, lambda *a: None)
    assert caught.value.slot == "edit_controlnet"


def test_an_interrupted_edit_goes_on_from_its_checkpoints(
    sculpt, identity_glb, edited_glb, tmp_path, monkeypatch
):
    """Cut in the fine stage as its 4th step starts (a stop saves the stage), started again:
    the volume stage is not run again and the fine stage goes on from step 3 with the losses
    it had."""
    monkeypatch.setitem(SCULPT_PRESETS, "test", replace(TINY, edit_steps=4))
    request = SculptEditRequest(parent_glb=identity_glb, description=DESCRIPTION,
                                instruction="x", quality="test", seed=4, guidance="reference",
                                reference=str(edited_glb))  # fmt: skip

    def cut(stage, fraction, preview=None):
        if stage == "edit-fine" and fraction >= 0.75:  # overall: as its 4th of 4 steps starts
            raise Cancelled

    editor = SculptEditor(sculpt)
    with pytest.raises(Cancelled):
        editor(request, tmp_path, cut)
    before = torch.load(tmp_path / "edit-fine.pt", weights_only=False)["losses"]
    sidecar = editor(request, tmp_path, lambda *a: None)["sidecar"]
    assert sidecar["resumed_from"] == {"edit-coarse": TINY.edit_coarse_steps, "edit-fine": 3}
    assert sidecar["losses"]["edit-fine"][:3] == before and len(before) == 3
    assert len(sidecar["losses"]["edit-fine"]) == 4


def test_the_fine_stage_starts_as_the_parent(sculpt, identity_glb, edited_glb):
    """Without edit_coarse_steps the fine stage starts from the parent's signed distance."""
    editor = SculptEditor(sculpt)
    request = SculptEditRequest(parent_glb=identity_glb, description=DESCRIPTION,
                                instruction="x", guidance="reference",
                                reference=str(edited_glb))  # fmt: skip
    parent, prior = editor.parent(request)
    dmtet, texture = editor.initialise(prior, PROOF, seed=0)
    with torch.no_grad():
        vertices, triangles = dmtet.extract_mesh()
    uv = np.zeros((len(vertices), 2), np.float32)  # the measure's renders: colour unused
    start = replace(parent, vertices=prior.to_prior_frame(vertices.numpy()),
                    triangles=triangles.numpy(), uv=uv)  # fmt: skip
    report = measure_reconstruction(start, parent, views=1, samples=5000)
    assert report.chamfer < 0.003, report.to_dict()


@pytest.fixture(scope="module")
def proof(sculpt, identity_glb, edited_glb, tmp_path_factory):
    """The edit at w_e = 0, 0.5, 1 with the reference teacher: {w_e: sidecar}."""
    editor = SculptEditor(sculpt)
    results = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(SCULPT_PRESETS, "test", PROOF)
        for scale in (0.0, 0.5, 1.0):
            request = SculptEditRequest(
                parent_glb=identity_glb, description=DESCRIPTION,
                instruction="give her a longer face and a narrower skull", edit_scale=scale,
                quality="test", seed=2, guidance="reference", reference=str(edited_glb),
            )  # fmt: skip
            scratch = tmp_path_factory.mktemp(f"proof-{scale}")
            results[scale] = editor(request, scratch, lambda *a: None)["sidecar"]
            to_a, to_b = _chamfers(results[scale])
            print(f"w_e {scale}: Chamfer to A {to_a}, to B {to_b}, {results[scale]['seconds']}")
    return results


def _chamfers(sidecar) -> tuple[float, float]:
    return sidecar["reconstruction_to_identity"]["chamfer"], sidecar["reconstruction"]["chamfer"]


def test_edit_scale_0_keeps_the_identity(proof):
    to_a, _ = _chamfers(proof[0.0])
    assert to_a <= 0.012, proof[0.0]["reconstruction_to_identity"]


def test_edit_scale_1_reaches_the_edit(proof):
    _, to_b = _chamfers(proof[1.0])
    assert to_b <= 0.012, proof[1.0]["reconstruction"]


def test_edit_scale_half_lands_between(proof):
    (a0, b0), (a_half, b_half), (a1, b1) = (_chamfers(proof[w]) for w in (0.0, 0.5, 1.0))
    assert a_half < a1, (a0, a_half, a1)  # nearer A than the full edit is
    assert b_half < b0, (b0, b_half, b1)  # nearer B than the unedited is


def test_an_edit_of_a_sculpted_head_goes_through_iesd(
    sculpt, identity_glb, edited_glb, tmp_path, monkeypatch
):
    """The edit job as the server and `headsculpt edit` run it: the parent's sidecar says
    "sculpt", so the instruction goes to IESD (not to a code edit), and the child records
    its parent and what it could not do."""
    import json

    from headsculpt.pipelines.edit import EditPipeline, EditRequest
    from headsculpt.pipelines.folder_outputs import FileParent, FolderOutputs

    parent = tmp_path / "parent.glb"
    parent.write_bytes(identity_glb.read_bytes())
    code = sculpt.parametric.parse(DESCRIPTION).to_json()
    parent.with_suffix(".json").write_text(json.dumps(
        {"mode": "sculpt", "prompt": DESCRIPTION, "seed": 3, "texture_size": 2048,
         "descriptive_code": code}))  # fmt: skip
    monkeypatch.setitem(SCULPT_PRESETS, "test", TINY)
    outputs = FolderOutputs(tmp_path / "child.glb", tmp_path / "scratch",
                            parent=FileParent(parent))  # fmt: skip
    request = EditRequest(
        "make her taller and add a hat", edit_scale=1.0, quality="test",
        guidance="reference", reference=str(edited_glb), preview=False,
    )  # fmt: skip
    EditPipeline(sculpt.parametric).run(request, outputs, lambda *a: None)
    sidecar = json.loads((tmp_path / "child.json").read_text())
    assert sidecar["parent"] == str(parent) and sidecar["edit"]["method"] == "iesd"
    assert sidecar["instruction"] == "make her taller and add a hat"
    assert sidecar["descriptive_code"] == code  # so an edit of this edit can start from it
    assert "hat" in sidecar["edit"]["not_applied"]
    assert sidecar["guidance"]["kind"] == "reference" and "reconstruction" in sidecar
    child = pygltflib.GLTF2().load(str(tmp_path / "child.glb"))
    head = max(child.meshes, key=lambda m: len((m.extras or {}).get("targetNames", [])))
    assert set(head.extras["targetNames"]) == ARKIT_52
