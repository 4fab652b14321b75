"""Nearest-prototype matching: unseen phrasings → the vocabulary entry they mean.

Every lexicon entry becomes a short prototype phrase ("hooked nose", "far
apart eyes", "heavyset"). A phrase the vocabulary does not know ("a beaky
nose") is embedded with the sentence encoder and compared with the prototypes
of its own region only, so the encoder decides *which* description of the nose
is meant, never whether it is about the nose. A match is accepted only when it
is close enough (``min_similarity``) and clearly closer than any prototype that
would set something different (``min_margin``); otherwise the caller reports
the phrase as abstract or ignored instead of guessing.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from headsculpt.files import write_atomically
from headsculpt.text import lexicon
from headsculpt.text.encoder import SentenceEncoder

PERSON = "person"  # the pseudo-region of descriptors about the whole person


@dataclass(frozen=True)
class Prototype:
    text: str
    values: tuple[tuple[str, Any], ...]  # hashable form of the values it sets


@dataclass(frozen=True)
class Match:
    prototype: Prototype
    similarity: float
    margin: float  # similarity above the best prototype that sets something else

    @property
    def values(self) -> dict[str, Any]:
        return dict(self.prototype.values)


@dataclass
class MatchThresholds:
    """Confidence below which a phrase is reported rather than mapped."""

    min_similarity: float = 0.62
    min_margin: float = 0.04
    person_min_similarity: float = 0.72
    abstract_min_similarity: float = 0.55


def _direction(values: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """What a prototype says, up to strength: attribute and sign (or category)."""
    out = []
    for name, value in sorted(values.items()):
        if isinstance(value, float | int) and name not in ("age",):
            out.append((name, float(np.sign(value))))
        elif name == "age":
            out.append((name, "old" if value >= 40 else "young"))
        else:
            out.append((name, value if not isinstance(value, dict) else str(sorted(value))))
    return tuple(out)


class PrototypeIndex:
    """Embedded prototypes per region, and impression anchors for ``abstract``."""

    def __init__(self, encoder: SentenceEncoder, thresholds: MatchThresholds | None = None) -> None:
        self.encoder = encoder
        self.thresholds = thresholds or MatchThresholds()
        self._prototypes: dict[str, list[Prototype]] = {}
        self._directions: dict[str, np.ndarray] = {}
        self._matrices: dict[str, np.ndarray] = {}
        for region, entries in _prototype_phrases().items():
            prototypes = [Prototype(text, tuple(sorted(v.items()))) for text, v in entries]
            directions = [_direction(v) for _, v in entries]
            ids = {d: i for i, d in enumerate(dict.fromkeys(directions))}
            self._prototypes[region] = prototypes
            self._directions[region] = np.array([ids[d] for d in directions])
        texts = [p.text for region in self._prototypes for p in self._prototypes[region]]
        texts += [f"looks {w}" for w in lexicon.IMPRESSIONS]
        embedded = dict(zip(texts, _embed_with_disk_cache(encoder, texts), strict=True))
        encoder.encode(["warm up the encoder"])  # its first call is slow; not the user's
        for region, prototypes in self._prototypes.items():
            self._matrices[region] = np.stack([embedded[p.text] for p in prototypes])
        self._impressions = np.stack([embedded[f"looks {w}"] for w in lexicon.IMPRESSIONS])

    def nearest(self, phrase: str, region: str) -> Match | None:
        """The prototype of ``region`` that ``phrase`` means, or None when unsure."""
        matrix = self._matrices.get(region)
        if matrix is None or not phrase.strip():
            return None
        similarities = matrix @ self.encoder.encode([phrase])[0]
        best = int(np.argmax(similarities))
        others = self._directions[region] != self._directions[region][best]
        runner_up = float(similarities[others].max()) if others.any() else -1.0
        match = Match(self._prototypes[region][best], float(similarities[best]),
                      float(similarities[best]) - runner_up)  # fmt: skip
        floor = (self.thresholds.person_min_similarity if region == PERSON
                 else self.thresholds.min_similarity)  # fmt: skip
        if match.similarity < floor or match.margin < self.thresholds.min_margin:
            return None
        return match

    def is_impression(self, phrase: str) -> bool:
        """Whether ``phrase`` reads as an impression or feature we cannot shape."""
        if not phrase.strip():
            return False
        similarity = float((self._impressions @ self.encoder.encode([phrase])[0]).max())
        return similarity >= self.thresholds.abstract_min_similarity

    def warm(self, phrases: list[str]) -> None:
        """Embed phrases ahead of time (one batch instead of one call each)."""
        self.encoder.encode([p for p in phrases if p.strip()])


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "headsculpt"


def _embed_with_disk_cache(encoder: SentenceEncoder, texts: list[str]) -> np.ndarray:
    """Embeddings of the vocabulary, kept on disk per (weights, vocabulary).

    Embedding ~1,600 prototypes takes seconds on a CPU; every later start reads
    them back. The key covers the weights and every text, so an edited vocabulary
    or another model never reads stale rows; an unreadable cache is rebuilt.
    """
    key = hashlib.sha256("\n".join([encoder.identity, *texts]).encode("utf-8")).hexdigest()
    path = _cache_dir() / f"prototypes-{key[:24]}.npy"
    if encoder.identity:
        try:
            cached = np.load(path)
            if cached.shape == (len(texts), encoder.dimension):
                return cached
        except (OSError, ValueError):
            pass
    rows = encoder.encode(texts)
    if encoder.identity:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            buffer = io.BytesIO()
            np.save(buffer, rows)
            write_atomically(path, buffer.getvalue())
        except OSError:
            pass  # a read-only home: embed again next time
    return rows


def _prototype_phrases() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Prototype phrase and values for every vocabulary entry, grouped by region."""
    phrases: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for region, descriptors in lexicon.REGION_DESCRIPTORS.items():
        noun = lexicon.REGION_NOUNS[region][0]
        phrases[region] = [(f"{word} {noun}", values) for word, values in descriptors.items()
                           if not word.startswith("with ")]  # fmt: skip
    person = list(lexicon.PERSON_DESCRIPTORS.items())
    person += [(f"{word} person", {"ancestry": weights})
               for word, weights in lexicon.ANCESTRY_WORDS.items()]  # fmt: skip
    phrases[PERSON] = person
    return phrases
