"""A contact sheet of parametric heads: each description's front and three-quarter preview
(the renders the add-on shows), captioned, in one PNG.

    .venv/bin/python scripts/contact_sheet.py docs/images/parametric_contact_sheet.png

The descriptions span children to the very old, the ancestry words with tones of their
own, and every hairstyle and facial-hair style (issue 17); ``--texts FILE`` (one per
line) renders others. Seeds come from the text, as ``headsculpt generate`` picks them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from headsculpt.contact_sheet import contact_sheet
from headsculpt.pipelines.contract import default_seed
from headsculpt.pipelines.parametric import ParametricPipeline

DESCRIPTIONS = [
    "a chubby red-haired boy of about ten",
    "a little girl with blonde pigtails and freckles",
    "a teenage boy with a buzz cut",
    "a Korean teenage girl with a sleek black bob",
    "a young Nigerian woman with a big afro",
    "a young Japanese man with a man bun",
    "a stern South Asian man with a thick moustache",
    "a Latina woman in her thirties with long wavy brown hair",
    "a Middle Eastern man with a neat goatee and short black hair",
    "a Pacific Islander man with long curly black hair and a full beard",
    "a Native American woman with a long black ponytail",
    "a freckled Irish woman with long straight auburn hair",
    "a Scandinavian man with a blond side part and stubble",
    "a middle-aged Chinese woman with short grey hair",
    "a balding middle-aged accountant with a receding hairline",
    "a middle-aged Black man with a shaved head and a short beard",
    "a woman with shoulder-length pink hair",
    "a young man with curly blue hair",
    "a weathered fisherman in his seventies with a bulbous nose and a white beard",
    "an elderly Black man with a white beard",
    "a gaunt old sea captain with a grey beard",
    "an old woman with white hair in a bun",
    "a very old Indian woman with a grey bun and deep wrinkles",
    "a clean-shaven bald man in his fifties",
    "a punk with a green mohawk",
    "a banker in his fifties with slicked-back grey hair",
]
TILE = 176  # pixels per view


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--texts", type=Path, help="one description per line")
    parser.add_argument("--columns", type=int, default=4)
    args = parser.parse_args(argv)
    texts = DESCRIPTIONS
    if args.texts:
        texts = [t.strip() for t in args.texts.read_text("utf-8").splitlines() if t.strip()]

    pipeline = ParametricPipeline.from_defaults()
    previews, captions = [], []
    for k, text in enumerate(texts):
        result = pipeline.from_code(pipeline.parse(text), text, seed=default_seed(text))
        previews.append(result.preview(TILE))
        hair = result.parameters["hair"]
        captions.append(f"{k + 1}. {text} [{hair['hair.style']}, {hair['facial_hair.style']}]")
        print(f"{k + 1:2d}. {text} → {hair}")
    sheet = contact_sheet(previews, args.columns, captions, background=(24, 24, 28))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
