"""The batch's contact sheet: every succeeded item's previews, captioned, in one PNG."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from headsculpt.batch.item_files import SHEET_NAME
from headsculpt.batch.manifest import SUCCEEDED, ManifestRow
from headsculpt.contact_sheet import contact_sheet
from headsculpt.files import png_bytes, write_atomically

TILE = 128  # pixels per view: a preview (front + three-quarter) becomes 256 × 128
COLUMNS = 5
CAPTION_CHARS = 80


def write_sheet(out: Path, rows: Iterable[ManifestRow]) -> Path | None:
    """Write ``out``/contact_sheet.png from the previews of the succeeded ``rows`` (in
    their order, each variant a tile); None when there is no preview to show."""
    tiles, captions = [], []
    for row in rows:
        if row.status != SUCCEEDED:
            continue
        for name in row.outputs:
            if not name.lower().endswith(".png"):
                continue
            with Image.open(Path(out) / name) as preview:
                tiles.append(preview.convert("RGB").resize((2 * TILE, TILE), Image.LANCZOS))
            text = row.prompt if row.prompt is not None else Path(row.mesh or "").name
            captions.append(f"{name.removesuffix('.png')} {text[:CAPTION_CHARS]}")
    if not tiles:
        return None
    path = Path(out) / SHEET_NAME
    write_atomically(path, png_bytes(contact_sheet(tiles, COLUMNS, captions, caption_lines=2)))
    return path
