"""Writing files so that a crash never leaves half of one (CLI, job store, caches)."""

from __future__ import annotations

import io
import os
import secrets
from pathlib import Path

from PIL import Image


def write_atomically(path: Path, data: bytes) -> None:
    """Write beside ``path`` and rename over it, flushed to disk first.

    A crash (or kill -9) leaves either the old file or the new one; the temporary
    name is unique, so two writers never share one.
    """
    path = Path(path)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    with open(partial, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def png_bytes(image: Image.Image) -> bytes:
    """An image encoded as PNG, ready for ``write_atomically`` or an HTTP answer."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
