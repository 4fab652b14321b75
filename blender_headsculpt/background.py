"""The one shape of every long operator: work off the main thread → apply → report.

Network work (a health check, a backend start, a job) must not freeze Blender, and bpy
data must not be touched from another thread. So an operator's ``prepare`` reads what
it needs from the scene on the main thread and returns a :class:`Task`: ``work`` runs
on a worker thread (no bpy), ``apply`` puts its result into the scene back on the main
thread (a timer), and the operator reports. With Blender in background mode (scripts,
farms) timers do not fire, so both run at once and the operator returns when done.

Every failure is a :class:`HeadSculptError`; it goes to the report bar (blocking) or
the panel (``session.last_error``), and the scene is left as it was.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import bpy

from .core import session
from .core.errors import HeadSculptError
from .core.messages import for_the_panel

BLOCKING_ITEMS = [
    ("AUTO", "Auto", "Block only when Blender runs in background mode"),
    ("YES", "Block", "Wait for the work to end"),
    ("NO", "Don't block", "Return at once; a timer follows the work"),
]


@dataclass
class Task:
    """One long piece of work an operator started.

    ``work()`` runs on a worker thread and must not touch bpy; ``apply(result)`` runs on
    the main thread, puts the result in the scene and returns the line for the report
    bar; either raises :class:`HeadSculptError` to fail. ``started`` is what the report
    bar says when the operator returns before the work is done.
    """

    work: Callable[[], Any]
    apply: Callable[[Any], str]
    started: str = ""


class BackgroundOperator(bpy.types.Operator):
    """Base of the long operators: subclasses implement :meth:`prepare` only."""

    blocking: bpy.props.EnumProperty(
        name="Blocking", items=BLOCKING_ITEMS, default="AUTO", options={"SKIP_SAVE"}
    )

    def prepare(self, context) -> Task:
        """Read the scene, check the settings; raise HeadSculptError to refuse."""
        raise NotImplementedError

    def execute(self, context):
        try:
            task = self.prepare(context)
        except HeadSculptError as error:
            return fail(self, error)
        blocking = bpy.app.background if self.blocking == "AUTO" else self.blocking == "YES"
        # Read now: the operator itself is gone when a timer applies the result.
        push_undo = not blocking and "UNDO" in self.bl_options
        label = self.bl_label
        outcome: dict[str, Any] = {}

        def apply(result: Any, error: Exception | None) -> None:
            if error is None:
                try:
                    outcome["message"] = task.apply(result)
                except Exception as failure:  # the scene is left as it was
                    error = failure
            if error is not None:
                outcome["error"] = as_headsculpt_error(error)
                session.get().last_error = str(outcome["error"])
                if not blocking:
                    print(f"HeadSculpt: {outcome['error']}")
            elif push_undo:
                undo_push(f"HeadSculpt: {label}")
            redraw()

        run_in_background(task.work, apply, blocking)
        if not blocking:
            if task.started:
                self.report({"INFO"}, task.started)
            return {"FINISHED"}
        if "error" in outcome:
            return fail(self, outcome["error"])
        if outcome.get("message"):
            self.report({"INFO"}, outcome["message"])
        return {"FINISHED"}


def fail(operator: bpy.types.Operator, error: HeadSculptError) -> set[str]:
    """Report an error in the report bar and the panel; Blender keeps working."""
    message = str(error)
    session.get().last_error = message
    operator.report({"ERROR"}, message)
    return {"CANCELLED"}


def as_headsculpt_error(error: Exception) -> HeadSculptError:
    """Any failure as the artist's error: an unexpected one in the panel's words."""
    if isinstance(error, HeadSculptError):
        return error
    return HeadSculptError(f"Something went wrong: {for_the_panel(str(error)) or 'no reason'}")


def undo_push(message: str) -> bool:
    """Add an undo step for what a timer just changed (an operator's own step was taken
    when it returned, before the work was done). False where Blender has no undo stack
    to push to (background mode without a window)."""
    windows = bpy.context.window_manager.windows
    override = {"window": windows[0]} if windows else {}  # a timer runs without a window
    try:
        with bpy.context.temp_override(**override):
            return "FINISHED" in bpy.ops.ed.undo_push(message=message)
    except RuntimeError:
        return False


def run_in_background(
    work: Callable[[], Any], apply: Callable[[Any, Exception | None], None], blocking: bool
) -> None:
    """Run ``work`` off the main thread and ``apply(result, error)`` back on it.

    With ``blocking`` (Blender in background mode: no timers fire) both run now.
    """
    if blocking:
        try:
            result, error = work(), None
        except Exception as failure:  # handed to apply, which reports it
            result, error = None, failure
        apply(result, error)
        return
    outcome: dict[str, Any] = {}

    def thread() -> None:
        try:
            outcome["result"] = work()
        except Exception as failure:
            outcome["error"] = failure
        outcome["done"] = True

    def poll() -> float | None:
        if not outcome.get("done"):
            return 0.1
        apply(outcome.get("result"), outcome.get("error"))
        return None

    threading.Thread(target=thread, daemon=True, name="headsculpt-work").start()
    bpy.app.timers.register(poll, first_interval=0.1)


def redraw() -> None:
    """Ask the sidebar and preferences to draw again (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for window in getattr(bpy.context.window_manager, "windows", []):
        for area in window.screen.areas:
            if area.type in ("VIEW_3D", "PREFERENCES"):
                area.tag_redraw()
