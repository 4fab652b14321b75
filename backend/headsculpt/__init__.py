"""HeadSculpt backend: text → rigged, textured 3D heads.

The package is layered (see docs/architecture.md): ``pipelines`` compose the
lower layers ``text``, ``prior``, ``texture``, ``render`` and ``export``.
"""

__version__ = "0.1.0"
