"""What the panel says when a job does not finish: the backend's message, for an artist.

The backend's messages are shared with its command line, so some name the command's
options ("--up/--front"), an exception's class or a file in the job's scratch folder.
None of that helps in Blender: this rewrites them into the panel's words, and says
what to do there (a rig that found no face: pick Up and Front in the Rig panel).
"""

from __future__ import annotations

import re

from .errors import HeadSculptError

# What the artist asked for, by the request's kind.
WHAT = {"generate": "head", "edit": "edit", "rig": "rig", "upload": "upload"}
RIG_AXES_HINT = (
    "Set Up and Front in the HeadSculpt panel's Rig a head section (the axes the top of "
    "the head and the face point along in Blender), then rig it again"
)
_OPTIONS_IN_BRACKETS = re.compile(r"\s*\([^()]*--[a-z][^()]*\)")  # "(try --up/--front)"
_TRY_OPTIONS = re.compile(r"[;,]?\s*(?:try|use|pass)\s+--[a-z][\w/-]*")
_EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception)\b:?\s*")
_PATH = re.compile(r"(?<![\w.:])(?:[A-Za-z]:)?(?:[/\\][\w.\-]+){2,}[/\\]?")


def for_the_panel(message: str) -> str:
    """``message`` without command-line options, exception class names or file paths
    (a path becomes its file name)."""
    text = _OPTIONS_IN_BRACKETS.sub("", message)
    text = _TRY_OPTIONS.sub("", text)
    text = _EXCEPTION_NAME.sub("", text)
    text = _PATH.sub(lambda found: re.split(r"[/\\]", found.group(0).rstrip("/\\"))[-1], text)
    text = re.sub(r"\(\s*\)", "", text)
    return re.sub(r"\s{2,}", " ", text).strip(" ;,")


def job_failure(kind: str, state: str, message: str) -> HeadSculptError:
    """The error for a job of ``kind`` that ended ``state`` (failed, cancelled, interrupted)."""
    what = WHAT.get(kind, "job")
    if state == "cancelled":
        return HeadSculptError(f"The {what} was cancelled")
    if state == "interrupted":
        return HeadSculptError(
            f"The backend stopped while the {what} ran",
            "It runs again when the backend restarts; see the History",
        )
    if kind == "rig" and ("--up" in message or "--front" in message):
        # The face finder could not orient the mesh: its first sentence says what it tried.
        first = for_the_panel(message).split(". ", 1)[0].rstrip(".")
        return HeadSculptError(f"The rig failed: {first}", RIG_AXES_HINT)
    reason = for_the_panel(message) or "the backend gave no reason"
    return HeadSculptError(f"The {what} failed: {reason}")


def backend_stopped(kind: str) -> HeadSculptError:
    """The backend died (crashed, killed) while it ran a job of ``kind``: the job is kept on
    its disk and resumes when it starts again, after any job submitted then."""
    what = WHAT.get(kind, "job")
    return HeadSculptError(
        f"The backend stopped while the {what} was being made",
        "The job is kept: it resumes after the backend restarts, once any new job is done "
        "(the panel says when it finishes)",
    )


_ORDINALS = {1: "next", 2: "2nd in line", 3: "3rd in line"}


def waiting(queue: dict | None) -> str:
    """Why a queued job waits, from its status's ``queue`` (its place in its lane)."""
    if not queue:
        return "waiting for the backend"
    if not queue.get("lane_ready", True):
        return "waiting: the backend is loading its models"
    place = _ORDINALS.get(queue.get("position", 1), f"{queue.get('position')}th in line")
    if queue.get("running_recovered"):
        return (f"waiting ({place}): the backend is pausing a job it recovered after a "
                "restart, to run yours first")  # fmt: skip
    if queue.get("running"):
        return f"waiting ({place}): the backend is finishing another job"
    return f"waiting ({place})"


def recovered_notice(kind: str, job_id: str, status: dict) -> str:
    """What the panel says when a job it reported as stopped by the backend has ended after
    the restart (so it never turns "succeeded" in the History unannounced)."""
    what = WHAT.get(kind, "job")
    first = f"The {what} the backend stopped on ({job_id})"
    state = status.get("state", "")
    if state == "succeeded":
        return f"{first} finished after the restart: import it from the History"
    reason = for_the_panel(status.get("message", ""))
    if state == "cancelled":
        return f"{first} was cancelled"
    return f"{first} did not finish after the restart" + (f": {reason}" if reason else "")


# The weight slots as the preferences' Models section names them.
SLOT_LABELS = {
    "base_model": "Stable Diffusion",
    "landmark_controlnet": "Landmark ControlNet",
    "edit_controlnet": "InstructPix2Pix ControlNet",
    "back_view_embedding": "Back-view token",
}


def mode_readiness(health: dict, models: dict[str, str]) -> list[tuple[str, str, str]]:
    """Per mode of ``health``: (name, "ready" | "needs" | "unavailable", detail) — the
    weights still unset in ``models`` (slot → source; jobs send them, the backend holds
    none — ``model_slots`` in ``/v1/health``), or why the mode cannot run there."""
    modes = []
    for name, pipeline in health.get("pipelines", {}).items():
        missing = [s for s in pipeline.get("model_slots", []) if not models.get(s, "").strip()]
        if not pipeline.get("available"):
            modes.append((name, "unavailable", for_the_panel(pipeline.get("reason", ""))))
        elif missing:
            modes.append((name, "needs", ", ".join(SLOT_LABELS.get(s, s) for s in missing)))
        else:
            modes.append((name, "ready", ""))
    return modes


def readiness(health: dict, models: dict[str, str]) -> str:
    """*Check connection*'s line: the backend, the modes ready, and per mode the weights
    it still needs or why it cannot run there (:func:`mode_readiness`)."""
    modes = mode_readiness(health, models)
    ready = [name for name, state, _ in modes if state == "ready"]
    needs = [f"{name} ({detail})" for name, state, detail in modes if state == "needs"]
    unavailable = [f"{name} ({detail or 'off'})" for name, state, detail in modes
                   if state == "unavailable"]  # fmt: skip
    line = f"HeadSculpt {health.get('version', '?')} on {health.get('device', '?')}; "
    line += f"ready: {', '.join(ready) or 'none'}"
    if needs:
        line += f"; needs weights: {', '.join(needs)} (HeadSculpt preferences › Models)"
    if unavailable:
        line += f"; not here: {', '.join(unavailable)}"
    return line
