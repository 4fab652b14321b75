"""A throwaway job kind for the worker-process tests (tests/test_job_worker.py): registered
through ``HEADSCULPT_PLUGINS=worker_kinds`` in the worker process only (the tests build the
server side's JobKind themselves, with the limits each one tries), it does what its prompt
says — holds memory, runs long without a word, fails on its input, fails on a bug, or
writes a file — so the limits are seen doing their work without loading a model."""

from __future__ import annotations

import time
from dataclasses import dataclass

from headsculpt.pipelines.registry import JobKind, register

HOG = JobKind(
    name="hog",
    kind="hog",
    mode=None,
    lane="cpu-long",
    pipeline="worker_kinds:HogPipeline",
    presets=("standard",),
    default_preset="standard",
    summary="does what its prompt says (tests only)",
    max_variants=1,
    text_field=None,
    time_limit=60.0,  # any limit: the server side's decide
)


@dataclass
class HogRequest:
    prompt: str = ""
    quality: str = "standard"


class HogPipeline:
    Request = HogRequest
    PRESETS = {"standard": None}

    @classmethod
    def from_defaults(cls) -> HogPipeline:
        return cls()

    def run(self, request: HogRequest, outputs, progress) -> None:
        what = request.prompt
        if what == "memory":  # 50 MB a step, touched, reported: the watchdog stops it
            held = []
            for step in range(200):
                held.append(bytearray(50 * 2**20))
                progress("holding", step / 200)
                time.sleep(0.02)
        elif what == "silent":  # long, and never a progress step: a cancel must still land
            time.sleep(60)
        elif what == "input":
            raise ValueError("scan.obj: 9,000 vertices sit at one spot; merge them")
        elif what == "bug":
            raise IndexError("index 7 is out of bounds")
        outputs.write("head.glb", b"glTF-" + what.encode())
        progress("done", 1.0)


register(HOG)
