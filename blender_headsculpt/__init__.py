"""HeadSculpt for Blender (extension id ``headsculpt``).

The Blender-facing layer: a sidebar panel, preferences, operators and an
importer that talk to the HeadSculpt backend over HTTP and never import torch.
``core/`` holds everything that does not import bpy (the client, the job monitor, the
local backend, the session, the panel's plain data and wording), tested without
Blender; the rest is a thin bpy layer on top (``background`` is every long operator's
shape: work on a thread → apply → report).
"""

from __future__ import annotations

import atexit


def register() -> None:
    """Blender calls this when the extension is enabled."""
    import bpy
    import bpy.utils.previews

    from . import operators, panel, preferences, properties
    from .core import session

    for cls in (
        preferences.HeadSculptPreferences,
        *properties.CLASSES,
        *operators.CLASSES,
        *panel.CLASSES,
    ):
        bpy.utils.register_class(cls)
    bpy.types.Scene.headsculpt = bpy.props.PointerProperty(type=properties.HeadSculptSettings)
    session.get().previews = bpy.utils.previews.new()
    atexit.register(session.reset)  # Blender quitting: the local backend goes with it


def unregister() -> None:
    """Blender calls this when the extension is disabled: stop the backend, drop everything."""
    import bpy
    import bpy.utils.previews

    from . import operators, panel, preferences, properties
    from .core import session

    atexit.unregister(session.reset)
    state = session.get()
    if state.previews is not None:
        bpy.utils.previews.remove(state.previews)
    session.reset()
    for timer in (operators.job_tick,):
        if bpy.app.timers.is_registered(timer):
            bpy.app.timers.unregister(timer)
    del bpy.types.Scene.headsculpt
    for cls in reversed(
        (preferences.HeadSculptPreferences, *properties.CLASSES, *operators.CLASSES, *panel.CLASSES)
    ):
        bpy.utils.unregister_class(cls)
