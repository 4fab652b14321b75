"""A stage's checkpoint: saved by wall time, small, and never a crash when damaged."""

from __future__ import annotations

import pytest
import torch

import headsculpt.pipelines.checkpoint as checkpoint_module
from headsculpt.bounds import Box
from headsculpt.geometry.dmtet import DMTet, DMTetConfig
from headsculpt.geometry.hash_grid import HashGridConfig
from headsculpt.geometry.texture_field import TextureField, TextureFieldConfig
from headsculpt.pipelines.checkpoint import StageCheckpoint
from headsculpt.pipelines.gradient_norms import GradientNorms
from headsculpt.pipelines.sculpt_presets import SCULPT_PRESETS

HEAD_BOX = Box((0.0, 0.0, 0.0), 0.65)  # a head's box in the unit frame (largest side 1, padded)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_checkpoint_is_set_aside_and_the_stage_starts_again(tmp_path, damage):
    path = tmp_path / "coarse.pt"
    part = torch.nn.Linear(2, 2)
    StageCheckpoint(path, torch.Generator(), 60.0, part=part).save([0.5, 0.25], 2)
    data = path.read_bytes()
    path.write_bytes(b"not a checkpoint" if damage == "garbage" else data[: len(data) // 2])
    damaged_bytes = path.read_bytes()
    checkpoint = StageCheckpoint(path, torch.Generator(), 60.0, part=part)
    assert checkpoint.restore() == ([], 0)
    assert not path.exists() and (tmp_path / "coarse.damaged").read_bytes() == damaged_bytes
    assert "coarse.pt" in checkpoint.restarted and "started again" in checkpoint.restarted


def test_it_is_due_by_wall_time_and_restores_every_part_and_the_random_stream(
    tmp_path, monkeypatch
):
    clock = [1000.0]
    monkeypatch.setattr(checkpoint_module.time, "monotonic", lambda: clock[0])
    part, norms = torch.nn.Linear(3, 1), GradientNorms(every=5)
    norms.steps, norms.norms = [0, 5], {"guidance": [1.0, 2.0]}
    generator = torch.Generator().manual_seed(7)
    checkpoint = StageCheckpoint(tmp_path / "fine.pt", generator, 60.0, part=part,
                                 gradient_norms=norms)  # fmt: skip
    clock[0] += 59.0
    assert not checkpoint.due()
    clock[0] += 1.0
    assert checkpoint.due()
    checkpoint.save([1.0, 2.0, 3.0], 3)
    assert not checkpoint.due()  # the clock starts again at each save
    expected = torch.rand(4, generator=generator)

    again, fresh_norms = torch.nn.Linear(3, 1), GradientNorms(every=5)
    fresh = torch.Generator().manual_seed(0)
    restored = StageCheckpoint(tmp_path / "fine.pt", fresh, 60.0, part=again,
                               gradient_norms=fresh_norms)  # fmt: skip
    assert restored.restore() == ([1.0, 2.0, 3.0], 3)
    assert torch.equal(again.weight, part.weight)
    assert torch.equal(torch.rand(4, generator=fresh), expected)  # the same stream goes on
    assert fresh_norms.to_dict() == {"step": [0, 5], "guidance": [1.0, 2.0]}


def test_a_standard_fine_checkpoint_holds_only_what_cannot_be_rebuilt(tmp_path):
    """At the standard preset's grid (~13 M tets) the tet grid's own vertices and tets
    (400 MB of int64 alone) are rebuilt from the config, not saved: the checkpoint keeps the
    SDF, offsets, texture field and Adam's moments."""
    preset = SCULPT_PRESETS["standard"]
    grid = DMTetConfig.with_spacing(HEAD_BOX, preset.tet_spacing, preset.max_tets)
    assert 12_000_000 <= grid.tet_count <= 13_000_000
    dmtet = DMTet(grid)
    encoding = HashGridConfig(levels=preset.hash_levels, log2_table_size=preset.hash_log2_table)
    texture = TextureField(TextureFieldConfig(box=HEAD_BOX, encoding=encoding))
    optimizer = torch.optim.Adam([*dmtet.parameters(), *texture.parameters()], lr=0.01)
    loss = dmtet.sdf.square().sum() + dmtet.deformation.sum()
    (loss + texture(torch.rand(4096, 3) - 0.5).sum()).backward()
    optimizer.step()  # Adam's moments exist, as in a running stage
    path = tmp_path / "fine.pt"
    parts = {"dmtet": dmtet, "texture": texture, "optimizer": optimizer}
    StageCheckpoint(path, torch.Generator(), 60.0, **parts).save([0.0] * 2000, 2000)
    size_mb = path.stat().st_size / 2**20
    assert size_mb <= 300, size_mb
    state = torch.load(path, weights_only=False)
    assert set(state["dmtet"]) == {"sdf", "deformation"}
    rebuilt = DMTet(grid)
    rebuilt.load_state_dict(state["dmtet"])
    assert torch.equal(rebuilt.tets, dmtet.tets) and torch.equal(rebuilt.sdf, dmtet.sdf)


@pytest.mark.parametrize("name", list(SCULPT_PRESETS))
def test_every_preset_checkpoints_at_most_once_a_minute_and_keeps_its_tet_budget(name):
    preset = SCULPT_PRESETS[name]
    if name != "test":  # the test preset's runs are minutes long: it saves more often
        assert preset.checkpoint_seconds >= 60.0
    grid = DMTetConfig.with_spacing(HEAD_BOX, preset.tet_spacing, preset.max_tets)
    assert grid.tet_count <= preset.max_tets <= 13_000_000
    long_hair = Box((0.0, 0.0, -0.3), (0.8, 0.8, 1.0))  # a box stretched to the chest
    assert DMTetConfig.with_spacing(long_hair, preset.tet_spacing, preset.max_tets).tet_count <= (
        preset.max_tets
    )
