"""Writing files so that a crash never leaves half of one (CLI, job store, caches)."""

from __future__ import annotations

import contextlib
import io
import os
import secrets
from pathlib import Path

from PIL import Image

PARTIAL_SUFFIX = ".partial"


def write_atomically(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write beside ``path`` and rename over it, flushed to disk first.

    A crash (or kill -9) leaves either the old file or the new one; the temporary
    name is unique, so two writers never share one. A failed write (full or
    read-only disk) removes its temporary file and raises the OSError. ``mode``
    sets the new file's permissions (default: the process umask's).
    """
    path = Path(path)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        descriptor = os.open(partial, flags, 0o666 if mode is None else mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):  # nothing to remove, or a read-only disk
            partial.unlink(missing_ok=True)
        raise


def png_bytes(image: Image.Image) -> bytes:
    """An image encoded as PNG, ready for ``write_atomically`` or an HTTP answer."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
