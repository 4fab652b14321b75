"""Run MediaPipe's face detector and FaceMesh on images; a script, not a module.

MediaPipe 0.10.21 is the last release whose wheel ships these models, and it
pins numpy < 2, so it lives in its own Python 3.11 environment
(``scripts/bootstrap.sh --judge``). This file therefore imports nothing from
headsculpt: the judge runs it with that environment's Python and reads JSON.

Input (stdin): {"images": ["a.png", ...]} or {"connections": true}.
Output (stdout): JSON lines: {"done": k, "of": n} after each image, then one
object with "results" (or "connections"). For images, per image:
{"short_range": best score of the short-range face detector or 0, "full_range":
the same for the full-range detector, "landmarks": [[x, y], ...] in pixels
(pixel (0, 0) spans [0, 1]²) or null}. For connections: MediaPipe's
FaceMesh drawing groups as lists of landmark index pairs.
"""

from __future__ import annotations

import json
import sys


def _connections() -> dict[str, list[list[int]]]:
    from mediapipe.python.solutions import face_mesh_connections as groups

    names = {
        "face_oval": groups.FACEMESH_FACE_OVAL,
        "lips": groups.FACEMESH_LIPS,
        "left_eye": groups.FACEMESH_LEFT_EYE,
        "left_eyebrow": groups.FACEMESH_LEFT_EYEBROW,
        "right_eye": groups.FACEMESH_RIGHT_EYE,
        "right_eyebrow": groups.FACEMESH_RIGHT_EYEBROW,
    }
    return {name: sorted([int(a), int(b)] for a, b in pairs) for name, pairs in names.items()}


def _detect(paths: list[str]) -> list[dict]:
    import numpy as np
    from mediapipe.python.solutions import face_detection, face_mesh
    from PIL import Image

    results = []
    with (
        face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.1) as short,
        face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.1) as full,
        face_mesh.FaceMesh(
            static_image_mode=True,
            max_num_faces=1,
            refine_landmarks=True,
            min_detection_confidence=0.5,
        ) as mesh,
    ):
        for index, path in enumerate(paths):
            image = np.asarray(Image.open(path).convert("RGB"))
            height, width = image.shape[:2]
            scores = [
                max((float(d.score[0]) for d in model.process(image).detections or []), default=0.0)
                for model in (short, full)
            ]
            faces = mesh.process(image).multi_face_landmarks
            landmarks = None
            if faces:
                landmarks = [[p.x * width, p.y * height] for p in faces[0].landmark]
            results.append(
                {"short_range": scores[0], "full_range": scores[1], "landmarks": landmarks}
            )
            print(json.dumps({"done": index + 1, "of": len(paths)}), flush=True)
    return results


def main() -> None:
    request = json.load(sys.stdin)
    if request.get("connections"):
        print(json.dumps({"connections": _connections()}))
    else:
        print(json.dumps({"results": _detect(list(request["images"]))}))


if __name__ == "__main__":
    main()
