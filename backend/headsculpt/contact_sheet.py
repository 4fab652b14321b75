"""Images tiled in rows, each with an optional caption under it: one contact sheet for the
judge's views, the batch's previews and scripts/contact_sheet.py.

Kept in the core (PIL only, no torch) so the batch driver can draw a sheet of a few
hundred previews without loading any model.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from PIL import Image, ImageDraw

CAPTION_LINE = 13  # pixels per caption line (PIL's default bitmap font is 11 high)
CAPTION_COLOUR = (225, 225, 225)
CHARACTER_WIDTH = 6  # PIL's default font: about six pixels a character


def contact_sheet(
    tiles: Sequence[Image.Image],
    columns: int,
    captions: Sequence[str] | None = None,
    caption_lines: int = 3,
    background: tuple[int, int, int] = (0, 0, 0),
) -> Image.Image:
    """``tiles`` (all the size of the first) left to right, ``columns`` a row.

    With ``captions`` (one per tile), each cell gets ``caption_lines`` lines of text
    under its tile, wrapped to the tile's width; longer captions are cut.
    """
    if not tiles:
        raise ValueError("a contact sheet needs at least one image")
    if captions is not None and len(captions) != len(tiles):
        raise ValueError(f"{len(captions)} captions for {len(tiles)} images")
    columns = max(1, min(columns, len(tiles)))
    width, height = tiles[0].size
    caption_height = CAPTION_LINE * caption_lines + 5 if captions is not None else 0
    rows = -(-len(tiles) // columns)
    sheet = Image.new("RGB", (columns * width, rows * (height + caption_height)), background)
    draw = ImageDraw.Draw(sheet)
    for index, tile in enumerate(tiles):
        x, y = (index % columns) * width, (index // columns) * (height + caption_height)
        sheet.paste(tile, (x, y))
        if captions is None:
            continue
        wrapped = textwrap.wrap(captions[index], max(8, width // CHARACTER_WIDTH))
        for number, line in enumerate(wrapped[:caption_lines]):
            draw.text((x + 4, y + height + 2 + CAPTION_LINE * number), line, fill=CAPTION_COLOUR)
    return sheet
