"""View-dependent prompts and their CLIP text embeddings.

HeadSculpt appends the view to the description ("…, front view of head"); back
views also carry the learned ``<back-view>`` token when one is loaded, which
keeps a face from being painted on the back of the head. Embeddings are
computed once per distinct prompt and kept.
"""

from __future__ import annotations

import torch


def view_prompt(text: str, label: str, back_view_token: str | None = None) -> str:
    """The prompt for a view: "<text>, <label> view of head" (+ the token for back views)."""
    text = text.strip().rstrip(".,;")
    if label == "back" and back_view_token:
        return f"{text}, {back_view_token} back view of head"
    return f"{text}, {label} view of head"


def token_ids(tokenizer, prompts: list[str]) -> torch.Tensor:
    """(len(prompts), 77) token ids, padded and truncated as the text encoder expects."""
    return tokenizer(
        prompts,
        padding="max_length",
        max_length=tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    ).input_ids


class PromptEncoder:
    """CLIP text embeddings (77 tokens) of prompts, cached per prompt."""

    def __init__(self, models) -> None:
        self.models = models
        self._cache: dict[str, torch.Tensor] = {}

    def __call__(self, prompts: list[str]) -> torch.Tensor:
        """(len(prompts), 77, D) embeddings in the models' dtype, on their device."""
        missing = [p for p in dict.fromkeys(prompts) if p not in self._cache]
        if missing:
            tokens = token_ids(self.models.tokenizer, missing)
            encoder = self.models.text_encoder
            with torch.no_grad():
                device = next(encoder.parameters()).device
                hidden = encoder(tokens.to(device))[0]
            for prompt, embedding in zip(missing, hidden, strict=True):
                self._cache[prompt] = embedding.to(self.models.device, self.models.dtype)
        return torch.stack([self._cache[p] for p in prompts])
