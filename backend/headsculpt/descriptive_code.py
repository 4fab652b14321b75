"""The descriptive code: what a description says about a face, attribute by attribute.

This is the contract between the text layer (which produces it) and the prior
and texture layers (which turn it into shape and appearance). Its JSON form is
``{"attributes": {...}, "abstract": [...], "ignored": [...], "phrases": [...]}``, plus
``"excluded": {...}`` when the text rules values out ("eyes that are not blue": what is
drawn for the eyes must not be blue).

Scalar attributes lie in [-1, 1] with 0 the population average; an attribute
the text does not mention is absent (not 0), so consumers can tell "average"
from "unspecified" and vary the latter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SCALAR_ATTRIBUTES: tuple[str, ...] = (
    "gender", "weight", "muscle",
    "head.width", "head.length", "forehead.height", "forehead.slope",
    "eyebrows.height", "eyebrows.angle", "eyebrows.thickness",
    "eyes.size", "eyes.spacing", "eyes.tilt", "eyes.depth", "eyes.bags", "eyes.hooded",
    "nose.size", "nose.length", "nose.width", "nose.bridge", "nose.hump", "nose.tip",
    "mouth.width", "lips.thickness", "mouth.corners",
    "cheeks.fullness", "cheekbones.prominence",
    "chin.length", "chin.width", "chin.prominence", "chin.cleft",
    "jaw.width", "ears.size", "ears.protrusion", "ears.pointed", "neck.thickness",
    "skin.tone", "skin.freckles", "skin.wrinkles", "beard", "hair.length",
)  # fmt: skip

ANCESTRIES: tuple[str, ...] = ("african", "asian", "caucasian")

# Hair (issue 17): styles of scalp hair, facial hair, and the colours each may take.
HAIR_STYLES: tuple[str, ...] = (
    "bald", "buzz", "short", "side_part", "bob", "long_straight", "long_wavy", "curly",
    "ponytail", "bun", "afro", "receding", "slicked_back", "mohawk",
)  # fmt: skip
FACIAL_HAIR_STYLES: tuple[str, ...] = (
    "none", "stubble", "moustache", "goatee", "short_beard", "full_beard",
)  # fmt: skip
NATURAL_HAIR_COLOURS: tuple[str, ...] = ("black", "brown", "auburn", "red", "blond", "gray",
                                         "white")  # fmt: skip
DYED_HAIR_COLOURS: tuple[str, ...] = ("platinum", "blue", "pink", "green", "purple")

CATEGORICAL_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "face.shape": ("oval", "round", "square", "long", "heart", "diamond", "triangle"),
    "eyes.color": ("brown", "blue", "green", "gray", "hazel", "amber"),
    "eyebrows.color": NATURAL_HAIR_COLOURS,
    "hair.style": HAIR_STYLES,
    "hair.color": NATURAL_HAIR_COLOURS + DYED_HAIR_COLOURS,
    "facial_hair.style": FACIAL_HAIR_STYLES,
    "facial_hair.color": NATURAL_HAIR_COLOURS,
    "expression": (
        "neutral", "smile", "laugh", "frown", "sad", "angry", "surprised", "disgust", "fear",
    ),
}  # fmt: skip

AGE_RANGE_YEARS = (1.0, 90.0)


@dataclass
class Phrase:
    """A span of the description and the attribute values it set."""

    text: str
    start: int
    end: int
    sets: dict[str, Any]
    note: str = ""


@dataclass
class DescriptiveCode:
    """Attribute values read from a description, plus what could not be used."""

    attributes: dict[str, Any] = field(default_factory=dict)
    abstract: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    phrases: list[Phrase] = field(default_factory=list)
    excluded: dict[str, list[str]] = field(default_factory=dict)  # categorical → ruled out

    def __post_init__(self) -> None:
        validate_attributes(self.attributes)
        for name, values in self.excluded.items():
            if name not in CATEGORICAL_ATTRIBUTES or set(values) - set(
                CATEGORICAL_ATTRIBUTES[name]
            ):
                raise ValueError(f"excluded {name!r}: {values!r} are not its values")

    def allowed(self, name: str, choices) -> list[str]:
        """``choices`` of categorical ``name`` that the text did not rule out."""
        ruled_out = set(self.excluded.get(name, ()))
        return [c for c in choices if c not in ruled_out]

    def scalar(self, name: str) -> float | None:
        """The value of a scalar attribute, or None when the text left it open."""
        value = self.attributes.get(name)
        return None if value is None else float(value)

    def to_json(self) -> dict[str, Any]:
        data = {
            "attributes": dict(sorted(self.attributes.items())),
            "abstract": list(self.abstract),
            "ignored": list(self.ignored),
            "phrases": [asdict(p) for p in self.phrases],
        }
        if self.excluded:
            data["excluded"] = {k: list(v) for k, v in sorted(self.excluded.items())}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DescriptiveCode:
        return cls(
            attributes=dict(data.get("attributes", {})),
            abstract=list(data.get("abstract", [])),
            ignored=list(data.get("ignored", [])),
            phrases=[Phrase(**p) for p in data.get("phrases", [])],
            excluded={k: list(v) for k, v in data.get("excluded", {}).items()},
        )


def validate_attributes(attributes: dict[str, Any]) -> None:
    """Raise ValueError naming the attribute when a value is out of its domain."""
    for name, value in attributes.items():
        if name in SCALAR_ATTRIBUTES:
            if not isinstance(value, int | float) or not -1.0 <= float(value) <= 1.0:
                raise ValueError(f"attribute {name!r} must be a number in [-1, 1], got {value!r}")
        elif name in CATEGORICAL_ATTRIBUTES:
            if value not in CATEGORICAL_ATTRIBUTES[name]:
                allowed = ", ".join(CATEGORICAL_ATTRIBUTES[name])
                raise ValueError(f"attribute {name!r} must be one of {allowed}; got {value!r}")
        elif name == "age":
            low, high = AGE_RANGE_YEARS
            if not isinstance(value, int | float) or not low <= float(value) <= high:
                raise ValueError(f"attribute 'age' must be years in [{low}, {high}], got {value!r}")
        elif name == "ancestry":
            if not isinstance(value, dict) or not value or set(value) - set(ANCESTRIES):
                raise ValueError(f"attribute 'ancestry' must map {ANCESTRIES} to weights")
            if any(not isinstance(w, int | float) or w < 0 for w in value.values()):
                raise ValueError("attribute 'ancestry' weights must be non-negative numbers")
            if sum(value.values()) <= 0:
                raise ValueError("attribute 'ancestry' weights must not all be zero")
        else:
            raise ValueError(f"unknown attribute {name!r}")
