"""The judge's rules, with scripted detector answers: which views count, how rates and
NME are computed. MediaPipe itself is exercised in test_judge.py; here a stand-in
answers so each rule can be pinned exactly (and fast)."""

from __future__ import annotations

import numpy as np
import pytest

from headsculpt.eval.judge import (
    JudgeConfig,
    JudgeReport,
    ViewScore,
    _embedded_projection,
    _own_face_edge_on,
    judge_head,
)
from headsculpt.eval.mediapipe_runner import FaceFinding
from headsculpt.export.glb_reader import read_head_glb
from headsculpt.render.camera_sampler import CameraSampler

CONFIG = JudgeConfig(views=8, size=128)
SHIFT = np.array([3.0, 4.0])  # pixels: every landmark 5 px off


class ScriptedFaces:
    """Answers view k with scores[k]; landmarks 5 px off the embedded ones where asked."""

    def __init__(self, scores, landmarks) -> None:
        self.scores, self.landmarks = scores, landmarks
        self.seen = 0

    def detect(self, images, progress=None):
        self.seen = len(images)
        progress("detect", 0.5)  # halfway through, as MediaPipe's worker reports
        return [
            FaceFinding(short, full, None if marks is None else marks + SHIFT)
            for (short, full), marks in zip(self.scores, self.landmarks, strict=True)
        ]


@pytest.fixture(scope="module")
def head(fisherman_glb):
    return read_head_glb(fisherman_glb)


@pytest.fixture(scope="module")
def views(head):
    sampler = CameraSampler.around(head.mesh.vertices)
    return sampler.orbit(CONFIG.views, CONFIG.elevation, CONFIG.fov, CONFIG.framing)


def _judge(head, views, scores, with_landmarks):
    marks = []
    for view, wanted in zip(views, with_landmarks, strict=True):
        projected = _embedded_projection(head, view, CONFIG.size)
        marks.append(projected[0] if wanted and projected is not None else None)
    faces = ScriptedFaces(scores, marks)
    heard = []
    report, sheet = judge_head(
        head, faces, CONFIG, lambda stage, f, preview=None: heard.append((stage, f))
    )
    assert faces.seen == CONFIG.views and sheet.size == (4 * 128, 2 * 128)
    # the detector's own progress lands in the judge's 0.3–0.95 share
    assert ("detect", pytest.approx(0.3 + 0.65 * 0.5)) in heard and heard[-1] == ("done", 1.0)
    return report


def test_a_face_needs_both_detectors_at_the_threshold(head, views):
    scores = [(0.9, 0.4), (0.5, 0.5), (0.49, 0.99), (0.99, 0.99)] * 2
    report = _judge(head, views, scores, [False] * 8)
    detected = [v.face_detected for v in report.views]
    assert detected == [False, True, False, True] * 2
    assert [v.face_score for v in report.views] == [0.4, 0.5, 0.49, 0.99] * 2


def test_each_view_records_both_detectors_to_four_places(head, views):
    report = _judge(head, views, [(0.123456, 0.654321)] * 8, [False] * 8)
    assert {(v.short_range, v.full_range, v.face_score) for v in report.views} == {
        (0.1235, 0.6543, 0.1235)
    }


def test_rates_count_each_label_on_its_own(head, views):
    labels = [v.label for v in views]
    assert {"front", "side", "back"} == set(labels)
    # A face exactly on the back views and on the first front view.
    first_front = labels.index("front")
    scores = [
        (0.9, 0.9) if label == "back" or k == first_front else (0.1, 0.1)
        for k, label in enumerate(labels)
    ]
    # FaceMesh traces the faces on the back (a face there is seen from in front).
    report = _judge(head, views, scores, [label == "back" for label in labels])
    assert report.janus_rate == 1.0
    assert report.side_detection_rate == 0.0
    assert report.front_detection_rate == pytest.approx(1 / labels.count("front"))
    assert report.front_nme is None  # no landmarks found on front views
    assert "Janus rate (back views):   100%" in report.summary()
    assert "back 180°: short-range 0.90, full-range 0.90, FaceMesh traced, a second face" in (
        report.summary()
    )


def test_a_back_view_detection_facemesh_does_not_trace_is_not_a_second_face(head, views):
    """The detectors alone fire on the back of some heads; a face on the back faces the
    camera, and FaceMesh traces it."""
    labels = [v.label for v in views]
    scores = [(0.9, 0.9) if label == "back" else (0.1, 0.1) for label in labels]
    report = _judge(head, views, scores, [False] * 8)
    backs = [v for v in report.views if v.label == "back"]
    assert all(v.face_detected and not v.second_face for v in backs)
    assert report.janus_rate == 0.0
    assert "back 180°: short-range 0.90, full-range 0.90, FaceMesh nothing\n" in (
        report.summary() + "\n"
    )


def test_nme_is_the_mean_offset_over_the_inter_ocular_distance(head, views):
    labels = [v.label for v in views]
    wanted = [label == "front" for label in labels]
    report = _judge(head, views, [(0.9, 0.9)] * 8, wanted)
    fronts = [v for v in report.views if v.label == "front"]
    assert all(v.nme is not None for v in fronts)
    assert all(v.nme is None for v in report.views if v.label != "front")
    for view, score in zip(views, report.views, strict=True):
        if score.label == "front":
            pixels = _embedded_projection(head, view, CONFIG.size)[0]
            iod = np.linalg.norm(pixels[33] - pixels[263])
            assert score.nme == pytest.approx(5.0 / iod, rel=1e-3)
    assert report.front_nme == pytest.approx(np.mean([v.nme for v in fronts]))


def test_rates_are_none_without_views_of_a_label():
    view = ViewScore(0.0, 0.0, "front", 0.9, 0.9, 0.9, True, True, 0.02)
    other = ViewScore(180.0, 0.0, "front", 0.1, 0.1, 0.1, False, False, None)
    report = JudgeReport(views=[view, other], has_embedded_landmarks=True)
    assert report.front_detection_rate == 0.5
    assert report.side_detection_rate is None and report.janus_rate is None
    assert report.front_nme == pytest.approx(0.02)
    assert report.to_dict()["front_nme"] == pytest.approx(0.02)
    assert "n/a" in report.summary() and "50%" in report.summary()


def test_report_dict_and_summary():
    found = ViewScore(0.0, 0.0, "front", 0.9, 0.9, 0.9, True, True, 0.02)
    back = ViewScore(180.0, 0.0, "back", 0.1, 0.1, 0.1, False, False, None)
    report = JudgeReport(views=[found, back], has_embedded_landmarks=True)
    data = report.to_dict()
    assert data == {
        "front_detection_rate": 1.0,
        "side_detection_rate": None,
        "janus_rate": 0.0,
        "front_nme": pytest.approx(0.02),
        "has_embedded_landmarks": True,
        "views": [vars(found), vars(back)],
    }
    assert "landmark NME (front):      0.0200" in report.summary()
    lost = ViewScore(0.0, 0.0, "front", 0.9, 0.9, 0.9, True, False, None)
    summary = JudgeReport(views=[lost], has_embedded_landmarks=True).summary()
    assert "landmark NME (front):      n/a (no landmarks found on front views)" in summary
    summary = JudgeReport(views=[lost], has_embedded_landmarks=False).summary()
    assert "landmark NME (front):      n/a (no embedded landmarks)" in summary


def _face_at(centre, size=40.0):
    """478 found landmarks spread over a ``size``-pixel square around ``centre``."""
    grid = np.random.default_rng(0).uniform(-0.5, 0.5, (478, 2)) * size
    return grid + np.asarray(centre, dtype=float)


def test_a_back_view_face_on_the_heads_own_face_seen_edge_on_is_not_a_second_face():
    """22.5° off the back a sliver of the real face shows at the silhouette; MediaPipe may
    find a profile there. With a tenth of the embedded landmarks visible, a detection
    centred among them is that face; one centred on the back of the head, or any
    detection while most of the face is in view (a head turned round), is a face of its own."""
    pixels = np.zeros((478, 2))
    visible = np.zeros(478, dtype=bool)
    visible[:48] = True
    pixels[:48] = [20.0, 64.0]  # a strip at the silhouette
    pixels[48:] = [0.0, 64.0]  # behind the head
    assert _own_face_edge_on(_face_at([30.0, 64.0]), (pixels, visible))
    assert not _own_face_edge_on(_face_at([64.0, 64.0]), (pixels, visible))  # on the back
    assert not _own_face_edge_on(None, (pixels, visible))  # no landmarks: cannot tell
    assert not _own_face_edge_on(_face_at([30.0, 64.0]), None)  # a head without landmarks
    facing = np.ones(478, dtype=bool)
    assert not _own_face_edge_on(_face_at([30.0, 64.0]), (pixels, facing))
    assert not _own_face_edge_on(_face_at([30.0, 64.0]), (pixels, ~facing))


def test_the_janus_rate_counts_second_faces_not_detections():
    profile = ViewScore(157.5, 0.0, "back", 0.8, 0.8, 0.8, True, True, 0.3, second_face=False)
    second = ViewScore(180.0, 0.0, "back", 0.8, 0.8, 0.8, True, True, None, second_face=True)
    assert JudgeReport(views=[profile]).janus_rate == 0.0
    assert JudgeReport(views=[profile, second]).janus_rate == 0.5
