"""HeadSculpt for Blender (extension id ``headsculpt``).

The Blender-facing layer: panels, operators and the importer talk to the
HeadSculpt backend over HTTP and never import torch. This first version only
registers; the panel, operators and importer arrive with the add-on issue.
"""


def register() -> None:
    """Blender calls this when the extension is enabled."""


def unregister() -> None:
    """Blender calls this when the extension is disabled."""
