"""Camera sampling: ranges, labels, reproducibility and framing."""

import math

import pytest
import torch

from headsculpt.render.camera_sampler import CameraSampler, CameraSamplerConfig, ViewRanges


@pytest.mark.parametrize(
    ("azimuth", "elevation", "label"),
    [
        (0.0, 0.0, "front"),
        (29.0, 10.0, "front"),
        (-29.0, 0.0, "front"),
        (331.0, 0.0, "front"),
        (31.0, 0.0, "side"),
        (90.0, 0.0, "side"),
        (-90.0, 30.0, "side"),
        (149.0, 0.0, "side"),
        (151.0, 0.0, "back"),
        (180.0, 20.0, "back"),
        (-170.0, 0.0, "back"),
        (0.0, 60.0, "overhead"),
        (180.0, 75.0, "overhead"),
    ],
)
def test_view_labels_follow_the_ranges(azimuth, elevation, label):
    assert ViewRanges().label(azimuth, elevation) == label


def test_samples_stay_in_range_and_repeat_with_the_seed():
    config = CameraSamplerConfig(elevation_range=(-5.0, 40.0), fov_range=(35.0, 40.0))
    sampler = CameraSampler((0.0, 0.0, 0.2), 0.15, config)
    views = sampler.sample(400, torch.Generator().manual_seed(3))
    again = sampler.sample(400, torch.Generator().manual_seed(3))
    assert [v.camera for v in views] == [v.camera for v in again]
    assert all(-5.0 <= v.elevation <= 40.0 and 35.0 <= v.fov <= 40.0 for v in views)
    assert all(-180.0 <= v.azimuth <= 180.0 for v in views)
    labels = {v.label for v in views}
    assert labels == {"front", "side", "back"}  # the full circle, nothing above 60°
    for view in views:
        distance = math.dist(view.camera.eye, sampler.target)
        tight = 0.15 / math.sin(math.radians(view.fov) / 2.0)
        assert tight * 0.999 <= distance <= tight * 1.3 * 1.001


def test_cameras_look_at_the_head_from_where_the_label_says():
    sampler = CameraSampler((0.0, 0.0, 0.0), 0.1)
    front, left, back = (sampler.view(a, 0.0, 30.0, 1.0) for a in (0.0, 90.0, 180.0))
    assert front.camera.eye[1] < 0  # the face looks toward −Y
    assert left.camera.eye[0] > 0  # azimuth 90° sees the head's left (+X) side
    assert back.camera.eye[1] > 0 and back.label == "back"
    origin = torch.tensor([[0.0, 0.0, 0.0]])
    for view in (front, left, back):
        clip = view.camera.to_clip(origin)
        assert torch.allclose(clip[0, :2] / clip[0, 3], torch.zeros(2), atol=1e-6)


def test_orbit_starts_at_the_face_and_goes_round():
    views = CameraSampler((0.0, 0.0, 0.0), 0.1).orbit(8)
    assert [round(v.azimuth) for v in views] == [0, 45, 90, 135, 180, 225, 270, 315]
    assert [v.label for v in views].count("back") == 1 and views[0].label == "front"


def test_bad_ranges_are_refused_with_the_field_named():
    with pytest.raises(ValueError, match="fov_range"):
        CameraSamplerConfig(fov_range=(40.0, 30.0))
    with pytest.raises(ValueError, match="elevation_range"):
        CameraSamplerConfig(elevation_range=(-100.0, 0.0))
    with pytest.raises(ValueError, match="radius"):
        CameraSampler((0.0, 0.0, 0.0), 0.0)
